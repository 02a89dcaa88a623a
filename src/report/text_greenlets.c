// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Greenlets as trees, one per thread: each main greenlet, then the
// greenlets whose parent it is, and so on. Siblings parked in the same
// place (same type, state and frames) and without children of their own
// are drawn once, with their count: a server's thousand workers waiting on
// the same socket read fit on one screen.

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/text_internal.h"

struct greenlet_tree {
	struct pcs_text *tx;
	const struct pcs_snapshot *snap;
	size_t *first_child, *children;	// CSR: children of i are
					// children[first_child[i] .. first_child[i+1])
	uint64_t *sig;			// hash of what a sibling group shares
	unsigned char *drawn;
};

static uint64_t greenlet_sig(const struct pcs_greenlet *g)
{
	return pcs_stack_hash(&g->stack, pcs_string_hash(g->type) * 31 + pcs_string_hash(g->state));
}

static bool same_place(const struct pcs_greenlet *a, const struct pcs_greenlet *b)
{
	return a->type == b->type && a->state == b->state &&
	       pcs_stack_same(&a->stack, &b->stack);
}

// qsort() has no context argument: the tree and snapshot being sorted.
static const struct greenlet_tree *sort_tree;
static const struct pcs_snapshot *sort_snap;

static int cmp_greenlet_address(const void *a, const void *b)
{
	uint64_t x = sort_snap->greenlets[*(const size_t *)a].address;
	uint64_t y = sort_snap->greenlets[*(const size_t *)b].address;
	return x < y ? -1 : x > y;
}

static int state_rank(const char *state)
{
	switch (state[0]) {
	case 'r': return 0;
	case 's': return 1;
	case 'n': return 2;
	default: return 3;
	}
}

