// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Text for people: Python's own traceback look, so the lines read like
// every traceback they have seen. Strings from the target are escaped.
// The greenlet and task trees are in text_greenlets.c and text_tasks.c.

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/text_internal.h"

// SGR sequences, close to CPython 3.13's coloured tracebacks.
static const char *const sgr[] = {
	[PCS_COLOR_NONE] = "\033[0m",
	[PCS_COLOR_HEADER] = "\033[1m",
	[PCS_COLOR_FILE] = "\033[35m",
	[PCS_COLOR_LINE] = "\033[35m",
	[PCS_COLOR_FUNCTION] = "\033[1;35m",
	[PCS_COLOR_DIM] = "\033[2m",
	[PCS_COLOR_WARNING] = "\033[1;31m",
};

void pcs_text_color(struct pcs_text *tx, enum pcs_text_color color)
{
	if (tx->style && tx->style->color)
		pcs_strbuf_adds(tx->out, sgr[color]);
}

// "  (C) File "Modules/timemodule.c", line 412, in time_sleep (libpython3.12.so.1.0)",
// or without DWARF "  (C) 0x7f3a2c1d9e40 in time_sleep+0x8e (python3.11)".
static void native_frame(struct pcs_text *tx, const char *prefix, const struct pcs_frame *f)
{
	struct pcs_strbuf *out = tx->out;
	pcs_strbuf_adds(out, prefix);
	pcs_text_color(tx, PCS_COLOR_DIM);
	pcs_strbuf_adds(out, "  (C) ");
	pcs_text_color(tx, PCS_COLOR_NONE);
	if (f->file) {
		pcs_strbuf_adds(out, "File \"");
		pcs_strbuf_add_safe(out, f->file);
		pcs_strbuf_addc(out, '"');
		if (f->line >= 0)
			pcs_strbuf_addf(out, ", line %d", f->line);
		pcs_strbuf_adds(out, ", in ");
	} else {
		pcs_strbuf_addf(out, "0x%" PRIx64 " in ", f->pc);
	}
	pcs_text_color(tx, PCS_COLOR_FUNCTION);
	pcs_strbuf_add_safe(out, f->symbol ? f->symbol : "??");
	pcs_text_color(tx, PCS_COLOR_NONE);
	if (!f->file && f->symbol && f->offset)
		pcs_strbuf_addf(out, "+0x%" PRIx64, f->offset);
	if (f->module) {
		const char *base = strrchr(f->module, '/');
		pcs_strbuf_adds(out, " (");
		pcs_strbuf_add_safe(out, base ? base + 1 : f->module);
		pcs_strbuf_addc(out, ')');
	}
	pcs_strbuf_addc(out, '\n');
}

void pcs_text_frame(struct pcs_text *tx, const char *prefix, const struct pcs_frame *f)
{
	struct pcs_strbuf *out = tx->out;
	if (f->kind == PCS_FRAME_NATIVE) {
		native_frame(tx, prefix, f);
		return;
	}
	pcs_strbuf_adds(out, prefix);
	pcs_strbuf_adds(out, "  File \"");
	pcs_text_color(tx, PCS_COLOR_FILE);
	pcs_strbuf_add_safe(out, f->file ? f->file : "???");
	pcs_text_color(tx, PCS_COLOR_NONE);
	pcs_strbuf_adds(out, "\", line ");
	pcs_text_color(tx, PCS_COLOR_LINE);
	if (f->line >= 0)
		pcs_strbuf_addf(out, "%d", f->line);
	else
		pcs_strbuf_addc(out, '?');
	pcs_text_color(tx, PCS_COLOR_NONE);
	pcs_strbuf_adds(out, ", in ");
	pcs_text_color(tx, PCS_COLOR_FUNCTION);
	pcs_strbuf_add_safe(out, f->function ? f->function : "???");
	pcs_text_color(tx, PCS_COLOR_NONE);
	pcs_strbuf_addc(out, '\n');
	if (f->source) {
		pcs_strbuf_adds(out, prefix);
		pcs_strbuf_adds(out, "    ");
		pcs_strbuf_add_safe(out, f->source);
		pcs_strbuf_addc(out, '\n');
	}
	// --locals: one per line, as a debugger's "info locals".
	for (size_t i = 0; i < f->nlocals; i++) {
		pcs_strbuf_adds(out, prefix);
		pcs_strbuf_adds(out, "      ");
		pcs_text_color(tx, PCS_COLOR_DIM);
		pcs_strbuf_add_safe(out, f->locals[i].name);
		pcs_strbuf_adds(out, " = ");
		pcs_text_color(tx, PCS_COLOR_NONE);
		pcs_strbuf_add_safe(out, f->locals[i].repr);
		pcs_strbuf_addc(out, '\n');
	}
}

