// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Native stacks (--native): each thread's C frames, unwound from its
// registers, with its Python frames put back where they run: after the C
// activation of the evaluation loop that runs them.
//
// A thread's Python frames fall into runs, one per C activation of the
// evaluation loop (pcs_python_walk_activations()): one frame each on
// ≤ 3.10; on 3.11+ one activation runs every frame pushed inline after the
// one it was called with. The runs and the evaluation-loop frames of the
// native stack are the same calls, in the same order, so they are paired
// in order. Where a run's activation keeps its entry frame on the C stack
// (3.12+), the run is first pinned to the native frame whose stack holds
// that entry frame, and only the runs between pins are paired by order: an
// activation caught entering or leaving (not yet, or no longer, in the
// chain) then costs nothing. Runs left without a partner (an unwind cut
// short) keep their place among the Python frames, before the native frames
// they are older than.
//
// A suspended greenlet's C stack is merged with its saved frames the same
// way: its part of its thread's stack, partly copied to the heap, unwound
// from where greenlet's switch function left it
// (pcs_symbols_switch_frame()), and the runs of its frame chain
// (pcs_python_walk_greenlet_activations()). One that cannot be unwound
// keeps its Python frames and says why in its stack's note; only a stack
// that reads as corrupt is also a warning.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"
#include "util/vector.h"

struct native_frame {
	struct pcs_native_frame f;
	struct pcs_native_location loc;
	bool eval;
};

/** The Python frames one activation runs. */
struct run {
	/** Newest-first indexes of its frames: first, first + 1, ... */
	size_t first, count;
	pcs_addr_t c_stack_addr;
	/** The native frame it is paired with, or -1. */
	ptrdiff_t native;
	/** The native frame it goes after (merge()). */
	ptrdiff_t slot;
};

struct thread_ctx {
	struct pcs_snapshot *snap;
	struct pcs_symbols *syms;
	/** The evaluation loop's function. */
	const char *eval_name;
	size_t eval_len;

	/**
	 * The thread's Python frames, outermost first, as pcs_collect_threads()
	 * read them (with all they carry); the walk here only counts them.
	 */
	const struct pcs_frame *py_frames;
	size_t npy_frames;
	/** Frames walked; those walked since the last end of a run. */
	size_t walked, open_first;
	struct run *runs;
	size_t nruns, cap_runs;

	struct native_frame *native;
	size_t nnative, cap_native;
};

static struct pcs_error *count_python_frame(void *arg, const struct pcs_python_frame *pf)
{
	(void)pf;
	struct thread_ctx *ctx = arg;
	ctx->walked++;
	return NULL;
}

static struct pcs_error *end_run(void *arg, const struct pcs_python_activation *act)
{
	struct thread_ctx *ctx = arg;
	if (!PCS_VEC_RESERVE(ctx->runs, ctx->nruns, ctx->cap_runs, 1))
		return &pcs_enomem;
	ctx->runs[ctx->nruns++] = (struct run){
		.first = ctx->open_first,
		.count = ctx->walked - ctx->open_first,
		.c_stack_addr = act->c_stack_addr,
		.native = -1,
	};
	ctx->open_first = ctx->walked;
	return NULL;
}

static bool is_eval(const struct thread_ctx *ctx, const char *symbol)
{
	// Its cold part (GCC's "_PyEval_EvalFrameDefault.cold") too.
	return symbol && strncmp(symbol, ctx->eval_name, ctx->eval_len) == 0 &&
	       (symbol[ctx->eval_len] == '\0' || symbol[ctx->eval_len] == '.');
}

static struct pcs_error *add_native_frame(void *arg, const struct pcs_native_frame *f)
{
	struct thread_ctx *ctx = arg;
	if (!PCS_VEC_RESERVE(ctx->native, ctx->nnative, ctx->cap_native, 1))
		return &pcs_enomem;
	struct native_frame *nf = &ctx->native[ctx->nnative++];
	nf->f = *f;
	pcs_symbols_locate(ctx->syms, f, &nf->loc);
	nf->eval = is_eval(ctx, nf->loc.symbol);
	return NULL;
}

