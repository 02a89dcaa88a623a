// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Text for people: Python's own traceback look, so the lines read like
// every traceback they have seen. Strings from the target are escaped.

#include <inttypes.h>
#include <stdlib.h>

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

// asyncio tasks as a tree: roots are the tasks no task awaits; under each
// task, its await chain, then the tasks it awaits. A task awaited by
// several is drawn under each; a cycle is drawn once and marked.
enum { MAX_TREE_DEPTH = 256 };

static bool task_index(const struct pcs_snapshot *snap, uint64_t addr, size_t *index)
{
	const struct pcs_task *t = pcs_snapshot_find_task(snap, addr);
	if (t)
		*index = (size_t)(t - snap->tasks);
	return t != NULL;
}

static void add_task_tree(struct pcs_strbuf *out, const struct pcs_snapshot *snap,
			  size_t index, struct pcs_strbuf *prefix, bool last,
			  unsigned char *on_path, int depth)
{
	const struct pcs_task *task = &snap->tasks[index];
	size_t plen = prefix->len;
	pcs_strbuf_add(out, prefix->buf ? prefix->buf : "", plen);
	pcs_strbuf_adds(out, last ? "\u2514\u2500 " : "\u251c\u2500 ");
	pcs_strbuf_adds(out, "Task ");
	if (task->name) {
		pcs_strbuf_addc(out, '"');
		pcs_strbuf_add_safe(out, task->name);
		pcs_strbuf_adds(out, "\" ");
	}
	pcs_strbuf_addf(out, "(0x%" PRIx64, task->address);
	if (task->tid)
		pcs_strbuf_addf(out, ", thread %d", task->tid);
	if (task->running)
		pcs_strbuf_adds(out, ", running");
	if (on_path[index]) {
		pcs_strbuf_adds(out, ") ... awaits itself: cycle\n");
		return;
	}
	pcs_strbuf_adds(out, ")\n");
	pcs_strbuf_adds(prefix, last ? "   " : "\u2502  ");
	for (size_t i = 0; i < task->stack.nframes; i++) {
		pcs_strbuf_add(out, prefix->buf, prefix->len);
		add_frame(out, &task->stack.frames[i]);
	}
	if (task->stack.truncated) {
		pcs_strbuf_add(out, prefix->buf, prefix->len);
		pcs_strbuf_adds(out, "  ... await chain truncated: ");
		pcs_strbuf_add_safe(out, task->stack.truncated);
		pcs_strbuf_addc(out, '\n');
	}
	on_path[index] = 1;
	for (size_t i = 0; i < task->nawaits && depth < MAX_TREE_DEPTH; i++) {
		size_t child;
		if (task_index(snap, task->awaits[i], &child))
			add_task_tree(out, snap, child, prefix, i + 1 == task->nawaits,
				      on_path, depth + 1);
	}
	on_path[index] = 0;
	prefix->len = plen;
	if (prefix->buf)
		prefix->buf[plen] = '\0';
}

static void add_tasks(struct pcs_strbuf *out, const struct pcs_snapshot *snap)
{
	unsigned char *awaited = calloc(snap->ntasks ? snap->ntasks : 1, 2);
	if (!awaited) {
		pcs_strbuf_adds(out, "(out of memory drawing the task tree)\n");
		return;
	}
	unsigned char *on_path = awaited + snap->ntasks;
	for (size_t i = 0; i < snap->ntasks; i++) {
		for (size_t j = 0; j < snap->tasks[i].nawaits; j++) {
			size_t k;
			if (task_index(snap, snap->tasks[i].awaits[j], &k))
				awaited[k] = 1;
		}
	}
	pcs_strbuf_addf(out, "\n%zu asyncio task%s\n", snap->ntasks,
			snap->ntasks == 1 ? "" : "s");
	struct pcs_strbuf prefix = PCS_STRBUF_INIT;
	bool drawn = false;
	for (size_t i = 0; i < snap->ntasks; i++) {
		if (awaited[i])
			continue;
		add_task_tree(out, snap, i, &prefix, true, on_path, 0);
		drawn = true;
	}
	// Tasks that only await each other in a ring have no root.
	if (!drawn) {
		for (size_t i = 0; i < snap->ntasks; i++)
			add_task_tree(out, snap, i, &prefix, true, on_path, 0);
	}
	pcs_strbuf_deinit(&prefix);
	free(awaited);
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
	if (snap->ntasks)
		add_tasks(out, snap);
	if (snap->nwarnings)
		pcs_strbuf_addc(out, '\n');
	for (size_t i = 0; i < snap->nwarnings; i++) {
		pcs_strbuf_adds(out, "warning: ");
		pcs_strbuf_add_safe(out, snap->warnings[i]);
		pcs_strbuf_addc(out, '\n');
	}
}
