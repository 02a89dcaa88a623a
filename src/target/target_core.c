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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/target_internal.h"
#include "util/error.h"
#include "util/vector.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

enum {
	// struct elf_prstatus on x86-64 (linux/elfcore.h).
	PRSTATUS_SIZE = 336,
	PRSTATUS_PID = 32,
	PRSTATUS_REGS = 112,
	// Indexes into pr_reg (struct user_regs_struct order).
	REG_RIP = 16,
	REG_RSP = 19,
	REG_FS_BASE = 21,
	NUM_REGS = 27,
	// struct elf_prpsinfo on x86-64.
	PRPSINFO_PID = 24,
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

// Only what the core itself holds, without the file-backed fallback.
static bool read_dumped(const struct pcs_target *t, pcs_addr_t addr, void *buf,
			size_t len)
{
	unsigned char *out = buf;
	while (len) {
		const struct pcs_core_segment *seg = NULL;
		// Segments are sorted by address: binary search.
		size_t lo = 0, hi = t->nsegments;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			const struct pcs_core_segment *s = &t->segments[mid];
			if (addr < s->vaddr)
				hi = mid;
			else if (addr - s->vaddr >= s->memsz)
				lo = mid + 1;
			else {
				seg = s;
				break;
			}
		}
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

// Whether @p local_path holds the image the core mapped from @p core_name:
// every address we derive from its symbols, and every byte we read from it
// in place of memory the core omits, depends on that.
static struct pcs_error *check_image(const struct pcs_target *t,
				     const char *local_path, const char *core_name)
{
	unsigned char have[MAX_BUILD_ID], want[MAX_BUILD_ID];
	size_t nwant = core_build_id(t, core_name, want);
	if (!nwant && strcmp(local_path, core_name) != 0)
		nwant = file_build_id(core_name, want);
	if (!nwant)
		return NULL;	// nothing to compare with
	size_t nhave = file_build_id(local_path, have);
	if (nhave == nwant && memcmp(have, want, nwant) == 0)
		return NULL;
	char hh[2 * MAX_BUILD_ID + 1] = "none", hw[2 * MAX_BUILD_ID + 1];
	if (nhave)
		hex(have, nhave, hh);
	hex(want, nwant, hw);
	if (strcmp(local_path, core_name) == 0)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"'%s' is not the file the process mapped "
					"(build-id %s, the core has %s)",
					local_path, hh, hw);
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
	const char *local = pcs_target_local_path(t, path);
	int fd = open(local, O_RDONLY | O_CLOEXEC);
	// A file replaced since the core was written (a package upgrade) would
	// give plausible but wrong bytes: use it only if it is the same build.
	struct pcs_error *err = fd >= 0 ? check_image(t, local, path) : NULL;
	if (err) {
		pcs_error_destroy(err);
		close(fd);
		fd = -1;
	}
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

// Pages of the mapped core we touched stay in our memory (RSS) until
// unmapped: a walk over a heap of millions of objects would hold most of
// the core. Every so many reads they are dropped from the mapping (they stay
// in the kernel's page cache: touching one again costs a minor fault), which
// bounds what a dump holds whatever the core's size.
enum { READS_BETWEEN_DROPS = 1 << 16 };

static void drop_touched_pages(struct pcs_target *t)
{
	if (++t->core_reads % READS_BETWEEN_DROPS == 0)
		madvise((void *)t->core_map, t->core_size, MADV_DONTNEED);
}

struct pcs_error *pcs_target_core_read(struct pcs_target *t, pcs_addr_t addr,
				       void *buf, size_t len)
{
	drop_touched_pages(t);
	if (read_dumped(t, addr, buf, len))
		return NULL;
	// Piecewise: part of a range may be in the core and part in a file.
	unsigned char *out = buf;
	pcs_addr_t a = addr;
	size_t left = len;
	while (left) {
		size_t n = 4096 - (size_t)(a & 4095);
		if (n > left)
			n = left;
		if (!read_dumped(t, a, out, n) && !read_from_files(t, a, out, n))
			return pcs_error_fault(a, "cannot read 0x%" PRIx64
					       ": not in the core file", a);
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
				.pc = rd64(regs + 8 * REG_RIP),
				.sp = rd64(regs + 8 * REG_RSP),
				.fs_base = rd64(regs + 8 * REG_FS_BASE),
				.has_regs = true,
			};
			_Static_assert(sizeof(th->regs) == 8 * NUM_REGS,
				       "pr_reg is struct user_regs_struct");
			memcpy(&th->regs, regs, sizeof(th->regs));
		} else if (n.type == NT_PRPSINFO && n.descsz > PRPSINFO_PID + 4) {
			t->pid = (int)rd32(desc + PRPSINFO_PID);
		} else if (n.type == NT_AUXV) {
			for (uint64_t i = 0; i + 16 <= n.descsz; i += 16) {
				uint64_t key = rd64(desc + i), val = rd64(desc + i + 8);
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
	if (!t->pid)
		t->pid = t->threads[0].tid;

	char *core_exe;
	struct pcs_error *err = find_executable(t, at_phdr, at_execfn, &core_exe);
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
		t->exe_path = core_exe;
		if (access(core_exe, R_OK) != 0)
			return pcs_error_os(errno,
					    "executable '%s' named by the core is not readable "
					    "(name the executable after the core file)",
					    core_exe);
		err = check_image(t, core_exe, core_exe);
		if (err)
			return pcs_error_prefix(err, "%s",
						"the executable changed since the core was written");
	}
	return NULL;
}

struct pcs_error *pcs_target_open_core(const char *core_path,
				       const char *exe_path,
				       struct pcs_target **ret)
{
	struct pcs_target *t = calloc(1, sizeof(*t));
	if (!t)
		return &pcs_enomem;
	t->kind = PCS_TARGET_CORE;
	t->core_fd = -1;
	t->mem_fd = -1;
	char resolved[PATH_MAX];
	t->core_path = strdup(realpath(core_path, resolved) ? resolved : core_path);
	t->name = strdup(core_path);
	if (!t->core_path || !t->name) {
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
