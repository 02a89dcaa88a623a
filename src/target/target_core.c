// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// ELF core files. The core is mapped, not read: memory use does not grow
// with the core's size. Headers and notes are parsed by hand with explicit
// bounds checks, because a core handed to a crash-triage tool may be
// truncated or corrupt.

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/target_internal.h"
#include "util/error.h"
#include "util/strbuf.h"
#include "util/vector.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif

enum {
	// struct elf_prstatus on x86-64 (linux/elfcore.h).
	PRSTATUS_SIZE = 336,
	PRSTATUS_PID = 32,
	PRSTATUS_REGS = 112,
	// Indexes into pr_reg (struct user_regs_struct order).
	PR_REG_RIP = 16,
	PR_REG_RSP = 19,
	PR_REG_FS_BASE = 21,
	NUM_REGS = 27,
	PRSTATUS_CURSIG = 12,
	// struct elf_prpsinfo on x86-64.
	PRPSINFO_PID = 24,
	PRPSINFO_PSARGS = 56,
	PSARGS_SIZE = 80,
	// siginfo_t on x86-64: si_signo, si_errno, si_code, then (at 16) the
	// union: si_addr, or si_pid.
	SIGINFO_SIZE = 128,
	SIGINFO_SIGNO = 0,
	SIGINFO_CODE = 8,
	SIGINFO_UNION = 16,
	MAX_BUILD_ID = 64,
};

static bool in_file(const struct pcs_target *t, uint64_t off, uint64_t len)
{
	return off <= t->core_size && len <= t->core_size - off;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

// One ELF note, pointing into the bytes it was parsed from.
struct note {
	uint32_t type;
	const unsigned char *name;
	uint32_t namesz;
	const unsigned char *desc;
	uint32_t descsz;
};

// The note at *off in the @p size bytes at @p p, then *off moves past it.
// 1: a note; 0: no more; -1: the note overruns the bytes (malformed).
static int next_note(const unsigned char *p, uint64_t size, uint64_t *off,
		     struct note *n)
{
	if (*off > size || size - *off < 12)
		return 0;
	const unsigned char *h = p + *off;
	n->namesz = rd32(h);
	n->descsz = rd32(h + 4);
	n->type = rd32(h + 8);
	uint64_t name_off = *off + 12;
	uint64_t desc_off = name_off + (((uint64_t)n->namesz + 3) & ~3ULL);
	uint64_t next = desc_off + (((uint64_t)n->descsz + 3) & ~3ULL);
	if (desc_off > size || next > size)
		return -1;
	n->name = p + name_off;
	n->desc = p + desc_off;
	*off = next;
	return 1;
}

static bool note_named(const struct note *n, const char *name)
{
	size_t len = strlen(name) + 1;
	return n->namesz == len && memcmp(n->name, name, len) == 0;
}

// The segment holding @p addr, or NULL. Segments are sorted by address.
static const struct pcs_core_segment *segment_at(const struct pcs_target *t,
						 pcs_addr_t addr)
{
	size_t lo = 0, hi = t->nsegments;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pcs_core_segment *s = &t->segments[mid];
		if (addr < s->vaddr)
			hi = mid;
		else if (addr - s->vaddr >= s->memsz)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

// Only what the core itself holds, without the file-backed fallback.
static bool read_dumped(const struct pcs_target *t, pcs_addr_t addr, void *buf,
			size_t len)
{
	unsigned char *out = buf;
	while (len) {
		const struct pcs_core_segment *seg = segment_at(t, addr);
		if (!seg || addr - seg->vaddr >= seg->filesz)
			return false;
		uint64_t avail = seg->filesz - (addr - seg->vaddr);
		size_t n = len < avail ? len : (size_t)avail;
		memcpy(out, seg->data + (addr - seg->vaddr), n);
		out += n;
		addr += n;
		len -= n;
	}
	return true;
}

// The build-id of an ELF image, given a function that reads it by offset
// (file) or address (memory). Returns the length, 0 if there is none.
typedef bool (*image_reader)(void *ctx, uint64_t where, void *buf, size_t len);

static size_t image_build_id(image_reader rd, void *ctx, bool in_memory,
			     unsigned char out[MAX_BUILD_ID])
{
	Elf64_Ehdr eh;
	if (!rd(ctx, 0, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum > 256)
		return 0;
	Elf64_Phdr ph[256];
	if (!rd(ctx, eh.e_phoff, ph, sizeof(Elf64_Phdr) * eh.e_phnum))
		return 0;
	// In memory, addresses are relative to the first PT_LOAD's page.
	uint64_t base = 0;
	if (in_memory) {
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			if (ph[i].p_type == PT_LOAD) {
				base = ph[i].p_vaddr & ~(uint64_t)4095;
				break;
			}
		}
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > 4096)
			continue;
		unsigned char notes[4096];
		uint64_t where = in_memory ? ph[i].p_vaddr - base : ph[i].p_offset;
		if (!rd(ctx, where, notes, ph[i].p_filesz))
			continue;
		uint64_t off = 0;
		struct note n;
		while (next_note(notes, ph[i].p_filesz, &off, &n) > 0) {
			if (n.type == NT_GNU_BUILD_ID && note_named(&n, "GNU") &&
			    n.descsz > 0 && n.descsz <= MAX_BUILD_ID) {
				memcpy(out, n.desc, n.descsz);
				return n.descsz;
			}
		}
	}
	return 0;
}

static bool file_reader(void *ctx, uint64_t where, void *buf, size_t len)
{
	return pread(*(int *)ctx, buf, len, (off_t)where) == (ssize_t)len;
}

struct memory_ctx {
	const struct pcs_target *t;
	pcs_addr_t start;
};

static bool memory_reader(void *ctx, uint64_t where, void *buf, size_t len)
{
	struct memory_ctx *m = ctx;
	return read_dumped(m->t, m->start + where, buf, len);
}

static void hex(const unsigned char *id, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	out[2 * n] = '\0';
}

// The build-id the core records for the image mapped from @p core_name: its
// ELF header page, when the core holds it. 0 if unknown.
static size_t core_build_id(const struct pcs_target *t, const char *core_name,
			    unsigned char out[MAX_BUILD_ID])
{
	for (size_t i = 0; i < t->nmappings; i++) {
		const struct pcs_target_mapping *m = &t->mappings[i];
		if (m->offset == 0 && strcmp(m->path, core_name) == 0) {
			struct memory_ctx ctx = { t, m->start };
			size_t n = image_build_id(memory_reader, &ctx, true, out);
			if (n)
				return n;
		}
	}
	return 0;
}

static size_t file_build_id(const char *path, unsigned char out[MAX_BUILD_ID])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t n = image_build_id(file_reader, &fd, false, out);
	close(fd);
	return n;
}

