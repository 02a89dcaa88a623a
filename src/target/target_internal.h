// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Private to target/: the concrete target and the backends' entry points.
#ifndef PCS_TARGET_INTERNAL_H
#define PCS_TARGET_INTERNAL_H

#include <sys/types.h>

#include "target/target.h"

/** A PT_LOAD segment of a core, resolved against the mapped file. */
struct pcs_core_segment {
	pcs_addr_t vaddr;
	uint64_t memsz;
	/** Bytes of this segment present in the file (may be < memsz). */
	uint64_t filesz;
	/** Host pointer into the mapped core file. */
	const unsigned char *data;
};

/** An open file backing mapped memory that the core omits. */
struct pcs_backing_file {
	char *path;
	int fd;		/* -1: could not be opened */
};

/** A cached page of live memory. */
struct pcs_live_page {
	pcs_addr_t addr;	/* page-aligned; UINT64_MAX = empty slot */
	bool ok;
	unsigned char *data;
};

struct pcs_target {
	enum pcs_target_kind kind;
	int pid;
	char *name;
	char *core_path;
	char *exe_path;
	/* The path the core names for the executable, when the user gave another. */
	char *core_exe_path;
	/* The command line (pcs_target_args()), or NULL. */
	char *args;
	bool has_crash;
	struct pcs_target_crash crash;
	/* NT_AUXV's bytes, in the mapped core. */
	const unsigned char *auxv;
	uint64_t auxv_size;
	/* pr_cursig of the last NT_PRSTATUS read. */
	int last_cursig;
	/* Where the target's files are here (pcs_target_local_path()). */
	char *sysroot;
	char *lib_path;
	/* The files resolved so far: the path the target names → the local one. */
	struct pcs_local_file {
		char *path;
		char *local;	/* NULL: @c path itself */
		bool matches;	/* has the build-id the core records */
		char *why;	/* what was looked at, when it does not */
	} *local_files;
	size_t nlocal_files, cap_local_files;

	struct pcs_target_thread *threads;
	size_t nthreads, cap_threads;
	struct pcs_target_mapping *mappings;
	size_t nmappings, cap_mappings;

	/* Core. */
	/* The core file, or the memory file holding it decompressed. */
	int core_fd;
	/* "zstd", "lz4", "xz", "gzip" (static strings), or NULL for a raw core. */
	const char *core_compression;
	const unsigned char *core_map;
	size_t core_size;
	/** The pages of the core file read so far (pcs_target_core_read()). */
	struct pcs_core_pages *core_pages;
	/** The segment the last read was in. */
	const struct pcs_core_segment *last_segment;
	/**
	 * The page the last read was in, as far as it is in that segment:
	 * target addresses from window_addr on, at @c window in our memory.
	 * Reads within it take a shortcut (pcs_target_read()).
	 */
	pcs_addr_t window_addr;
	uint64_t window_size;
	const unsigned char *window;
	/** Pages read from the files behind memory the core omits, by address. */
	struct pcs_file_page { pcs_addr_t addr; unsigned char data[4096]; } *file_pages;
	struct pcs_core_segment *segments;
	size_t nsegments, cap_segments;
	struct pcs_backing_file *files;
	size_t nfiles, cap_files;

	/* Live process. */
	/* Every mapping of /proc/PID/maps (anonymous ones too), in order. */
	struct pcs_region { pcs_addr_t start, end; } *regions;
	size_t nregions, cap_regions;
	int mem_fd;
	struct pcs_live_page *pages;
	size_t npages;
	size_t page_size;
	/* A debugger holds the process stopped: we neither stop nor resume it. */
	bool held_by_other;
	/* Threads we stopped, and the signal each had pending, to re-inject. */
	struct pcs_stopped_thread { int tid; int sig; } *stopped;
	size_t nstopped, cap_stopped;
};

struct pcs_error *pcs_target_core_read(struct pcs_target *t, pcs_addr_t addr,
				       void *buf, size_t len);
void pcs_target_core_deinit(struct pcs_target *t);
/**
 * If the regular file open at @p fd is a compressed core (zstd, lz4 frame, xz
 * or gzip, told by its magic bytes; concatenated frames and members too),
 * decompress it into an anonymous memory file: *ret_fd is that file (owned by
 * the caller, close-on-exec) and *ret_format names the format (a static
 * string). Otherwise *ret_fd is -1 and *ret_format NULL. Nothing is written
 * to disk.
 *
 * Errors: PCS_ERROR_FORMAT for a corrupt or truncated stream, one that does
 * not hold an ELF file, or one that expands past the memory available or
 * 1 TiB; PCS_ERROR_OS. Messages name the format, not the file.
 */
struct pcs_error *pcs_target_core_decompress(int fd, int *ret_fd,
					     const char **ret_format);
const char *pcs_target_core_local_path(struct pcs_target *t, const char *path);
bool pcs_target_core_file_matches(struct pcs_target *t, const char *path, char *why,
				  size_t why_size);
const char *pcs_target_live_local_path(struct pcs_target *t, const char *path);
struct pcs_error *pcs_target_live_read(struct pcs_target *t, pcs_addr_t addr,
				       void *buf, size_t len);
void pcs_target_live_deinit(struct pcs_target *t);
struct pcs_error *pcs_target_live_stop(struct pcs_target *t);

struct pcs_error *pcs_target_add_mapping(struct pcs_target *t, pcs_addr_t start,
					 pcs_addr_t end, uint64_t offset,
					 const char *path);

#endif
