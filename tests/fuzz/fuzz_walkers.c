// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// libFuzzer target: the interpreter walkers, the collectors and the
// reports over the memory of a real core, patched by the input.
//
// At start-up the core named by $PCS_FUZZ_CORE (tests/fuzz/run.sh makes one
// of tests/fuzz/walkers_target.py: threads, generators, asyncio tasks,
// greenlets, gevent) is copied into a memfd; its symbols and layout are
// made once (libdwfl reads the modules and their DWARF from the files, not
// from the patched memory: 100 ms that would be most of each run), and the
// pipeline runs once unpatched, recording every range of target memory the
// walkers read (pcs_target_read, wrapped with -Wl,--wrap) with the call
// chain that read it. Those ranges are the interpreter's structures as the
// walkers see them: what the patches aim at, a call chain first, so that
// the few reads of the runtime and the thread states are as likely as the
// thousands of the garbage collector's lists.
//
// Each input is a list of patches, written into the memfd (the target's
// own read-only private mapping of the file shares those pages), then the
// rest of src/cli/main.c's pipeline runs on a target opened afresh: the
// interpreter model, every collector (pcs_collect_all), main()'s filter,
// source lines, the text (plain and styled), collapsed and JSON reports;
// then main()'s filter with --thread again, and the reports again.
// Everything is destroyed and the patches undone.
//
// A patch is an 8-byte header and, for raw bytes, its data:
//
//   op   bits 0-1  where: 0 byte pos % len of recorded read #sel
//                         1 word pos % words of recorded read #sel
//                         2 dumped byte (sel | pos << 24) % total, any segment
//                         3 through the pointer in word (pos & 0xff) of
//                           read #sel: its target + (int8)(pos >> 8) * 8
//        bits 2-3  what:  0 raw: (op >> 4) + 1 bytes of data follow
//                         1 the address of recorded read #arg, + (op >> 4) * 8
//                         2 the 8-byte word there + (int16)arg
//                         3 a boundary value #arg0 of 1, 2, 4 or 8 bytes
//                           ((op >> 4) & 3)
//   sel  3 bytes, pos 2 bytes, arg 2 bytes (little-endian)
//
// Recorded read #n is read (n / groups) % size of call chain n % groups.
// Patches outside the memory the core holds are skipped.
//
// What a recorded read is depends on the code that reads: before keeping a
// crash as a regression input, write it in the canonical form, raw bytes at
// dumped-memory indexes only (where 2, what 0), which depends on the core
// alone: PCS_FUZZ_CANONICAL=out ./fuzz_walkers crash-... (run.sh makes the
// core reproducibly: the same program, one malloc arena, ASLR off).
//
// Environment: PCS_FUZZ_CORE (required), PCS_FUZZ_EXE (the executable, if
// the core's own path to it does not do), PCS_FUZZ_VERBOSE=1 (print the
// text report of each run to stderr), PCS_FUZZ_CANONICAL=PATH (write each
// input's canonical form there).

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <elf.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "layout/layout.h"
#include "report/report.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"
#include "util/strbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
struct pcs_error *__real_pcs_target_read(struct pcs_target *t, pcs_addr_t addr,
					 void *buf, size_t len);
struct pcs_error *__wrap_pcs_target_read(struct pcs_target *t, pcs_addr_t addr,
					 void *buf, size_t len);
void __real_pcs_symbols_lookup_many(struct pcs_symbols *s, const char *const names[],
				    pcs_addr_t addrs[], size_t n);
void __wrap_pcs_symbols_lookup_many(struct pcs_symbols *s, const char *const names[],
				    pcs_addr_t addrs[], size_t n);
bool __real_pcs_symbols_lookup(struct pcs_symbols *s, const char *name,
			       pcs_addr_t *addr, uint64_t *size);
bool __wrap_pcs_symbols_lookup(struct pcs_symbols *s, const char *name,
			       pcs_addr_t *addr, uint64_t *size);
bool __real_pcs_symbols_module_lookup(struct pcs_symbols *s, const char *name_part,
				      const char *name, pcs_addr_t *addr);
bool __wrap_pcs_symbols_module_lookup(struct pcs_symbols *s, const char *name_part,
				      const char *name, pcs_addr_t *addr);