// The native frame from @p from on whose stack holds @p addr, or -1: its
// stack runs from its own stack pointer up to its caller's. The frame
// holding an activation's entry frame is that activation, whatever its
// symbol says (a stripped build names no part of a split evaluation loop
// but its hot one).
static ptrdiff_t frame_holding(const struct thread_ctx *ctx, size_t from, pcs_addr_t addr)
{
	for (size_t i = from; i + 1 < ctx->nnative; i++) {
		pcs_addr_t lo = ctx->native[i].f.sp, hi = ctx->native[i + 1].f.sp;
		if (lo && hi && lo <= addr && addr < hi)
			return (ptrdiff_t)i;
	}
	return -1;
}

// Pair runs [r0, r1) with the evaluation-loop frames among native frames
// [n0, n1), in order; from the outer end when @p from_outer (that end is
// known to match), else from the inner one.
static void pair_in_order(struct thread_ctx *ctx, size_t r0, size_t r1, size_t n0,
			  size_t n1, bool from_outer)
{
	size_t evals = 0;
	for (size_t i = n0; i < n1; i++)
		evals += ctx->native[i].eval;
	if (evals == r1 - r0)
		from_outer = false;
	if (from_outer) {
		size_t r = r1, i = n1;
		while (r > r0 && i > n0) {
			if (ctx->native[--i].eval)
				ctx->runs[--r].native = (ptrdiff_t)i;
		}
	} else {
		size_t r = r0, i = n0;
		for (; r < r1 && i < n1; i++) {
			if (ctx->native[i].eval)
				ctx->runs[r++].native = (ptrdiff_t)i;
		}
	}
}

// Pair every run with its evaluation-loop frame (or -1). @p complete: the
// unwind reached the thread's outermost frame.
static void pair_runs(struct thread_ctx *ctx, bool complete)
{
	// Runs and frames are both innermost first: pins must keep that order.
	size_t r0 = 0, n0 = 0;
	for (size_t r = 0; r < ctx->nruns; r++) {
		struct run *run = &ctx->runs[r];
		ptrdiff_t i = run->c_stack_addr ? frame_holding(ctx, n0, run->c_stack_addr) : -1;
		if (i < 0)
			continue;
		pair_in_order(ctx, r0, r, n0, (size_t)i, true);
		run->native = i;
		ctx->native[i].eval = true;
		r0 = r + 1;
		n0 = (size_t)i + 1;
	}
	pair_in_order(ctx, r0, ctx->nruns, n0, ctx->nnative, complete);
}

// The symbol without its ELF version ("clock_nanosleep@GLIBC_2.2.5" is
// clock_nanosleep), interned.
static const char *intern_symbol(struct pcs_snapshot *snap, const char *symbol)
{
	const char *at = symbol ? strchr(symbol, '@') : NULL;
	if (!at || at == symbol)
		return pcs_snapshot_intern(snap, symbol);
	char *bare = strndup(symbol, (size_t)(at - symbol));
	const char *ret = bare ? pcs_snapshot_intern(snap, bare) : NULL;
	free(bare);
	return ret;
}

static struct pcs_error *push_native(struct thread_ctx *ctx, struct pcs_stack *stack,
				     const struct native_frame *nf)
{
	struct pcs_snapshot *snap = ctx->snap;
	struct pcs_frame f = {
		.kind = PCS_FRAME_NATIVE,
		.symbol = intern_symbol(snap, nf->loc.symbol),
		.offset = nf->loc.offset,
		.module = pcs_snapshot_intern(snap, nf->loc.module),
		.file = pcs_snapshot_intern(snap, nf->loc.file),
		.line = nf->loc.line,
		.pc = nf->f.pc,
	};
	if ((nf->loc.symbol && !f.symbol) || (nf->loc.module && !f.module) ||
	    (nf->loc.file && !f.file))
		return &pcs_enomem;
	return pcs_stack_push(stack, &f);
}