// Whether the file at @p local has the build-id @p want (@p nwant bytes);
// if not, what it has, for messages ("none" when it has none).
static bool same_build_id(const char *local, const unsigned char *want, size_t nwant,
			  char have_hex[2 * MAX_BUILD_ID + 1])
{
	unsigned char have[MAX_BUILD_ID];
	size_t nhave = file_build_id(local, have);
	if (nhave == nwant && memcmp(have, want, nwant) == 0)
		return true;
	if (nhave)
		hex(have, nhave, have_hex);
	else
		strcpy(have_hex, "none");
	return false;
}

// Look for the file the core names @p path where it can be: under the
// sysroot, in each --lib-path directory by its base name, where the process
// saw it. The first that exists and has the build-id the core records for
// the image mapped from it is the one (any that exists if the core does not
// record one: its ELF header page was not dumped). Every address derived
// from its symbols, and every byte read from it in place of memory the
// core omits, depends on that.
static struct pcs_local_file *resolve_file(struct pcs_target *t, const char *path)
{
	for (size_t i = 0; i < t->nlocal_files; i++)
		if (strcmp(t->local_files[i].path, path) == 0)
			return &t->local_files[i];
	if (!PCS_VEC_RESERVE(t->local_files, t->nlocal_files, t->cap_local_files, 1))
		return NULL;
	struct pcs_local_file f = { .path = strdup(path) };
	if (!f.path)
		return NULL;
	unsigned char want[MAX_BUILD_ID];
	size_t nwant = core_build_id(t, path, want);
	char want_hex[2 * MAX_BUILD_ID + 1] = "";
	if (nwant)
		hex(want, nwant, want_hex);

	struct pcs_strbuf tried = PCS_STRBUF_INIT;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dirs = t->lib_path;
	// Candidates: the sysroot's copy, each --lib-path directory's, the
	// path itself.
	for (int stage = 0; stage < 3 && !f.matches; stage++) {
		const char *next = stage == 1 ? dirs : NULL;
		do {
			char *cand = NULL;
			int r = 0;
			if (stage == 0 && t->sysroot && path[0] == '/') {
				r = asprintf(&cand, "%s%s", t->sysroot, path);
			} else if (stage == 1 && next && *next) {
				const char *colon = strchr(next, ':');
				int len = colon ? (int)(colon - next) : (int)strlen(next);
				if (len)
					r = asprintf(&cand, "%.*s/%s", len, next, base);
				next = colon ? colon + 1 : NULL;
			} else if (stage == 2) {
				cand = strdup(path);
			}
			if (r < 0)
				cand = NULL;
			if (!cand)
				continue;
			char have_hex[2 * MAX_BUILD_ID + 1];
			if (access(cand, R_OK) != 0) {
				pcs_strbuf_addf(&tried, "%s%s is %s", tried.len ? ", " : "",
						cand, errno == ENOENT ? "missing" : strerror(errno));
			} else if (!nwant || same_build_id(cand, want, nwant, have_hex)) {
				f.matches = true;
				if (strcmp(cand, path) != 0) {
					f.local = cand;
					cand = NULL;
				}
			} else {
				pcs_strbuf_addf(&tried, "%s%s has build-id %s",
						tried.len ? ", " : "", cand, have_hex);
			}
			free(cand);
		} while (stage == 1 && next && !f.matches);
	}
	if (!f.matches && tried.buf) {
		if (asprintf(&f.why, "no copy with build-id %s: %s", want_hex, tried.buf) < 0)
			f.why = NULL;
	}
	pcs_strbuf_deinit(&tried);
	t->local_files[t->nlocal_files] = f;
	return &t->local_files[t->nlocal_files++];
}