bool __real_pcs_symbols_python_runtime(struct pcs_symbols *s, pcs_addr_t *addr);
bool __wrap_pcs_symbols_python_runtime(struct pcs_symbols *s, pcs_addr_t *addr);

enum {
	MAX_PATCHES = 256,
	MAX_PATCH_LEN = 16,
	HEADER_LEN = 8,
};

// The core: a memfd, and our writable shared view of it.
static int core_fd = -1;
static char core_path[64];
static unsigned char *core;
static size_t core_size;
static const char *exe_path;
static bool verbose;
static const char *canonical_path;

// PT_LOAD segments with bytes in the file.
struct segment {
	pcs_addr_t vaddr;
	uint64_t filesz;
	uint64_t offset;
	uint64_t before;	// dumped bytes of the segments before this one
};
static struct segment *segments;
static size_t nsegments;
static uint64_t total_dumped;

// The reads of the unpatched run in the dumped memory, grouped by the
// call chain that made them (the frame walker's, the dict reader's, the
// collector's...) so that a patch picks a group first: the few reads of
// the runtime and thread states are as likely targets as the thousands of
// the garbage collector's list.
struct range {
	pcs_addr_t addr;
	uint64_t len;
	size_t group;
};
struct group {
	uint64_t hash;	// of the call chain
	size_t first, count;	// its reads, once sorted
};
static struct range *reads;
static size_t nreads, cap_reads;
static struct group *groups;
static size_t ngroups, cap_groups;
static bool recording;

// Made once, from the unpatched core: libdwfl reads the modules and their
// DWARF (100 ms) from the files, and the struct offsets come from them.
static struct pcs_target *base_target;
static struct pcs_symbols *syms;
static struct pcs_layout *base_layout;

// What each patch overwrote, to undo.
struct undo {
	uint64_t offset;
	size_t len;
	unsigned char old[MAX_PATCH_LEN];
};
static struct undo undo[MAX_PATCHES];
static size_t nundo;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_walkers: %s\n", what);
	exit(1);
}

static void record(pcs_addr_t addr, uint64_t len)
{
	void *pcs[8];
	int n = backtrace(pcs, 8);
	uint64_t hash = 14695981039346656037ULL;
	for (int i = 2; i < n; i++)	// not record(), not the wrapper
		hash = (hash ^ (uint64_t)(uintptr_t)pcs[i]) * 1099511628211ULL;
	size_t g = 0;
	while (g < ngroups && groups[g].hash != hash)
		g++;
	if (g == ngroups) {
		if (ngroups == cap_groups) {
			cap_groups = cap_groups ? 2 * cap_groups : 256;
			groups = realloc(groups, cap_groups * sizeof(*groups));
			if (!groups)
				die("out of memory");
		}
		groups[ngroups++] = (struct group){ .hash = hash };
	}
	if (nreads == cap_reads) {
		cap_reads = cap_reads ? 2 * cap_reads : 4096;
		reads = realloc(reads, cap_reads * sizeof(*reads));
		if (!reads)
			die("out of memory");
	}
	reads[nreads++] = (struct range){ addr, len, g };
}

struct pcs_error *__wrap_pcs_target_read(struct pcs_target *t, pcs_addr_t addr,
					 void *buf, size_t len)
{
	if (recording && len)
		record(addr, len);
	return __real_pcs_target_read(t, addr, buf, len);
}

// The symbol lookups, remembered: the symbols are made once, and a scan of
// the interpreter's symbol table (strcmp under the fuzzer's hooks) would
// take half of each run.
struct lookup {
	char *key;	// module part, '/', name
	bool done, found;
	pcs_addr_t addr;
	uint64_t size;
};
static struct lookup *lookups;
static size_t nlookups, cap_lookups;

static struct lookup *remembered(const char *part, const char *name)
{
	char *key;
	if (asprintf(&key, "%s/%s", part, name) < 0)
		die("out of memory");
	for (size_t i = 0; i < nlookups; i++) {
		if (strcmp(lookups[i].key, key) == 0) {
			free(key);
			return &lookups[i];
		}
	}
	if (nlookups == cap_lookups) {
		cap_lookups = cap_lookups ? 2 * cap_lookups : 64;
		lookups = realloc(lookups, cap_lookups * sizeof(*lookups));
		if (!lookups)
			die("out of memory");
	}
	lookups[nlookups] = (struct lookup){ .key = key };
	return &lookups[nlookups++];
}

