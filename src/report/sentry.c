// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// A Sentry event (see pcs_report_sentry()), on one line: the payload of
// `sentry-cli send-event` and of an envelope's "event" item, which without
// a "length" header runs to the end of its line. Facts from Sentry's event
// payload documentation (develop.sentry.dev/sdk/event-payloads/):
//  - event_id: 32 lowercase hex digits of a UUID v4, no dashes;
//    timestamp: seconds since the epoch; level one of fatal, error,
//    warning, info, debug; tags: string values under 200 characters.
//  - Frames go outermost first, as in the model. A stacktrace holds a
//    non-empty "frames" list: a unit without frames has no stacktrace.
//  - The crashed thread's frames go on the exception, which names the
//    thread by "thread_id"; that thread itself then has no stacktrace.
//  - A thread "id" is "typically a number or numeric string", unique among
//    the threads; the ingestion schema takes any string: greenlets and
//    tasks are threads with ids such as "greenlet 0x7f3a2c1d9e40", so they
//    show in the same thread list.
//  - A frame may carry its own "platform": native frames say "native" in
//    an event whose platform is "python".
//  - An event may be at most 1 MB (decompressed); Sentry keeps at most 250
//    frames of a stacktrace. The event is written with less and less
//    detail until it fits (see "levels" below) and says what was left out.

#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "report/report.h"

/** The most bytes an event may take; Sentry refuses more than 1 MB. */
enum { SENTRY_MAX_EVENT = 1000 * 1000 };

/**
 * Longest string from the target written (bytes; Sentry trims function
 * names and paths to 256 characters anyway); source lines and the reprs of
 * variables (which --locals keeps under 80 characters, escaped); tag
 * values (Sentry: under 200).
 */
enum { STR_MAX = 256, TEXT_MAX = 512, TAG_MAX = 199 };

/** Lists in "extra" hold at most this many lines. */
enum { EXTRA_MAX_LINES = 50 };

/** How much of the snapshot an event shows. */
struct limits {
	size_t frames;		/**< per stacktrace (Sentry keeps 250) */
	size_t threads;		/**< more thread entries than the crashed one and the GIL holder */
	size_t groups;		/**< greenlet entries, and task entries */
	bool vars;		/**< --locals */
	bool source;		/**< context_line */
};

// Tried in order until the event fits. The last always does, even with
// every string as long as STR_MAX and every byte of it escaped (6 bytes):
// 12 threads of 10 frames of 4 strings, about 750 kB, and the extras, each
// list at most EXTRA_MAX_LINES lines.
static const struct limits levels[] = {
	{ .frames = 250, .threads = 1000, .groups = 100, .vars = true, .source = true },
	{ .frames = 250, .threads = 1000, .groups = 100, .vars = false, .source = true },
	{ .frames = 100, .threads = 200, .groups = 20, .vars = false, .source = true },
	{ .frames = 50, .threads = 50, .groups = 10, .vars = false, .source = false },
	{ .frames = 20, .threads = 20, .groups = 0, .vars = false, .source = false },
	{ .frames = 10, .threads = 10, .groups = 0, .vars = false, .source = false },
};

/** Greenlets or tasks parked in the same place: one entry. */
struct group {
	size_t first;		/**< index of the first member */
	size_t count;
	const char *name;	/**< the name all members share, or NULL */
};

struct groups {
	struct group *v;
	size_t n;
	bool oom;
};

/** What one rendering left out, for "extra". */
struct cuts {
	size_t stacks_cut, frames_cut;
	size_t threads, greenlet_groups, task_groups;
	bool vars, source;
};

struct sentry {
	struct pcs_strbuf *out;
	/** Where the event starts in @c out; whether it may grow past the limit. */
	size_t start;
	bool last_try;
	const struct pcs_snapshot *snap;
	const struct limits *lim;
	struct cuts cut;
	/** The thread that took the crash signal, or NULL. */
	const struct pcs_thread *crashed;
	const struct groups *greenlets, *tasks;
	const char *event_id;
	const char *timestamp;
	const char *timestamp_source;
};

// --- strings -----------------------------------------------------------

// @p s as a JSON string of at most @p max bytes: a longer one is cut at a
// character boundary and ends in "…".
static void add_str_max(struct pcs_strbuf *out, const char *s, size_t max)
{
	char buf[TEXT_MAX + 4];
	size_t n = strlen(s);
	if (max > TEXT_MAX)
		max = TEXT_MAX;
	if (n <= max) {
		pcs_strbuf_add_json_string(out, s);
		return;
	}
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	memcpy(buf + n, "\u2026", sizeof("\u2026"));
	pcs_strbuf_add_json_string(out, buf);
}

