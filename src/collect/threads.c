// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <inttypes.h>
#include <stdlib.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "util/error.h"
#include "util/vector.h"

struct pcs_error *pcs_collect_push_frame(void *stack,
					 const struct pcs_python_frame *pf)
{
	// The interpreter model interns in the snapshot's table already.
	struct pcs_frame f = {
		.kind = PCS_FRAME_PYTHON,
		.function = pf->function,
		.qualname = pf->qualname,
		.file = pf->file,
		.line = pf->line,
		.locals = pf->locals,
		.nlocals = pf->nlocals,
	};
	return pcs_stack_push(stack, &f);
}

struct names_ctx {
	struct pcs_snapshot *snap;
	size_t first;	// threads of this interpreter start here
};

static struct pcs_error *set_name(void *arg, uint64_t ident, const char *name)
{
	struct names_ctx *ctx = arg;
	for (size_t i = ctx->first; i < ctx->snap->nthreads; i++) {
		if (ctx->snap->threads[i].ident == ident)
			ctx->snap->threads[i].name = name;
	}
	return NULL;
}

// A failure inside one unit becomes its truncation note and a warning.
static struct pcs_error *note_failure(struct pcs_snapshot *snap,
				      struct pcs_thread *th, struct pcs_error *err)
{
	if (err != &pcs_enomem)
		th->stack.truncated = pcs_snapshot_intern(snap, err->message);
	return pcs_snapshot_warn_error(snap, err, "thread %d (ident 0x%" PRIx64
				       "): stack truncated", th->tid, th->ident);
}

static struct pcs_error *collect_interp(struct pcs_python *py,
					struct pcs_snapshot *snap,
					pcs_addr_t interp)
{
	int64_t id;
	pcs_addr_t *tstates;
	size_t n;
	struct pcs_error *err = pcs_python_interp_id(py, interp, &id);
	if (!err)
		err = pcs_python_thread_states(py, interp, &tstates, &n);
	if (err)
		return err;

	pcs_addr_t holder;
	bool gil_known;
	err = pcs_python_gil_holder(py, interp, &holder, &gil_known);
	if (err) {
		gil_known = false;
		err = pcs_snapshot_warn_error(snap, err, "interpreter %" PRId64
					      ": cannot tell which thread holds the GIL", id);
	}

	size_t first = snap->nthreads;
	// The list is newest first; report the oldest (main) thread first.
	for (size_t i = n; i-- > 0 && !err;) {
		if (!PCS_VEC_RESERVE(snap->threads, snap->nthreads, snap->cap_threads, 1)) {
			err = &pcs_enomem;
			break;
		}
		struct pcs_thread *th = &snap->threads[snap->nthreads++];
		*th = (struct pcs_thread){
			.interpreter = id,
			.holds_gil = !gil_known ? PCS_UNKNOWN
				     : holder == tstates[i] ? PCS_YES : PCS_NO,
		};
		struct pcs_python_tstate_info info;
		struct pcs_error *uerr = pcs_python_tstate_info(py, tstates[i], &info);
		if (!uerr) {
			th->tid = info.tid;
			th->ident = info.ident;
			uerr = pcs_python_walk_frames(py, tstates[i],
						      pcs_collect_push_frame, &th->stack);
		}
		pcs_stack_reverse(&th->stack);
		if (uerr)
			err = note_failure(snap, th, uerr);
	}
	free(tstates);
	if (err)
		return err;

	struct names_ctx nctx = { snap, first };
	err = pcs_python_thread_names(py, interp, set_name, &nctx);
	if (err)
		err = pcs_snapshot_warn_error(snap, err, "interpreter %" PRId64
					      ": cannot read thread names", id);
	return err;
}

struct pcs_error *pcs_collect_threads(struct pcs_python *py,
				      struct pcs_snapshot *snap)
{
	pcs_addr_t *interps;
	size_t n;
	struct pcs_error *err = pcs_python_interpreters(py, &interps, &n);
	if (err)
		return err;
	for (size_t i = 0; i < n && !err; i++)
		err = collect_interp(py, snap, interps[i]);
	free(interps);
	return err;
}
