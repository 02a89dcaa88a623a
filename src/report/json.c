// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The JSON contract of spec/OUTPUT.md, format "pycore-stacks/1".

#include <inttypes.h>

#include "report/report.h"

static void add_str(struct pcs_strbuf *out, const char *s)
{
	if (s)
		pcs_strbuf_add_json_string(out, s);
	else
		pcs_strbuf_adds(out, "null");
}

// A native frame: where in which module, and the source where DWARF says.
static void add_native_frame(struct pcs_strbuf *out, const struct pcs_frame *f)
{
	pcs_strbuf_adds(out, "{\"kind\": \"native\", \"symbol\": ");
	add_str(out, f->symbol);
	pcs_strbuf_addf(out, ", \"offset\": %" PRIu64 ", \"module\": ", f->offset);
	add_str(out, f->module);
	pcs_strbuf_addf(out, ", \"pc\": \"0x%" PRIx64 "\", \"file\": ", f->pc);
	add_str(out, f->file);
	if (f->file && f->line >= 0)
		pcs_strbuf_addf(out, ", \"line\": %d}", f->line);
	else
		pcs_strbuf_adds(out, ", \"line\": null}");
}

static void add_frame(struct pcs_strbuf *out, const struct pcs_frame *f)
{
	if (f->kind == PCS_FRAME_NATIVE) {
		add_native_frame(out, f);
		return;
	}
	pcs_strbuf_adds(out, "{\"kind\": ");
	add_str(out, f->kind == PCS_FRAME_PYTHON ? "python" : "native");
	pcs_strbuf_adds(out, ", \"function\": ");
	add_str(out, f->function);
	pcs_strbuf_adds(out, ", \"qualname\": ");
	add_str(out, f->qualname);
	pcs_strbuf_adds(out, ", \"file\": ");
	add_str(out, f->file);
	if (f->line >= 0) {
		pcs_strbuf_adds(out, ", \"line\": ");
		pcs_strbuf_add_int(out, f->line);
	} else {
		pcs_strbuf_adds(out, ", \"line\": null");
	}
	// An addition to the contract: the line's text, where known.
	if (f->source) {
		pcs_strbuf_adds(out, ", \"source\": ");
		add_str(out, f->source);
	}
	if (f->locals) {
		pcs_strbuf_adds(out, ", \"locals\": {");
		for (size_t i = 0; i < f->nlocals; i++) {
			pcs_strbuf_adds(out, i ? ", " : "");
			add_str(out, f->locals[i].name);
			pcs_strbuf_adds(out, ": ");
			add_str(out, f->locals[i].repr);
		}
		pcs_strbuf_addc(out, '}');
	}
	pcs_strbuf_addc(out, '}');
}

static void add_stack(struct pcs_strbuf *out, const struct pcs_stack *st)
{
	pcs_strbuf_adds(out, "\"frames\": [");
	for (size_t i = 0; i < st->nframes; i++) {
		pcs_strbuf_adds(out, i ? ",\n        " : "\n        ");
		add_frame(out, &st->frames[i]);
	}
	pcs_strbuf_adds(out, st->nframes ? "\n      ]" : "]");
	pcs_strbuf_adds(out, ", \"truncated\": ");
	add_str(out, st->truncated);
}

static void add_tid(struct pcs_strbuf *out, int tid)
{
	if (tid) {
		pcs_strbuf_adds(out, ", \"tid\": ");
		pcs_strbuf_add_int(out, tid);
	} else
		pcs_strbuf_adds(out, ", \"tid\": null");
}

static void add_thread(struct pcs_strbuf *out, const struct pcs_thread *th,
		       const struct pcs_crash *crash)
{
	pcs_strbuf_adds(out, "{");
	if (th->tid)
		pcs_strbuf_addf(out, "\"tid\": %d", th->tid);
	else
		pcs_strbuf_adds(out, "\"tid\": null");
	pcs_strbuf_addf(out, ", \"ident\": %" PRIu64 ", \"name\": ", th->ident);
	add_str(out, th->name);
	pcs_strbuf_addf(out, ", \"interpreter\": %" PRId64 ", \"holds_gil\": %s, "
			"\"crashed\": %s,\n      ",
			th->interpreter,
			th->holds_gil == PCS_UNKNOWN ? "null"
			: th->holds_gil == PCS_YES ? "true" : "false",
			crash->signal && th->tid && th->tid == crash->tid ? "true" : "false");
	add_stack(out, &th->stack);
	pcs_strbuf_adds(out, "}");
}

static void add_task(struct pcs_strbuf *out, const struct pcs_task *task)
{
	pcs_strbuf_adds(out, "{\"address\": \"");
	pcs_strbuf_add_hex(out, task->address);
	pcs_strbuf_adds(out, "\", \"name\": ");
	add_str(out, task->name);
	pcs_strbuf_adds(out, ", \"state\": ");
	add_str(out, task->state);
	pcs_strbuf_adds(out, ", \"coro\": ");
	add_str(out, task->coro);
	add_tid(out, task->tid);
	pcs_strbuf_adds(out, task->running ? ", \"running\": true, \"awaits\": ["
				       : ", \"running\": false, \"awaits\": [");
	for (size_t i = 0; i < task->nawaits; i++) {
		pcs_strbuf_adds(out, i ? ", \"" : "\"");
		pcs_strbuf_add_hex(out, task->awaits[i]);
		pcs_strbuf_addc(out, '"');
	}
	pcs_strbuf_adds(out, "],\n      ");
	add_stack(out, &task->stack);
	pcs_strbuf_adds(out, "}");
}

