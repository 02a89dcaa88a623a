// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/model.h"
#include "util/error.h"
#include "util/vector.h"

// The memory ceiling: frames held by all the stacks of the snapshot being
// filled (one at a time). What a corrupted target can make us allocate is
// otherwise bounded only per unit.
static size_t frames_held, frames_limit = PCS_MAX_SNAPSHOT_FRAMES;

struct pcs_error *pcs_snapshot_create(struct pcs_snapshot **ret)
{
	struct pcs_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return &pcs_enomem;
	frames_held = 0;
	frames_limit = PCS_MAX_SNAPSHOT_FRAMES;
	pcs_strtab_init(&snap->strings);
	*ret = snap;
	return NULL;
}

void pcs_snapshot_destroy(struct pcs_snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->nthreads; i++)
		free(snap->threads[i].stack.frames);
	free(snap->threads);
	for (size_t i = 0; i < snap->ntasks; i++) {
		free(snap->tasks[i].stack.frames);
		free(snap->tasks[i].awaits);
	}
	free(snap->tasks);
	for (size_t i = 0; i < snap->ngreenlets; i++)
		free(snap->greenlets[i].stack.frames);
	free(snap->greenlets);
	free(snap->warnings);
	pcs_strtab_deinit(&snap->strings);
	free(snap);
}

const char *pcs_snapshot_intern(struct pcs_snapshot *snap, const char *s)
{
	return s ? pcs_strtab_interns(&snap->strings, s) : NULL;
}

struct pcs_error *pcs_snapshot_warn(struct pcs_snapshot *snap, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return &pcs_enomem;
	const char *s = pcs_snapshot_intern(snap, msg);
	free(msg);
	if (!s || !PCS_VEC_RESERVE(snap->warnings, snap->nwarnings, snap->cap_warnings, 1))
		return &pcs_enomem;
	snap->warnings[snap->nwarnings++] = s;
	return NULL;
}

struct pcs_error *pcs_snapshot_warn_error(struct pcs_snapshot *snap, struct pcs_error *err,
					  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err = pcs_error_prefixv(err, fmt, ap);
	va_end(ap);
	if (err == &pcs_enomem)
		return err;
	struct pcs_error *werr = pcs_snapshot_warn(snap, "%s", err->message);
	pcs_error_destroy(err);
	return werr;
}

struct pcs_error *pcs_stack_push(struct pcs_stack *stack,
				 const struct pcs_frame *frame)
{
	if (frames_held >= frames_limit)
		return pcs_error_create(PCS_ERROR_LIMIT,
					"memory ceiling: more than %zu frames in all",
					frames_limit);
	if (!PCS_VEC_RESERVE(stack->frames, stack->nframes, stack->cap_frames, 1))
		return &pcs_enomem;
	stack->frames[stack->nframes++] = *frame;
	frames_held++;
	return NULL;
}

void pcs_snapshot_clear_units(struct pcs_snapshot *snap, size_t keep_warnings)
{
	for (size_t i = 0; i < snap->nthreads; i++)
		free(snap->threads[i].stack.frames);
	for (size_t i = 0; i < snap->ntasks; i++) {
		free(snap->tasks[i].stack.frames);
		free(snap->tasks[i].awaits);
	}
	for (size_t i = 0; i < snap->ngreenlets; i++)
		free(snap->greenlets[i].stack.frames);
	snap->nthreads = snap->ntasks = snap->ngreenlets = 0;
	snap->greenlet_version = snap->greenlet_layout = NULL;
	if (snap->nwarnings > keep_warnings)
		snap->nwarnings = keep_warnings;
	frames_held = 0;
}

void pcs_snapshot_limit_frames(struct pcs_snapshot *snap, size_t max)
{
	(void)snap;
	frames_limit = max;
}

void pcs_stack_reverse(struct pcs_stack *stack)
{
	for (size_t i = 0, j = stack->nframes; i + 1 < j; i++, j--) {
		struct pcs_frame tmp = stack->frames[i];
		stack->frames[i] = stack->frames[j - 1];
		stack->frames[j - 1] = tmp;
	}
}

void pcs_stack_shrink(struct pcs_stack *stack)
{
	if (stack->cap_frames <= stack->nframes)
		return;
	// A new block rather than realloc(): shrunk in place, the tails
	// left behind would be too small for the next stack's first array.
	struct pcs_frame *exact = NULL;
	if (stack->nframes) {
		exact = malloc(stack->nframes * sizeof(*exact));
		if (!exact)
			return;
		memcpy(exact, stack->frames, stack->nframes * sizeof(*exact));
	}
	free(stack->frames);
	stack->frames = exact;
	stack->cap_frames = stack->nframes;
}

