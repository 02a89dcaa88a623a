// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Pending asyncio tasks, their await chains, and who waits on whom.

#include <inttypes.h>
#include <stdlib.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "util/error.h"
#include "util/vector.h"

// What waits on each task, as read; turned into `awaits` once all tasks
// are known (a waiter that is not a pending task is not listed).
struct waits {
	uint64_t waiter;
	uint64_t awaited;
};

struct tasks_ctx {
	struct pcs_python *py;
	struct pcs_snapshot *snap;
	struct waits *waits;
	size_t nwaits, cap_waits;
	// (future, task whose done-callback refers to it), by future.
	struct waits *refs;
	size_t nrefs, cap_refs;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct waits *x = a, *y = b;
	return x->waiter < y->waiter ? -1 : x->waiter > y->waiter;
}

// Whether @p address is in @p addrs (sorted, @p n of them); its index in
// *@p at.
static bool find_address(const uint64_t *addrs, size_t n, uint64_t address, size_t *at)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addrs[mid] < address)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < n && addrs[lo] == address;
}

static struct pcs_error *add_await(struct pcs_task *waiter, uint64_t awaited)
{
	for (size_t i = 0; i < waiter->nawaits; i++)
		if (waiter->awaits[i] == awaited)
			return NULL;
	if (!PCS_VEC_RESERVE(waiter->awaits, waiter->nawaits, waiter->cap_awaits, 1))
		return &pcs_enomem;
	waiter->awaits[waiter->nawaits++] = awaited;
	return NULL;
}

static struct pcs_error *add_task(void *arg, const struct pcs_python_task *pt)
{
	struct tasks_ctx *ctx = arg;
	struct pcs_snapshot *snap = ctx->snap;
	if (!PCS_VEC_RESERVE(snap->tasks, snap->ntasks, snap->cap_tasks, 1) ||
	    !PCS_VEC_RESERVE(ctx->waits, ctx->nwaits, ctx->cap_waits,
			     pt->nawaited_by + pt->nwaits_on))
		return &pcs_enomem;
	struct pcs_task *task = &snap->tasks[snap->ntasks++];
	*task = (struct pcs_task){
		.address = pt->addr,
		.name = pt->name,
		.state = "pending",
		.coro = pt->coro,
		.tid = pt->tid,
		.running = pt->running,
	};
	for (size_t i = 0; i < pt->nawaited_by; i++)
		ctx->waits[ctx->nwaits++] = (struct waits){ pt->awaited_by[i], pt->addr };
	for (size_t i = 0; i < pt->nwaits_on; i++)
		ctx->waits[ctx->nwaits++] = (struct waits){ pt->addr, pt->waits_on[i] };
	if (!PCS_VEC_RESERVE(ctx->refs, ctx->nrefs, ctx->cap_refs, pt->nrefers_to))
		return &pcs_enomem;
	for (size_t i = 0; i < pt->nrefers_to; i++)
		ctx->refs[ctx->nrefs++] = (struct waits){ pt->refers_to[i], pt->addr };
	struct pcs_error *err = pcs_python_coro_chain(ctx->py, pt->coro_addr, pcs_collect_push_frame,
						      &task->stack);
	pcs_stack_shrink(&task->stack);
	if (!task->coro && task->stack.nframes)
		task->coro = task->stack.frames[0].qualname;
	if (err && err != &pcs_enomem) {
		task->stack.truncated = pcs_snapshot_intern(snap, err->message);
		err = pcs_snapshot_warn_error(snap, err, "task 0x%" PRIx64
					      ": await chain truncated", pt->addr);
	}
	return err;
}

struct pcs_error *pcs_collect_tasks(struct pcs_python *py, struct pcs_snapshot *snap)
{
	if (!pcs_python_has_tasks(py))
		return NULL;
	pcs_addr_t *interps;
	size_t n;
	struct pcs_error *err = pcs_python_interpreters(py, &interps, &n);
	if (err)
		return err;
	struct tasks_ctx ctx = { .py = py, .snap = snap };
	for (size_t i = 0; i < n && !err; i++) {
		err = pcs_python_tasks(py, interps[i], add_task, &ctx);
		if (err)
			err = pcs_snapshot_warn_error(snap, err, "asyncio tasks: list truncated");
	}
	free(interps);
	// Awaits follow from what each task is awaited by.
	pcs_snapshot_sort_tasks(snap);
	if (ctx.nrefs > 1)
		qsort(ctx.refs, ctx.nrefs, sizeof(*ctx.refs), cmp_ref);
	// The tasks' addresses apart, in order: searched twice a wait.
	uint64_t *addrs = malloc((snap->ntasks ? snap->ntasks : 1) * sizeof(*addrs));
	if (!addrs && !err)
		err = &pcs_enomem;
	for (size_t i = 0; addrs && i < snap->ntasks; i++)
		addrs[i] = snap->tasks[i].address;
	for (size_t i = 0; i < ctx.nwaits && !err; i++) {
		size_t at;
		if (!find_address(addrs, snap->ntasks, ctx.waits[i].waiter, &at))
			continue;
		struct pcs_task *waiter = &snap->tasks[at];
		uint64_t on = ctx.waits[i].awaited;
		// A pending task waited on directly; else the tasks whose
		// done-callbacks refer to the future it waits on.
		if (find_address(addrs, snap->ntasks, on, &at)) {
			err = add_await(waiter, on);
			continue;
		}
		struct waits key = { .waiter = on };
		struct waits *r = ctx.nrefs ? bsearch(&key, ctx.refs, ctx.nrefs,
						      sizeof(*ctx.refs), cmp_ref) : NULL;
		while (r && r > ctx.refs && r[-1].waiter == on)
			r--;
		for (; r && r < ctx.refs + ctx.nrefs && r->waiter == on && !err; r++)
			if (r->awaited != waiter->address)
				err = add_await(waiter, r->awaited);
	}
	free(addrs);
	free(ctx.refs);
	free(ctx.waits);
	return err;
}
