// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Greenlets: each one's state, parent and saved frames, and the OS thread
// it belongs to. A greenlet belongs to the thread of the main greenlet at
// the root of its parent chain; a main greenlet's thread is the one whose
// stack holds the slices of the C stack its greenlets switched out of.

#include <inttypes.h>
#include <stdlib.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "util/error.h"
#include "util/vector.h"

static const char *const state_names[] = {
	[PCS_GREENLET_RUNNING] = "running",
	[PCS_GREENLET_SUSPENDED] = "suspended",
	[PCS_GREENLET_NOT_STARTED] = "not-started",
	[PCS_GREENLET_DEAD] = "dead",
};

// What a greenlet tells about threads, beside the snapshot's record.
struct greenlet_extra {
	uint64_t main;		/**< as the greenlet itself records it */
	uint64_t thread_state;	/**< a main greenlet's */
	int hint_tid;		/**< the thread whose stack its slice is on */
};

struct greenlets_ctx {
	struct pcs_python *py;
	struct pcs_snapshot *snap;
	struct greenlet_extra *extra;
	size_t nextra, cap_extra;
};

static struct pcs_error *warn_unit(struct pcs_snapshot *snap, struct pcs_greenlet *g,
				   const char *what, struct pcs_error *err)
{
	if (err != &pcs_enomem)
		g->stack.truncated = pcs_snapshot_intern(snap, err->message);
	return pcs_snapshot_warn_error(snap, err, "greenlet 0x%" PRIx64 ": %s", g->address,
				       what);
}

static struct pcs_error *add_greenlet(void *arg, const struct pcs_python_greenlet *pg)
{
	struct greenlets_ctx *ctx = arg;
	struct pcs_snapshot *snap = ctx->snap;
	if (!PCS_VEC_RESERVE(snap->greenlets, snap->ngreenlets, snap->cap_greenlets, 1) ||
	    !PCS_VEC_RESERVE(ctx->extra, ctx->nextra, ctx->cap_extra, 1))
		return &pcs_enomem;
	struct pcs_greenlet *g = &snap->greenlets[snap->ngreenlets++];
	*g = (struct pcs_greenlet){
		.address = pg->addr,
		.type = pg->type,
		.name = pg->name,
		.state = state_names[pg->state],
		.is_main = pg->is_main,
		.parent = pg->parent,
	};
	ctx->extra[ctx->nextra++] = (struct greenlet_extra){
		.main = pg->main,
		.thread_state = pg->thread_state,
		.hint_tid = pcs_python_stack_owner(ctx->py, pg->stack_hint),
	};
	if (pg->error) {
		struct pcs_error *err = pcs_error_create(PCS_ERROR_BAD_DATA, "%s", pg->error);
		return warn_unit(snap, g, "unreadable", err);
	}
	if (!pg->top_frame)
		return NULL;
	struct pcs_error *err = pcs_python_walk_frame_object_chain(
		ctx->py, pg->top_frame, pcs_collect_push_frame, &g->stack);
	pcs_stack_reverse(&g->stack);
	pcs_stack_shrink(&g->stack);
	return err ? warn_unit(snap, g, "saved frame chain truncated", err) : NULL;
}

struct by_address {
	uint64_t address;
	size_t index;
};

static int cmp_address(const void *a, const void *b)
{
	const struct by_address *x = a, *y = b;
	return x->address < y->address ? -1 : x->address > y->address;
}

static const struct by_address *find(const struct by_address *sorted, size_t n,
				     uint64_t address)
{
	struct by_address key = { .address = address };
	return n ? bsearch(&key, sorted, n, sizeof(*sorted), cmp_address) : NULL;
}

// The index of the main greenlet at the root of @p i's parent chain, or
// SIZE_MAX when the chain leaves the greenlets found or loops.
static size_t root_of(const struct pcs_greenlet *gs, const struct by_address *sorted,
		      size_t n, size_t i)
{
	for (size_t depth = 0; depth <= n; depth++) {
		if (gs[i].is_main)
			return i;
		const struct by_address *p = find(sorted, n, gs[i].parent);
		if (!p)
			return SIZE_MAX;
		i = p->index;
	}
	return SIZE_MAX;
}

