// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// asyncio tasks: where the pending ones are registered, their names, what
// waits on them, and the await chain of their coroutines.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/internal.h"
#include "symbols/symbols.h"
#include "util/strtab.h"
#include "util/vector.h"

enum {
	PCS_MAX_TASKS = 1 << 22,
	MAX_AWAIT_DEPTH = 1024,
	// Py_TPFLAGS_LONG_SUBCLASS: a 3.12+ task whose name is still its
	// number (names are made lazily, "Task-%d").
	TPFLAGS_LONG_SUBCLASS = 1UL << 24,
};

bool pcs_python_has_tasks(const struct pcs_python *py)
{
	const struct pcs_layout *l = py->layout;
	switch (l->props.asyncio) {
	case PCS_ASYNCIO_LLIST:
		return pcs_layout_has(l, PCS_F_task_task_node) &&
		       pcs_layout_has(l, PCS_F_task_task_coro) &&
		       pcs_layout_has(l, PCS_F_tstateimpl_asyncio_tasks_head) &&
		       pcs_layout_has(l, PCS_F_gen_gi_iframe) &&
		       pcs_layout_has(l, PCS_F_iframe_stackpointer);
	case PCS_ASYNCIO_WEAKSET:
		return pcs_layout_has(l, PCS_F_task_task_state) &&
		       pcs_layout_has(l, PCS_F_task_task_coro) &&
		       pcs_layout_has(l, PCS_F_task_task_fut_waiter) &&
		       pcs_layout_has(l, PCS_F_weakref_wr_object) &&
		       pcs_layout_has(l, PCS_F_set_table) &&
		       (pcs_layout_has(l, PCS_F_gen_gi_iframe) ||
			pcs_layout_has(l, PCS_F_gen_gi_frame));
	case PCS_ASYNCIO_NONE:
		break;
	}
	return false;
}

typedef struct pcs_error *set_item_fn(void *arg, pcs_addr_t key);

// The keys of the set object at @p set (skipping empty and dummy slots).
static struct pcs_error *set_items(struct pcs_python *py, pcs_addr_t set,
				   set_item_fn *fn, void *arg)
{
	const struct pcs_layout *l = py->layout;
	uint64_t mask, table;
	struct pcs_error *err;
	if ((err = pcs_read_field(py, set, PCS_F_set_mask, &mask)) ||
	    (err = pcs_read_field(py, set, PCS_F_set_table, &table)))
		return err;
	if (mask >= PCS_MAX_TASKS * 4ULL || ((mask + 1) & mask) ||
	    !l->struct_size[PCS_S_setentry])
		return pcs_error_create(PCS_ERROR_BAD_DATA, "corrupt set at 0x%" PRIx64, set);
	for (uint64_t i = 0; i <= mask && !err; i++) {
		uint64_t key;
		err = pcs_read_field(py, table + i * l->struct_size[PCS_S_setentry],
				     PCS_F_setentry_key, &key);
		if (!err && key && key != py->set_dummy)
			err = fn(arg, key);
	}
	return err;
}

static struct pcs_error *task_name(struct pcs_python *py, pcs_addr_t task,
				   const char **ret)
{
	uint64_t name, type, flags;
	if (!pcs_layout_has(py->layout, PCS_F_task_task_name)) {
		*ret = NULL;	// 3.7: tasks have no names
		return NULL;
	}
	struct pcs_error *err = pcs_read_field(py, task, PCS_F_task_task_name, &name);
	if (err || !name) {
		*ret = NULL;
		return err;
	}
	if ((err = pcs_object_type(py, name, &type)) ||
	    (err = pcs_read_field(py, type, PCS_F_type_tp_flags, &flags)))
		return err;
	if (!(flags & TPFLAGS_LONG_SUBCLASS))
		return pcs_object_str(py, name, ret);
	uint64_t n;
	char buf[32];
	if ((err = pcs_object_int(py, name, &n)))
		return err;
	snprintf(buf, sizeof(buf), "Task-%" PRIu64, n);
	*ret = pcs_strtab_interns(py->strings, buf);
	return *ret ? NULL : &pcs_enomem;
}

struct collect_ctx {
	pcs_addr_t **items;
	size_t *n, *cap;
};

static struct pcs_error *collect_item(void *arg, pcs_addr_t key)
{
	struct collect_ctx *ctx = arg;
	if (!PCS_VEC_RESERVE(*ctx->items, *ctx->n, *ctx->cap, 1))
		return &pcs_enomem;
	(*ctx->items)[(*ctx->n)++] = key;
	return NULL;
}

