// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// asyncio tasks as a tree: roots are the tasks no task awaits; under each
// task, its await chain, then the tasks it awaits. A task awaited by
// several is drawn under each; a cycle is drawn once and marked. Sibling
// tasks that await no task and are parked in the same place are drawn once
// with their count ("812 × Task ...").

#include <inttypes.h>
#include <stdlib.h>

#include "report/text_internal.h"

struct task_tree {
	struct pcs_text *tx;
	const struct pcs_snapshot *snap;
	unsigned char *on_path;
	uint64_t *sig;
	/** Scratch lists of siblings, one per depth. */
	size_t *scratch;
};

static bool task_index(const struct pcs_snapshot *snap, uint64_t addr, size_t *index)
{
	const struct pcs_task *t = pcs_snapshot_find_task(snap, addr);
	if (t)
		*index = (size_t)(t - snap->tasks);
	return t != NULL;
}

static bool awaits_tasks(const struct pcs_snapshot *snap, const struct pcs_task *task)
{
	size_t k;
	for (size_t i = 0; i < task->nawaits; i++)
		if (task_index(snap, task->awaits[i], &k))
			return true;
	return false;
}

static bool same_place(const struct pcs_task *a, const struct pcs_task *b)
{
	return a->running == b->running && a->tid == b->tid &&
	       pcs_stack_same(&a->stack, &b->stack);
}

// qsort() has no context argument: the tree being drawn.
static const struct task_tree *sort_tree;