// The Python frames of @p run, oldest first. They move from the thread's
// stack to the merged one: pcs_stack_push() counted them already.
static struct pcs_error *push_run(struct thread_ctx *ctx, struct pcs_stack *stack,
				  const struct run *run)
{
	for (size_t j = run->count; j-- > 0;) {
		// The stack read before holds the newest frames of the chain
		// (a walk is cut at its old end).
		size_t k = run->first + j;
		if (k >= ctx->npy_frames)
			continue;
		if (!PCS_VEC_RESERVE(stack->frames, stack->nframes, stack->cap_frames, 1))
			return &pcs_enomem;
		stack->frames[stack->nframes++] = ctx->py_frames[ctx->npy_frames - 1 - k];
	}
	return NULL;
}

// The merged stack, outermost first.
static struct pcs_error *merge(struct thread_ctx *ctx, struct pcs_stack *stack)
{
	// Where each run goes: after its native frame; a run without one
	// after the run older than it (so the Python frames keep their
	// order); before every native frame when no older run has one.
	const ptrdiff_t top = (ptrdiff_t)ctx->nnative;
	for (size_t r = ctx->nruns; r-- > 0;) {
		struct run *run = &ctx->runs[r];
		run->slot = run->native >= 0 ? run->native
			    : r + 1 < ctx->nruns ? ctx->runs[r + 1].slot : top;
	}
	// Frames older than the end of every run: a chain that ends without
	// one (and any the walk here did not see).
	size_t last = ctx->npy_frames > ctx->walked ? ctx->npy_frames : ctx->walked;
	struct run tail = { .first = ctx->open_first, .count = last - ctx->open_first };
	struct pcs_error *err = push_run(ctx, stack, &tail);
	size_t r = ctx->nruns;
	while (!err && r > 0 && ctx->runs[r - 1].slot == top)
		err = push_run(ctx, stack, &ctx->runs[--r]);
	for (size_t i = ctx->nnative; i-- > 0 && !err;) {
		err = push_native(ctx, stack, &ctx->native[i]);
		while (!err && r > 0 && ctx->runs[r - 1].slot == (ptrdiff_t)i)
			err = push_run(ctx, stack, &ctx->runs[--r]);
	}
	return err;
}

static void reset(struct thread_ctx *ctx, const struct pcs_stack *python)
{
	ctx->py_frames = python->frames;
	ctx->npy_frames = python->nframes;
	ctx->walked = ctx->open_first = ctx->nruns = ctx->nnative = 0;
}

// A failure inside one thread: its note, and a warning.
static struct pcs_error *warn_thread(struct pcs_snapshot *snap, struct pcs_thread *th,
				     const char *what, struct pcs_error *err)
{
	return pcs_snapshot_warn_error(snap, err, "thread %d (ident 0x%" PRIx64 "): %s",
				       th->tid, th->ident, what);
}

static const struct pcs_target_thread *target_thread(struct pcs_target *t, int tid)
{
	for (size_t i = 0; tid && i < pcs_target_num_threads(t); i++) {
		if (pcs_target_thread(t, i)->tid == tid)
			return pcs_target_thread(t, i);
	}
	return NULL;
}

static struct pcs_thread *snapshot_thread(struct pcs_snapshot *snap, int64_t interp,
					  uint64_t ident, int tid)
{
	for (size_t i = 0; i < snap->nthreads; i++) {
		struct pcs_thread *th = &snap->threads[i];
		if (th->interpreter == interp && th->ident == ident && th->tid == tid)
			return th;
	}
	return NULL;
}