// What waits on @p task: task_awaited_by is one object, or a set of them.
static struct pcs_error *awaited_by(struct pcs_python *py, pcs_addr_t task,
				    pcs_addr_t **items, size_t *n, size_t *cap)
{
	const struct pcs_layout *l = py->layout;
	uint64_t by, is_set;
	struct pcs_error *err;
	*n = 0;
	if (!pcs_layout_has(l, PCS_F_task_task_awaited_by))
		return NULL;
	if ((err = pcs_read_field(py, task, PCS_F_task_task_awaited_by, &by)) ||
	    (err = pcs_read_field(py, task, PCS_F_task_task_awaited_by_is_set, &is_set)))
		return err;
	if (!by)
		return NULL;
	if (!is_set) {
		if (!PCS_VEC_RESERVE(*items, 0, *cap, 1))
			return &pcs_enomem;
		(*items)[(*n)++] = by;
		return NULL;
	}
	struct collect_ctx ctx = { items, n, cap };
	return set_items(py, by, collect_item, &ctx);
}

// A coroutine's __qualname__ (gi_qualname; before 3.11 code objects have
// none). NULL where the layout lacks it: then its frame's code tells.
static struct pcs_error *coro_qualname(struct pcs_python *py, pcs_addr_t coro,
				       const char **ret)
{
	uint64_t name;
	*ret = NULL;
	if (!coro || !pcs_layout_has(py->layout, PCS_F_gen_gi_qualname))
		return NULL;
	struct pcs_error *err = pcs_read_field(py, coro, PCS_F_gen_gi_qualname, &name);
	return err || !name ? err : pcs_object_str(py, name, ret);
}

static bool is_generator_like(const struct pcs_python *py, pcs_addr_t type)
{
	return type && (type == py->coro_type || type == py->gen_type ||
			type == py->asyncgen_type);
}

// The object a generator suspended in `yield from` / `await` waits on: the
// top of its frame's value stack (_PyGen_yf). 0 when it is not so suspended.
static struct pcs_error *awaited_object(struct pcs_python *py, pcs_addr_t frame,
					pcs_addr_t *ret)
{
	const struct pcs_layout *l = py->layout;
	const struct pcs_python_props *props = &l->props;
	struct pcs_error *err;
	uint64_t sp;
	int64_t top;
	*ret = 0;
	switch (props->yf) {
	case PCS_YF_STACKPOINTER:
		if ((err = pcs_read_field(py, frame, PCS_F_iframe_stackpointer, &sp)))
			return err;
		return pcs_read_u64(py, sp - 8 * (uint64_t)props->yf_stack_depth, ret);
	case PCS_YF_STACKTOP_RESUME: {
		// 3.11/3.12 tell "in yield from" by the instruction after the
		// one suspended at: RESUME with oparg >= 2 (after yield from /
		// await, not a plain yield), as specialized or instrumented.
		uint64_t instr;
		uint8_t code[2];
		if ((err = pcs_read_field(py, frame, PCS_F_iframe_instr_ptr, &instr)) ||
		    (err = pcs_target_read(py->target, instr + 2, code, 2)))
			return err;
		if ((code[0] != props->resume_opcode &&
		     (!props->resume_opcode_variant || code[0] != props->resume_opcode_variant)) ||
		    code[1] < 2)
			return NULL;
	}
		__attribute__((fallthrough));
	case PCS_YF_STACKTOP:
		if ((err = pcs_read_field_signed(py, frame, PCS_F_iframe_stacktop, &top)))
			return err;
		if (top <= 0 || top > 1 << 20)
			return NULL;
		return pcs_read_u64(py, frame + (uint64_t)l->offset[PCS_F_iframe_localsplus] +
					8 * (uint64_t)(top - 1), ret);
	case PCS_YF_FRAMEOBJ_STACKTOP:
	case PCS_YF_FRAMEOBJ_STACKDEPTH:
	case PCS_YF_NONE:
		break;
	}
	return NULL;
}