// Tasks that await others first (each drawn on its own), then by place.
static int cmp_sibling(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct task_tree *t = sort_tree;
	bool xl = !awaits_tasks(t->snap, &t->snap->tasks[x]);
	bool yl = !awaits_tasks(t->snap, &t->snap->tasks[y]);
	if (xl != yl)
		return xl ? 1 : -1;
	if (t->sig[x] != t->sig[y])
		return t->sig[x] < t->sig[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void draw_siblings(struct task_tree *t, const size_t *sib, size_t n,
			  struct pcs_strbuf *prefix, int depth);

// Task @p index, standing for @p count tasks in the same place (@p named:
// the name they share, or NULL).
static void draw_task(struct task_tree *t, size_t index, size_t count, const char *named,
		      struct pcs_strbuf *prefix, bool last, int depth)
{
	struct pcs_text *tx = t->tx;
	struct pcs_strbuf *out = tx->out;
	const struct pcs_task *task = &t->snap->tasks[index];
	size_t plen = prefix->len;
	pcs_text_branch(tx, prefix->buf ? prefix->buf : "", last);
	pcs_text_color(tx, PCS_COLOR_HEADER);
	if (count > 1)
		pcs_strbuf_addf(out, "%zu \u00d7 ", count);
	pcs_strbuf_adds(out, "Task ");
	if (named) {
		pcs_strbuf_addc(out, '"');
		pcs_strbuf_add_safe(out, named);
		pcs_strbuf_adds(out, "\" ");
	}
	pcs_text_color(tx, PCS_COLOR_NONE);
	pcs_strbuf_addf(out, "(%s0x%" PRIx64, count > 1 ? "e.g. " : "", task->address);
	if (task->tid)
		pcs_strbuf_addf(out, ", thread %d", task->tid);
	if (task->running)
		pcs_strbuf_adds(out, ", running");
	if (t->on_path[index]) {
		pcs_strbuf_adds(out, ") ... awaits itself: cycle\n");
		return;
	}
	pcs_strbuf_adds(out, ")\n");
	pcs_strbuf_adds(prefix, last ? "   " : "\u2502  ");
	pcs_text_stack(tx, prefix->buf, &task->stack, "await chain");
	if (depth < PCS_TEXT_MAX_DEPTH) {
		t->on_path[index] = 1;
		size_t *kids = malloc((task->nawaits ? task->nawaits : 1) * sizeof(*kids));
		size_t nkids = 0;
		for (size_t i = 0; kids && i < task->nawaits; i++)
			if (task_index(t->snap, task->awaits[i], &kids[nkids]))
				nkids++;
		if (kids)
			draw_siblings(t, kids, nkids, prefix, depth + 1);
		else
			pcs_strbuf_adds(out, "(out of memory drawing the task tree)\n");
		free(kids);
		t->on_path[index] = 0;
	}
	prefix->len = plen;
	if (prefix->buf)
		prefix->buf[plen] = '\0';
}

// Draw @p n sibling tasks (sorted here), folding those in the same place.
static void draw_siblings(struct task_tree *t, const size_t *in, size_t n,
			  struct pcs_strbuf *prefix, int depth)
{
	size_t *sib = malloc((n ? n : 1) * sizeof(*sib));
	if (!sib) {
		pcs_strbuf_adds(t->tx->out, "(out of memory drawing the task tree)\n");
		return;
	}
	for (size_t i = 0; i < n; i++)
		sib[i] = in[i];
	bool group = t->tx->style && t->tx->style->group;
	if (group && n > 1) {
		sort_tree = t;
		qsort(sib, n, sizeof(*sib), cmp_sibling);
	}
	for (size_t i = 0; i < n;) {
		const struct pcs_task *first = &t->snap->tasks[sib[i]];
		size_t j = i + 1;
		if (group && !awaits_tasks(t->snap, first) && !t->on_path[sib[i]]) {
			while (j < n && t->sig[sib[j]] == t->sig[sib[i]] &&
			       !awaits_tasks(t->snap, &t->snap->tasks[sib[j]]) &&
			       same_place(first, &t->snap->tasks[sib[j]]))
				j++;
		}
		const char *named = first->name;
		for (size_t k = i + 1; k < j; k++)
			if (t->snap->tasks[sib[k]].name != named)
				named = NULL;	// interned: same name, same pointer
		draw_task(t, sib[i], j - i, named, prefix, j == n, depth);
		i = j;
	}
	free(sib);
}

void pcs_text_tasks(struct pcs_text *tx)
{
	const struct pcs_snapshot *snap = tx->snap;
	size_t n = snap->ntasks;
	struct task_tree t = { .tx = tx, .snap = snap };
	unsigned char *awaited = calloc(n ? n : 1, 2);
	size_t *roots = malloc((n ? n : 1) * sizeof(*roots));
	t.sig = malloc((n ? n : 1) * sizeof(*t.sig));
	if (!awaited || !roots || !t.sig) {
		pcs_strbuf_adds(tx->out, "(out of memory drawing the task tree)\n");
		goto out;
	}
	t.on_path = awaited + n;
	for (size_t i = 0; i < n; i++) {
		t.sig[i] = pcs_stack_hash(&snap->tasks[i].stack,
					       (uint64_t)snap->tasks[i].tid);
		for (size_t j = 0; j < snap->tasks[i].nawaits; j++) {
			size_t k;
			if (task_index(snap, snap->tasks[i].awaits[j], &k))
				awaited[k] = 1;
		}
	}
	pcs_strbuf_addc(tx->out, '\n');
	pcs_text_color(tx, PCS_COLOR_HEADER);
	pcs_strbuf_addf(tx->out, "%zu asyncio task%s", n, n == 1 ? "" : "s");
	pcs_text_color(tx, PCS_COLOR_NONE);
	pcs_strbuf_addc(tx->out, '\n');
	size_t nroots = 0;
	for (size_t i = 0; i < n; i++)
		if (!awaited[i])
			roots[nroots++] = i;
	// Tasks that only await each other in a ring have no root.
	if (!nroots)
		for (size_t i = 0; i < n; i++)
			roots[nroots++] = i;
	struct pcs_strbuf prefix = PCS_STRBUF_INIT;
	draw_siblings(&t, roots, nroots, &prefix, 0);
	pcs_strbuf_deinit(&prefix);
out:
	free(awaited);
	free(roots);
	free(t.sig);
}
