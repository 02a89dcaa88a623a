// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Collapsed ("folded") stacks, as flamegraph.pl and speedscope read them:
// "thread;<module> (app.py:9);main (app.py:8) 1". The first element is the
// kind of unit (thread, greenlet, task), so one flame graph shows where each
// kind is parked; identical stacks of a kind fold into one line with their
// count. Units without Python frames are left out.

#include <stdlib.h>
#include <string.h>

#include "report/report.h"

struct lines {
	char **v;
	size_t n, cap;
	bool oom;
};

// Escaped text with no ';' (it separates frames) and no trailing count look.
static void add_name(struct pcs_strbuf *sb, const char *s)
{
	size_t from = sb->len;
	pcs_strbuf_add_safe(sb, s);
	for (size_t i = from; sb->buf && i < sb->len; i++)
		if (sb->buf[i] == ';')
			sb->buf[i] = ',';
}

static void add_line(struct lines *ls, const char *kind, const struct pcs_stack *st)
{
	if (!st->nframes || ls->oom)
		return;
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	pcs_strbuf_adds(&sb, kind);
	for (size_t i = 0; i < st->nframes; i++) {
		const struct pcs_frame *f = &st->frames[i];
		pcs_strbuf_addc(&sb, ';');
		if (f->kind == PCS_FRAME_NATIVE) {
			add_name(&sb, f->symbol ? f->symbol : "??");
			pcs_strbuf_adds(&sb, " [native]");
			continue;
		}
		add_name(&sb, f->function ? f->function : "???");
		pcs_strbuf_adds(&sb, " (");
		add_name(&sb, f->file ? f->file : "???");
		if (f->line >= 0)
			pcs_strbuf_addf(&sb, ":%d", f->line);
		pcs_strbuf_addc(&sb, ')');
	}
	char *line = pcs_strbuf_detach(&sb);
	if (!line || (ls->n == ls->cap &&
		      !(ls->v = realloc(ls->v, (ls->cap = ls->cap ? 2 * ls->cap : 256) *
						       sizeof(*ls->v))))) {
		free(line);
		ls->oom = true;
		return;
	}
	ls->v[ls->n++] = line;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void pcs_report_collapsed(const struct pcs_snapshot *snap, struct pcs_strbuf *out)
{
	struct lines ls = { 0 };
	for (size_t i = 0; i < snap->nthreads; i++)
		add_line(&ls, "thread", &snap->threads[i].stack);
	// A running greenlet's frames are its thread's, counted there.
	for (size_t i = 0; i < snap->ngreenlets; i++)
		if (strcmp(snap->greenlets[i].state, "running") != 0)
			add_line(&ls, "greenlet", &snap->greenlets[i].stack);
	for (size_t i = 0; i < snap->ntasks; i++)
		add_line(&ls, "task", &snap->tasks[i].stack);
	if (ls.n > 1)
		qsort(ls.v, ls.n, sizeof(*ls.v), cmp_line);
	for (size_t i = 0; i < ls.n;) {
		size_t j = i + 1;
		while (j < ls.n && strcmp(ls.v[j], ls.v[i]) == 0)
			j++;
		pcs_strbuf_adds(out, ls.v[i]);
		pcs_strbuf_addf(out, " %zu\n", j - i);
		i = j;
	}
	for (size_t i = 0; i < ls.n; i++)
		free(ls.v[i]);
	free(ls.v);
	if (ls.oom)
		pcs_strbuf_adds(out, "# out of memory: some stacks are missing\n");
}