const char *pcs_target_core_local_path(struct pcs_target *t, const char *path)
{
	if (t->core_exe_path && strcmp(path, t->core_exe_path) == 0)
		return t->exe_path;
	struct pcs_local_file *f = resolve_file(t, path);
	return f && f->local ? f->local : path;
}

bool pcs_target_core_file_matches(struct pcs_target *t, const char *path, char *why,
				  size_t why_size)
{
	if (t->core_exe_path && strcmp(path, t->core_exe_path) == 0)
		return true;	// checked when the core was opened
	struct pcs_local_file *f = resolve_file(t, path);
	if (f && f->matches)
		return true;
	if (why && why_size)
		snprintf(why, why_size, "%s", f && f->why ? f->why : "out of memory");
	return false;
}

// The executable the user named: the image the core mapped from
// @p core_name must be that file.
static struct pcs_error *check_image(const struct pcs_target *t,
				     const char *local_path, const char *core_name)
{
	unsigned char want[MAX_BUILD_ID];
	size_t nwant = core_build_id(t, core_name, want);
	char hh[2 * MAX_BUILD_ID + 1], hw[2 * MAX_BUILD_ID + 1];
	if (!nwant || same_build_id(local_path, want, nwant, hh))
		return NULL;	// nothing to compare with, or the same
	hex(want, nwant, hw);
	return pcs_error_create(PCS_ERROR_FORMAT,
				"executable '%s' does not match the core "
				"(build-id %s, core ran '%s' with build-id %s)",
				local_path, hh, core_name, hw);
}

static int backing_fd(struct pcs_target *t, const char *path)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		if (strcmp(t->files[i].path, path) == 0)
			return t->files[i].fd;
	}
	if (!PCS_VEC_RESERVE(t->files, t->nfiles, t->cap_files, 1))
		return -1;
	char *copy = strdup(path);
	if (!copy)
		return -1;
	// A file replaced since the core was written (a package upgrade) would
	// give plausible but wrong bytes: use it only if it is the same build.
	int fd = -1;
	if (pcs_target_core_file_matches(t, path, NULL, 0))
		fd = open(pcs_target_core_local_path(t, path), O_RDONLY | O_CLOEXEC);
	t->files[t->nfiles++] = (struct pcs_backing_file){ .path = copy, .fd = fd };
	return fd;
}

// Memory a core omits: read-only file-backed pages (.text, .rodata) are
// not dumped by default (coredump_filter), but they are what the file
// holds, so read them from the file the core says was mapped there.
static bool read_from_files(struct pcs_target *t, pcs_addr_t addr, void *buf,
			    size_t len)
{
	for (size_t i = 0; i < t->nmappings; i++) {
		const struct pcs_target_mapping *m = &t->mappings[i];
		if (addr < m->start || addr >= m->end || len > m->end - addr)
			continue;
		int fd = backing_fd(t, m->path);
		if (fd < 0)
			return false;
		off_t off = (off_t)(m->offset + (addr - m->start));
		ssize_t n = pread(fd, buf, len, off);
		return n == (ssize_t)len;
	}
	return false;
}

// The same, for @p len bytes within one page, through a cache of whole
// pages: the same few strings of .rodata (type names) are read for every
// object of a kind.
enum { FILE_PAGES = 64 };

static bool read_file_page(struct pcs_target *t, pcs_addr_t addr, void *buf, size_t len)
{
	pcs_addr_t page = addr & ~(pcs_addr_t)4095;
	if (!t->file_pages && !(t->file_pages = calloc(FILE_PAGES, sizeof(*t->file_pages))))
		return read_from_files(t, addr, buf, len);
	struct pcs_file_page *p = &t->file_pages[(page >> 12) % FILE_PAGES];
	if (p->addr != page || !page) {
		// Pages at the end of a file may be partly past it: not kept.
		p->addr = 0;
		if (!read_from_files(t, page, p->data, sizeof(p->data)))
			return read_from_files(t, addr, buf, len);
		p->addr = page;
	}
	memcpy(buf, p->data + (addr - page), len);
	return true;
}