// Where the C stack of the greenlet thread @p th runs ends: a greenlet other
// than the thread's main one runs on the part of the stack below its
// stack_stop; above are the greenlets it switched from (pcs_symbols_unwind_to()).
static pcs_addr_t running_greenlet_stop(struct thread_ctx *ctx, struct pcs_python *py,
					const struct pcs_thread *th)
{
	for (size_t i = 0; th->tid && i < ctx->snap->ngreenlets; i++) {
		const struct pcs_greenlet *g = &ctx->snap->greenlets[i];
		if (g->tid != th->tid || g->is_main || !g->state ||
		    strcmp(g->state, "running") != 0)
			continue;
		struct pcs_python_greenlet_stack gs;
		struct pcs_error *err = pcs_python_greenlet_stack(py, g->address, &gs);
		if (err) {
			// pcs_collect_greenlets() read it before.
			pcs_error_destroy(err);
			return UINT64_MAX;
		}
		return gs.stop ? gs.stop : UINT64_MAX;
	}
	return UINT64_MAX;
}

static struct pcs_error *merge_thread(struct thread_ctx *ctx, struct pcs_python *py,
				      struct pcs_target *t, pcs_addr_t tstate,
				      struct pcs_thread *th)
{
	struct pcs_snapshot *snap = ctx->snap;
	reset(ctx, &th->stack);
	const struct pcs_target_thread *tt = target_thread(t, th->tid);
	if (!tt)
		return warn_thread(snap, th, "no native frames",
				   pcs_error_create(PCS_ERROR_LOOKUP,
						    "not a thread of the target"));
	// A stop below where the thread is is not its greenlet's.
	pcs_addr_t stop = running_greenlet_stop(ctx, py, th);
	if (stop <= tt->sp)
		stop = UINT64_MAX;
	// Where the activations begin among the Python frames.
	struct pcs_error *walk_err = pcs_python_walk_activations(py, tstate, count_python_frame,
								  end_run, ctx);
	if (walk_err == &pcs_enomem)
		return walk_err;
	struct pcs_error *unwind_err = pcs_symbols_unwind_to(ctx->syms, tt, stop,
							     PCS_MAX_NATIVE_FRAMES,
							     add_native_frame, ctx);
	if (unwind_err == &pcs_enomem) {
		pcs_error_destroy(walk_err);
		return unwind_err;
	}
	pair_runs(ctx, !unwind_err);

	struct pcs_stack merged = { 0 };
	struct pcs_error *err = merge(ctx, &merged);
	if (err) {
		// Past the memory ceiling: the Python stack stays as it was.
		free(merged.frames);
		pcs_error_destroy(walk_err);
		pcs_error_destroy(unwind_err);
		return warn_thread(snap, th, "no native frames", err);
	}
	// The Python frames were read before: a walk that fails now where
	// that one did is said already; one that fails where that one did
	// not leaves frames out of place.
	if (walk_err && !th->stack.truncated)
		err = warn_thread(snap, th, "Python frames not placed among the native ones",
				  walk_err);
	else
		pcs_error_destroy(walk_err);
	merged.truncated = th->stack.truncated;
	free(th->stack.frames);
	th->stack = merged;
	if (!err && unwind_err)
		return warn_thread(snap, th, "native stack incomplete", unwind_err);
	pcs_error_destroy(unwind_err);
	return err;
}

static struct pcs_error *merge_interp(struct thread_ctx *ctx, struct pcs_python *py,
				      struct pcs_target *t, pcs_addr_t interp)
{
	int64_t id;
	pcs_addr_t *tstates;
	size_t n;
	struct pcs_error *err = pcs_python_interp_id(py, interp, &id);
	if (!err)
		err = pcs_python_thread_states(py, interp, &tstates, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct pcs_python_tstate_info info;
		struct pcs_error *uerr = pcs_python_tstate_info(py, tstates[i], &info);
		if (uerr) {
			// pcs_collect_threads() said so already.
			pcs_error_destroy(uerr);
			continue;
		}
		struct pcs_thread *th = snapshot_thread(ctx->snap, id, info.ident, info.tid);
		if (th)
			err = merge_thread(ctx, py, t, tstates[i], th);
	}
	free(tstates);
	return err;
}