bool __wrap_pcs_symbols_lookup(struct pcs_symbols *s, const char *name,
			       pcs_addr_t *addr, uint64_t *size)
{
	struct lookup *l = remembered("", name);
	if (!l->done) {
		l->found = __real_pcs_symbols_lookup(s, name, &l->addr, &l->size);
		l->done = true;
	}
	if (!l->found)
		return false;
	*addr = l->addr;
	if (size)
		*size = l->size;
	return true;
}

bool __wrap_pcs_symbols_module_lookup(struct pcs_symbols *s, const char *name_part,
				      const char *name, pcs_addr_t *addr)
{
	struct lookup *l = remembered(name_part, name);
	if (!l->done) {
		l->found = __real_pcs_symbols_module_lookup(s, name_part, name, &l->addr);
		l->done = true;
	}
	if (l->found)
		*addr = l->addr;
	return l->found;
}

bool __wrap_pcs_symbols_python_runtime(struct pcs_symbols *s, pcs_addr_t *addr)
{
	struct lookup *l = remembered("", ".PyRuntime");
	if (!l->done) {
		l->found = __real_pcs_symbols_python_runtime(s, &l->addr);
		l->done = true;
	}
	if (l->found)
		*addr = l->addr;
	return l->found;
}

// One lookup each: the same first match in the symbol table.
void __wrap_pcs_symbols_lookup_many(struct pcs_symbols *s, const char *const names[],
				    pcs_addr_t addrs[], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!__wrap_pcs_symbols_lookup(s, names[i], &addrs[i], NULL))
			addrs[i] = 0;
	}
}

// The segment holding the @p len bytes at @p addr in the file, or NULL.
static const struct segment *dumped(pcs_addr_t addr, uint64_t len)
{
	size_t lo = 0, hi = nsegments;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct segment *s = &segments[mid];
		if (addr < s->vaddr)
			hi = mid;
		else if (addr - s->vaddr >= s->filesz)
			lo = mid + 1;
		else
			return len <= s->filesz - (addr - s->vaddr) ? s : NULL;
	}
	return NULL;
}

static int cmp_segment(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

static void load_core(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		die("cannot open $PCS_FUZZ_CORE");
	core_size = (size_t)st.st_size;
	core_fd = memfd_create("core", MFD_CLOEXEC);
	if (core_fd < 0 || ftruncate(core_fd, (off_t)core_size) < 0)
		die("cannot make a memfd");
	core = mmap(NULL, core_size, PROT_READ | PROT_WRITE, MAP_SHARED, core_fd, 0);
	if (core == MAP_FAILED)
		die("cannot map the memfd");
	for (size_t done = 0; done < core_size;) {
		ssize_t n = pread(fd, core + done, core_size - done, (off_t)done);
		if (n <= 0)
			die("cannot read $PCS_FUZZ_CORE");
		done += (size_t)n;
	}
	close(fd);
	snprintf(core_path, sizeof(core_path), "/proc/self/fd/%d", core_fd);

	// Our own core, trusted: only what is needed to address its memory.
	Elf64_Ehdr eh;
	memcpy(&eh, core, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_type != ET_CORE ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > core_size)
		die("$PCS_FUZZ_CORE is not an ELF core file");
	segments = calloc(eh.e_phnum, sizeof(*segments));
	if (!segments)
		die("out of memory");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, core + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		uint64_t filesz = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
		if (ph.p_type != PT_LOAD || !filesz || ph.p_offset > core_size ||
		    filesz > core_size - ph.p_offset)
			continue;
		segments[nsegments++] = (struct segment){
			.vaddr = ph.p_vaddr, .filesz = filesz, .offset = ph.p_offset,
		};
	}
	qsort(segments, nsegments, sizeof(*segments), cmp_segment);
	for (size_t i = 0; i < nsegments; i++) {
		segments[i].before = total_dumped;
		total_dumped += segments[i].filesz;
	}
	if (!total_dumped)
		die("$PCS_FUZZ_CORE holds no memory");
}

struct counts {
	size_t threads, frames, tasks, greenlets, warnings;
	/** Suspended greenlets with native frames (their own unwinding). */
	size_t greenlets_native;
};