// A core is read with pread() into a cache of its pages rather than
// through the mapping: a page fault of the mapping costs more than a
// pread() (the kernel maps, and later unmaps, up to 16 pages around each),
// and a walk over objects spread across a large core (greenlets' frames,
// each in its own chunk) touches a page or two per object. The cache
// bounds what a dump holds whatever the core's size.
enum {
	CORE_PAGE = 4096,
	CORE_WAYS = 8,
	CORE_SETS = 128,	// 4 MiB in all
};

// Eight ways to a set: the hot pages of a walk (a type, a set's table)
// stay while the others go by. Which page of the file each holds is kept
// apart from the pages (a few cache lines to look in).
struct pcs_core_pages {
	uint64_t tag[CORE_SETS][CORE_WAYS];	/* file offset of the page + 1; 0: empty */
	/* Used since the clock hand last passed (second chance), by way. */
	uint8_t used[CORE_SETS][CORE_WAYS];
	uint8_t hand[CORE_SETS];
	unsigned char data[CORE_SETS][CORE_WAYS][CORE_PAGE];
};

// Read @p len bytes of the core file at @p off into @p buf; false (errno
// set) when they cannot be.
static bool read_core_file(struct pcs_target *t, uint64_t off, void *buf, size_t len)
{
	ssize_t n;
	do
		n = pread(t->core_fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n >= 0 && (size_t)n != len)
		errno = EIO;	// shorter than it was when opened
	return n >= 0 && (size_t)n == len;
}

// The cached page of the core file at @p off (page-aligned), the cache
// made (t->core_pages); NULL (errno set) when it cannot be read.
static const unsigned char *core_page(struct pcs_target *t, uint64_t off)
{
	struct pcs_core_pages *c = t->core_pages;
	size_t set = (size_t)(off / CORE_PAGE) % CORE_SETS;
	for (int way = 0; way < CORE_WAYS; way++) {
		if (c->tag[set][way] == off + 1) {
			c->used[set][way] = 1;
			return c->data[set][way];
		}
	}
	int way = c->hand[set];
	while (c->used[set][way]) {
		c->used[set][way] = 0;
		way = (way + 1) % CORE_WAYS;
	}
	c->hand[set] = (uint8_t)((way + 1) % CORE_WAYS);
	unsigned char *page = c->data[set][way];
	// The last page of the file may be short: the segments end within it.
	uint64_t want = t->core_size - off < CORE_PAGE ? t->core_size - off : CORE_PAGE;
	c->tag[set][way] = 0;
	t->window_size = 0;	// it may be this page
	if (!read_core_file(t, off, page, (size_t)want))
		return NULL;
	c->tag[set][way] = off + 1;
	c->used[set][way] = 1;
	return page;
}

// Read @p len bytes at @p addr, all in @p seg's part of the file.
static bool read_segment(struct pcs_target *t, const struct pcs_core_segment *seg,
			 pcs_addr_t addr, void *buf, size_t len)
{
	uint64_t seg_off = (uint64_t)(seg->data - t->core_map);
	uint64_t off = seg_off + (addr - seg->vaddr);
	unsigned char *out = buf;
	// Without room for the cache (out of memory), straight from the file.
	if (!t->core_pages && !(t->core_pages = calloc(1, sizeof(*t->core_pages))))
		return read_core_file(t, off, buf, len);
	while (len) {
		uint64_t at = off % CORE_PAGE;
		const unsigned char *page = core_page(t, off - at);
		if (!page)
			return false;
		size_t n = CORE_PAGE - at < len ? (size_t)(CORE_PAGE - at) : len;
		memcpy(out, page + at, n);
		// The next reads in this page (and segment) take the shortcut
		// of pcs_target_read().
		uint64_t from = off - at < seg_off ? seg_off : off - at;
		uint64_t to = off - at + CORE_PAGE;
		if (to > seg_off + seg->filesz)
			to = seg_off + seg->filesz;
		t->window_addr = seg->vaddr + (from - seg_off);
		t->window_size = to - from;
		t->window = page + (from - (off - at));
		out += n;
		off += n;
		len -= n;
	}
	return true;
}

