// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The runtime, its interpreters and their thread states; the GIL; the
// threading module's registry of thread names.

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "interp/internal.h"
#include "symbols/symbols.h"
#include "util/vector.h"

// Where the static interp_head is, when stripping took its symbol: the
// exported PyInterpreterState_Head() is `mov rax, [rip + rel32]; ret` in
// 2.7 and 3.6 (x86-64), so the variable is at the function + 7 + rel32.
static bool interp_head_from_code(struct pcs_python *py, pcs_addr_t *ret)
{
	pcs_addr_t fn;
	unsigned char code[8];
	if (!pcs_symbols_lookup(py->symbols, "PyInterpreterState_Head", &fn, NULL))
		return false;
	struct pcs_error *err = pcs_target_read(py->target, fn, code, sizeof(code));
	if (err) {
		pcs_error_destroy(err);
		return false;
	}
	if (code[0] != 0x48 || code[1] != 0x8b || code[2] != 0x05 || code[7] != 0xc3)
		return false;
	int32_t rel;
	memcpy(&rel, code + 3, 4);
	*ret = fn + 7 + (uint64_t)(int64_t)rel;
	return true;
}

struct pcs_error *pcs_python_create(struct pcs_target *t, struct pcs_symbols *s,
				    const struct pcs_layout *l,
				    struct pcs_strtab *strings,
				    struct pcs_python **ret)
{
	struct pcs_python *py = calloc(1, sizeof(*py));
	if (!py)
		return &pcs_enomem;
	py->target = t;
	py->symbols = s;
	py->layout = l;
	py->strings = strings;
	py->pthread_tid_offset = PCS_TID_OFFSET_UNKNOWN;
	// Exported objects the walkers compare types and values against, all
	// found in one pass over the symbol table.
	static const struct {
		const char *name;
		size_t offset;
	} wanted[] = {
		{ "PyCode_Type", offsetof(struct pcs_python, code_type) },
		{ "PyUnicode_Type", offsetof(struct pcs_python, unicode_type) },
		{ "PyDict_Type", offsetof(struct pcs_python, dict_type) },
		{ "PyCoro_Type", offsetof(struct pcs_python, coro_type) },
		{ "PyGen_Type", offsetof(struct pcs_python, gen_type) },
		{ "PyAsyncGen_Type", offsetof(struct pcs_python, asyncgen_type) },
		{ "_PyAsyncGenASend_Type", offsetof(struct pcs_python, asend_type) },
		{ "_PySet_Dummy", offsetof(struct pcs_python, set_dummy) },
		{ "PyFunction_Type", offsetof(struct pcs_python, function_type) },
		{ "PyMethod_Type", offsetof(struct pcs_python, method_type) },
		{ "PyTuple_Type", offsetof(struct pcs_python, tuple_type) },
		{ "PyString_Type", offsetof(struct pcs_python, py2string_type) },
		{ "PyInt_Type", offsetof(struct pcs_python, py2int_type) },
		{ "_Py_NoneStruct", offsetof(struct pcs_python, none_obj) },
		{ "PyBool_Type", offsetof(struct pcs_python, bool_type) },
		{ "PyLong_Type", offsetof(struct pcs_python, long_type) },
		{ "PyFloat_Type", offsetof(struct pcs_python, float_type) },
		{ "PyBytes_Type", offsetof(struct pcs_python, bytes_type) },
		{ "PyList_Type", offsetof(struct pcs_python, list_type) },
		{ "PySet_Type", offsetof(struct pcs_python, set_type) },
		{ "PyFrozenSet_Type", offsetof(struct pcs_python, frozenset_type) },
		{ "PyCell_Type", offsetof(struct pcs_python, cell_type) },
		// Python 2 names its unicode API after the width of Py_UNICODE
		// (offset 0, the target pointer, marks "no field to set").
		{ "PyUnicodeUCS4_FromString", 0 },
		{ "PyUnicodeUCS2_FromString", 0 },
	};
	enum { NWANTED = sizeof(wanted) / sizeof(wanted[0]) };
	const char *names[NWANTED];
	pcs_addr_t addrs[NWANTED];
	for (size_t i = 0; i < NWANTED; i++)
		names[i] = wanted[i].name;
	pcs_symbols_lookup_many(s, names, addrs, NWANTED);
	for (size_t i = 0; i < NWANTED; i++)
		if (wanted[i].offset)
			*(pcs_addr_t *)((char *)py + wanted[i].offset) = addrs[i];
	py->py2_unicode_size = addrs[NWANTED - 2] ? 4 : addrs[NWANTED - 1] ? 2 : 0;

