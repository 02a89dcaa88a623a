// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Text for people: Python's own traceback look, so the lines read like
// every traceback they have seen. Strings from the target are escaped.

#include <inttypes.h>

#include "report/report.h"

static void add_frame(struct pcs_strbuf *out, const struct pcs_frame *f)
{
	pcs_strbuf_adds(out, "  File \"");
	pcs_strbuf_add_safe(out, f->file ? f->file : "???");
	if (f->line >= 0)
		pcs_strbuf_addf(out, "\", line %d, in ", f->line);
	else
		pcs_strbuf_adds(out, "\", line ?, in ");
	pcs_strbuf_add_safe(out, f->function ? f->function : "???");
	pcs_strbuf_addc(out, '\n');
}

static void add_thread(struct pcs_strbuf *out, const struct pcs_thread *th)
{
	pcs_strbuf_adds(out, "Thread ");
	if (th->tid)
		pcs_strbuf_addf(out, "%d", th->tid);
	else
		pcs_strbuf_adds(out, "?");
	if (th->name) {
		pcs_strbuf_adds(out, " \"");
		pcs_strbuf_add_safe(out, th->name);
		pcs_strbuf_addc(out, '"');
	}
	pcs_strbuf_addf(out, " (ident 0x%" PRIx64, th->ident);
	if (th->interpreter)
		pcs_strbuf_addf(out, ", interpreter %" PRId64, th->interpreter);
	if (th->holds_gil == PCS_YES)
		pcs_strbuf_adds(out, ", holds the GIL");
	pcs_strbuf_adds(out, ")\n");
	if (th->stack.nframes)
		pcs_strbuf_adds(out, "Traceback (most recent call last):\n");
	else if (!th->stack.truncated)
		pcs_strbuf_adds(out, "  (no Python frames)\n");
	if (th->stack.truncated) {
		pcs_strbuf_adds(out, "  ... stack truncated: ");
		pcs_strbuf_add_safe(out, th->stack.truncated);
		pcs_strbuf_addc(out, '\n');
	}
	for (size_t i = 0; i < th->stack.nframes; i++)
		add_frame(out, &th->stack.frames[i]);
}

void pcs_report_text(const struct pcs_snapshot *snap, struct pcs_strbuf *out)
{
	if (snap->kind == PCS_SNAPSHOT_CORE) {
		pcs_strbuf_adds(out, "Core ");
		pcs_strbuf_add_safe(out, snap->core);
		pcs_strbuf_addf(out, " of process %d", snap->pid);
	} else {
		pcs_strbuf_addf(out, "Process %d", snap->pid);
	}
	pcs_strbuf_adds(out, ": CPython ");
	pcs_strbuf_add_safe(out, snap->python_version);
	pcs_strbuf_adds(out, " (");
	pcs_strbuf_add_safe(out, snap->executable ? snap->executable : "?");
	pcs_strbuf_addf(out, "), layout from %s\n", snap->layout);
	pcs_strbuf_addf(out, "%zu thread%s\n", snap->nthreads,
			snap->nthreads == 1 ? "" : "s");
	for (size_t i = 0; i < snap->nthreads; i++) {
		pcs_strbuf_addc(out, '\n');
		add_thread(out, &snap->threads[i]);
	}
	if (snap->nwarnings)
		pcs_strbuf_addc(out, '\n');
	for (size_t i = 0; i < snap->nwarnings; i++) {
		pcs_strbuf_adds(out, "warning: ");
		pcs_strbuf_add_safe(out, snap->warnings[i]);
		pcs_strbuf_addc(out, '\n');
	}
}