struct pcs_error *pcs_target_core_read(struct pcs_target *t, pcs_addr_t addr,
				       void *buf, size_t len)
{
	// Most reads: within the segment the previous one was in.
	const struct pcs_core_segment *seg = t->last_segment;
	if (!seg || addr - seg->vaddr >= seg->filesz)
		seg = segment_at(t, addr);
	if (seg && addr - seg->vaddr < seg->filesz &&
	    len <= seg->filesz - (addr - seg->vaddr)) {
		t->last_segment = seg;
		if (read_segment(t, seg, addr, buf, len))
			return NULL;
		return pcs_error_os(errno ? errno : EIO, "cannot read the core file");
	}
	// Across segments, or not all in the core: piecewise, part of a range
	// may be in the core and part in a file.
	unsigned char *out = buf;
	pcs_addr_t a = addr;
	size_t left = len;
	while (left) {
		size_t n = 4096 - (size_t)(a & 4095);
		if (n > left)
			n = left;
		if ((seg = segment_at(t, a)) && a - seg->vaddr < seg->filesz &&
		    n <= seg->filesz - (a - seg->vaddr)) {
			if (!read_segment(t, seg, a, out, n))
				return pcs_error_os(errno ? errno : EIO,
						    "cannot read the core file");
		} else if (!read_file_page(t, a, out, n)) {
			return pcs_error_fault(a, "cannot read 0x%" PRIx64
					       ": not in the core file", a);
		}
		out += n;
		a += n;
		left -= n;
	}
	return NULL;
}

void pcs_target_core_deinit(struct pcs_target *t)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		if (t->files[i].fd >= 0)
			close(t->files[i].fd);
		free(t->files[i].path);
	}
	free(t->files);
	free(t->segments);
	free(t->core_pages);
	free(t->file_pages);
	if (t->core_map)
		munmap((void *)t->core_map, t->core_size);
	if (t->core_fd >= 0)
		close(t->core_fd);
}

static int cmp_segment(const void *a, const void *b)
{
	const struct pcs_core_segment *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static struct pcs_error *parse_nt_file(struct pcs_target *t,
				       const unsigned char *d, uint64_t n)
{
	if (n < 16)
		return pcs_error_create(PCS_ERROR_FORMAT, "malformed NT_FILE note");
	uint64_t count = rd64(d), page = rd64(d + 8);
	if (count > (n - 16) / 24)
		return pcs_error_create(PCS_ERROR_FORMAT, "malformed NT_FILE note");
	const unsigned char *ent = d + 16;
	const char *names = (const char *)(ent + 24 * count);
	const char *end = (const char *)d + n;
	for (uint64_t i = 0; i < count; i++) {
		const char *nul = memchr(names, '\0', (size_t)(end - names));
		if (!nul)
			return pcs_error_create(PCS_ERROR_FORMAT,
						"malformed NT_FILE note");
		uint64_t start = rd64(ent + 24 * i), stop = rd64(ent + 24 * i + 8);
		uint64_t pgoff = rd64(ent + 24 * i + 16);
		if (stop > start && page && pgoff <= UINT64_MAX / page) {
			struct pcs_error *err = pcs_target_add_mapping(
				t, start, stop, pgoff * page, names);
			if (err)
				return err;
		}
		names = nul + 1;
	}
	return NULL;
}

// pr_psargs: the command line's first bytes, NUL-padded; the kernel has
// already turned the NULs between arguments into spaces.
static struct pcs_error *set_args(struct pcs_target *t, const unsigned char *psargs)
{
	size_t n = strnlen((const char *)psargs, PSARGS_SIZE);
	while (n && psargs[n - 1] == ' ')
		n--;
	if (!n)
		return NULL;
	t->args = strndup((const char *)psargs, n);
	return t->args ? NULL : &pcs_enomem;
}

// The kernel writes the notes of the thread that took the fatal signal
// first, with NT_SIGINFO among them, and sets pr_cursig in every thread's
// NT_PRSTATUS. gcore writes one NT_SIGINFO per thread (the stop that
// attaching caused) with pr_cursig 0: no crash.
static void note_crash(struct pcs_target *t, const unsigned char *si)
{
	const struct pcs_target_thread *th = &t->threads[t->nthreads - 1];
	int signo = (int)rd32(si + SIGINFO_SIGNO);
	int code = (int)rd32(si + SIGINFO_CODE);
	if (signo <= 0 || signo != t->last_cursig)
		return;
	t->has_crash = true;
	t->crash = (struct pcs_target_crash){ .signo = signo, .code = code, .tid = th->tid };
	// si_code > 0: the kernel raised it, and for these signals the union
	// holds the faulting address; <= 0 (SI_USER, SI_TKILL, SI_QUEUE):
	// sent by a process, the union holds its pid.
	bool fault = signo == SIGSEGV || signo == SIGBUS || signo == SIGILL ||
		     signo == SIGFPE || signo == SIGTRAP;
	if (code > 0 && fault) {
		t->crash.has_addr = true;
		t->crash.addr = rd64(si + SIGINFO_UNION);
	} else if (code <= 0) {
		t->crash.sender_pid = (int)rd32(si + SIGINFO_UNION);
	}
}

static struct pcs_error *parse_notes(struct pcs_target *t,
				     const unsigned char *p, uint64_t size,
				     uint64_t *at_phdr, uint64_t *at_execfn)
{
	uint64_t off = 0;
	struct note n;
	int r;
	while ((r = next_note(p, size, &off, &n)) > 0) {
		if (!note_named(&n, "CORE"))
			continue;
		const unsigned char *desc = n.desc;
		if (n.type == NT_PRSTATUS && n.descsz >= PRSTATUS_SIZE) {
			if (!PCS_VEC_RESERVE(t->threads, t->nthreads,
					     t->cap_threads, 1))
				return &pcs_enomem;
			const unsigned char *regs = desc + PRSTATUS_REGS;
			struct pcs_target_thread *th = &t->threads[t->nthreads++];
			*th = (struct pcs_target_thread){
				.tid = (int)rd32(desc + PRSTATUS_PID),
				.pc = rd64(regs + 8 * PR_REG_RIP),
				.sp = rd64(regs + 8 * PR_REG_RSP),
				.fs_base = rd64(regs + 8 * PR_REG_FS_BASE),
				.has_regs = true,
			};
			t->last_cursig = (int16_t)(desc[PRSTATUS_CURSIG] |
						   desc[PRSTATUS_CURSIG + 1] << 8);
			_Static_assert(sizeof(th->regs) == 8 * NUM_REGS,
				       "pr_reg is struct user_regs_struct");
			memcpy(&th->regs, regs, sizeof(th->regs));
		} else if (n.type == NT_PRPSINFO && n.descsz > PRPSINFO_PID + 4) {
			t->pid = (int)rd32(desc + PRPSINFO_PID);
			if (n.descsz >= PRPSINFO_PSARGS + PSARGS_SIZE && !t->args) {
				struct pcs_error *err = set_args(t, desc + PRPSINFO_PSARGS);
				if (err)
					return err;
			}
		} else if (n.type == NT_SIGINFO && n.descsz >= SIGINFO_SIZE &&
			   !t->has_crash && t->nthreads) {
			note_crash(t, desc);
		} else if (n.type == NT_AUXV) {
			for (uint64_t i = 0; i + 16 <= n.descsz; i += 16) {
				uint64_t key = rd64(desc + i), val = rd64(desc + i + 8);
				t->auxv = desc;
				t->auxv_size = n.descsz;
				if (key == AT_PHDR)
					*at_phdr = val;
				else if (key == AT_EXECFN)
					*at_execfn = val;
			}
		} else if (n.type == NT_FILE) {
			struct pcs_error *err = parse_nt_file(t, desc, n.descsz);
			if (err)
				return err;
		}
	}
	return r < 0 ? pcs_error_create(PCS_ERROR_FORMAT, "malformed note segment")
		     : NULL;
}

static struct pcs_error *check_executable(struct pcs_target *t, const char *core_exe)
{
	int fd = open(t->exe_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pcs_error_os(errno, "cannot open executable '%s'", t->exe_path);
	Elf64_Ehdr eh;
	bool is_elf = pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) &&
		      memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0;
	close(fd);
	if (!is_elf)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"'%s' is not an ELF executable", t->exe_path);
	return core_exe ? check_image(t, t->exe_path, core_exe) : NULL;
}

