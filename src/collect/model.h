// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * ⑤ The model: everything a report shows, owned, with no pointer into the
 * target or the symbol session. Collectors fill it; reports only read it.
 * All strings are interned in the snapshot's string table.
 */
#ifndef PCS_COLLECT_MODEL_H
#define PCS_COLLECT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/strtab.h"

struct pcs_error;

enum pcs_frame_kind {
	PCS_FRAME_PYTHON,
	PCS_FRAME_NATIVE,
};

/**
 * A Python frame has @c function, @c qualname, @c file and @c line. A native
 * frame (--native) has @c symbol (NULL when no symbol covers its pc),
 * @c offset, @c module (NULL when no module maps its pc) and @c pc, and
 * @c file / @c line where the module's DWARF has them (else NULL / -1);
 * its @c function and @c qualname are NULL.
 */
struct pcs_frame {
	enum pcs_frame_kind kind;
	const char *function;
	const char *qualname;
	const char *file;
	/** -1: no line (None). */
	int line;
	/**
	 * The text of that line, stripped, where the file is readable here
	 * (pcs_collect_source_lines()); else NULL.
	 */
	const char *source;
	/**
	 * Its arguments and local variables, each with a short repr (--locals:
	 * corpus/README.md, "locals truth"); NULL when not asked for or not
	 * readable. Owned by the snapshot's string table (copies of the frame
	 * share it).
	 */
	const struct pcs_local *locals;
	size_t nlocals;
	/** Native frames: the function's symbol. */
	const char *symbol;
	/** @c pc minus the start of @c symbol. */
	uint64_t offset;
	/** The module's path, as the target mapped it. */
	const char *module;
	/**
	 * Where the thread stopped (innermost frame), else the return address
	 * into the frame.
	 */
	uint64_t pc;
};

/** A list of frames, outermost first. */
struct pcs_stack {
	struct pcs_frame *frames;
	size_t nframes, cap_frames;
	/** Why the stack stops early, or NULL if complete. Interned. */
	const char *truncated;
};

/** Three-valued: holds_gil may be unknowable. */
enum pcs_tristate {
	PCS_UNKNOWN = -1,
	PCS_NO = 0,
	PCS_YES = 1,
};

struct pcs_thread {
	/** OS thread id; 0 if unknown. */
	int tid;
	uint64_t ident;
	/** threading.Thread name, or NULL. */
	const char *name;
	int64_t interpreter;
	enum pcs_tristate holds_gil;
	struct pcs_stack stack;
};

struct pcs_task {
	uint64_t address;
	const char *name;
	const char *state;	/**< "pending" */
	/** Qualified name of the task's coroutine (its outermost frame). */
	const char *coro;
	int tid;		/**< 0: unknown */
	bool running;
	/** Addresses of the tasks it waits on. */
	uint64_t *awaits;
	size_t nawaits, cap_awaits;
	/** The await chain, outermost (the task's coroutine) first. */
	struct pcs_stack stack;
};

struct pcs_greenlet {
	uint64_t address;
	/** type(g).__name__. */
	const char *type;
	/** gevent's name or what it runs; NULL if none. */
	const char *name;
	/** "running", "suspended", "not-started", "dead". */
	const char *state;
	bool is_main;
	/** 0 for a main greenlet. */
	uint64_t parent;
	/** OS thread it belongs to; 0 if unknown. */
	int tid;
	/**
	 * A suspended greenlet's saved frames; a running one's are its
	 * thread's. Outermost first.
	 */
	struct pcs_stack stack;
};

/**
 * What a core says about the signal that ended the process (NT_SIGINFO,
 * and the NT_PRSTATUS of the thread that took it). All zero / NULL when
 * nothing was recorded: a live process, or a core written by gcore of a
 * process that was not crashing.
 */
struct pcs_crash {
	/** The signal number; 0: none. */
	int signal;
	/** Its name ("SIGSEGV"), or NULL for an unknown number. */
	const char *signal_name;
	/** si_code, and its name ("SEGV_MAPERR", "SI_USER"; NULL if unknown). */
	int code;
	const char *code_name;
	/** The faulting address (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP). */
	bool has_address;
	uint64_t address;
	/** Who sent it, for a signal sent by kill()/tgkill() (SI_USER, SI_TKILL); 0 otherwise. */
	int sender_pid;
	/** The OS thread that took the signal; 0 if unknown. */
	int tid;
};

enum pcs_snapshot_kind {
	PCS_SNAPSHOT_CORE,
	PCS_SNAPSHOT_PROCESS,
};