	struct pcs_error *err = NULL;
	switch (l->props.root) {
	case PCS_ROOT_RUNTIME:
		if (!pcs_symbols_python_runtime(s, &py->runtime))
			err = pcs_error_create(PCS_ERROR_NOT_PYTHON,
					       "cannot find _PyRuntime in '%s'",
					       pcs_symbols_python_path(s));
		break;
	case PCS_ROOT_INTERP_HEAD:
		if (!pcs_symbols_lookup(s, "interp_head", &py->interp_head_ptr, NULL) &&
		    !interp_head_from_code(py, &py->interp_head_ptr))
			err = pcs_error_create(PCS_ERROR_NOT_PYTHON,
					       "cannot find interp_head in '%s'",
					       pcs_symbols_python_path(s));
		break;
	}
	if (err) {
		free(py);
		return err;
	}
	*ret = py;
	return NULL;
}

void pcs_python_destroy(struct pcs_python *py)
{
	if (!py)
		return;
	for (size_t i = 0; i < py->ncodes_slots; i++) {
		free(py->codes[i].linetable);
		free(py->codes[i].locals);
	}
	free(py->codes);
	free(py->locals_buf);
	free(py->str_cache);
	free(py);
}

// Collect a linked list into an array: bounded and cycle-safe.
static struct pcs_error *collect_list(struct pcs_python *py, pcs_addr_t head,
				      enum pcs_field next, size_t max,
				      const char *what, pcs_addr_t **ret,
				      size_t *count)
{
	pcs_addr_t *items = NULL;
	size_t n = 0, cap = 0;
	struct pcs_error *err = NULL;
	struct pcs_cycle_guard guard;
	pcs_cycle_guard_init(&guard, max, what);
	for (pcs_addr_t cur = head; cur && !err;) {
		if ((err = pcs_cycle_guard_step(&guard, cur)))
			break;
		if (!PCS_VEC_RESERVE(items, n, cap, 1)) {
			err = &pcs_enomem;
			break;
		}
		items[n++] = cur;
		err = pcs_read_field(py, cur, next, &cur);
	}
	if (err) {
		free(items);
		return err;
	}
	*ret = items;
	*count = n;
	return NULL;
}

struct pcs_error *pcs_python_interpreters(struct pcs_python *py,
					  pcs_addr_t **ret, size_t *count)
{
	pcs_addr_t head;
	struct pcs_error *err;
	if (py->runtime)
		err = pcs_read_field(py, py->runtime, PCS_F_runtime_interpreters_head,
				     &head);
	else
		err = pcs_read_u64(py, py->interp_head_ptr, &head);
	if (err)
		return pcs_error_prefix(err, "cannot read the interpreter list");
	if (!head)
		return pcs_error_create(PCS_ERROR_NOT_PYTHON,
					"the Python runtime has no interpreter "
					"(not started, or already finalized)");
	return collect_list(py, head, PCS_F_interp_next, PCS_MAX_INTERPRETERS,
			    "interpreter", ret, count);
}

struct pcs_error *pcs_python_interp_id(struct pcs_python *py, pcs_addr_t interp,
				       int64_t *ret)
{
	if (!pcs_layout_has(py->layout, PCS_F_interp_id)) {
		*ret = 0;
		return NULL;
	}
	return pcs_read_field_signed(py, interp, PCS_F_interp_id, ret);
}

struct pcs_error *pcs_python_thread_states(struct pcs_python *py,
					   pcs_addr_t interp, pcs_addr_t **ret,
					   size_t *count)
{
	pcs_addr_t head;
	struct pcs_error *err = pcs_read_field(py, interp, PCS_F_interp_threads_head,
					       &head);
	if (err)
		return err;
	pcs_addr_t *items;
	size_t n;
	err = collect_list(py, head, PCS_F_tstate_next, PCS_MAX_THREADS,
			   "thread state", &items, &n);
	if (err)
		return err;
	// Each thread state points back at its interpreter: a cheap check
	// that we are reading thread states at all.
	for (size_t i = 0; i < n; i++) {
		uint64_t back;
		err = pcs_read_field(py, items[i], PCS_F_tstate_interp, &back);
		if (!err && back != interp)
			err = pcs_error_create(PCS_ERROR_BAD_DATA,
					       "thread state 0x%" PRIx64 " belongs to "
					       "interpreter 0x%" PRIx64 ", not 0x%" PRIx64,
					       items[i], back, interp);
		if (err) {
			free(items);
			return err;
		}
	}
	*ret = items;
	*count = n;
	return NULL;
}

static bool is_target_tid(struct pcs_python *py, uint32_t tid)
{
	for (size_t i = 0; i < pcs_target_num_threads(py->target); i++)
		if ((uint32_t)pcs_target_thread(py->target, i)->tid == tid)
			return true;
	return false;
}