enum {
	/** How far below the strings the kernel's initial frame may be. */
	MAX_ARG_SCAN = 4 << 20,
	MAX_ARGS = 1 << 16,
	MAX_ARGS_LEN = 64 << 10,
};

// The whole command line, where psargs has only its first 80 bytes: on the
// main thread's stack, below the argument and environment strings (which
// end at AT_EXECFN's), the kernel left the process's first frame: argc,
// argv[], NULL, envp[], NULL, then the auxiliary vector, the very bytes
// NT_AUXV holds. That copy of the vector is found, and argv is walked back
// from it; argc must be the count of pointers found. Any doubt keeps psargs.
static struct pcs_error *read_full_args(struct pcs_target *t, uint64_t at_execfn)
{
	const struct pcs_core_segment *seg = at_execfn ? segment_at(t, at_execfn) : NULL;
	if (!seg || !t->auxv || t->auxv_size < 16 || t->auxv_size % 8 ||
	    at_execfn - seg->vaddr > seg->filesz)
		return NULL;
	uint64_t top = at_execfn - seg->vaddr;	// offset into the segment's data
	if (top < t->auxv_size + 24)
		return NULL;
	uint64_t lowest = top > MAX_ARG_SCAN ? top - MAX_ARG_SCAN : 0;
	uint64_t at = (top - t->auxv_size) & ~(uint64_t)7;
	while (at >= lowest + 24 && memcmp(seg->data + at, t->auxv, t->auxv_size) != 0)
		at -= 8;
	if (at < lowest + 24 || rd64(seg->data + at - 8) != 0)
		return NULL;
	// envp[], then its NULL: argv's end.
	uint64_t slot = at - 16;
	while (slot >= 8 && rd64(seg->data + slot) != 0)
		slot -= 8;
	uint64_t argv_end = slot, argc = 0;
	while (slot >= 8 && argc < MAX_ARGS) {
		slot -= 8;
		uint64_t v = rd64(seg->data + slot);
		if (v == argc && argc)
			break;
		if (v < 4096)
			return NULL;
		argc++;
	}
	if (!argc || rd64(seg->data + slot) != argc)
		return NULL;
	struct pcs_strbuf args = PCS_STRBUF_INIT;
	for (uint64_t i = slot + 8; i < argv_end && args.len < MAX_ARGS_LEN; i += 8) {
		uint64_t p = rd64(seg->data + i);
		char c;
		if (args.len)
			pcs_strbuf_addc(&args, ' ');
		while (args.len < MAX_ARGS_LEN && read_dumped(t, p++, &c, 1) && c)
			pcs_strbuf_addc(&args, c);
	}
	if (pcs_strbuf_error(&args)) {
		pcs_strbuf_deinit(&args);
		return &pcs_enomem;
	}
	// The stack may have been overwritten since: keep it only if it
	// agrees with what the kernel recorded.
	if (args.buf && (!t->args || strncmp(args.buf, t->args, strlen(t->args)) == 0)) {
		free(t->args);
		t->args = args.buf;
		return NULL;
	}
	pcs_strbuf_deinit(&args);
	return NULL;
}

