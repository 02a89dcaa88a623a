// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * ① The target: the bytes and threads of a Python process, from an ELF core
 * file or from a live process stopped with ptrace.
 *
 * Everything read here is untrusted. Reads are bounds-checked against what
 * the core or the process really has and fail with PCS_ERROR_FAULT, never
 * with a crash. Remote addresses are `pcs_addr_t`, never host pointers.
 *
 * A live target is stopped (every thread, ptrace-seized and interrupted) from
 * pcs_target_stop() until pcs_target_destroy() resumes it. Seizing, not attaching, means that if this process
 * dies for any reason the kernel resumes the target: it is never left
 * stopped.
 */
#ifndef PCS_TARGET_TARGET_H
#define PCS_TARGET_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t pcs_addr_t;

struct pcs_error;
struct pcs_target;

enum pcs_target_kind {
	PCS_TARGET_CORE,
	PCS_TARGET_PROCESS,
};

/**
 * The x86-64 general registers of a thread, in the kernel's order (struct
 * user_regs_struct): what NT_PRSTATUS holds and PTRACE_GETREGS gives.
 */
struct pcs_x86_64_regs {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss;
	uint64_t fs_base, gs_base, ds, es, fs, gs;
};

/** One OS thread (LWP) of the target and its registers. */
struct pcs_target_thread {
	int tid;
	/** x86-64 fs_base: glibc's pthread_t of the thread. 0 if unknown. */
	uint64_t fs_base;
	uint64_t pc;
	uint64_t sp;
	/**
	 * Whether @c regs holds the thread's registers: true for a core and for
	 * a process we stopped; false for one a debugger holds (only its
	 * tracer can read them), where every register here is 0.
	 */
	bool has_regs;
	struct pcs_x86_64_regs regs;
};

/** One file-backed mapping (NT_FILE entry or /proc/PID/maps line). */
struct pcs_target_mapping {
	pcs_addr_t start;
	pcs_addr_t end;
	/** Byte offset into the file. */
	uint64_t offset;
	/** Path as the target saw it. Owned by the target. */
	char *path;
};

/**
 * Where the files a core names are on this machine, when not where the
 * process saw them (a core from another machine or a container).
 */
struct pcs_core_files {
	/**
	 * The executable the user says produced the core, or NULL: the one
	 * the core's notes name (looked up like any other file).
	 */
	const char *executable;
	/** A directory holding the target's root file system, or NULL. */
	const char *sysroot;
	/**
	 * Directories, separated by ':', searched for each file by its base
	 * name, or NULL.
	 */
	const char *lib_path;
};

/**
 * Open the ELF core file @p core_path, which may be compressed with zstd,
 * lz4 (frame format), xz or gzip, as systemd-coredump stores cores: it is
 * then decompressed into memory (never onto disk). A file the core names (the
 * executable, each library) is looked for under @p files->sysroot, then in
 * each directory of @p files->lib_path, then where the process saw it; the
 * first whose build-id is the one the core records is used (see
 * pcs_target_local_path()). A given executable is checked against the core
 * (build-id) and used in place of the path the core names for it.
 * @p files may be NULL.
 *
 * Errors: PCS_ERROR_OS (cannot open), PCS_ERROR_FORMAT (not an ELF core,
 * truncated, a corrupt or truncated compressed stream or one too large to
 * hold in memory, wrong executable), PCS_ERROR_UNSUPPORTED (other
 * architecture).
 * Messages name the file.
 */
struct pcs_error *pcs_target_open_core(const char *core_path,
				       const struct pcs_core_files *files,
				       struct pcs_target **ret);

/**
 * Whether the file at @p path starts like a core pcs_target_open_core()
 * reads: an ELF file, or one compressed in a format it reads (zstd, lz4,
 * xz, gzip). False when it cannot be read.
 */
bool pcs_target_looks_like_core(const char *path);

/**
 * Open process @p pid: its memory and mappings. It keeps running until
 * pcs_target_stop(). Errors name the pid; a permission error names the
 * likely cause (yama ptrace_scope, CAP_SYS_PTRACE, another tracer).
 */
struct pcs_error *pcs_target_attach(int pid, struct pcs_target **ret);

/**
 * Stop every thread of a live target (seize and interrupt; the thread list
 * and registers are known from then on) until pcs_target_destroy(). A no-op
 * for cores and for processes a debugger holds. Read only constant data
 * (symbols, layouts) before it, everything else after.
 */
struct pcs_error *pcs_target_stop(struct pcs_target *t);

/**
 * Open process @p pid that another tracer (a debugger) holds stopped: read
 * its memory without stopping or resuming anything. Thread registers are not
 * available (fs_base is 0). PCS_ERROR_OTHER if the process is not traced.
 */