// Without registers (a process a debugger holds), the kernel tid of a
// thread is read from glibc's struct pthread, which pthread_t points to.
// Where glibc keeps it varies with its version, so it is learned once from
// the process itself: the offset at which the most thread idents hold a tid
// of this very process.
enum { PTHREAD_SCAN = 2048 };

static int learn_pthread_tid_offset(struct pcs_python *py)
{
	pcs_addr_t *interps = NULL, *tstates = NULL;
	size_t ninterps, ntstates;
	unsigned votes[PTHREAD_SCAN / 4] = { 0 };
	struct pcs_error *err = pcs_python_interpreters(py, &interps, &ninterps);
	for (size_t i = 0; !err && i < ninterps; i++) {
		err = pcs_python_thread_states(py, interps[i], &tstates, &ntstates);
		for (size_t j = 0; !err && j < ntstates && j < 4096; j++) {
			uint64_t ident;
			uint32_t words[PTHREAD_SCAN / 4];
			struct pcs_error *rerr = pcs_read_field(py, tstates[j],
								PCS_F_tstate_thread_id, &ident);
			if (!rerr)
				rerr = pcs_target_read(py->target, ident, words, sizeof(words));
			if (rerr) {
				pcs_error_destroy(rerr);
				continue;
			}
			for (size_t k = 0; k < PTHREAD_SCAN / 4; k++)
				if (words[k] && is_target_tid(py, words[k]))
					votes[k]++;
		}
		free(tstates);
		tstates = NULL;
	}
	free(interps);
	pcs_error_destroy(err);
	size_t best = 0;
	for (size_t k = 1; k < PTHREAD_SCAN / 4; k++)
		if (votes[k] > votes[best])
			best = k;
	return votes[best] ? (int)(best * 4) : -1;
}

struct pcs_error *pcs_python_tstate_info(struct pcs_python *py,
					 pcs_addr_t tstate,
					 struct pcs_python_tstate_info *ret)
{
	uint64_t ident, tid = 0;
	struct pcs_error *err = pcs_read_field(py, tstate, PCS_F_tstate_thread_id, &ident);
	if (err)
		return err;
	if (pcs_layout_has(py->layout, PCS_F_tstate_native_thread_id) &&
	    (err = pcs_read_field(py, tstate, PCS_F_tstate_native_thread_id, &tid)))
		return err;
	// Without native_thread_id (≤ 3.10): glibc's pthread_t is the
	// thread's TCB, which is its fs_base register on x86-64.
	for (size_t i = 0; !tid && ident && i < pcs_target_num_threads(py->target); i++) {
		const struct pcs_target_thread *th = pcs_target_thread(py->target, i);
		if (th->fs_base == ident)
			tid = (uint64_t)th->tid;
	}
	if (!tid && ident && pcs_target_num_threads(py->target) &&
	    !pcs_target_thread(py->target, 0)->fs_base) {
		if (py->pthread_tid_offset == PCS_TID_OFFSET_UNKNOWN)
			py->pthread_tid_offset = learn_pthread_tid_offset(py);
		uint32_t v;
		struct pcs_error *rerr = py->pthread_tid_offset < 0 ? NULL
			: pcs_read_u32(py, ident + (uint64_t)py->pthread_tid_offset, &v);
		if (py->pthread_tid_offset >= 0 && !rerr && is_target_tid(py, v))
			tid = v;
		pcs_error_destroy(rerr);
	}
	ret->ident = ident;
	ret->tid = tid <= INT32_MAX ? (int)tid : 0;
	return NULL;
}

struct pcs_error *pcs_python_gil_holder(struct pcs_python *py, pcs_addr_t interp,
					pcs_addr_t *holder, bool *known)
{
	const struct pcs_layout *l = py->layout;
	struct pcs_error *err;
	uint64_t locked, last;
	*known = false;
	*holder = 0;
	switch (l->props.gil) {
	case PCS_GIL_STATIC: {
		pcs_addr_t locked_at, holder_at;
		uint32_t v;
		if (pcs_symbols_lookup(py->symbols, "gil_locked", &locked_at, NULL) &&
		    pcs_symbols_lookup(py->symbols, "gil_last_holder", &holder_at, NULL)) {
			if ((err = pcs_read_u32(py, locked_at, &v)) ||
			    (err = pcs_read_u64(py, holder_at, &last)))
				return err;
			// -1 until the GIL is created.
			locked = (int32_t)v > 0;
			break;
		}
		// Stripped: the exported current thread state is set exactly
		// while a thread holds the GIL.
		if (!pcs_symbols_lookup(py->symbols, "_PyThreadState_Current",
					&holder_at, NULL))
			return NULL;
		if ((err = pcs_read_u64(py, holder_at, &last)))
			return err;
		locked = last != 0;
		break;
	}
	case PCS_GIL_RUNTIME:
	case PCS_GIL_INTERP_POINTER: {
		pcs_addr_t gil;
		if (!pcs_layout_has(l, PCS_F_gil_locked) ||
		    !pcs_layout_has(l, PCS_F_gil_last_holder))
			return NULL;
		if (l->props.gil == PCS_GIL_RUNTIME) {
			if (!pcs_layout_has(l, PCS_F_runtime_ceval_gil))
				return NULL;
			gil = py->runtime + (uint64_t)l->offset[PCS_F_runtime_ceval_gil];
		} else {
			if (!pcs_layout_has(l, PCS_F_interp_ceval_gil))
				return NULL;
			if ((err = pcs_read_field(py, interp, PCS_F_interp_ceval_gil, &gil)))
				return err;
			if (!gil)
				return NULL;
		}
		if ((err = pcs_read_field(py, gil, PCS_F_gil_locked, &locked)) ||
		    (err = pcs_read_field(py, gil, PCS_F_gil_last_holder, &last)))
			return err;
		break;
	}
	default:
		return NULL;
	}
	*known = true;
	*holder = locked ? last : 0;
	return NULL;
}