static void add_str(struct pcs_strbuf *out, const char *s)
{
	add_str_max(out, s, STR_MAX);
}

// ,"key":"value" where @p value is not NULL.
static void add_field(struct pcs_strbuf *out, const char *key, const char *value)
{
	if (!value)
		return;
	pcs_strbuf_addf(out, ",\"%s\":", key);
	add_str(out, value);
}

// A tag value: under 200 bytes, one line, no control characters.
static void add_tag(struct pcs_strbuf *out, bool *first, const char *key, const char *value)
{
	char buf[TAG_MAX + 1];
	if (!value || !*value)
		return;
	size_t n = strlen(value);
	if (n > TAG_MAX) {
		n = TAG_MAX;
		while (n > 0 && ((unsigned char)value[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];
		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	buf[n] = '\0';
	pcs_strbuf_addf(out, "%s\"%s\":", *first ? "" : ",", key);
	pcs_strbuf_add_json_string(out, buf);
	*first = false;
}

// --- Python files ------------------------------------------------------

static bool is_identifier(const char *s, size_t n)
{
	if (!n || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

// Where the import path starts in @p file: after ".../site-packages/",
// ".../dist-packages/" or ".../lib/pythonX.Y[abi]/"; NULL elsewhere.
static const char *library_path(const char *file)
{
	const char *rel = NULL;
	static const char *const dirs[] = { "/site-packages/", "/dist-packages/" };
	for (size_t d = 0; d < sizeof(dirs) / sizeof(*dirs); d++)
		for (const char *p = file; (p = strstr(p, dirs[d])); p++)
			rel = p + strlen(dirs[d]);
	if (rel)
		return rel;
	for (const char *p = file; (p = strstr(p, "/lib/python")); p++) {
		const char *q = p + strlen("/lib/python");
		if (*q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q++ != '.' || *q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		while (*q >= 'a' && *q <= 'z')	// "t" (free-threaded), "d" (debug)
			q++;
		if (*q == '/')
			rel = q + 1;
	}
	return rel;
}

// Library code: the standard library, installed packages, frozen modules.
static bool is_library(const char *file)
{
	return library_path(file) || strncmp(file, "<frozen ", 8) == 0;
}

// The dotted module name of @p file into @p module, and the path the import
// system found it under; false where that is not certain (a script's
// module name depends on a sys.path no core records).
static bool module_of(const char *file, struct pcs_strbuf *module, const char **rel)
{
	size_t n = strlen(file);
	if (strncmp(file, "<frozen ", 8) == 0 && n > 9 && file[n - 1] == '>') {
		// "<frozen importlib._bootstrap>"
		const char *name = file + 8;
		size_t len = n - 9;
		for (size_t i = 0, start = 0; i <= len; i++) {
			if (i < len && name[i] != '.')
				continue;
			if (!is_identifier(name + start, i - start))
				return false;
			start = i + 1;
		}
		pcs_strbuf_add(module, name, len);
		*rel = file;
		return true;
	}
	const char *path = library_path(file);
	if (!path || strncmp(path, "lib-dynload/", 12) == 0)
		return false;
	size_t len = strlen(path);
	if (len < 4 || strcmp(path + len - 3, ".py") != 0)
		return false;
	len -= 3;
	if (len >= 9 && strncmp(path + len - 9, "/__init__", 9) == 0)
		len -= 9;
	for (size_t i = 0, start = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (!is_identifier(path + start, i - start))
			return false;
		if (start)
			pcs_strbuf_addc(module, '.');
		pcs_strbuf_add(module, path + start, i - start);
		start = i + 1;
	}
	*rel = path;
	return true;
}

// --- frames and stacks -------------------------------------------------

static void add_python_frame(struct sentry *s, const struct pcs_frame *f)
{
	struct pcs_strbuf *out = s->out;
	const char *function = f->qualname ? f->qualname : f->function;
	pcs_strbuf_adds(out, "{\"function\":");
	add_str(out, function ? function : "???");
	if (f->file) {
		struct pcs_strbuf module = PCS_STRBUF_INIT;
		const char *rel = f->file;
		if (module_of(f->file, &module, &rel) && module.buf) {
			pcs_strbuf_adds(out, ",\"module\":");
			add_str(out, module.buf);
		}
		pcs_strbuf_deinit(&module);
		add_field(out, "filename", rel);
		add_field(out, "abs_path", f->file);
		pcs_strbuf_addf(out, ",\"in_app\":%s", is_library(f->file) ? "false" : "true");
	}
	if (f->line >= 1)
		pcs_strbuf_addf(out, ",\"lineno\":%d", f->line);
	if (f->source) {
		if (s->lim->source) {
			pcs_strbuf_adds(out, ",\"context_line\":");
			add_str_max(out, f->source, TEXT_MAX);
		} else {
			s->cut.source = true;
		}
	}
	if (f->locals) {
		if (s->lim->vars) {
			pcs_strbuf_adds(out, ",\"vars\":{");
			for (size_t i = 0; i < f->nlocals; i++) {
				pcs_strbuf_adds(out, i ? "," : "");
				add_str(out, f->locals[i].name ? f->locals[i].name : "?");
				pcs_strbuf_addc(out, ':');
				add_str_max(out, f->locals[i].repr ? f->locals[i].repr : "?",
					    TEXT_MAX);
			}
			pcs_strbuf_addc(out, '}');
		} else {
			s->cut.vars = true;
		}
	}
	pcs_strbuf_addc(out, '}');
}

// A native frame (--native): the symbol, the module as its "package", the
// address, and file and line where DWARF has them.
static void add_native_frame(struct sentry *s, const struct pcs_frame *f)
{
	struct pcs_strbuf *out = s->out;
	pcs_strbuf_addf(out, "{\"platform\":\"native\",\"instruction_addr\":\"0x%" PRIx64 "\"",
			f->pc);
	if (f->symbol) {
		add_field(out, "function", f->symbol);
		pcs_strbuf_addf(out, ",\"symbol_addr\":\"0x%" PRIx64 "\"", f->pc - f->offset);
	}
	add_field(out, "package", f->module);
	if (f->file) {
		const char *base = strrchr(f->file, '/');
		add_field(out, "filename", base ? base + 1 : f->file);
		add_field(out, "abs_path", f->file);
		if (f->line >= 1)
			pcs_strbuf_addf(out, ",\"lineno\":%d", f->line);
	}
	pcs_strbuf_adds(out, ",\"in_app\":false}");
}

// ,"stacktrace":{...}, unless @p st has no frames. Past the limit, the
// outermost and the innermost half are kept, as Sentry itself trims.
static void add_stacktrace(struct sentry *s, const struct pcs_stack *st)
{
	struct pcs_strbuf *out = s->out;
	if (!st->nframes)
		return;
	size_t n = st->nframes, head = n, tail = 0;
	if (n > s->lim->frames) {
		head = s->lim->frames / 2;
		tail = s->lim->frames - head;
		s->cut.stacks_cut++;
		s->cut.frames_cut += n - head - tail;
	}
	pcs_strbuf_adds(out, ",\"stacktrace\":{\"frames\":[");
	for (size_t i = 0; i < n; i++) {
		if (i == head && tail)
			i = n - tail;
		const struct pcs_frame *f = &st->frames[i];
		pcs_strbuf_adds(out, i ? "," : "");
		if (f->kind == PCS_FRAME_NATIVE)
			add_native_frame(s, f);
		else
			add_python_frame(s, f);
	}
	pcs_strbuf_addc(out, ']');
	if (tail)
		pcs_strbuf_addf(out, ",\"frames_omitted\":[%zu,%zu]", head, n - tail);
	pcs_strbuf_addc(out, '}');
}

// --- greenlets and tasks, folded ---------------------------------------

struct keyed {
	uint64_t sig;
	size_t index;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	if (x->sig != y->sig)
		return x->sig < y->sig ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

// Fold the @p n units whose keys are @p k (sig 0: a unit that never
// folds; SIZE_MAX index: a unit left out) into @p g, in the order of their
// first members. @p same says whether two units are in the same place;
// @p name gives a unit's name.
static void fold(struct keyed *k, size_t n, struct groups *g, const void *units,
		 bool (*same)(const void *units, size_t a, size_t b),
		 const char *(*name)(const void *units, size_t i))
{
	g->v = malloc((n ? n : 1) * sizeof(*g->v));
	if (!g->v) {
		g->oom = true;
		return;
	}
	if (n > 1)
		qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i < n; i++) {
		if (k[i].index == SIZE_MAX)
			continue;
		struct group *last = g->n ? &g->v[g->n - 1] : NULL;
		// Sorted by key: a unit folds into the group just before it,
		// if that is its place (a hash collision only splits groups).
		if (last && k[i].sig && i && k[i - 1].sig == k[i].sig &&
		    same(units, last->first, k[i].index)) {
			last->count++;
			if (last->name != name(units, k[i].index))
				last->name = NULL;
			continue;
		}
		g->v[g->n++] = (struct group){
			.first = k[i].index, .count = 1, .name = name(units, k[i].index),
		};
	}
	if (g->n > 1)
		qsort(g->v, g->n, sizeof(*g->v), cmp_group);
}

static bool same_greenlet(const void *units, size_t a, size_t b)
{
	const struct pcs_greenlet *x = &((const struct pcs_greenlet *)units)[a];
	const struct pcs_greenlet *y = &((const struct pcs_greenlet *)units)[b];
	return x->type == y->type && x->state == y->state && x->is_main == y->is_main &&
	       x->tid == y->tid && pcs_stack_same(&x->stack, &y->stack);
}

static const char *greenlet_name(const void *units, size_t i)
{
	return ((const struct pcs_greenlet *)units)[i].name;
}

static bool same_task(const void *units, size_t a, size_t b)
{
	const struct pcs_task *x = &((const struct pcs_task *)units)[a];
	const struct pcs_task *y = &((const struct pcs_task *)units)[b];
	return x->state == y->state && x->running == y->running && x->tid == y->tid &&
	       x->coro == y->coro && pcs_stack_same(&x->stack, &y->stack);
}

static const char *task_name(const void *units, size_t i)
{
	return ((const struct pcs_task *)units)[i].name;
}

static bool thread_shown(const struct pcs_snapshot *snap, int tid)
{
	for (size_t i = 0; tid && i < snap->nthreads; i++)
		if (snap->threads[i].tid == tid)
			return true;
	return false;
}

// A running greenlet's frames are its thread's: left out where that thread
// is in the event. A main greenlet stands alone (one per thread anyway).
static void fold_greenlets(const struct pcs_snapshot *snap, struct groups *g)
{
	size_t n = snap->ngreenlets;
	struct keyed *k = malloc((n ? n : 1) * sizeof(*k));
	if (!k) {
		g->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pcs_greenlet *gr = &snap->greenlets[i];
		k[i].index = i;
		// Hashed from text: groups come out in the same order every run.
		k[i].sig = pcs_stack_hash(&gr->stack, pcs_string_hash(gr->type) * 31 +
					  pcs_string_hash(gr->state) * 7 + (uint64_t)gr->tid) | 1;
		if (gr->is_main)
			k[i].sig = 0;
		if (gr->state && strcmp(gr->state, "running") == 0 && thread_shown(snap, gr->tid))
			k[i].index = SIZE_MAX;
	}
	fold(k, n, g, snap->greenlets, same_greenlet, greenlet_name);
	free(k);
}

// Tasks that await no other task fold, as the text report draws them.
static void fold_tasks(const struct pcs_snapshot *snap, struct groups *g)
{
	size_t n = snap->ntasks;
	struct keyed *k = malloc((n ? n : 1) * sizeof(*k));
	if (!k) {
		g->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pcs_task *t = &snap->tasks[i];
		bool leaf = true;
		for (size_t j = 0; leaf && j < t->nawaits; j++)
			leaf = !pcs_snapshot_find_task(snap, t->awaits[j]);
		k[i].index = i;
		k[i].sig = pcs_stack_hash(&t->stack, pcs_string_hash(t->coro) * 31 +
					  pcs_string_hash(t->state) * 7 +
					  (uint64_t)t->tid * 2 + t->running) | 1;
		if (!leaf)
			k[i].sig = 0;
	}
	fold(k, n, g, snap->tasks, same_task, task_name);
	free(k);
}

// --- threads -----------------------------------------------------------

// Past the limit, a try that is not the last is wasted work: it stops
// adding units (and is thrown away).
static bool too_big(const struct sentry *s)
{
	return !s->last_try && s->out->len - s->start > SENTRY_MAX_EVENT;
}

static void add_thread_id(struct pcs_strbuf *out, const struct pcs_thread *th)
{
	if (th->tid)
		pcs_strbuf_addf(out, "%d", th->tid);
	else
		pcs_strbuf_addf(out, "\"ident 0x%" PRIx64 "\"", th->ident);
}

static void add_thread(struct sentry *s, const struct pcs_thread *th)
{
	struct pcs_strbuf *out = s->out;
	bool crashed = th == s->crashed;
	pcs_strbuf_adds(out, "{\"id\":");
	add_thread_id(out, th);
	add_field(out, "name", th->name);
	pcs_strbuf_addf(out, ",\"crashed\":%s,\"current\":%s", crashed ? "true" : "false",
			crashed || th->holds_gil == PCS_YES ? "true" : "false");
	// The crashed thread's frames are the exception's.
	if (!crashed)
		add_stacktrace(s, &th->stack);
	pcs_strbuf_addc(out, '}');
}

// A unit's title into @p name.
static void greenlet_title(const struct pcs_greenlet *g, const struct group *grp,
			   struct pcs_strbuf *name)
{
	if (grp->count > 1)
		pcs_strbuf_addf(name, "%zu \u00d7 ", grp->count);
	pcs_strbuf_adds(name, g->is_main ? "main greenlet" : g->type ? g->type : "greenlet");
	if (grp->name)
		pcs_strbuf_addf(name, " \"%s\"", grp->name);
	pcs_strbuf_addf(name, " (%s", g->state ? g->state : "?");
	if (g->tid)
		pcs_strbuf_addf(name, ", thread %d", g->tid);
	pcs_strbuf_adds(name, grp->count > 1 && g->stack.nframes ? ", parked in the same place)"
							      : ")");
}

static void task_title(const struct pcs_snapshot *snap, const struct pcs_task *t,
		       const struct group *grp, struct pcs_strbuf *name)
{
	if (grp->count > 1)
		pcs_strbuf_addf(name, "%zu \u00d7 ", grp->count);
	pcs_strbuf_adds(name, "Task");
	if (grp->name)
		pcs_strbuf_addf(name, " \"%s\"", grp->name);
	pcs_strbuf_addf(name, " (%s", t->state ? t->state : "?");
	if (t->running)
		pcs_strbuf_adds(name, ", running");
	if (t->tid)
		pcs_strbuf_addf(name, ", thread %d", t->tid);
	if (grp->count > 1) {
		pcs_strbuf_adds(name, t->stack.nframes ? ", parked in the same place)" : ")");
		return;
	}
	size_t shown = 0;
	for (size_t i = 0; i < t->nawaits; i++) {
		if (!pcs_snapshot_find_task(snap, t->awaits[i]))
			continue;
		if (shown == 3) {
			pcs_strbuf_adds(name, ", ...");
			break;
		}
		pcs_strbuf_addf(name, "%s0x%" PRIx64, shown++ ? ", " : ", awaits ", t->awaits[i]);
	}
	pcs_strbuf_addc(name, ')');
}

static void add_unit(struct sentry *s, const char *kind, uint64_t address,
		     const struct pcs_strbuf *name, const struct pcs_stack *st)
{
	struct pcs_strbuf *out = s->out;
	pcs_strbuf_addf(out, "{\"id\":\"%s 0x%" PRIx64 "\",\"name\":", kind, address);
	add_str(out, name->buf ? name->buf : kind);
	pcs_strbuf_adds(out, ",\"crashed\":false,\"current\":false");
	add_stacktrace(s, st);
	pcs_strbuf_addc(out, '}');
}

static void add_threads(struct sentry *s)
{
	const struct pcs_snapshot *snap = s->snap;
	struct pcs_strbuf *out = s->out;
	struct pcs_strbuf name = PCS_STRBUF_INIT;
	size_t shown = 0;
	bool first = true, gil_kept = false;
	pcs_strbuf_adds(out, ",\"threads\":{\"values\":[");
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct pcs_thread *th = &snap->threads[i];
		// The crashed thread and the (first) one holding the GIL
		// are always in.
		bool kept = th == s->crashed || (th->holds_gil == PCS_YES && !gil_kept);
		gil_kept |= th->holds_gil == PCS_YES;
		if (too_big(s))
			break;
		if (shown == s->lim->threads && !kept) {
			s->cut.threads++;
			continue;
		}
		pcs_strbuf_adds(out, first ? "" : ",");
		first = false;
		add_thread(s, th);
		shown += !kept;
	}
	for (size_t i = 0; i < s->greenlets->n; i++) {
		const struct group *grp = &s->greenlets->v[i];
		const struct pcs_greenlet *g = &snap->greenlets[grp->first];
		if (too_big(s))
			break;
		if (i >= s->lim->groups) {
			s->cut.greenlet_groups = s->greenlets->n - i;
			break;
		}
		pcs_strbuf_reset(&name);
		greenlet_title(g, grp, &name);
		pcs_strbuf_adds(out, first ? "" : ",");
		first = false;
		add_unit(s, "greenlet", g->address, &name, &g->stack);
	}
	for (size_t i = 0; i < s->tasks->n; i++) {
		const struct group *grp = &s->tasks->v[i];
		const struct pcs_task *t = &snap->tasks[grp->first];
		if (too_big(s))
			break;
		if (i >= s->lim->groups) {
			s->cut.task_groups = s->tasks->n - i;
			break;
		}
		pcs_strbuf_reset(&name);
		task_title(snap, t, grp, &name);
		pcs_strbuf_adds(out, first ? "" : ",");
		first = false;
		add_unit(s, "task", t->address, &name, &t->stack);
	}
	pcs_strbuf_deinit(&name);
	pcs_strbuf_adds(out, "]}");
}

// --- the crash ---------------------------------------------------------

// {"type":"SIGSEGV","value":"SEGV_MAPERR at 0x0",...}: the signal as an
// unhandled exception raised by a signal handler, on the thread that took it.
static void add_exception(struct sentry *s)
{
	const struct pcs_crash *c = &s->snap->crash;
	struct pcs_strbuf *out = s->out;
	struct pcs_strbuf value = PCS_STRBUF_INIT;
	if (c->code_name)
		pcs_strbuf_adds(&value, c->code_name);
	else
		pcs_strbuf_addf(&value, "si_code %d", c->code);
	if (c->has_address)
		pcs_strbuf_addf(&value, " at 0x%" PRIx64, c->address);
	if (c->sender_pid)
		pcs_strbuf_addf(&value, " from pid %d", c->sender_pid);
	pcs_strbuf_adds(out, ",\"exception\":{\"values\":[{\"type\":");
	if (c->signal_name)
		add_str(out, c->signal_name);
	else
		pcs_strbuf_addf(out, "\"signal %d\"", c->signal);
	pcs_strbuf_adds(out, ",\"value\":");
	add_str(out, value.buf ? value.buf : "");
	pcs_strbuf_deinit(&value);
	if (s->crashed) {
		pcs_strbuf_adds(out, ",\"thread_id\":");
		add_thread_id(out, s->crashed);
	}
	pcs_strbuf_adds(out, ",\"mechanism\":{\"type\":\"signalhandler\",\"handled\":false");
	if (c->has_address || c->sender_pid) {
		pcs_strbuf_adds(out, ",\"data\":{");
		if (c->has_address)
			pcs_strbuf_addf(out, "\"relevant_address\":\"0x%" PRIx64 "\"", c->address);
		if (c->sender_pid)
			pcs_strbuf_addf(out, "%s\"sender_pid\":%d", c->has_address ? "," : "",
					c->sender_pid);
		pcs_strbuf_addc(out, '}');
	}
	pcs_strbuf_addf(out, ",\"meta\":{\"signal\":{\"number\":%d,\"code\":%d", c->signal,
			c->code);
	add_field(out, "name", c->signal_name);
	add_field(out, "code_name", c->code_name);
	pcs_strbuf_adds(out, "}}}");
	if (s->crashed)
		add_stacktrace(s, &s->crashed->stack);
	pcs_strbuf_adds(out, "}]}");
}

// --- the event ---------------------------------------------------------

static void add_tags(struct sentry *s)
{
	const struct pcs_snapshot *snap = s->snap;
	struct pcs_strbuf *out = s->out;
	bool first = true;
	pcs_strbuf_adds(out, ",\"tags\":{");
	add_tag(out, &first, "python.version", snap->python_version);
	add_tag(out, &first, "python.layout", snap->layout);
	if (snap->free_threaded)
		add_tag(out, &first, "python.free_threaded", "yes");
	if (snap->debug_build)
		add_tag(out, &first, "python.debug_build", "yes");
	add_tag(out, &first, "greenlet.version", snap->greenlet_version);
	if (snap->crash.signal) {
		char number[32];
		snprintf(number, sizeof(number), "signal %d", snap->crash.signal);
		add_tag(out, &first, "signal",
			snap->crash.signal_name ? snap->crash.signal_name : number);
	}
	add_tag(out, &first, "pycore_stacks.target",
		snap->kind == PCS_SNAPSHOT_CORE ? "core" : "process");
	add_tag(out, &first, "executable", snap->executable);
	pcs_strbuf_addc(out, '}');
}

static void add_contexts(struct sentry *s)
{
	const struct pcs_snapshot *snap = s->snap;
	struct pcs_strbuf *out = s->out;
	pcs_strbuf_adds(out, ",\"contexts\":{\"runtime\":{\"type\":\"runtime\",\"name\":\"CPython\"");
	add_field(out, "version", snap->python_version);
	if (snap->free_threaded || snap->debug_build)
		pcs_strbuf_addf(out, ",\"build\":\"%s\"",
				snap->free_threaded && snap->debug_build ? "free-threaded, debug"
				: snap->free_threaded ? "free-threaded" : "debug");
	pcs_strbuf_adds(out, "},\"os\":{\"type\":\"os\",\"name\":\"Linux\"}");
	// No "type": Sentry shows an unknown context as a table of its keys.
	pcs_strbuf_addf(out, ",\"process\":{\"pid\":%d", snap->pid);
	add_field(out, "executable", snap->executable);
	add_field(out, "args", snap->args);
	add_field(out, "core", snap->core);
	pcs_strbuf_adds(out, "}}");
}

static void add_extra_lines(struct pcs_strbuf *out, const char *key, const char *const *lines,
			    size_t n)
{
	pcs_strbuf_addf(out, ",\"%s\":[", key);
	for (size_t i = 0; i < n && i < EXTRA_MAX_LINES; i++) {
		pcs_strbuf_adds(out, i ? "," : "");
		add_str(out, lines[i]);
	}
	if (n > EXTRA_MAX_LINES)
		pcs_strbuf_addf(out, ",\"(%zu more)\"", n - EXTRA_MAX_LINES);
	pcs_strbuf_addc(out, ']');
}

// What this event leaves out of the snapshot, one sentence each.
static void add_cuts(struct sentry *s)
{
	const struct cuts *c = &s->cut;
	struct pcs_strbuf *out = s->out;
	bool any = false;
	pcs_strbuf_adds(out, ",\"left_out\":[");
#define CUT(...)                                                \
	do {                                                    \
		pcs_strbuf_adds(out, any ? ",\"" : "\"");       \
		pcs_strbuf_addf(out, __VA_ARGS__);              \
		pcs_strbuf_addc(out, '"');                      \
		any = true;                                     \
	} while (0)
	if (c->stacks_cut)
		CUT("%zu frames from the middle of %zu stacks longer than %zu frames",
		    c->frames_cut, c->stacks_cut, s->lim->frames);
	if (c->threads)
		CUT("%zu threads after the first %zu", c->threads, s->lim->threads);
	if (c->greenlet_groups)
		CUT("%zu greenlet entries after the first %zu", c->greenlet_groups,
		    s->lim->groups);
	if (c->task_groups)
		CUT("%zu task entries after the first %zu", c->task_groups, s->lim->groups);
	if (c->vars)
		CUT("local variables, to keep the event under %d bytes", SENTRY_MAX_EVENT);
	if (c->source)
		CUT("source lines, to keep the event under %d bytes", SENTRY_MAX_EVENT);
	if (s->greenlets->oom || s->tasks->oom)
		CUT("greenlets or tasks: out of memory folding them");
#undef CUT
	pcs_strbuf_addc(out, ']');
}

static void add_extra(struct sentry *s)
{
	const struct pcs_snapshot *snap = s->snap;
	const struct pcs_crash *c = &snap->crash;
	struct pcs_strbuf *out = s->out;
	pcs_strbuf_addf(out, ",\"extra\":{\"pid\":%d", snap->pid);
	add_field(out, "args", snap->args);
	add_field(out, "core", snap->core);
	add_field(out, "executable", snap->executable);
	add_field(out, "timestamp_from", s->timestamp_source);
	pcs_strbuf_adds(out, ",\"python\":{\"version\":");
	add_str(out, snap->python_version ? snap->python_version : "?");
	pcs_strbuf_addf(out, ",\"free_threaded\":%s,\"debug_build\":%s",
			snap->free_threaded ? "true" : "false",
			snap->debug_build ? "true" : "false");
	add_field(out, "layout", snap->layout);
	pcs_strbuf_addc(out, '}');
	if (snap->greenlet_version) {
		pcs_strbuf_adds(out, ",\"greenlet\":{\"version\":");
		add_str(out, snap->greenlet_version);
		add_field(out, "layout", snap->greenlet_layout);
		pcs_strbuf_addc(out, '}');
	}
	pcs_strbuf_addf(out, ",\"counts\":{\"threads\":%zu,\"greenlets\":%zu,\"tasks\":%zu}",
			snap->nthreads, snap->ngreenlets, snap->ntasks);
	if (c->signal) {
		pcs_strbuf_addf(out, ",\"crash\":{\"signal\":%d", c->signal);
		add_field(out, "signal_name", c->signal_name);
		pcs_strbuf_addf(out, ",\"code\":%d", c->code);
		add_field(out, "code_name", c->code_name);
		if (c->has_address)
			pcs_strbuf_addf(out, ",\"address\":\"0x%" PRIx64 "\"", c->address);
		if (c->sender_pid)
			pcs_strbuf_addf(out, ",\"sender_pid\":%d", c->sender_pid);
		if (c->tid)
			pcs_strbuf_addf(out, ",\"tid\":%d", c->tid);
		if (!s->crashed)
			pcs_strbuf_adds(out, ",\"thread\":\"runs no Python code (or was left out)\"");
		pcs_strbuf_addc(out, '}');
	}
	add_extra_lines(out, "warnings", snap->warnings, snap->nwarnings);
	// Stacks that end early, and why.
	{
		size_t n = 0;
		struct pcs_strbuf line = PCS_STRBUF_INIT;
		pcs_strbuf_adds(out, ",\"stacks_cut_short\":[");
		for (size_t i = 0; i < snap->nthreads && n < EXTRA_MAX_LINES; i++) {
			const struct pcs_thread *th = &snap->threads[i];
			if (!th->stack.truncated)
				continue;
			pcs_strbuf_reset(&line);
			pcs_strbuf_addf(&line, "thread %d: %s", th->tid, th->stack.truncated);
			pcs_strbuf_adds(out, n++ ? "," : "");
			add_str(out, line.buf);
		}
		pcs_strbuf_deinit(&line);
		pcs_strbuf_addc(out, ']');
	}
	add_cuts(s);
	pcs_strbuf_addc(out, '}');
}

static void render(struct sentry *s)
{
	const struct pcs_snapshot *snap = s->snap;
	struct pcs_strbuf *out = s->out;
	memset(&s->cut, 0, sizeof(s->cut));
	pcs_strbuf_addf(out, "{\"event_id\":\"%s\",\"timestamp\":%s", s->event_id, s->timestamp);
	pcs_strbuf_adds(out, ",\"platform\":\"python\",\"logger\":\"pycore-stacks\",\"level\":");
	if (snap->crash.signal)
		pcs_strbuf_adds(out, "\"fatal\"");
	else
		pcs_strbuf_adds(out, snap->kind == PCS_SNAPSHOT_CORE ? "\"error\"" : "\"info\"");
	if (snap->crash.signal) {
		add_exception(s);
	} else {
		// A template and its parameters: Sentry groups messages by
		// the template, not by pid.
		const char *version = snap->python_version ? snap->python_version : "?";
		struct pcs_strbuf text = PCS_STRBUF_INIT;
		pcs_strbuf_addf(&text, "Python stacks of pid %d (python %s)", snap->pid, version);
		pcs_strbuf_adds(out, ",\"logentry\":{\"message\":\"Python stacks of pid %s "
				"(python %s)\",\"params\":[");
		pcs_strbuf_addf(out, "\"%d\",", snap->pid);
		add_str(out, version);
		pcs_strbuf_adds(out, "],\"formatted\":");
		add_str(out, text.buf ? text.buf : "Python stacks");
		pcs_strbuf_deinit(&text);
		pcs_strbuf_addc(out, '}');
	}
	add_threads(s);
	add_tags(s);
	add_contexts(s);
	pcs_strbuf_adds(out, ",\"sdk\":{\"name\":\"pycore-stacks\",\"version\":\"" PACKAGE_VERSION
			"\"}");
	add_extra(s);
	pcs_strbuf_adds(out, "}\n");
}

// 32 hex digits of a random UUID v4. Without getrandom() (an old kernel),
// the time, pid and an address: unique enough for an event id.
static void make_event_id(char id[33])
{
	unsigned char b[16];
	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		struct {
			struct timespec ts;
			pid_t pid;
			uintptr_t where;
			clock_t cpu;
		} seed;
		memset(&seed, 0, sizeof(seed));	// padding too: it is hashed
		seed.pid = getpid();
		seed.where = (uintptr_t)id;
		seed.cpu = clock();
		clock_gettime(CLOCK_REALTIME, &seed.ts);
		uint64_t x = pcs_hash_bytes(&seed, sizeof(seed));
		uint64_t y = pcs_hash_bytes(&x, sizeof(x)) ^ (uint64_t)seed.cpu;
		memcpy(b, &x, 8);
		memcpy(b + 8, &y, 8);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
}

void pcs_report_sentry(const struct pcs_snapshot *snap, struct pcs_strbuf *out)
{
	char event_id[33], timestamp[48];
	struct sentry s = { .snap = snap };
	struct groups greenlets = { 0 }, tasks = { 0 };

	make_event_id(event_id);
	s.timestamp_source = snap->time_from_core ? "the core file's modification time"
						  : "the time of the dump";
	snprintf(timestamp, sizeof(timestamp), "%lld.%03ld", (long long)snap->time.tv_sec,
		 snap->time.tv_nsec / 1000000);
	s.event_id = event_id;
	s.timestamp = timestamp;
	for (size_t i = 0; snap->crash.signal && snap->crash.tid && i < snap->nthreads; i++)
		if (snap->threads[i].tid == snap->crash.tid)
			s.crashed = &snap->threads[i];
	fold_greenlets(snap, &greenlets);
	fold_tasks(snap, &tasks);
	s.greenlets = &greenlets;
	s.tasks = &tasks;

	// Each try is written over the one before.
	size_t nlevels = sizeof(levels) / sizeof(*levels);
	s.out = out;
	s.start = out->len;
	for (size_t i = 0; i < nlevels; i++) {
		out->len = s.start;
		if (out->buf)
			out->buf[s.start] = '\0';
		s.lim = &levels[i];
		s.last_try = i == nlevels - 1;
		render(&s);
		if (out->oom || out->len - s.start <= SENTRY_MAX_EVENT)
			break;
	}
	free(greenlets.v);
	free(tasks.v);
}