// ≤ 3.10: a generator suspended in `yield from`/`await` stopped just
// before its YIELD_FROM instruction, with the awaited object on top of the
// value stack (f_stacktop, or f_valuestack[f_stackdepth - 1] in 3.10).
static struct pcs_error *frame_object_awaits(struct pcs_python *py, pcs_addr_t f,
					     pcs_addr_t *ret)
{
	const struct pcs_layout *l = py->layout;
	const struct pcs_python_props *props = &l->props;
	int64_t lasti, size;
	uint64_t code, bytes;
	struct pcs_error *err;
	*ret = 0;
	if ((err = pcs_read_field_signed(py, f, PCS_F_frameobj_f_lasti, &lasti)) ||
	    lasti < 0 ||
	    (err = pcs_read_field(py, f, PCS_F_frameobj_f_code, &code)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_code, &bytes)) ||
	    (err = pcs_read_field_signed(py, bytes, PCS_F_varobject_ob_size, &size)))
		return err;
	int64_t next = props->yf == PCS_YF_FRAMEOBJ_STACKTOP ? lasti + 2 : (lasti + 1) * 2;
	uint8_t op;
	if (next >= size ||
	    (err = pcs_read_u8(py, bytes + (uint64_t)l->offset[PCS_F_bytes_ob_sval] +
				   (uint64_t)next, &op)) ||
	    op != props->resume_opcode)
		return err;
	if (props->yf == PCS_YF_FRAMEOBJ_STACKTOP) {
		uint64_t top;
		if ((err = pcs_read_field(py, f, PCS_F_frameobj_f_stacktop, &top)) || !top)
			return err;
		return pcs_read_u64(py, top - 8, ret);
	}
	uint64_t stack;
	int64_t depth;
	if ((err = pcs_read_field(py, f, PCS_F_frameobj_f_valuestack, &stack)) ||
	    (err = pcs_read_field_signed(py, f, PCS_F_frameobj_f_stackdepth, &depth)) ||
	    depth <= 0 || depth > 1 << 20)
		return err;
	return pcs_read_u64(py, stack + 8 * (uint64_t)(depth - 1), ret);
}

// Report the frame of generator @p gen and find what it awaits (0: none).
static struct pcs_error *generator_step(struct pcs_python *py, pcs_addr_t gen,
					pcs_python_frame_fn *fn, void *arg,
					pcs_addr_t *yf)
{
	const struct pcs_layout *l = py->layout;
	const struct pcs_python_props *props = &l->props;
	struct pcs_error *err;
	uint64_t f, state8;
	*yf = 0;
	switch (props->yf) {
	case PCS_YF_FRAMEOBJ_STACKTOP:
	case PCS_YF_FRAMEOBJ_STACKDEPTH:
		// The frame is an object of its own; none once finished.
		if ((err = pcs_read_field(py, gen, PCS_F_gen_gi_frame, &f)) || !f)
			return err;
		if ((err = pcs_python_frame_object(py, f, fn, arg)))
			return err;
		return frame_object_awaits(py, f, yf);
	case PCS_YF_STACKTOP_RESUME:
	case PCS_YF_STACKTOP:
	case PCS_YF_STACKPOINTER:
		f = gen + (uint64_t)l->offset[PCS_F_gen_gi_iframe];
		if ((err = pcs_python_iframe(py, f, fn, arg)) ||
		    (err = pcs_read_field(py, gen, PCS_F_gen_gi_frame_state, &state8)))
			return err;
		if ((int8_t)state8 < props->yf_state_first ||
		    (int8_t)state8 > props->yf_state_last)
			return NULL;
		return awaited_object(py, f, yf);
	case PCS_YF_NONE:
		break;
	}
	return NULL;
}

struct pcs_error *pcs_python_coro_chain(struct pcs_python *py, pcs_addr_t coro,
					pcs_python_frame_fn *fn, void *arg)
{
	const struct pcs_layout *l = py->layout;
	const struct pcs_python_props *props = &l->props;
	struct pcs_error *err = NULL;
	// _PyGen_yf(): while a generator is suspended in `await`/`yield from`,
	// what it awaits is on top of its value stack.
	for (int depth = 0; coro && !err; depth++) {
		pcs_addr_t type;
		pcs_addr_t yf;
		if (depth >= MAX_AWAIT_DEPTH)
			return pcs_error_create(PCS_ERROR_LIMIT, "await chain deeper than %d",
						MAX_AWAIT_DEPTH);
		if ((err = pcs_object_type(py, coro, &type)))
			break;
		// `async for` awaits the generator's asend object: go on into
		// the async generator itself.
		if (type && type == py->asend_type &&
		    pcs_layout_has(l, PCS_F_asyncgenasend_ags_gen)) {
			err = pcs_read_field(py, coro, PCS_F_asyncgenasend_ags_gen, &coro);
			continue;
		}
		if (!is_generator_like(py, type))
			break;
		if ((err = generator_step(py, coro, fn, arg, &yf)) || !yf)
			break;
		coro = yf & ~props->executable_tag_bits;
	}
	return err;
}