static void add_greenlet(struct pcs_strbuf *out, const struct pcs_greenlet *g)
{
	pcs_strbuf_adds(out, "{\"address\": \"");
	pcs_strbuf_add_hex(out, g->address);
	pcs_strbuf_adds(out, "\", \"type\": ");
	add_str(out, g->type);
	pcs_strbuf_adds(out, ", \"name\": ");
	add_str(out, g->name);
	pcs_strbuf_adds(out, ", \"state\": ");
	add_str(out, g->state);
	pcs_strbuf_adds(out, g->is_main ? ", \"is_main\": true, \"parent\": "
				 : ", \"is_main\": false, \"parent\": ");
	if (g->parent) {
		pcs_strbuf_addc(out, '"');
		pcs_strbuf_add_hex(out, g->parent);
		pcs_strbuf_addc(out, '"');
	} else
		pcs_strbuf_adds(out, "null");
	add_tid(out, g->tid);
	pcs_strbuf_adds(out, ",\n      ");
	add_stack(out, &g->stack);
	pcs_strbuf_adds(out, "}");
}

// null, or {"signal": 11, "name": "SIGSEGV", "code": 1, "code_name":
// "SEGV_MAPERR", "address": "0x0", "sender_pid": null, "tid": 1234}.
static void add_crash(struct pcs_strbuf *out, const struct pcs_crash *c)
{
	if (!c->signal) {
		pcs_strbuf_adds(out, "null");
		return;
	}
	pcs_strbuf_addf(out, "{\"signal\": %d, \"name\": ", c->signal);
	add_str(out, c->signal_name);
	pcs_strbuf_addf(out, ", \"code\": %d, \"code_name\": ", c->code);
	add_str(out, c->code_name);
	if (c->has_address)
		pcs_strbuf_addf(out, ", \"address\": \"0x%" PRIx64 "\"", c->address);
	else
		pcs_strbuf_adds(out, ", \"address\": null");
	if (c->sender_pid)
		pcs_strbuf_addf(out, ", \"sender_pid\": %d", c->sender_pid);
	else
		pcs_strbuf_adds(out, ", \"sender_pid\": null");
	add_tid(out, c->tid);
	pcs_strbuf_adds(out, "}");
}

void pcs_report_json(const struct pcs_snapshot *snap, struct pcs_strbuf *out)
{
	pcs_strbuf_adds(out, "{\n  \"format\": \"pycore-stacks/1\",\n  \"target\": {\"kind\": ");
	add_str(out, snap->kind == PCS_SNAPSHOT_CORE ? "core" : "process");
	pcs_strbuf_adds(out, ", \"core\": ");
	add_str(out, snap->core);
	// How the core file is compressed, null if not (an addition).
	pcs_strbuf_adds(out, ", \"core_compression\": ");
	add_str(out, snap->core_compression);
	pcs_strbuf_addf(out, ", \"pid\": %d, \"executable\": ", snap->pid);
	add_str(out, snap->executable);
	pcs_strbuf_adds(out, ",\n    \"python\": {\"version\": ");
	add_str(out, snap->python_version);
	pcs_strbuf_addf(out, ", \"free_threaded\": %s, \"debug_build\": %s},\n    \"layout\": ",
			snap->free_threaded ? "true" : "false",
			snap->debug_build ? "true" : "false");
	add_str(out, snap->layout);
	// Which greenlet, and where its layout came from (an addition).
	if (snap->greenlet_version) {
		pcs_strbuf_adds(out, ",\n    \"greenlet\": {\"version\": ");
		add_str(out, snap->greenlet_version);
		pcs_strbuf_adds(out, ", \"layout\": ");
		add_str(out, snap->greenlet_layout);
		pcs_strbuf_adds(out, "}");
	}
	// The command line and the crash the core records (additions).
	pcs_strbuf_adds(out, ",\n    \"args\": ");
	add_str(out, snap->args);
	pcs_strbuf_adds(out, ", \"crash\": ");
	add_crash(out, &snap->crash);
	pcs_strbuf_adds(out, "},\n  \"threads\": [");
	for (size_t i = 0; i < snap->nthreads; i++) {
		pcs_strbuf_adds(out, i ? ",\n    " : "\n    ");
		add_thread(out, &snap->threads[i], &snap->crash);
	}
	pcs_strbuf_adds(out, snap->nthreads ? "\n  ],\n" : "],\n");
	pcs_strbuf_adds(out, "  \"greenlets\": [");
	for (size_t i = 0; i < snap->ngreenlets; i++) {
		pcs_strbuf_adds(out, i ? ",\n    " : "\n    ");
		add_greenlet(out, &snap->greenlets[i]);
	}
	pcs_strbuf_adds(out, snap->ngreenlets ? "\n  ],\n" : "],\n");
	pcs_strbuf_adds(out, "  \"tasks\": [");
	for (size_t i = 0; i < snap->ntasks; i++) {
		pcs_strbuf_adds(out, i ? ",\n    " : "\n    ");
		add_task(out, &snap->tasks[i]);
	}
	pcs_strbuf_adds(out, snap->ntasks ? "\n  ],\n" : "],\n");
	pcs_strbuf_adds(out, "  \"warnings\": [");
	for (size_t i = 0; i < snap->nwarnings; i++) {
		if (i)
			pcs_strbuf_adds(out, ", ");
		add_str(out, snap->warnings[i]);
	}
	pcs_strbuf_adds(out, "]\n}\n");
}