void pcs_snapshot_retain_threads(struct pcs_snapshot *snap,
				 bool (*keep)(const struct pcs_thread *th, void *arg),
				 void *arg)
{
	size_t kept = 0;
	for (size_t i = 0; i < snap->nthreads; i++) {
		if (keep(&snap->threads[i], arg))
			snap->threads[kept++] = snap->threads[i];
		else
			free(snap->threads[i].stack.frames);
	}
	snap->nthreads = kept;
}

static int cmp_task(const void *a, const void *b)
{
	const struct pcs_task *x = a, *y = b;
	return x->address < y->address ? -1 : x->address > y->address;
}

struct task_key {
	uint64_t address;
	size_t index;
};

static int cmp_task_key(const void *a, const void *b)
{
	const struct task_key *x = a, *y = b;
	if (x->address != y->address)
		return x->address < y->address ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

void pcs_snapshot_sort_tasks(struct pcs_snapshot *snap)
{
	size_t n = snap->ntasks;
	if (n < 2)
		return;
	// The keys sorted, then the tasks moved once each, in place: a task
	// is large, and there may be a million.
	struct task_key *keys = malloc(n * sizeof(*keys));
	if (!keys) {
		qsort(snap->tasks, n, sizeof(*snap->tasks), cmp_task);
		return;
	}
	for (size_t i = 0; i < n; i++)
		keys[i] = (struct task_key){ snap->tasks[i].address, i };
	qsort(keys, n, sizeof(*keys), cmp_task_key);
	// keys[i].index: where the task that goes to i is; each cycle of
	// that permutation is followed once (a done position points to
	// itself).
	for (size_t i = 0; i < n; i++) {
		if (keys[i].index == i)
			continue;
		struct pcs_task first = snap->tasks[i];
		size_t j = i;
		for (;;) {
			size_t from = keys[j].index;
			keys[j].index = j;
			if (from == i) {
				snap->tasks[j] = first;
				break;
			}
			snap->tasks[j] = snap->tasks[from];
			j = from;
		}
	}
	free(keys);
}

const struct pcs_task *pcs_snapshot_find_task(const struct pcs_snapshot *snap,
					      uint64_t address)
{
	struct pcs_task key = { .address = address };
	if (!snap->ntasks)
		return NULL;
	return bsearch(&key, snap->tasks, snap->ntasks, sizeof(*snap->tasks), cmp_task);
}

void pcs_snapshot_retain_tasks(struct pcs_snapshot *snap,
			       bool (*keep)(const struct pcs_task *task, void *arg),
			       void *arg)
{
	size_t kept = 0;
	for (size_t i = 0; i < snap->ntasks; i++) {
		if (keep(&snap->tasks[i], arg)) {
			snap->tasks[kept++] = snap->tasks[i];
		} else {
			free(snap->tasks[i].stack.frames);
			free(snap->tasks[i].awaits);
		}
	}
	snap->ntasks = kept;
}

bool pcs_snapshot_complete(const struct pcs_snapshot *snap)
{
	return snap->nwarnings == 0;
}

void pcs_snapshot_retain_greenlets(struct pcs_snapshot *snap,
				   bool (*keep)(const struct pcs_greenlet *g, void *arg),
				   void *arg)
{
	size_t kept = 0;
	for (size_t i = 0; i < snap->ngreenlets; i++) {
		if (keep(&snap->greenlets[i], arg))
			snap->greenlets[kept++] = snap->greenlets[i];
		else
			free(snap->greenlets[i].stack.frames);
	}
	snap->ngreenlets = kept;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return h ^ (v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2));
}

uint64_t pcs_string_hash(const char *s)
{
	return s ? pcs_hash_bytes(s, strlen(s)) : 0;
}

uint64_t pcs_stack_hash(const struct pcs_stack *st, uint64_t seed)
{
	uint64_t h = seed;
	for (size_t i = 0; i < st->nframes; i++) {
		const struct pcs_frame *f = &st->frames[i];
		h = mix(h, (uint64_t)f->kind);
		h = mix(h, pcs_string_hash(f->function));
		h = mix(h, pcs_string_hash(f->file));
		h = mix(h, (uint64_t)(int64_t)f->line);
		if (f->kind == PCS_FRAME_NATIVE)
			h = mix(mix(h, pcs_string_hash(f->symbol)), f->pc);
	}
	return h;
}

bool pcs_stack_same(const struct pcs_stack *a, const struct pcs_stack *b)
{
	if (a->nframes != b->nframes || a->truncated || b->truncated)
		return false;
	for (size_t i = 0; i < a->nframes; i++) {
		const struct pcs_frame *x = &a->frames[i], *y = &b->frames[i];
		// Interned strings: equal text, equal pointer.
		if (x->kind != y->kind || x->function != y->function || x->file != y->file ||
		    x->line != y->line || x->symbol != y->symbol || x->pc != y->pc)
			return false;
	}
	return true;
}