static struct pcs_error *llist_tasks(struct pcs_python *py, pcs_addr_t interp,
				     pcs_python_task_fn *fn, void *arg)
{
	const struct pcs_layout *l = py->layout;
	pcs_addr_t *tstates;
	size_t ntstates;
	struct pcs_error *err = pcs_python_thread_states(py, interp, &tstates, &ntstates);
	if (err)
		return err;
	pcs_addr_t *by = NULL;
	size_t nby = 0, cap_by = 0;
	struct pcs_cycle_guard guard;
	pcs_cycle_guard_init(&guard, PCS_MAX_TASKS, "task");
	// Every thread's list, then the interpreter's (tasks whose thread
	// state is gone).
	for (size_t i = 0; i <= ntstates && !err; i++) {
		pcs_addr_t head, running = 0;
		struct pcs_python_tstate_info info = { 0 };
		if (i < ntstates) {
			head = tstates[i] + (uint64_t)l->offset[PCS_F_tstateimpl_asyncio_tasks_head];
			if ((err = pcs_python_tstate_info(py, tstates[i], &info)))
				break;
			if (pcs_layout_has(l, PCS_F_tstateimpl_asyncio_running_task) &&
			    (err = pcs_read_field(py, tstates[i],
						  PCS_F_tstateimpl_asyncio_running_task, &running)))
				break;
		} else if (pcs_layout_has(l, PCS_F_interp_asyncio_tasks_head)) {
			head = interp + (uint64_t)l->offset[PCS_F_interp_asyncio_tasks_head];
		} else {
			break;
		}
		uint64_t node;
		if ((err = pcs_read_u64(py, head, &node)))
			break;
		while (node && node != head && !err) {
			if ((err = pcs_cycle_guard_step(&guard, node)))
				break;
			struct pcs_python_task task = {
				.addr = node - (uint64_t)l->offset[PCS_F_task_task_node],
				.tid = info.tid,
			};
			task.running = running && running == task.addr;
			if ((err = task_name(py, task.addr, &task.name)) ||
			    (err = pcs_read_field(py, task.addr, PCS_F_task_task_coro,
						  &task.coro_addr)) ||
			    (err = coro_qualname(py, task.coro_addr, &task.coro)) ||
			    (err = awaited_by(py, task.addr, &by, &nby, &cap_by)))
				break;
			task.awaited_by = by;
			task.nawaited_by = nby;
			if ((err = fn(arg, &task)) || (err = pcs_read_u64(py, node, &node)))
				break;
		}
	}
	free(by);
	free(tstates);
	return err;
}

// --- 3.12, 3.13: _asyncio's registries, visible to Python ------------------

enum { MAX_GATHER_DEPTH = 64, MAX_LOOPS = 4096 };

struct loop_thread {
	pcs_addr_t loop;
	int tid;
};

struct weakset_ctx {
	struct pcs_python *py;
	pcs_python_task_fn *fn;
	void *arg;
	pcs_addr_t none;
	struct loop_thread *loops;
	size_t nloops;
	pcs_addr_t *running;
	size_t nrunning, cap_running;
	pcs_addr_t *waits;
	size_t nwaits, cap_waits;
	pcs_addr_t *refs;
	size_t nrefs, cap_refs;
	struct pcs_cycle_guard guard;
	struct known_type { pcs_addr_t type; bool c_task; } types[16];
	size_t ntypes;
};

static struct pcs_error *add_ref(struct weakset_ctx *ctx, pcs_addr_t fut)
{
	if (!fut)
		return NULL;
	if (!PCS_VEC_RESERVE(ctx->refs, ctx->nrefs, ctx->cap_refs, 1))
		return &pcs_enomem;
	ctx->refs[ctx->nrefs++] = fut;
	return NULL;
}