// The extension module greenlet's switch function is in (as
// pcs_python_greenlets() finds greenlet's type): "_greenlet.so",
// "_greenlet.cpython-311-x86_64-linux-gnu.so", not gevent's
// "_gevent_c_greenlet_primitives...".
static const char greenlet_module[] = "_greenlet.";

// The note of @p g's stack for a greenlet whose native frames are missing
// (@p what: "unavailable", "incomplete"); a warning too when its stack
// reads as corrupt. Takes @p err.
static struct pcs_error *note_greenlet(struct pcs_snapshot *snap, struct pcs_greenlet *g,
				       const char *what, struct pcs_error *err)
{
	if (err == &pcs_enomem)
		return err;
	if (!g->stack.truncated) {
		char *note = NULL;
		if (asprintf(&note, "native frames %s: %s", what, err->message) < 0)
			note = NULL;
		g->stack.truncated = note ? pcs_snapshot_intern(snap, note) : NULL;
		free(note);
		if (!g->stack.truncated) {
			pcs_error_destroy(err);
			return &pcs_enomem;
		}
	}
	if (err->code == PCS_ERROR_BAD_DATA || err->code == PCS_ERROR_LIMIT ||
	    err->code == PCS_ERROR_FAULT)
		return pcs_snapshot_warn_error(snap, err, "greenlet 0x%" PRIx64
					       ": native frames %s", g->address, what);
	pcs_error_destroy(err);
	return NULL;
}

// Merge the native stack of the suspended greenlet @p g into its frames.
static struct pcs_error *merge_greenlet(struct thread_ctx *ctx, struct pcs_python *py,
					struct pcs_target *t, struct pcs_greenlet *g)
{
	struct pcs_snapshot *snap = ctx->snap;
	// Frames read only in part (said already): none could be placed.
	if (g->stack.truncated)
		return NULL;
	struct pcs_python_greenlet_stack gs;
	struct pcs_error *err = pcs_python_greenlet_stack(py, g->address, &gs);
	if (err)
		return note_greenlet(snap, g, "unavailable", err);
	if (!gs.top_frame)
		return note_greenlet(snap, g, "unavailable", pcs_error_create(
			PCS_ERROR_BAD_DATA, "no saved frame"));
	// Its stack is its thread's: a thread that is gone left nothing to
	// unwind (and its stack may be another's since). The mapping may hold
	// other threads' stacks too: guard pages need not split it.
	const struct pcs_target_thread *tt = target_thread(t, g->tid);
	pcs_addr_t lo, hi;
	if (!tt || !pcs_target_region(t, gs.start, &lo, &hi) || tt->sp < lo || tt->sp >= hi ||
	    (gs.stop != UINT64_MAX && gs.stop > hi))
		return note_greenlet(snap, g, "unavailable", pcs_error_create(
			PCS_ERROR_LOOKUP, "its stack at 0x%" PRIx64 " is not on its "
			"thread's", gs.start));

	reset(ctx, &g->stack);
	err = pcs_python_walk_greenlet_activations(py, gs.top_frame, count_python_frame,
						   end_run, ctx);
	// The frames must be those read before, or none can be placed.
	if (!err && ctx->walked != ctx->npy_frames)
		err = pcs_error_create(PCS_ERROR_BAD_DATA, "its frames changed: %zu, "
				       "then %zu", ctx->npy_frames, ctx->walked);
	if (err)
		return note_greenlet(snap, g, "unavailable", err);

	const struct pcs_switched_stack st = {
		.start = gs.start, .stop = gs.stop, .copy = gs.copy, .saved = gs.saved,
	};
	struct pcs_native_frame top;
	if ((err = pcs_symbols_switch_frame(ctx->syms, greenlet_module, &st, &top)))
		return note_greenlet(snap, g, "unavailable", err);
	struct pcs_error *unwind_err = pcs_symbols_unwind_switched(
		ctx->syms, &st, &top, PCS_MAX_NATIVE_FRAMES, add_native_frame, ctx);
	if (unwind_err == &pcs_enomem)
		return unwind_err;
	if (!ctx->nnative) {
		if (!unwind_err)
			unwind_err = pcs_error_create(PCS_ERROR_BAD_DATA, "no frame in its stack");
		return note_greenlet(snap, g, "unavailable", unwind_err);
	}
	pair_runs(ctx, !unwind_err);