static int cmp_sibling(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct greenlet_tree *t = sort_tree;
	bool xl = t->first_child[x] == t->first_child[x + 1];
	bool yl = t->first_child[y] == t->first_child[y + 1];
	if (xl != yl)
		return xl ? 1 : -1;	// greenlets with children first
	// Then by state: running, suspended, not started, dead.
	const char *xs = t->snap->greenlets[x].state, *ys = t->snap->greenlets[y].state;
	if (xs != ys)
		return state_rank(xs) - state_rank(ys);
	if (t->sig[x] != t->sig[y])
		return t->sig[x] < t->sig[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

// @p named: the name all @p count greenlets share (NULL: show none).
static void add_greenlet_line(struct pcs_text *tx, const struct pcs_greenlet *g,
			      size_t count, const char *named, bool frames_above)
{
	struct pcs_strbuf *out = tx->out;
	pcs_text_color(tx, PCS_COLOR_HEADER);
	if (count > 1)
		pcs_strbuf_addf(out, "%zu \u00d7 ", count);
	pcs_strbuf_add_safe(out, g->is_main ? "main greenlet" : g->type ? g->type : "greenlet");
	if (named) {
		pcs_strbuf_adds(out, " \"");
		pcs_strbuf_add_safe(out, named);
		pcs_strbuf_addc(out, '"');
	}
	pcs_text_color(tx, PCS_COLOR_NONE);
	pcs_strbuf_addf(out, " (%s0x%" PRIx64 ", %s", count > 1 ? "e.g. " : "", g->address,
			g->state);
	if (frames_above)
		pcs_strbuf_adds(out, ": the thread's stack above");
	pcs_strbuf_adds(out, ")\n");
}

static void add_greenlet_tree(struct greenlet_tree *t, size_t index, size_t count,
			      const char *named, struct pcs_strbuf *prefix, bool last,
			      int depth)
{
	const struct pcs_greenlet *g = &t->snap->greenlets[index];
	size_t plen = prefix->len;
	t->drawn[index] = 1;
	pcs_text_branch(t->tx, prefix->buf ? prefix->buf : "", last);
	// A running greenlet's frames are its thread's: drawn above, if
	// that thread is shown.
	bool frames_above = false;
	for (size_t i = 0; g->state[0] == 'r' && g->tid && i < t->snap->nthreads; i++)
		frames_above |= t->snap->threads[i].tid == g->tid;
	add_greenlet_line(t->tx, g, count, named, frames_above);
	pcs_strbuf_adds(prefix, last ? "   " : "\u2502  ");
	if (!frames_above)
		pcs_text_stack(t->tx, prefix->buf, &g->stack, "frames");
	size_t *kids = t->children + t->first_child[index];
	size_t nkids = t->first_child[index + 1] - t->first_child[index];
	for (size_t i = 0; i < nkids && depth < PCS_TEXT_MAX_DEPTH;) {
		size_t j = i + 1;
		bool leaf = t->first_child[kids[i]] == t->first_child[kids[i] + 1] &&
			    t->tx->style && t->tx->style->group;
		while (leaf && j < nkids && t->sig[kids[j]] == t->sig[kids[i]] &&
		       same_place(&t->snap->greenlets[kids[i]], &t->snap->greenlets[kids[j]]))
			j++;
		const char *shared = t->snap->greenlets[kids[i]].name;
		for (size_t k = i + 1; k < j; k++) {
			t->drawn[kids[k]] = 1;
			if (t->snap->greenlets[kids[k]].name != shared)
				shared = NULL;	// interned: same name, same pointer
		}
		if (!t->drawn[kids[i]])
			add_greenlet_tree(t, kids[i], j - i, shared, prefix, j == nkids,
					  depth + 1);
		i = j;
	}
	prefix->len = plen;
	if (prefix->buf)
		prefix->buf[plen] = '\0';
}

void pcs_text_greenlets(struct pcs_text *tx)
{
	const struct pcs_snapshot *snap = tx->snap;
	struct pcs_strbuf *out = tx->out;
	size_t n = snap->ngreenlets;
	struct greenlet_tree t = { .tx = tx, .snap = snap };
	size_t *parent = malloc(n * sizeof(*parent));
	t.first_child = calloc(n + 1, sizeof(*t.first_child));
	t.children = malloc(n * sizeof(*t.children));
	t.sig = malloc(n * sizeof(*t.sig));
	t.drawn = calloc(n, 1);
	if (!parent || !t.first_child || !t.children || !t.sig || !t.drawn) {
		pcs_strbuf_adds(out, "(out of memory drawing the greenlet tree)\n");
		goto out;
	}
	// Parents by address: sort indices by address, then look each up.
	for (size_t i = 0; i < n; i++) {
		t.sig[i] = greenlet_sig(&snap->greenlets[i]);
		parent[i] = SIZE_MAX;
	}
	{
		size_t *by_addr = t.children;
		for (size_t i = 0; i < n; i++)
			by_addr[i] = i;
		sort_snap = snap;
		if (n > 1)
			qsort(by_addr, n, sizeof(*by_addr), cmp_greenlet_address);
		for (size_t i = 0; i < n; i++) {
			uint64_t p = snap->greenlets[i].parent;
			size_t lo = 0, hi = n;
			while (p && lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				uint64_t a = snap->greenlets[by_addr[mid]].address;
				if (a == p) {
					parent[i] = by_addr[mid];
					break;
				}
				if (a < p)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (parent[i] != SIZE_MAX)
			t.first_child[parent[i] + 1]++;
	for (size_t i = 0; i < n; i++)
		t.first_child[i + 1] += t.first_child[i];
	{
		size_t *fill = calloc(n ? n : 1, sizeof(*fill));
		if (!fill) {
			pcs_strbuf_adds(out, "(out of memory drawing the greenlet tree)\n");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (parent[i] != SIZE_MAX)
				t.children[t.first_child[parent[i]] + fill[parent[i]]++] = i;
		free(fill);
	}
	sort_tree = &t;
	for (size_t i = 0; i < n; i++) {
		size_t nk = t.first_child[i + 1] - t.first_child[i];
		if (nk > 1)
			qsort(t.children + t.first_child[i], nk, sizeof(size_t), cmp_sibling);
	}

	pcs_strbuf_addc(out, '\n');
	pcs_text_color(tx, PCS_COLOR_HEADER);
	pcs_strbuf_addf(out, "%zu greenlet%s", n, n == 1 ? "" : "s");
	pcs_text_color(tx, PCS_COLOR_NONE);
	if (snap->greenlet_version) {
		pcs_strbuf_adds(out, " (greenlet ");
		pcs_strbuf_add_safe(out, snap->greenlet_version);
		pcs_strbuf_addc(out, ')');
	}
	pcs_text_greenlet_states(tx);
	pcs_strbuf_addc(out, '\n');
	// One tree per thread, from its roots, in the order threads are
	// shown; then what a damaged parent chain (a loop) leaves undrawn;
	// then the greenlets of threads not shown (or not known), by thread.
	struct pcs_strbuf prefix = PCS_STRBUF_INIT;
	for (size_t th = 0;; th++) {
		int tid;
		const char *name = NULL;
		if (th < snap->nthreads) {
			tid = snap->threads[th].tid;
			name = snap->threads[th].name;
			if (!tid)
				continue;
		} else {
			size_t i = 0;
			while (i < n && t.drawn[i])
				i++;
			if (i == n)
				break;
			tid = snap->greenlets[i].tid;
		}
		bool header = false;
		for (int pass = 0; pass < 2; pass++) {
			for (size_t i = 0; i < n; i++) {
				const struct pcs_greenlet *g = &snap->greenlets[i];
				if (t.drawn[i] || g->tid != tid ||
				    (pass == 0 && parent[i] != SIZE_MAX))
					continue;
				if (!header && tid) {
					pcs_text_color(tx, PCS_COLOR_HEADER);
					pcs_strbuf_addf(out, "Thread %d", tid);
					if (name) {
						pcs_strbuf_adds(out, " \"");
						pcs_strbuf_add_safe(out, name);
						pcs_strbuf_addc(out, '"');
					}
					pcs_text_color(tx, PCS_COLOR_NONE);
					pcs_strbuf_addc(out, '\n');
				} else if (!header) {
					pcs_strbuf_adds(out, "Thread not known\n");
				}
				header = true;
				add_greenlet_tree(&t, i, 1, g->name, &prefix, true, 0);
			}
		}
	}
	pcs_strbuf_deinit(&prefix);
out:
	free(parent);
	free(t.first_child);
	free(t.children);
	free(t.sig);
	free(t.drawn);
}