// Whether the type at @p type is functools.partial (a static type in a
// module that keeps no exported symbol for it: known by its name).
static bool is_partial(struct pcs_python *py, pcs_addr_t type)
{
	static const char name[] = "functools.partial";
	char buf[sizeof(name)];
	uint64_t at;
	if (!pcs_layout_has(py->layout, PCS_F_type_tp_name) ||
	    !pcs_layout_has(py->layout, PCS_F_partial_args))
		return false;
	struct pcs_error *err = pcs_read_field(py, type, PCS_F_type_tp_name, &at);
	if (!err)
		err = pcs_target_read(py->target, at, buf, sizeof(buf));
	bool yes = !err && memcmp(buf, name, sizeof(name)) == 0;
	pcs_error_destroy(err);
	return yes;
}

// The items of the tuple at @p tuple, each passed to add_ref().
static struct pcs_error *tuple_refs(struct weakset_ctx *ctx, pcs_addr_t tuple,
				    bool cells)
{
	struct pcs_python *py = ctx->py;
	int64_t n;
	struct pcs_error *err = pcs_read_field_signed(py, tuple, PCS_F_varobject_ob_size, &n);
	uint64_t at = tuple + (uint64_t)py->layout->offset[PCS_F_tuple_ob_item];
	for (int64_t i = 0; !err && i < n && i < 256; i++) {
		uint64_t item;
		if ((err = pcs_read_u64(py, at + 8 * (uint64_t)i, &item)))
			break;
		if (cells && item)
			err = pcs_read_field(py, item, PCS_F_cell_ob_ref, &item);
		if (!err)
			err = add_ref(ctx, item);
	}
	return err;
}

// The futures one done-callback refers to: the closure cells of a Python
// function (shield's and wait()'s callbacks close over the outer future),
// the positional arguments of a functools.partial (wait_for before 3.12),
// or the `_on_completed_fut` of a bound method's object (TaskGroup).
static struct pcs_error *callback_refs(struct weakset_ctx *ctx, pcs_addr_t cb)
{
	struct pcs_python *py = ctx->py;
	pcs_addr_t type;
	struct pcs_error *err = pcs_object_type(py, cb, &type);
	if (err || !type)
		return err;
	if (is_partial(py, type)) {
		uint64_t args;
		if ((err = pcs_read_field(py, cb, PCS_F_partial_args, &args)) || !args)
			return err;
		return tuple_refs(ctx, args, false);
	}
	if (type == py->function_type) {
		uint64_t closure;
		if ((err = pcs_read_field(py, cb, PCS_F_function_func_closure, &closure)) ||
		    !closure)
			return err;
		return tuple_refs(ctx, closure, true);
	}
	if (type == py->method_type) {
		uint64_t self;
		pcs_addr_t fut;
		if ((err = pcs_read_field(py, cb, PCS_F_method_im_self, &self)) || !self)
			return err;
		err = pcs_object_attr(py, self, "_on_completed_fut", &fut);
		if (err && err->code == PCS_ERROR_BAD_DATA) {
			pcs_error_destroy(err);
			return NULL;
		}
		return err ? err : add_ref(ctx, fut);
	}
	return NULL;
}

// The callbacks in @p list: (callback, context) pairs since 3.7, bare
// callbacks in 3.6.
static struct pcs_error *list_refs(struct weakset_ctx *ctx, pcs_addr_t list)
{
	struct pcs_python *py = ctx->py;
	const struct pcs_layout *l = py->layout;
	uint64_t items;
	int64_t n;
	struct pcs_error *err;
	if (!list)
		return NULL;
	if ((err = pcs_read_field_signed(py, list, PCS_F_varobject_ob_size, &n)) ||
	    (err = pcs_read_field(py, list, PCS_F_list_ob_item, &items)))
		return err;
	for (int64_t i = 0; i < n && i < 4096 && !err; i++) {
		uint64_t item, cb, type;
		if ((err = pcs_read_u64(py, items + 8 * (uint64_t)i, &item)) ||
		    (err = pcs_object_type(py, item, &type)))
			break;
		cb = item;
		if (type == py->tuple_type &&
		    (err = pcs_read_u64(py, item + (uint64_t)l->offset[PCS_F_tuple_ob_item],
					&cb)))
			break;
		if (cb)
			err = callback_refs(ctx, cb);
	}
	return err;
}