static struct pcs_error *find_executable(struct pcs_target *t, uint64_t at_phdr,
					 uint64_t at_execfn, char **ret)
{
	for (size_t i = 0; at_phdr && i < t->nmappings; i++) {
		const struct pcs_target_mapping *m = &t->mappings[i];
		if (at_phdr >= m->start && at_phdr < m->end) {
			*ret = strdup(m->path);
			return *ret ? NULL : &pcs_enomem;
		}
	}
	char path[PATH_MAX];
	size_t n = 0;
	while (at_execfn && n < sizeof(path) - 1 &&
	       read_dumped(t, at_execfn + n, path + n, 1) && path[n])
		n++;
	path[n] = '\0';
	if (n && path[0] == '/') {
		*ret = strdup(path);
		return *ret ? NULL : &pcs_enomem;
	}
	*ret = NULL;
	return NULL;
}

static struct pcs_error *open_core(struct pcs_target *t, const char *exe_path)
{
	t->core_fd = open(t->core_path, O_RDONLY | O_CLOEXEC);
	if (t->core_fd < 0)
		return pcs_error_os(errno, "cannot open");
	struct stat st;
	if (fstat(t->core_fd, &st) < 0)
		return pcs_error_os(errno, "cannot stat");
	if (!S_ISREG(st.st_mode))
		return pcs_error_create(PCS_ERROR_FORMAT, "not a regular file");
	if (st.st_size == 0)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"not an ELF core file (empty file)");
	// A compressed core (systemd-coredump's .zst, .lz4, .xz; a .gz) gives
	// way to its decompressed copy in memory, mapped below like any core.
	int plain_fd;
	struct pcs_error *unpack_err = pcs_target_core_decompress(
		t->core_fd, &plain_fd, &t->core_compression);
	if (unpack_err)
		return unpack_err;
	if (plain_fd >= 0) {
		close(t->core_fd);
		t->core_fd = plain_fd;
		if (fstat(t->core_fd, &st) < 0)
			return pcs_error_os(errno, "cannot stat");
	}
	t->core_size = (size_t)st.st_size;
	void *map = mmap(NULL, t->core_size, PROT_READ, MAP_PRIVATE, t->core_fd, 0);
	if (map == MAP_FAILED)
		return pcs_error_os(errno, "cannot map");
	t->core_map = map;
	// Reads hop from object to object: no read-ahead.
	madvise(map, t->core_size, MADV_RANDOM);

	const unsigned char *p = t->core_map;
	if (t->core_size < sizeof(Elf64_Ehdr) || memcmp(p, ELFMAG, SELFMAG) != 0)
		return pcs_error_create(PCS_ERROR_FORMAT, "not an ELF core file");
	Elf64_Ehdr eh;
	memcpy(&eh, p, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return pcs_error_create(PCS_ERROR_UNSUPPORTED,
					"not a 64-bit little-endian core file");
	if (eh.e_type != ET_CORE)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"not an ELF core file (ELF type %u)",
					(unsigned)eh.e_type);
	if (eh.e_machine != EM_X86_64)
		return pcs_error_create(PCS_ERROR_UNSUPPORTED,
					"core of machine type %u; only x86-64 is supported",
					(unsigned)eh.e_machine);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum == PN_XNUM)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"malformed core file (program headers)");
	if (!in_file(t, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		return pcs_error_create(PCS_ERROR_FORMAT,
					"truncated core file (%zu bytes; program headers missing)",
					t->core_size);

	uint64_t at_phdr = 0, at_execfn = 0, need = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, p + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset + ph.p_filesz < ph.p_offset)
			return pcs_error_create(PCS_ERROR_FORMAT,
						"malformed core file (segment %u)", i);
		if (ph.p_offset + ph.p_filesz > need)
			need = ph.p_offset + ph.p_filesz;
		if (!in_file(t, ph.p_offset, ph.p_filesz))
			continue;
		if (ph.p_type == PT_NOTE) {
			struct pcs_error *err = parse_notes(t, p + ph.p_offset,
							    ph.p_filesz, &at_phdr,
							    &at_execfn);
			if (err)
				return err;
		} else if (ph.p_memsz) {
			if (!PCS_VEC_RESERVE(t->segments, t->nsegments,
					     t->cap_segments, 1))
				return &pcs_enomem;
			t->segments[t->nsegments++] = (struct pcs_core_segment){
				.vaddr = ph.p_vaddr,
				.memsz = ph.p_memsz,
				.filesz = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz,
				.data = p + ph.p_offset,
			};
		}
	}
	if (need > t->core_size)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"truncated core file (%zu of %" PRIu64 " bytes)",
					t->core_size, need);
	if (t->nthreads == 0)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"core file has no threads (no NT_PRSTATUS notes)");
	qsort(t->segments, t->nsegments, sizeof(*t->segments), cmp_segment);
	t->last_segment = NULL;
	if (!t->pid)
		t->pid = t->threads[0].tid;

	struct pcs_error *err = read_full_args(t, at_execfn);
	if (err)
		return err;
	char *core_exe;
	err = find_executable(t, at_phdr, at_execfn, &core_exe);
	if (err)
		return err;
	if (exe_path) {
		char resolved[PATH_MAX];
		t->exe_path = strdup(realpath(exe_path, resolved) ? resolved : exe_path);
		if (!t->exe_path) {
			free(core_exe);
			return &pcs_enomem;
		}
		err = check_executable(t, core_exe);
		if (err) {
			free(core_exe);
			return err;
		}
		if (core_exe && strcmp(core_exe, t->exe_path) != 0)
			t->core_exe_path = core_exe;
		else
			free(core_exe);
	} else {
		if (!core_exe)
			return pcs_error_create(PCS_ERROR_FORMAT,
						"cannot tell which executable produced the core; "
						"name it after the core file");
		char why[1024];
		if (!pcs_target_core_file_matches(t, core_exe, why, sizeof(why))) {
			err = pcs_error_create(PCS_ERROR_FORMAT,
					       "executable '%s' named by the core: %s "
					       "(name the executable after the core file, "
					       "or give --sysroot or --lib-path)",
					       core_exe, why);
			free(core_exe);
			return err;
		}
		t->exe_path = strdup(pcs_target_core_local_path(t, core_exe));
		if (!t->exe_path) {
			free(core_exe);
			return &pcs_enomem;
		}
		if (strcmp(t->exe_path, core_exe) != 0)
			t->core_exe_path = core_exe;
		else
			free(core_exe);
	}
	return NULL;
}