static struct pcs_error *copy_stack(struct pcs_stack *to, const struct pcs_stack *from)
{
	for (size_t i = 0; i < from->nframes; i++) {
		struct pcs_error *err = pcs_stack_push(to, &from->frames[i]);
		if (err)
			return err;
	}
	to->truncated = from->truncated;
	return NULL;
}

// Tie the greenlets from @p first on to their threads.
static struct pcs_error *assign_threads(struct greenlets_ctx *ctx, size_t first)
{
	struct pcs_snapshot *snap = ctx->snap;
	if (snap->ngreenlets == first)
		return NULL;	// none found (perhaps no array at all)
	struct pcs_greenlet *gs = snap->greenlets + first;
	const struct greenlet_extra *extra = ctx->extra + first;
	size_t n = snap->ngreenlets - first;
	struct by_address *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	size_t *roots = malloc((n ? n : 1) * sizeof(*roots));
	if (!sorted || !roots) {
		free(sorted);
		free(roots);
		return &pcs_enomem;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = (struct by_address){ gs[i].address, i };
	if (n > 1)
		qsort(sorted, n, sizeof(*sorted), cmp_address);
	for (size_t i = 0; i < n; i++) {
		roots[i] = root_of(gs, sorted, n, i);
		// A chain that leaves what was found: what the greenlet
		// records as its main one.
		if (roots[i] == SIZE_MAX && extra[i].main) {
			const struct by_address *m = find(sorted, n, extra[i].main);
			if (m && gs[m->index].is_main)
				roots[i] = m->index;
		}
	}
	// A main greenlet's thread: the one whose thread-local greenlet
	// state is its own; else where it last switched out, else where the
	// greenlets of its tree have their stack slices.
	for (size_t i = 0; i < n; i++) {
		if (!gs[i].is_main)
			continue;
		for (size_t t = 0; t < snap->nthreads && !gs[i].tid; t++)
			if (snap->threads[t].tid &&
			    pcs_python_thread_local_holds(ctx->py, snap->threads[t].ident,
							  extra[i].thread_state))
				gs[i].tid = snap->threads[t].tid;
		if (!gs[i].tid)
			gs[i].tid = extra[i].hint_tid;
		for (size_t j = 0; j < n && !gs[i].tid; j++)
			if (roots[j] == i && extra[j].hint_tid)
				gs[i].tid = extra[j].hint_tid;
	}
	struct pcs_error *err = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		if (roots[i] != SIZE_MAX)
			gs[i].tid = gs[roots[i]].tid;
		if (gs[i].state != state_names[PCS_GREENLET_RUNNING] || !gs[i].tid)
			continue;
		for (size_t t = 0; t < snap->nthreads; t++) {
			if (snap->threads[t].tid == gs[i].tid) {
				err = copy_stack(&gs[i].stack, &snap->threads[t].stack);
				if (err)
					err = warn_unit(snap, &gs[i], "frames", err);
				break;
			}
		}
	}
	free(sorted);
	free(roots);
	return err;
}

struct pcs_error *pcs_collect_greenlets(struct pcs_python *py, struct pcs_snapshot *snap)
{
	if (!pcs_python_has_greenlets(py))
		return NULL;
	pcs_addr_t *interps;
	size_t n;
	struct pcs_error *err = pcs_python_interpreters(py, &interps, &n);
	if (err)
		return err;
	struct greenlets_ctx ctx = { .py = py, .snap = snap };
	for (size_t i = 0; i < n && !err; i++) {
		size_t first = snap->ngreenlets;
		bool incomplete;
		err = pcs_python_greenlets(py, interps[i], add_greenlet, &ctx, &incomplete);
		if (err)
			err = pcs_snapshot_warn_error(snap, err, "greenlets: list truncated");
		if (!err && incomplete)
			err = pcs_snapshot_warn(snap, "greenlets: the garbage collector was "
						"running; greenlets in its private lists are missing");
		if (!err)
			err = assign_threads(&ctx, first);
		// Before 3.9 one collector serves every interpreter.
		if (!pcs_python_gc_per_interpreter(py))
			break;
	}
	free(ctx.extra);
	free(interps);
	return err;
}