// The done-callbacks of a C task: task_callback0 (3.7+), then the list.
static struct pcs_error *task_refs(struct weakset_ctx *ctx, pcs_addr_t task)
{
	struct pcs_python *py = ctx->py;
	const struct pcs_layout *l = py->layout;
	uint64_t cb0, list;
	struct pcs_error *err;
	ctx->nrefs = 0;
	if (!pcs_layout_has(l, PCS_F_task_task_callbacks) || !py->function_type)
		return NULL;
	if (pcs_layout_has(l, PCS_F_task_task_callback0) &&
	    ((err = pcs_read_field(py, task, PCS_F_task_task_callback0, &cb0)) ||
	     (cb0 && (err = callback_refs(ctx, cb0)))))
		return err;
	if ((err = pcs_read_field(py, task, PCS_F_task_task_callbacks, &list)))
		return err;
	return list_refs(ctx, list);
}

// The children a gathering future gathers (its `_children` list), and the
// children of the gathering futures among them.
static struct pcs_error *add_waits(struct weakset_ctx *ctx, pcs_addr_t fut, int depth)
{
	struct pcs_python *py = ctx->py;
	if (!PCS_VEC_RESERVE(ctx->waits, ctx->nwaits, ctx->cap_waits, 1))
		return &pcs_enomem;
	ctx->waits[ctx->nwaits++] = fut;
	pcs_addr_t children;
	uint64_t items;
	int64_t n;
	struct pcs_error *err = pcs_object_attr(py, fut, "_children", &children);
	// Something awaited whose attributes make no sense gathers nothing.
	if (pcs_error_catch(&err, PCS_ERROR_BAD_DATA))
		return NULL;
	if (err || !children || depth >= MAX_GATHER_DEPTH)
		return err;
	if ((err = pcs_read_field_signed(py, children, PCS_F_varobject_ob_size, &n)) ||
	    (err = pcs_read_field(py, children, PCS_F_list_ob_item, &items)))
		return err;
	for (int64_t i = 0; i < n && i < (1 << 20) && !err; i++) {
		uint64_t child;
		if (!(err = pcs_read_u64(py, items + 8 * (uint64_t)i, &child)))
			err = add_waits(ctx, child, depth + 1);
	}
	return err;
}

// Whether @p type is _asyncio.Task or a subclass of it (else the task is
// a pure-Python one, asyncio.tasks._PyTask or another Future-alike). The
// answer is remembered per type.
static struct pcs_error *is_c_task_type(struct weakset_ctx *ctx, pcs_addr_t type,
					bool *ret)
{
	static const char name[] = "_asyncio.Task";
	struct pcs_python *py = ctx->py;
	for (size_t i = 0; i < ctx->ntypes; i++) {
		if (ctx->types[i].type == type) {
			*ret = ctx->types[i].c_task;
			return NULL;
		}
	}
	bool yes = false;
	struct pcs_error *err = NULL;
	pcs_addr_t t = type;
	for (int depth = 0; t && depth < 32 && !yes && !err; depth++) {
		uint64_t at;
		char buf[sizeof(name)];
		if ((err = pcs_read_field(py, t, PCS_F_type_tp_name, &at)) ||
		    (err = pcs_target_read(py->target, at, buf, sizeof(buf))))
			break;
		yes = memcmp(buf, name, sizeof(name)) == 0;
		err = pcs_read_field(py, t, PCS_F_type_tp_base, &t);
	}
	if (err)
		return err;
	if (ctx->ntypes < sizeof(ctx->types) / sizeof(ctx->types[0]))
		ctx->types[ctx->ntypes++] = (struct known_type){ type, yes };
	*ret = yes;
	return NULL;
}

// The fields a task's reading needs, from a C task's struct or from a
// pure-Python task's attributes (its `_state` is absent while pending).
struct task_fields {
	bool pending;
	pcs_addr_t coro, waiter, loop;
};

static struct pcs_error *c_task_fields(struct pcs_python *py, pcs_addr_t task,
				       struct task_fields *ret)
{
	uint64_t state;
	struct pcs_error *err;
	if ((err = pcs_read_field(py, task, PCS_F_task_task_state, &state)) ||
	    (err = pcs_read_field(py, task, PCS_F_task_task_coro, &ret->coro)) ||
	    (err = pcs_read_field(py, task, PCS_F_task_task_fut_waiter, &ret->waiter)))
		return err;
	ret->pending = state == 0;	// STATE_PENDING
	if (pcs_layout_has(py->layout, PCS_F_task_task_loop))
		err = pcs_read_field(py, task, PCS_F_task_task_loop, &ret->loop);
	return err;
}