struct pcs_error *pcs_target_open_core(const char *core_path,
				       const struct pcs_core_files *files,
				       struct pcs_target **ret)
{
	const char *exe_path = files ? files->executable : NULL;
	struct pcs_target *t = calloc(1, sizeof(*t));
	if (!t)
		return &pcs_enomem;
	t->kind = PCS_TARGET_CORE;
	t->core_fd = -1;
	t->mem_fd = -1;
	char resolved[PATH_MAX];
	t->core_path = strdup(realpath(core_path, resolved) ? resolved : core_path);
	t->name = strdup(core_path);
	bool nomem = !t->core_path || !t->name;
	if (files && files->sysroot) {
		// "/" and "" add nothing; a trailing '/' would double the
		// paths' own.
		size_t n = strlen(files->sysroot);
		while (n && files->sysroot[n - 1] == '/')
			n--;
		if (n) {
			t->sysroot = strndup(files->sysroot, n);
			nomem |= !t->sysroot;
		}
	}
	if (files && files->lib_path && *files->lib_path) {
		t->lib_path = strdup(files->lib_path);
		nomem |= !t->lib_path;
	}
	if (nomem) {
		pcs_target_destroy(t);
		return &pcs_enomem;
	}
	struct pcs_error *err = open_core(t, exe_path);
	if (err) {
		err = pcs_error_prefix(err, "%s", core_path);
		pcs_target_destroy(t);
		return err;
	}
	*ret = t;
	return NULL;
}