void pcs_text_stack(struct pcs_text *tx, const char *prefix, const struct pcs_stack *st,
		    const char *what)
{
	for (size_t i = 0; i < st->nframes; i++)
		pcs_text_frame(tx, prefix, &st->frames[i]);
	if (st->truncated) {
		pcs_strbuf_adds(tx->out, prefix);
		pcs_text_color(tx, PCS_COLOR_WARNING);
		pcs_strbuf_addf(tx->out, "  ... %s truncated: ", what);
		pcs_strbuf_add_safe(tx->out, st->truncated);
		pcs_text_color(tx, PCS_COLOR_NONE);
		pcs_strbuf_addc(tx->out, '\n');
	}
}

void pcs_text_branch(struct pcs_text *tx, const char *prefix, bool last)
{
	pcs_strbuf_adds(tx->out, prefix);
	pcs_text_color(tx, PCS_COLOR_DIM);
	pcs_strbuf_adds(tx->out, last ? "\u2514\u2500 " : "\u251c\u2500 ");
	pcs_text_color(tx, PCS_COLOR_NONE);
}

static void add_signal_name(struct pcs_strbuf *out, const struct pcs_crash *c)
{
	if (c->signal_name)
		pcs_strbuf_adds(out, c->signal_name);
	else
		pcs_strbuf_addf(out, "signal %d", c->signal);
}

// "Signal: SIGSEGV (SEGV_MAPERR) at 0x0, in thread 1234 "worker"", or for
// a signal sent: "Signal: SIGABRT (SI_TKILL from pid 77), in thread 77".
static void add_crash(struct pcs_text *tx)
{
	const struct pcs_crash *c = &tx->snap->crash;
	struct pcs_strbuf *out = tx->out;
	pcs_text_color(tx, PCS_COLOR_WARNING);
	pcs_strbuf_adds(out, "Signal: ");
	add_signal_name(out, c);
	pcs_text_color(tx, PCS_COLOR_NONE);
	if (c->code_name)
		pcs_strbuf_addf(out, " (%s", c->code_name);
	else
		pcs_strbuf_addf(out, " (code %d", c->code);
	if (c->sender_pid)
		pcs_strbuf_addf(out, " from pid %d", c->sender_pid);
	pcs_strbuf_addc(out, ')');
	if (c->has_address)
		pcs_strbuf_addf(out, " at 0x%" PRIx64, c->address);
	if (c->tid) {
		pcs_strbuf_addf(out, ", in thread %d", c->tid);
		for (size_t i = 0; i < tx->snap->nthreads; i++) {
			const struct pcs_thread *th = &tx->snap->threads[i];
			if (th->tid == c->tid && th->name) {
				pcs_strbuf_adds(out, " \"");
				pcs_strbuf_add_safe(out, th->name);
				pcs_strbuf_addc(out, '"');
			}
		}
	}
	pcs_strbuf_addc(out, '\n');
}

static void add_thread(struct pcs_text *tx, const struct pcs_thread *th)
{
	struct pcs_strbuf *out = tx->out;
	pcs_text_color(tx, PCS_COLOR_HEADER);
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
	pcs_text_color(tx, PCS_COLOR_NONE);
	pcs_strbuf_addf(out, " (ident 0x%" PRIx64, th->ident);
	if (th->interpreter)
		pcs_strbuf_addf(out, ", interpreter %" PRId64, th->interpreter);
	if (th->holds_gil == PCS_YES)
		pcs_strbuf_adds(out, ", holds the GIL");
	pcs_strbuf_adds(out, ")");
	const struct pcs_crash *crash = &tx->snap->crash;
	if (crash->signal && th->tid && th->tid == crash->tid) {
		pcs_text_color(tx, PCS_COLOR_WARNING);
		pcs_strbuf_adds(out, " took ");
		add_signal_name(out, crash);
		pcs_text_color(tx, PCS_COLOR_NONE);
	}
	pcs_strbuf_addc(out, '\n');
	if (th->stack.nframes)
		pcs_strbuf_adds(out, "Traceback (most recent call last):\n");
	else if (!th->stack.truncated)
		pcs_strbuf_adds(out, "  (no Python frames)\n");
	pcs_text_stack(tx, "", &th->stack, "stack");
}