static struct pcs_error *py_task_fields(struct pcs_python *py, pcs_addr_t task,
					struct task_fields *ret)
{
	pcs_addr_t state;
	struct pcs_error *err;
	if ((err = pcs_object_attr(py, task, "_state", &state)) ||
	    (state && (err = pcs_object_str_equals(py, state, "PENDING", &ret->pending))) ||
	    (err = pcs_object_attr(py, task, "_coro", &ret->coro)) ||
	    (err = pcs_object_attr(py, task, "_fut_waiter", &ret->waiter)) ||
	    (err = pcs_object_attr(py, task, "_loop", &ret->loop)))
		return err;
	if (!state)
		ret->pending = true;
	return NULL;
}

static struct pcs_error *weakset_task(void *arg, pcs_addr_t task_addr)
{
	struct weakset_ctx *ctx = arg;
	struct pcs_python *py = ctx->py;
	struct task_fields tf = { 0 };
	pcs_addr_t type, none = ctx->none;
	bool c_task;
	struct pcs_error *err;
	if ((err = pcs_cycle_guard_step(&ctx->guard, task_addr)) ||
	    (err = pcs_object_type(py, task_addr, &type)) ||
	    (err = is_c_task_type(ctx, type, &c_task)))
		return err;
	err = c_task ? c_task_fields(py, task_addr, &tf) : py_task_fields(py, task_addr, &tf);
	if (err || !tf.pending)
		return err;
	if (tf.waiter == none)
		tf.waiter = 0;
	struct pcs_python_task task = { .addr = task_addr, .coro_addr = tf.coro };
	if (c_task) {
		err = task_name(py, task_addr, &task.name);
	} else {
		pcs_addr_t name;
		err = pcs_object_attr(py, task_addr, "_name", &name);
		if (!err && name && name != none)
			err = pcs_object_str(py, name, &task.name);
	}
	if (err || (err = coro_qualname(py, task.coro_addr, &task.coro)))
		return err;
	for (size_t i = 0; tf.loop && i < ctx->nloops; i++)
		if (ctx->loops[i].loop == tf.loop)
			task.tid = ctx->loops[i].tid;
	for (size_t i = 0; i < ctx->nrunning; i++)
		if (ctx->running[i] == task_addr)
			task.running = true;
	ctx->nwaits = 0;
	ctx->nrefs = 0;
	if (tf.waiter && (err = add_waits(ctx, tf.waiter, 0)))
		return err;
	if (c_task) {
		err = task_refs(ctx, task_addr);
	} else {
		pcs_addr_t list;
		if (!(err = pcs_object_attr(py, task_addr, "_callbacks", &list)))
			err = list_refs(ctx, list);
	}
	if (err)
		return err;
	task.waits_on = ctx->waits;
	task.nwaits_on = ctx->nwaits;
	task.refers_to = ctx->refs;
	task.nrefers_to = ctx->nrefs;
	return ctx->fn(ctx->arg, &task);
}

// A WeakSet's members: its `data` set holds weak references to them.
static struct pcs_error *weakref_member(void *arg, pcs_addr_t ref)
{
	struct weakset_ctx *ctx = arg;
	uint64_t obj;
	struct pcs_error *err = pcs_read_field(ctx->py, ref, PCS_F_weakref_wr_object, &obj);
	if (err || !obj || obj == ctx->none)
		return err;	// a dead reference points to None
	return weakset_task(ctx, obj);
}

static struct pcs_error *running_item(void *arg, pcs_addr_t key, pcs_addr_t value,
				      bool *stop)
{
	(void)key;
	(void)stop;
	struct weakset_ctx *ctx = arg;
	if (!PCS_VEC_RESERVE(ctx->running, ctx->nrunning, ctx->cap_running, 1))
		return &pcs_enomem;
	ctx->running[ctx->nrunning++] = value;
	return NULL;
}