struct names_ctx {
	struct pcs_python *py;
	pcs_thread_name_fn *fn;
	void *arg;
};

static struct pcs_error *name_item(void *arg, pcs_addr_t key, pcs_addr_t value,
				   bool *stop)
{
	(void)stop;
	struct names_ctx *ctx = arg;
	uint64_t ident;
	pcs_addr_t name_obj;
	const char *name;
	struct pcs_error *err = pcs_object_int(ctx->py, key, &ident);
	if (!err)
		err = pcs_object_attr(ctx->py, value, ctx->py->layout->props.thread_name_attr,
				      &name_obj);
	if (!err && !name_obj)
		return NULL;
	if (!err)
		err = pcs_object_str(ctx->py, name_obj, &name);
	if (err) {
		// One unreadable entry should not hide the other names.
		if (err->code == PCS_ERROR_BAD_DATA) {
			pcs_error_destroy(err);
			return NULL;
		}
		return err;
	}
	return ctx->fn(ctx->arg, ident, name);
}

struct pcs_error *pcs_python_thread_names(struct pcs_python *py,
					  pcs_addr_t interp,
					  pcs_thread_name_fn *fn, void *arg)
{
	uint64_t modules, module, dict, active;
	struct pcs_error *err = pcs_read_field(py, interp, PCS_F_interp_modules, &modules);
	if (err || !modules)
		return err;
	if ((err = pcs_object_dict_get(py, modules, "threading", &module)) || !module)
		return err;
	if ((err = pcs_read_field(py, module, PCS_F_module_md_dict, &dict)) || !dict)
		return err;
	if ((err = pcs_object_dict_get(py, dict, "_active", &active)) || !active)
		return err;
	struct names_ctx ctx = { py, fn, arg };
	return pcs_object_dict_items(py, active, name_item, &ctx);
}

// glibc, x86-64: pthread_t is the thread's TCB, whose second word points to
// its dynamic thread vector (dtv); dtv[-1] counts the slots, dtv[0] is a
// generation, and dtv[i] (16 bytes each: block address, flag) locates
// module i's thread-local block; (void *)-1 marks one not yet allocated.
enum {
	TCB_DTV = 8,
	DTV_SLOT = 16,
	MAX_DTV_SLOTS = 4096,
	/** Bytes of each thread-local block searched. */
	TLS_SCAN = 64,
};

// Read without an error to report: false if unreadable.
static bool peek(struct pcs_python *py, pcs_addr_t addr, void *buf, size_t len)
{
	struct pcs_error *err = pcs_target_read(py->target, addr, buf, len);
	pcs_error_destroy(err);
	return !err;
}

bool pcs_python_thread_local_holds(struct pcs_python *py, uint64_t ident, uint64_t value)
{
	uint64_t dtv, nslots;
	if (!ident || !value || !peek(py, ident + TCB_DTV, &dtv, 8) ||
	    !peek(py, dtv - DTV_SLOT, &nslots, 8))
		return false;
	if (nslots > MAX_DTV_SLOTS)
		nslots = MAX_DTV_SLOTS;
	for (uint64_t i = 1; i <= nslots; i++) {
		uint64_t block, words[TLS_SCAN / 8];
		if (!peek(py, dtv + i * DTV_SLOT, &block, 8))
			break;
		if (!block || block == UINT64_MAX || !peek(py, block, words, sizeof(words)))
			continue;
		for (size_t k = 0; k < TLS_SCAN / 8; k++)
			if (words[k] == value)
				return true;
	}
	return false;
}
