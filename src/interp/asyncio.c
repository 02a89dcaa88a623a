// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// asyncio tasks: where the pending ones are registered, their names, what
// waits on them, and the await chain of their coroutines.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "interp/internal.h"
#include "util/strtab.h"
#include "util/vector.h"

enum {
	PCS_MAX_TASKS = 1 << 22,
	MAX_AWAIT_DEPTH = 1024,
	MAX_AWAITED_BY = 1 << 16,
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
	case PCS_ASYNCIO_NONE:
		break;
	}
	return false;
}

static struct pcs_error *task_name(struct pcs_python *py, pcs_addr_t task,
				   const char **ret)
{
	uint64_t name, type, flags;
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
	uint64_t mask, table;
	if ((err = pcs_read_field(py, by, PCS_F_set_mask, &mask)) ||
	    (err = pcs_read_field(py, by, PCS_F_set_table, &table)))
		return err;
	if (mask >= MAX_AWAITED_BY || ((mask + 1) & mask) || !l->struct_size[PCS_S_setentry])
		return pcs_error_create(PCS_ERROR_BAD_DATA, "corrupt set at 0x%" PRIx64, by);
	for (uint64_t i = 0; i <= mask; i++) {
		uint64_t key;
		err = pcs_read_field(py, table + i * l->struct_size[PCS_S_setentry],
				     PCS_F_setentry_key, &key);
		if (err)
			return err;
		if (!key || key == py->set_dummy)
			continue;
		if (!PCS_VEC_RESERVE(*items, *n, *cap, 1))
			return &pcs_enomem;
		(*items)[(*n)++] = key;
	}
	return NULL;
}

static bool is_generator_like(const struct pcs_python *py, pcs_addr_t type)
{
	return type && (type == py->coro_type || type == py->gen_type ||
			type == py->asyncgen_type);
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
		uint64_t state8, sp, yf;
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
		pcs_addr_t frame = coro + (uint64_t)l->offset[PCS_F_gen_gi_iframe];
		if ((err = pcs_python_iframe(py, frame, fn, arg)) ||
		    (err = pcs_read_field(py, coro, PCS_F_gen_gi_frame_state, &state8)))
			break;
		int8_t state = (int8_t)state8;
		if (state < props->yf_state_first || state > props->yf_state_last)
			break;
		if ((err = pcs_read_field(py, frame, PCS_F_iframe_stackpointer, &sp)) ||
		    (err = pcs_read_u64(py, sp - 8 * (uint64_t)props->yf_stack_depth, &yf)))
			break;
		coro = yf & ~props->executable_tag_bits;
	}
	return err;
}

struct pcs_error *pcs_python_tasks(struct pcs_python *py, pcs_addr_t interp,
				   pcs_python_task_fn *fn, void *arg)
{
	const struct pcs_layout *l = py->layout;
	if (!pcs_python_has_tasks(py))
		return NULL;
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