void pcs_text_greenlet_states(struct pcs_text *tx)
{
	static const char *const states[] = { "running", "suspended", "not-started", "dead" };
	const struct pcs_snapshot *snap = tx->snap;
	for (size_t s = 0, sep = 0; s < sizeof(states) / sizeof(*states); s++) {
		size_t n = 0;
		for (size_t i = 0; i < snap->ngreenlets; i++)
			n += strcmp(snap->greenlets[i].state, states[s]) == 0;
		if (n)
			pcs_strbuf_addf(tx->out, "%s %zu %s", sep++ ? "," : ":", n, states[s]);
	}
}

// "3 threads · 9 greenlets: 1 running, 8 suspended · 12 asyncio tasks".
static void add_summary(struct pcs_text *tx)
{
	const struct pcs_snapshot *snap = tx->snap;
	struct pcs_strbuf *out = tx->out;
	pcs_strbuf_addf(out, "%zu thread%s", snap->nthreads, snap->nthreads == 1 ? "" : "s");
	if (snap->ngreenlets) {
		pcs_strbuf_addf(out, " \u00b7 %zu greenlet%s", snap->ngreenlets,
				snap->ngreenlets == 1 ? "" : "s");
		pcs_text_greenlet_states(tx);
	}
	if (snap->ntasks) {
		size_t running = 0;
		for (size_t i = 0; i < snap->ntasks; i++)
			running += snap->tasks[i].running;
		pcs_strbuf_addf(out, " \u00b7 %zu asyncio task%s: %zu pending", snap->ntasks,
				snap->ntasks == 1 ? "" : "s", snap->ntasks);
		if (running)
			pcs_strbuf_addf(out, " (%zu running)", running);
	}
	pcs_strbuf_addc(out, '\n');
}

void pcs_report_text(const struct pcs_snapshot *snap, const struct pcs_text_style *style,
		     struct pcs_strbuf *out)
{
	struct pcs_text tx = { .out = out, .snap = snap, .style = style };
	pcs_text_color(&tx, PCS_COLOR_HEADER);
	if (snap->kind == PCS_SNAPSHOT_CORE) {
		pcs_strbuf_adds(out, "Core ");
		pcs_strbuf_add_safe(out, snap->core);
		pcs_strbuf_addf(out, " of process %d", snap->pid);
	} else {
		pcs_strbuf_addf(out, "Process %d", snap->pid);
	}
	pcs_text_color(&tx, PCS_COLOR_NONE);
	pcs_strbuf_adds(out, ": CPython ");
	pcs_strbuf_add_safe(out, snap->python_version);
	pcs_strbuf_adds(out, " (");
	pcs_strbuf_add_safe(out, snap->executable ? snap->executable : "?");
	pcs_strbuf_addf(out, "), layout from %s\n", snap->layout);
	if (snap->args) {
		pcs_strbuf_adds(out, "Command: ");
		pcs_strbuf_add_safe(out, snap->args);
		pcs_strbuf_addc(out, '\n');
	}
	if (snap->crash.signal)
		add_crash(&tx);
	add_summary(&tx);
	for (size_t i = 0; i < snap->nthreads; i++) {
		pcs_strbuf_addc(out, '\n');
		add_thread(&tx, &snap->threads[i]);
	}
	if (snap->ngreenlets)
		pcs_text_greenlets(&tx);
	if (snap->ntasks)
		pcs_text_tasks(&tx);
	if (snap->nwarnings)
		pcs_strbuf_addc(out, '\n');
	for (size_t i = 0; i < snap->nwarnings; i++) {
		pcs_text_color(&tx, PCS_COLOR_WARNING);
		pcs_strbuf_adds(out, "warning: ");
		pcs_text_color(&tx, PCS_COLOR_NONE);
		pcs_strbuf_add_safe(out, snap->warnings[i]);
		pcs_strbuf_addc(out, '\n');
	}
}