struct pcs_snapshot {
	struct pcs_strtab strings;
	enum pcs_snapshot_kind kind;
	const char *core;	/**< NULL for a process */
	/** "zstd", "lz4", "xz", "gzip": how the core file is compressed; NULL if not. */
	const char *core_compression;
	int pid;
	const char *executable;
	const char *python_version;
	bool free_threaded;
	bool debug_build;
	const char *layout;	/**< layout source name */
	/** The process's command line, arguments separated by spaces; NULL if unknown. */
	const char *args;
	/**
	 * When the process was in the state shown: the core file's
	 * modification time (@c time_from_core), else the time of the dump.
	 */
	struct timespec time;
	bool time_from_core;
	/** The crash that wrote the core; crash.signal == 0 if none. */
	struct pcs_crash crash;

	struct pcs_thread *threads;
	size_t nthreads, cap_threads;

	struct pcs_task *tasks;
	size_t ntasks, cap_tasks;

	/** greenlet's __version__ and where its layout came from; or NULL. */
	const char *greenlet_version;
	const char *greenlet_layout;
	struct pcs_greenlet *greenlets;
	size_t ngreenlets, cap_greenlets;

	/** One line each, interned. */
	const char **warnings;
	size_t nwarnings, cap_warnings;
};

struct pcs_error *pcs_snapshot_create(struct pcs_snapshot **ret);
void pcs_snapshot_destroy(struct pcs_snapshot *snap);

/** Intern @p s in the snapshot (NULL stays NULL). NULL on ENOMEM too. */
const char *pcs_snapshot_intern(struct pcs_snapshot *snap, const char *s);

/** Add a printf-formatted warning. */
struct pcs_error *pcs_snapshot_warn(struct pcs_snapshot *snap, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

/**
 * Turn @p err, what went wrong in one unit, into the warning
 * "<printf-formatted @p fmt>: <its message>" and destroy it; the result is
 * pcs_snapshot_warn()'s. Running out of memory is no warning: &pcs_enomem
 * is returned as it is.
 */
struct pcs_error *pcs_snapshot_warn_error(struct pcs_snapshot *snap, struct pcs_error *err,
					  const char *fmt, ...)
	__attribute__((__format__(__printf__, 3, 4)));

/**
 * The most frames all stacks of a snapshot hold together (about 400 MB):
 * past it, pcs_stack_push() fails with PCS_ERROR_LIMIT and the unit being
 * read is truncated there.
 */
enum { PCS_MAX_SNAPSHOT_FRAMES = 10 * 1000 * 1000 };

/**
 * Drop every unit read into @p snap (threads, tasks, greenlets, greenlet's
 * version), and the warnings past the first @p keep_warnings, to read the
 * target again.
 */
void pcs_snapshot_clear_units(struct pcs_snapshot *snap, size_t keep_warnings);

/** Lower the ceiling for the frames of @p snap to @p max. */
void pcs_snapshot_limit_frames(struct pcs_snapshot *snap, size_t max);

struct pcs_error *pcs_stack_push(struct pcs_stack *stack,
				 const struct pcs_frame *frame);
/**
 * A hash of what @p st shows (each frame's kind, function, file, line,
 * native symbol and pc), mixed into @p seed: computed from the strings'
 * text, not their addresses, so that the same stacks hash the same in every
 * run (reports order groups of units by it).
 */
uint64_t pcs_stack_hash(const struct pcs_stack *st, uint64_t seed);

/** A hash of @p s's text (of NULL: 0), for pcs_stack_hash() seeds. */
uint64_t pcs_string_hash(const char *s);

/** Whether two complete (not truncated) stacks show the same frames. */
bool pcs_stack_same(const struct pcs_stack *a, const struct pcs_stack *b);

/** Reverse the frames (collectors walk newest first). */
void pcs_stack_reverse(struct pcs_stack *stack);

/**
 * Give a complete stack an array of its exact size: a snapshot holds
 * hundreds of thousands of short ones (tasks, greenlets). Keeps the array
 * it has when memory runs out.
 */
void pcs_stack_shrink(struct pcs_stack *stack);

/** Drop (and free) the threads for which @p keep returns false. */
void pcs_snapshot_retain_threads(struct pcs_snapshot *snap,
				 bool (*keep)(const struct pcs_thread *th, void *arg),
				 void *arg);

/** Sort the tasks by address, for pcs_snapshot_find_task(). */
void pcs_snapshot_sort_tasks(struct pcs_snapshot *snap);

/** The task at @p address (tasks sorted), or NULL. */
const struct pcs_task *pcs_snapshot_find_task(const struct pcs_snapshot *snap,
					      uint64_t address);

/** Drop (and free) the tasks for which @p keep returns false. */
void pcs_snapshot_retain_tasks(struct pcs_snapshot *snap,
			       bool (*keep)(const struct pcs_task *task, void *arg),
			       void *arg);

/** Drop (and free) the greenlets for which @p keep returns false. */
void pcs_snapshot_retain_greenlets(struct pcs_snapshot *snap,
				   bool (*keep)(const struct pcs_greenlet *g, void *arg),
				   void *arg);

/** Whether every unit was reconstructed (no warnings). */
bool pcs_snapshot_complete(const struct pcs_snapshot *snap);

#endif