// Which thread runs which loop, and the tasks running right now.
static struct pcs_error *map_loops(struct weakset_ctx *ctx, pcs_addr_t interp,
				   pcs_addr_t module_dict)
{
	struct pcs_python *py = ctx->py;
	const struct pcs_python_props *props = &py->layout->props;
	pcs_addr_t *tstates;
	size_t n;
	struct pcs_error *err = pcs_python_thread_states(py, interp, &tstates, &n);
	if (err)
		return err;
	ctx->loops = calloc(n ? n : 1, sizeof(*ctx->loops));
	if (!ctx->loops)
		err = &pcs_enomem;
	for (size_t i = 0; i < n && !err && ctx->nloops < MAX_LOOPS; i++) {
		uint64_t loop = 0, dict;
		struct pcs_python_tstate_info info;
		if ((err = pcs_python_tstate_info(py, tstates[i], &info)))
			break;
		switch (props->running_loop) {
		case PCS_RUNNING_LOOP_TSTATE:
			err = pcs_read_field(py, tstates[i],
					     PCS_F_tstateimpl_asyncio_running_loop, &loop);
			break;
		case PCS_RUNNING_LOOP_DICT:
		case PCS_RUNNING_LOOP_DICT_HOLDER:
			err = pcs_read_field(py, tstates[i], PCS_F_tstate_dict, &dict);
			if (!err && dict)
				err = pcs_object_dict_get(py, dict,
							  "__asyncio_running_event_loop__",
							  &loop);
			if (!err && loop && props->running_loop == PCS_RUNNING_LOOP_DICT_HOLDER)
				err = pcs_read_field(py, loop, PCS_F_runningloopholder_rl_loop,
						     &loop);
			break;
		case PCS_RUNNING_LOOP_NONE:
			break;
		}
		if (!err && loop)
			ctx->loops[ctx->nloops++] = (struct loop_thread){ loop, info.tid };
	}
	free(tstates);
	// _current_tasks: {loop: the task running on it}.
	pcs_addr_t current;
	if (!err && !(err = pcs_object_dict_get(py, module_dict, "_current_tasks", &current)) &&
	    current)
		err = pcs_object_dict_items(py, current, running_item, ctx);
	return err;
}

static struct pcs_error *weakset_tasks(struct pcs_python *py, pcs_addr_t interp,
				       pcs_python_task_fn *fn, void *arg)
{
	uint64_t modules, module, dict, set;
	struct pcs_error *err = pcs_read_field(py, interp, PCS_F_interp_modules, &modules);
	if (err || !modules)
		return err;
	if ((err = pcs_object_dict_get(py, modules, "_asyncio", &module)) || !module)
		return err;	// asyncio never imported
	if ((err = pcs_read_field(py, module, PCS_F_module_md_dict, &dict)) || !dict)
		return err;
	struct weakset_ctx ctx = { .py = py, .fn = fn, .arg = arg };
	pcs_cycle_guard_init(&ctx.guard, PCS_MAX_TASKS, "task");
	pcs_symbols_lookup(py->symbols, "_Py_NoneStruct", &ctx.none, NULL);
	err = map_loops(&ctx, interp, dict);
	// Scheduled tasks are held weakly; eager ones (only during their first
	// step) directly.
	const struct pcs_python_props *props = &py->layout->props;
	set = 0;
	pcs_addr_t at;
	if (!err && props->asyncio_weakset_static) {
		if (pcs_symbols_module_lookup(py->symbols, "_asyncio",
					      props->asyncio_weakset_static, &at))
			err = pcs_read_u64(py, at, &set);
		else
			err = pcs_error_create(PCS_ERROR_LOOKUP,
					       "_asyncio's '%s' is not in its symbols "
					       "(stripped)", props->asyncio_weakset_static);
	} else if (!err) {
		err = pcs_object_dict_get(py, dict, props->asyncio_weakset, &set);
	}
	if (!err && set) {
		pcs_addr_t data;
		if (!(err = pcs_object_attr(py, set, "data", &data)) && data)
			err = set_items(py, data, weakref_member, &ctx);
	}
	if (!err && !(err = pcs_object_dict_get(py, dict, "_eager_tasks", &set)) && set)
		err = set_items(py, set, weakset_task, &ctx);
	free(ctx.loops);
	free(ctx.running);
	free(ctx.waits);
	free(ctx.refs);
	return err;
}

struct pcs_error *pcs_python_tasks(struct pcs_python *py, pcs_addr_t interp,
				   pcs_python_task_fn *fn, void *arg)
{
	if (!pcs_python_has_tasks(py))
		return NULL;
	switch (py->layout->props.asyncio) {
	case PCS_ASYNCIO_LLIST:
		return llist_tasks(py, interp, fn, arg);
	case PCS_ASYNCIO_WEAKSET:
		return weakset_tasks(py, interp, fn, arg);
	case PCS_ASYNCIO_NONE:
		break;
	}
	return NULL;
}
