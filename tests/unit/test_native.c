// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Native stacks merged with the Python frames (src/collect/native.c, whose
// static functions this includes): runs of Python frames paired with the
// evaluation-loop frames in order, from the end that is known to match;
// runs pinned by their entry frame's address on the C stack, whatever the
// native frame's symbol; runs without a partner kept in order.

#include <string.h>

#include "collect/native.c"
#include "harness.h"
#include "util/strbuf.h"

struct fixture {
	struct pcs_snapshot *snap;
	struct pcs_stack python;	// outermost first
	struct thread_ctx ctx;
};

static void setup(struct fixture *fx, const char *const python[], size_t n)
{
	*fx = (struct fixture){ 0 };
	CHECK(pcs_snapshot_create(&fx->snap) == NULL);
	for (size_t i = 0; i < n; i++) {
		struct pcs_frame f = {
			.kind = PCS_FRAME_PYTHON,
			.function = pcs_snapshot_intern(fx->snap, python[i]),
			.line = 1,
		};
		CHECK(pcs_stack_push(&fx->python, &f) == NULL);
	}
	fx->ctx.snap = fx->snap;
	fx->ctx.eval_name = "_PyEval_EvalFrameDefault";
	fx->ctx.eval_len = strlen(fx->ctx.eval_name);
	reset(&fx->ctx, &fx->python);
}

// A native frame, innermost first: "eval" stands for the evaluation loop,
// NULL for a pc no symbol covers.
static void native(struct fixture *fx, const char *symbol, pcs_addr_t sp)
{
	if (symbol && strcmp(symbol, "eval") == 0)
		symbol = "_PyEval_EvalFrameDefault";
	struct thread_ctx *ctx = &fx->ctx;
	CHECK(PCS_VEC_RESERVE(ctx->native, ctx->nnative, ctx->cap_native, 1));
	ctx->native[ctx->nnative++] = (struct native_frame){
		.f = { .pc = 0x1000 + sp, .sp = sp },
		.loc = { .symbol = symbol, .line = -1 },
		.eval = is_eval(ctx, symbol),
	};
}

// The walk: @p n Python frames (newest first), then the end of their run.
static void run_of(struct fixture *fx, size_t n, pcs_addr_t c_stack_addr)
{
	for (size_t i = 0; i < n; i++)
		CHECK(count_python_frame(&fx->ctx, NULL) == NULL);
	struct pcs_python_activation act = { .c_stack_addr = c_stack_addr };
	CHECK(end_run(&fx->ctx, &act) == NULL);
}

// Merge and compare with @p want: symbols ("??" for none) and "py:NAME",
// outermost first, space-separated.
static void expect(struct fixture *fx, bool complete, const char *want)
{
	pair_runs(&fx->ctx, complete);
	struct pcs_stack merged = { 0 };
	CHECK(merge(&fx->ctx, &merged) == NULL);
	struct pcs_strbuf got = PCS_STRBUF_INIT;
	for (size_t i = 0; i < merged.nframes; i++) {
		const struct pcs_frame *f = &merged.frames[i];
		if (i)
			pcs_strbuf_adds(&got, " ");
		if (f->kind == PCS_FRAME_PYTHON) {
			pcs_strbuf_adds(&got, "py:");
			pcs_strbuf_adds(&got, f->function);
		} else {
			pcs_strbuf_adds(&got, !f->symbol ? "??"
					: strcmp(f->symbol, "_PyEval_EvalFrameDefault") == 0
					? "eval" : f->symbol);
		}
	}
	const char *text = got.buf ? got.buf : "";
	CHECK(strcmp(text, want) == 0);
	if (strcmp(text, want) != 0)
		fprintf(stderr, "    got:  %s\n    want: %s\n", text, want);
	pcs_strbuf_deinit(&got);
	free(merged.frames);
	free(fx->ctx.runs);
	free(fx->ctx.native);
	free(fx->python.frames);
	pcs_snapshot_destroy(fx->snap);
}

void test_native(void)
{
	struct fixture fx;
	static const char *const mfg[] = { "m", "f", "g" };

	// ≤ 3.10: one frame per activation, paired in order.
	setup(&fx, mfg, 3);
	native(&fx, "wait", 100);
	native(&fx, "eval", 200);
	native(&fx, "call", 300);
	native(&fx, "eval", 400);
	native(&fx, "call", 500);
	native(&fx, "eval", 600);
	native(&fx, "start", 700);
	run_of(&fx, 1, 0);
	run_of(&fx, 1, 0);
	run_of(&fx, 1, 0);
	expect(&fx, true, "start eval py:m call eval py:f call eval py:g wait");

	// An activation entered but not yet in the chain: the unwind is
	// complete, so the outer ends match.
	setup(&fx, mfg, 1);
	native(&fx, "eval", 100);
	native(&fx, "call", 200);
	native(&fx, "eval", 300);
	native(&fx, "start", 400);
	run_of(&fx, 1, 0);
	expect(&fx, true, "start eval py:m call eval");

	// An unwind cut short: the inner ends match; the run left over keeps
	// its place, before the native frames.
	setup(&fx, mfg, 3);
	native(&fx, "wait", 100);
	native(&fx, "eval", 200);
	native(&fx, "call", 300);
	native(&fx, "eval", 400);
	run_of(&fx, 1, 0);
	run_of(&fx, 1, 0);
	run_of(&fx, 1, 0);
	expect(&fx, false, "py:m eval py:f call eval py:g wait");

	// 3.11+: several frames per activation; 3.12+ pins each run by its
	// entry frame, even to a frame with no symbol (a stripped, split
	// evaluation loop), and the pins win over the order.
	static const char *const mfgh[] = { "m", "f", "g", "h" };
	setup(&fx, mfgh, 4);
	native(&fx, "wait", 100);
	native(&fx, NULL, 200);
	native(&fx, "call", 300);
	native(&fx, "eval", 400);
	native(&fx, "call", 500);
	native(&fx, "eval", 600);
	native(&fx, "start", 700);
	run_of(&fx, 2, 250);
	run_of(&fx, 2, 650);
	expect(&fx, true, "start eval py:m py:f call eval call ?? py:g py:h wait");

	// An activation that runs no frame yet (is_entry on an incomplete
	// frame, or an entry frame with nothing after it) still takes its
	// evaluation-loop frame.
	setup(&fx, mfg, 2);
	native(&fx, "eval", 100);
	native(&fx, "call", 200);
	native(&fx, "eval", 300);
	native(&fx, "start", 400);
	run_of(&fx, 0, 0);
	run_of(&fx, 2, 0);
	expect(&fx, false, "start eval py:m py:f call eval");

	// No native frames at all: the Python frames, unchanged.
	setup(&fx, mfg, 3);
	run_of(&fx, 1, 0);
	run_of(&fx, 2, 0);
	expect(&fx, false, "py:m py:f py:g");

	// A chain that ends without the end of a run, and frames the walk
	// did not see again: oldest, before everything.
	setup(&fx, mfg, 3);
	native(&fx, "eval", 100);
	native(&fx, "start", 200);
	run_of(&fx, 1, 0);
	expect(&fx, true, "py:m py:f start eval py:g");
}