// src/cli/main.c's snapshot_target(), with the symbols of the unpatched
// core (see LLVMFuzzerInitialize()).
static struct pcs_error *snapshot(struct pcs_target *t, struct pcs_snapshot *snap)
{
	// A copy of the layout: the greenlet step adds to it.
	struct pcs_layout *layout = malloc(sizeof(*layout));
	struct pcs_python *py = NULL;
	if (!layout)
		return &pcs_enomem;
	*layout = *base_layout;
	// describe_target()
	snap->kind = PCS_SNAPSHOT_CORE;
	snap->pid = pcs_target_pid(t);
	snap->core = pcs_snapshot_intern(snap, pcs_target_core_path(t));
	snap->executable = pcs_snapshot_intern(snap, pcs_target_exe_path(t));
	snap->python_version = pcs_snapshot_intern(snap, layout->version);
	snap->layout = pcs_snapshot_intern(snap, pcs_layout_source_name(layout->source));
	snap->debug_build = layout->debug_build;
	snap->free_threaded = layout->free_threaded;
	struct pcs_error *err = pcs_target_stop(t);
	if (!err)
		err = pcs_python_create(t, syms, layout, &snap->strings, &py);
	// Locals on: their decoders (reprs of every type) get the patched
	// memory too. Native frames too (--native), unwound over it.
	if (!err)
		pcs_python_set_locals(py, true);
	if (!err)
		err = pcs_collect_all(py, syms, layout, PCS_LAYOUT_AUTO, snap);
	if (!err) {
		pcs_python_set_locals(py, false);
		err = pcs_collect_native(py, syms, t, snap);
	}
	pcs_python_destroy(py);
	pcs_layout_destroy(layout);
	return err;
}

// main()'s filter(): with no --only and no --thread it keeps everything;
// then with --thread=TID, the thread of the first greenlet (or the first
// thread): no task, that thread and its greenlets.
static bool keep_thread(const struct pcs_thread *th, void *arg)
{
	const int *tid = arg;
	return !*tid || th->tid == *tid;
}

static bool keep_task(const struct pcs_task *task, void *arg)
{
	(void)task;
	return !*(const int *)arg;
}

static bool keep_greenlet(const struct pcs_greenlet *g, void *arg)
{
	const int *tid = arg;
	return !*tid || g->tid == *tid;
}

static void filter(struct pcs_snapshot *snap, int tid)
{
	pcs_snapshot_retain_threads(snap, keep_thread, &tid);
	pcs_snapshot_retain_tasks(snap, keep_task, &tid);
	pcs_snapshot_retain_greenlets(snap, keep_greenlet, &tid);
}

// Every format main() writes: text plain and styled, collapsed, JSON.
static void report(const struct pcs_snapshot *snap)
{
	static const struct pcs_text_style styled = { .color = true, .group = true };
	struct pcs_strbuf out = PCS_STRBUF_INIT;
	pcs_report_text(snap, NULL, &out);
	if (verbose)
		fwrite(out.buf, 1, out.len, stderr);
	pcs_strbuf_reset(&out);
	pcs_report_text(snap, &styled, &out);
	pcs_strbuf_reset(&out);
	pcs_report_collapsed(snap, &out);
	pcs_strbuf_reset(&out);
	pcs_report_json(snap, &out);
	(void)pcs_snapshot_complete(snap);
	pcs_strbuf_deinit(&out);
}