	struct pcs_stack merged = { 0 };
	if ((err = merge(ctx, &merged))) {
		// Past the memory ceiling: the Python stack stays as it was.
		free(merged.frames);
		pcs_error_destroy(unwind_err);
		return note_greenlet(snap, g, "unavailable", err);
	}
	merged.truncated = g->stack.truncated;
	free(g->stack.frames);
	g->stack = merged;
	return unwind_err ? note_greenlet(snap, g, "incomplete", unwind_err) : NULL;
}

// A running greenlet's frames are its thread's, native ones now too.
static struct pcs_error *copy_thread_stack(struct pcs_snapshot *snap, struct pcs_greenlet *g)
{
	for (size_t t = 0; g->tid && t < snap->nthreads; t++) {
		const struct pcs_stack *from = &snap->threads[t].stack;
		if (snap->threads[t].tid != g->tid)
			continue;
		struct pcs_stack copy = { .truncated = from->truncated };
		for (size_t i = 0; i < from->nframes; i++) {
			struct pcs_error *err = pcs_stack_push(&copy, &from->frames[i]);
			if (err) {
				free(copy.frames);
				return note_greenlet(snap, g, "unavailable", err);
			}
		}
		free(g->stack.frames);
		g->stack = copy;
		break;
	}
	return NULL;
}

static struct pcs_error *merge_greenlets(struct thread_ctx *ctx, struct pcs_python *py,
					 struct pcs_target *t)
{
	struct pcs_error *err = NULL;
	for (size_t i = 0; i < ctx->snap->ngreenlets && !err; i++) {
		struct pcs_greenlet *g = &ctx->snap->greenlets[i];
		if (!g->state)
			continue;
		if (strcmp(g->state, "suspended") == 0)
			err = merge_greenlet(ctx, py, t, g);
		else if (strcmp(g->state, "running") == 0)
			err = copy_thread_stack(ctx->snap, g);
	}
	return err;
}

struct pcs_error *pcs_collect_native(struct pcs_python *py, struct pcs_symbols *syms,
				     struct pcs_target *t, struct pcs_snapshot *snap)
{
	for (size_t i = 0; i < pcs_target_num_threads(t); i++) {
		if (!pcs_target_thread(t, i)->has_regs)
			return pcs_snapshot_warn(snap, "no native frames: the registers of "
						 "a process a debugger holds cannot be read "
						 "from outside it");
	}
	// The evaluation loop is _PyEval_EvalFrameDefault from 3.6 on (where
	// PyEval_EvalFrameEx, when called, only calls it); 2.7 has only
	// PyEval_EvalFrameEx.
	pcs_addr_t addr;
	struct thread_ctx ctx = { .snap = snap, .syms = syms };
	ctx.eval_name = pcs_symbols_lookup(syms, "_PyEval_EvalFrameDefault", &addr, NULL)
			? "_PyEval_EvalFrameDefault" : "PyEval_EvalFrameEx";
	ctx.eval_len = strlen(ctx.eval_name);

	pcs_addr_t *interps;
	size_t n;
	struct pcs_error *err = pcs_python_interpreters(py, &interps, &n);
	if (!err) {
		for (size_t i = 0; i < n && !err; i++)
			err = merge_interp(&ctx, py, t, interps[i]);
		free(interps);
	}
	if (!err)
		err = merge_greenlets(&ctx, py, t);
	if (err)
		err = pcs_snapshot_warn_error(snap, err, "no native frames");
	free(ctx.runs);
	free(ctx.native);
	return err;
}