struct pcs_error *pcs_target_open_stopped(int pid, struct pcs_target **ret);

/** Resume a live target and free everything. NULL is a no-op. */
void pcs_target_destroy(struct pcs_target *t);

/**
 * Read @p len bytes at @p addr into @p buf. All or nothing: on failure
 * (PCS_ERROR_FAULT with the address) @p buf is unspecified.
 */
struct pcs_error *pcs_target_read(struct pcs_target *t, pcs_addr_t addr,
				  void *buf, size_t len);

/** Whether @p len bytes at @p addr are readable. */
bool pcs_target_readable(struct pcs_target *t, pcs_addr_t addr, size_t len);

enum pcs_target_kind pcs_target_kind(const struct pcs_target *t);
/** The process id (from the core's notes for a core; 0 if absent). */
int pcs_target_pid(const struct pcs_target *t);
/** Absolute path of the core file, or NULL for a live process. Borrowed. */
const char *pcs_target_core_path(const struct pcs_target *t);
/**
 * How the core file is compressed: "zstd", "lz4", "xz" or "gzip" (it was read
 * decompressed into memory); NULL for an uncompressed core or a process.
 */
const char *pcs_target_core_compression(const struct pcs_target *t);
/** Path of the executable (given, or from the notes / /proc). Borrowed. */
const char *pcs_target_exe_path(const struct pcs_target *t);
/** A name for messages: the core path or "pid N". Borrowed. */
const char *pcs_target_name(const struct pcs_target *t);

size_t pcs_target_num_threads(const struct pcs_target *t);
/** Borrowed; index < pcs_target_num_threads(). */
const struct pcs_target_thread *pcs_target_thread(const struct pcs_target *t,
						  size_t index);

size_t pcs_target_num_mappings(const struct pcs_target *t);
const struct pcs_target_mapping *pcs_target_mapping(const struct pcs_target *t,
						    size_t index);

/**
 * The memory mapping of the target that holds @p addr (a PT_LOAD segment of
 * a core, a line of /proc/PID/maps): its bounds. False if none does.
 */
bool pcs_target_region(const struct pcs_target *t, pcs_addr_t addr,
		       pcs_addr_t *start, pcs_addr_t *end);

/**
 * For a core: the file descriptor of the core file, or of the memory file
 * holding it decompressed (borrowed; for libdwfl). -1 for a live process.
 */
int pcs_target_core_fd(const struct pcs_target *t);

/**
 * The local path to open for a file the target maps (@p path as the target
 * names it). For a core: the user's executable in place of the one the core
 * names; else the first of the sysroot's copy, a copy in a --lib-path
 * directory, and @p path itself that exists and has the build-id the core
 * records for it (any that exists when the core records none); else
 * @p path. For a process: @p path under /proc/PID/root (the process's own
 * view of its files, whatever its mount namespace) when that exists, else
 * @p path. Borrowed; valid until pcs_target_destroy().
 */
const char *pcs_target_local_path(struct pcs_target *t, const char *path);

/**
 * Whether pcs_target_local_path() found a file for @p path whose build-id
 * is the one the core records. When not, and @p why is not NULL, a
 * sentence saying what was looked at ("no copy with build-id 1a2b..:
 * /srv/root/usr/lib/libpython3.12.so.1.0 has 3c4d.., /usr/lib/... is
 * missing") is written to @p why. Always true for a process.
 */
bool pcs_target_file_matches(struct pcs_target *t, const char *path, char *why,
			     size_t why_size);

/**
 * The signal a core records as having ended the process (NT_SIGINFO, with
 * the NT_PRSTATUS notes: the thread that took it is the one the kernel
 * writes first, with pr_cursig set). Absent from a process, and from a
 * core written by gcore of a process that was not stopped by a signal.
 */
struct pcs_target_crash {
	int signo;
	int code;
	/** si_addr: the faulting address of SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP. */
	bool has_addr;
	uint64_t addr;
	/** si_pid: the sender of a signal sent with kill()/tgkill(); 0 if none. */
	int sender_pid;
	/** The thread that took it; 0 if unknown. */
	int tid;
};

/** The crash, or NULL. Borrowed. */
const struct pcs_target_crash *pcs_target_crash(const struct pcs_target *t);

/**
 * The command line: NT_PRPSINFO's (the kernel keeps its first 80 bytes)
 * for a core, /proc/PID/cmdline for a process; arguments separated by
 * spaces. NULL if unknown. Borrowed.
 */
const char *pcs_target_args(const struct pcs_target *t);

#endif