static void run(struct counts *c)
{
	struct pcs_target *t = NULL;
	struct pcs_snapshot *snap = NULL;
	struct pcs_error *err = pcs_target_open_core(core_path,
		&(struct pcs_core_files){ .executable = exe_path }, &t);
	if (!err)
		err = pcs_snapshot_create(&snap);
	if (!err) {
		err = snapshot(t, snap);
		filter(snap, 0);
	}
	pcs_target_destroy(t);
	if (err) {
		if (verbose)
			fprintf(stderr, "error: %s\n", err->message);
		pcs_error_destroy(err);
		pcs_snapshot_destroy(snap);
		return;
	}
	// Source lines come from the files the (patched) code objects name.
	err = pcs_collect_source_lines(snap, NULL);
	if (err) {
		pcs_error_destroy(err);
		pcs_snapshot_destroy(snap);
		return;
	}
	if (c) {
		c->threads = snap->nthreads;
		for (size_t i = 0; i < snap->nthreads; i++)
			c->frames += snap->threads[i].stack.nframes;
		c->tasks = snap->ntasks;
		c->greenlets = snap->ngreenlets;
		c->warnings = snap->nwarnings;
		for (size_t i = 0; i < snap->ngreenlets; i++) {
			const struct pcs_greenlet *g = &snap->greenlets[i];
			c->greenlets_native += g->state && strcmp(g->state, "suspended") == 0 &&
					       g->stack.nframes &&
					       g->stack.frames[0].kind == PCS_FRAME_NATIVE;
		}
	}
	report(snap);
	int tid = snap->ngreenlets ? snap->greenlets[0].tid : 0;
	if (!tid && snap->nthreads)
		tid = snap->threads[0].tid;
	if (tid) {
		filter(snap, tid);
		report(snap);
	}
	pcs_snapshot_destroy(snap);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *path = getenv("PCS_FUZZ_CORE");
	if (!path || !*path)
		die("set PCS_FUZZ_CORE to a core of tests/fuzz/walkers_target.py "
		    "(tests/fuzz/run.sh makes one)");
	exe_path = getenv("PCS_FUZZ_EXE");
	if (exe_path && !*exe_path)
		exe_path = NULL;
	verbose = getenv("PCS_FUZZ_VERBOSE") && atoi(getenv("PCS_FUZZ_VERBOSE"));
	canonical_path = getenv("PCS_FUZZ_CANONICAL");
	load_core(path);
	struct pcs_error *err = pcs_target_open_core(core_path,
		&(struct pcs_core_files){ .executable = exe_path }, &base_target);
	if (!err)
		err = pcs_symbols_create(base_target, NULL, &syms);
	if (!err)
		err = pcs_layout_select(base_target, syms, PCS_LAYOUT_AUTO, &base_layout);
	if (err) {
		fprintf(stderr, "fuzz_walkers: %s: %s\n", path, err->message);
		die("cannot read the core");
	}

	// The unpatched run: what it reads is what the patches aim at, and it
	// must see every kind of unit, or the core is not the one we need.
	struct counts c = { 0 };
	recording = true;
	run(&c);
	recording = false;
	// Groups in the order the run first made them; only memory the core
	// holds; no empty group.
	qsort(reads, nreads, sizeof(*reads), cmp_range);
	size_t n = 0, g = 0, last = SIZE_MAX;
	for (size_t i = 0; i < nreads; i++) {
		if (!dumped(reads[i].addr, 1) ||
		    (n && reads[i].group == last && reads[i].addr == reads[n - 1].addr &&
		     reads[i].len == reads[n - 1].len))
			continue;
		if (reads[i].group != last)
			groups[g++] = (struct group){ .first = n };
		last = reads[i].group;
		reads[n] = reads[i];
		reads[n++].group = g - 1;
		groups[g - 1].count++;
	}
	nreads = n;
	ngroups = g;
	fprintf(stderr,
		"fuzz_walkers: %s: %zu threads (%zu frames), %zu tasks, %zu greenlets "
		"(%zu suspended with native frames), %zu warnings; %zu distinct reads "
		"(%zu call chains) in %zu dumped segments\n",
		path, c.threads, c.frames, c.tasks, c.greenlets, c.greenlets_native,
		c.warnings, nreads, ngroups, nsegments);
	if (c.threads < 2 || !c.tasks || !c.greenlets || !c.greenlets_native || !nreads)
		die("the core lacks threads, tasks or greenlets (or the tool cannot "
		    "read it, or unwind its suspended greenlets): make it again from "
		    "tests/fuzz/walkers_target.py");
	return 0;
}

static uint64_t rd(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

// Bytes at @p addr in the dumped memory, or NULL.
static unsigned char *at(pcs_addr_t addr, uint64_t len)
{
	const struct segment *s = dumped(addr, len);
	return s ? core + s->offset + (addr - s->vaddr) : NULL;
}

static void write_patch(pcs_addr_t addr, const void *bytes, size_t len)
{
	unsigned char *p = at(addr, len);
	if (!p || nundo == MAX_PATCHES)
		return;
	struct undo *u = &undo[nundo++];
	u->offset = (uint64_t)(p - core);
	u->len = len;
	memcpy(u->old, p, len);
	memcpy(p, bytes, len);
}

// Recorded read #sel: group sel % ngroups, and a read of it.
static const struct range *pick(uint64_t sel)
{
	const struct group *g = &groups[sel % ngroups];
	return &reads[g->first + (sel / ngroups) % g->count];
}

static const uint64_t boundary[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000,
	UINT64_MAX, UINT64_MAX - 1, 0x10000, 4096,
};

// Apply the patch at @p p (@p left bytes); returns its length, 0 at the end.
static size_t apply(const uint8_t *p, size_t left)
{
	if (left < HEADER_LEN)
		return 0;
	unsigned op = p[0];
	uint64_t sel = rd(p + 1, 3), pos = rd(p + 4, 2), arg = rd(p + 6, 2);
	unsigned where = op & 3, what = (op >> 2) & 3, hi = op >> 4;
	size_t len = what == 0 ? hi + 1 : 0;
	if (left - HEADER_LEN < len)
		return 0;
	const struct range *r = pick(sel);
	uint64_t words = (r->len + 7) / 8;
	pcs_addr_t addr;
	switch (where) {
	case 0:
		addr = r->addr + pos % r->len;
		break;
	case 1:
		addr = (r->addr & ~(pcs_addr_t)7) + 8 * (pos % words);
		break;
	case 2: {
		uint64_t i = (sel | pos << 24) % total_dumped;
		size_t lo = 0, hi_ = nsegments;
		while (hi_ - lo > 1) {
			size_t mid = lo + (hi_ - lo) / 2;
			if (segments[mid].before <= i)
				lo = mid;
			else
				hi_ = mid;
		}
		addr = segments[lo].vaddr + (i - segments[lo].before);
		break;
	}
	default: {
		const unsigned char *w =
			at((r->addr & ~(pcs_addr_t)7) + 8 * ((pos & 0xff) % words), 8);
		if (!w)
			return HEADER_LEN + len;
		addr = rd(w, 8) + (uint64_t)(int64_t)(int8_t)(pos >> 8) * 8;
		break;
	}
	}
	unsigned char bytes[MAX_PATCH_LEN];
	switch (what) {
	case 0:
		memcpy(bytes, p + HEADER_LEN, len);
		break;
	case 1: {
		uint64_t v = pick(arg)->addr + 8 * (uint64_t)hi;
		memcpy(bytes, &v, 8);
		len = 8;
		break;
	}
	case 2: {
		const unsigned char *w = at(addr, 8);
		if (!w)
			return HEADER_LEN;
		uint64_t v = rd(w, 8) + (uint64_t)(int64_t)(int16_t)arg;
		memcpy(bytes, &v, 8);
		len = 8;
		break;
	}
	default: {
		uint64_t v = boundary[(arg & 0xff) % (sizeof(boundary) / sizeof(boundary[0]))];
		memcpy(bytes, &v, 8);
		len = (size_t)1 << (hi & 3);
		break;
	}
	}
	write_patch(addr, bytes, len);
	return HEADER_LEN + (what == 0 ? len : 0);
}

// The patches of this input as they landed, as raw bytes at dumped-memory
// indexes (where 2, what 0): the same bytes at the same addresses whatever
// the walkers read, so that a regression input keeps its meaning when
// src/ changes (on the same core).
static void write_canonical(const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die("cannot write $PCS_FUZZ_CANONICAL");
	for (size_t i = 0; i < nundo; i++) {
		const struct undo *u = &undo[i];
		const struct segment *s = segments;
		while (u->offset < s->offset || u->offset - s->offset >= s->filesz)
			s++;	// every patch is in one
		uint64_t index = s->before + (u->offset - s->offset);
		unsigned char h[HEADER_LEN] = { 0 };
		h[0] = (unsigned char)(2 | (u->len - 1) << 4);
		for (int k = 0; k < 5; k++)
			h[1 + k] = (unsigned char)(index >> (8 * k));
		fwrite(h, 1, sizeof(h), f);
		fwrite(core + u->offset, 1, u->len, f);
	}
	if (fclose(f))
		die("cannot write $PCS_FUZZ_CANONICAL");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nundo = 0;
	for (size_t off = 0, n; nundo < MAX_PATCHES && (n = apply(data + off, size - off));
	     off += n)
		;
	if (canonical_path)
		write_canonical(canonical_path);
	run(NULL);
	while (nundo) {
		struct undo *u = &undo[--nundo];
		memcpy(core + u->offset, u->old, u->len);
	}
	return 0;
}
