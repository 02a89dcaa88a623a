// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * ④ The interpreter model: CPython's semantics over a resolved layout.
 * Interpreters, thread states, frames, code objects, line numbers and the
 * few objects we decode (str, int, dict, instance attributes).
 *
 * Everything read is untrusted: each walk is bounded and cycle-safe, and
 * a fault ends the walk with an error naming where. Strings handed out are
 * interned in the caller's string table and outlive the target.
 */
#ifndef PCS_INTERP_PYTHON_H
#define PCS_INTERP_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target/target.h"
#include "util/strtab.h"

struct pcs_error;
struct pcs_layout;
struct pcs_strtab;
struct pcs_symbols;
struct pcs_python;

/** Upper bounds of every walk. */
enum {
	PCS_MAX_INTERPRETERS = 1024,
	PCS_MAX_THREADS = 100000,
	PCS_MAX_FRAMES = 100000,
	/** Locals of a frame (--locals): a code object naming more is not believed. */
	PCS_MAX_LOCALS = 1 << 12,
	/** Locals of all frames: the frames past it get none. */
	PCS_MAX_LOCALS_TOTAL = 1 << 20,
};

/**
 * Open the interpreter model of the target: find the runtime and the type
 * objects. @p t, @p s, @p l and @p strings must outlive the result.
 * Errors: PCS_ERROR_NOT_PYTHON when the runtime is absent or unreadable.
 */
struct pcs_error *pcs_python_create(struct pcs_target *t, struct pcs_symbols *s,
				    const struct pcs_layout *l,
				    struct pcs_strtab *strings,
				    struct pcs_python **ret);

void pcs_python_destroy(struct pcs_python *py);

/**
 * The interpreters, in CPython's list order (main interpreter last for
 * 3.7+ runtimes with subinterpreters). *@p ret is malloc'd; free it.
 */
struct pcs_error *pcs_python_interpreters(struct pcs_python *py,
					  pcs_addr_t **ret, size_t *count);

/** The interpreter's id (0 for the main one; 0 where there are no ids). */
struct pcs_error *pcs_python_interp_id(struct pcs_python *py, pcs_addr_t interp,
				       int64_t *ret);

/** The thread states of @p interp, newest first. *@p ret is malloc'd. */
struct pcs_error *pcs_python_thread_states(struct pcs_python *py,
					   pcs_addr_t interp, pcs_addr_t **ret,
					   size_t *count);

struct pcs_python_tstate_info {
	/** threading.get_ident(): pthread_self() of the thread. */
	uint64_t ident;
	/** Kernel thread id; 0 when unknown. */
	int tid;
};

/** Ident and OS thread id of a thread state. */
struct pcs_error *pcs_python_tstate_info(struct pcs_python *py,
					 pcs_addr_t tstate,
					 struct pcs_python_tstate_info *ret);

/**
 * The thread state holding @p interp's GIL, 0 if none. *@p known is false
 * (and no error) where this build does not let us tell.
 */
struct pcs_error *pcs_python_gil_holder(struct pcs_python *py, pcs_addr_t interp,
					pcs_addr_t *holder, bool *known);

typedef struct pcs_error *pcs_thread_name_fn(void *arg, uint64_t ident,
					     const char *name);

/**
 * Call @p fn for each thread in the threading module's registry
 * (threading._active) of @p interp. Nothing when threading is not imported.
 */
struct pcs_error *pcs_python_thread_names(struct pcs_python *py,
					  pcs_addr_t interp,
					  pcs_thread_name_fn *fn, void *arg);

/** One Python frame as Python reports it. Strings are interned. */
struct pcs_python_frame {
	const char *function;	/**< co_name */
	const char *qualname;	/**< co_qualname (3.11+), else co_name */
	const char *file;	/**< co_filename */
	int line;		/**< frame.f_lineno; -1 for None */
	/**
	 * Its arguments and local variables with a short repr of each, as
	 * frame.f_locals has them (corpus/README.md, "locals truth"), when
	 * asked for (pcs_python_set_locals()); NULL when not, or when they
	 * cannot be read. Owned by the string table (it outlives the walk).
	 */
	const struct pcs_local *locals;
	size_t nlocals;
};

/**
 * Whether the frames the walks report carry their locals (off at first).
 * Reading them never changes which frames are reported.
 */
void pcs_python_set_locals(struct pcs_python *py, bool on);

/**
 * How many frames the walks so far reported without their locals although
 * asked for: whose locals could not be read, and past the most locals all
 * frames together get (PCS_MAX_LOCALS_TOTAL, a million).
 */
void pcs_python_locals_gaps(const struct pcs_python *py, size_t *unreadable,
			    size_t *over_limit);

typedef struct pcs_error *pcs_python_frame_fn(void *arg,
					      const struct pcs_python_frame *frame);

/**
 * Call @p fn for each Python frame of @p tstate, newest first. Frames that
 * are not Python's (C-stack shims, frames not yet started) are skipped. A
 * fault or a cycle ends the walk with an error after the frames already
 * reported.
 */
struct pcs_error *pcs_python_walk_frames(struct pcs_python *py,
					 pcs_addr_t tstate,
					 pcs_python_frame_fn *fn, void *arg);

/**
 * The end of the Python frames one C activation of the evaluation loop runs
 * (pcs_python_walk_activations()).
 */
struct pcs_python_activation {
	/**
	 * An address inside the activation's own C stack frame: the entry
	 * frame it pushes there (3.12+). 0 where the version keeps nothing
	 * there (≤ 3.11).
	 */
	pcs_addr_t c_stack_addr;
};

typedef struct pcs_error *pcs_python_activation_fn(void *arg,
						   const struct pcs_python_activation *act);

/**
 * Like pcs_python_walk_frames(), and also calls @p afn at the end of the
 * frames each C activation of the evaluation loop runs, that is after its
 * oldest frame (newest first). One C call of the evaluation loop runs one
 * frame on ≤ 3.10; on 3.11+ the frame it was called with and every frame
 * pushed inline after it: 3.11 marks that first frame `is_entry`, 3.12+
 * push a C-owned entry frame before it. An activation that runs no frame we
 * report (its first frame not started yet) calls @p afn with no frame
 * before. PCS_ERROR_LOOKUP when the layout cannot tell activations apart
 * (a 3.11 layout without `is_entry`).
 */
struct pcs_error *pcs_python_walk_activations(struct pcs_python *py,
					      pcs_addr_t tstate,
					      pcs_python_frame_fn *fn,
					      pcs_python_activation_fn *afn,
					      void *arg);

/** A pending asyncio task, as the registry knows it. Strings interned. */
struct pcs_python_task {
	pcs_addr_t addr;
	/** OS thread whose list holds it (its loop's thread); 0 if unknown. */
	int tid;
	/** It is executing a step right now. */
	bool running;
	/** Task.get_name(). */
	const char *name;
	/** Its coroutine (see pcs_python_coro_chain()) and its __qualname__. */
	pcs_addr_t coro_addr;
	const char *coro;
	/** What waits on it (tasks, futures); valid during the callback. */
	const pcs_addr_t *awaited_by;
	size_t nawaited_by;
	/**
	 * What it waits on, where the version keeps no awaited_by (≤ 3.13):
	 * its _fut_waiter and, for a gathering future, the children it
	 * gathers (nested gathers included). Those that are pending tasks are
	 * what it awaits. Valid during the callback.
	 */
	const pcs_addr_t *waits_on;
	size_t nwaits_on;
	/**
	 * The futures its done-callbacks refer to (≤ 3.13): a task waiting on
	 * one of them through shield(), wait() or a TaskGroup awaits this
	 * task. Valid during the callback.
	 */
	const pcs_addr_t *refers_to;
	size_t nrefers_to;
};

typedef struct pcs_error *pcs_python_task_fn(void *arg,
					     const struct pcs_python_task *task);

/** Whether this build's tasks can be read (the version and layout). */
bool pcs_python_has_tasks(const struct pcs_python *py);

/** Call @p fn for every pending asyncio task of @p interp. */
struct pcs_error *pcs_python_tasks(struct pcs_python *py, pcs_addr_t interp,
				   pcs_python_task_fn *fn, void *arg);

/**
 * The await chain of the coroutine @p coro: its frame, then the frame of
 * what it awaits, down to the innermost suspended frame (outermost first).
 */
struct pcs_error *pcs_python_coro_chain(struct pcs_python *py, pcs_addr_t coro,
					pcs_python_frame_fn *fn, void *arg);

/**
 * Call @p fn for each Python frame from the PyFrameObject @p frame on (a
 * suspended greenlet's saved frame), newest first, as for a thread.
 */
struct pcs_error *pcs_python_walk_frame_object_chain(struct pcs_python *py,
						     pcs_addr_t frame,
						     pcs_python_frame_fn *fn,
						     void *arg);

/**
 * Like pcs_python_walk_activations(), over the frame chain of a suspended
 * greenlet from its saved frame @p frame (as
 * pcs_python_walk_frame_object_chain() reports it). Where greenlet skips
 * the entry frames in that chain (greenlet 3.0.3+ on 3.12+), an activation's
 * end is where a frame's own `previous` is not the next frame, and its
 * c_stack_addr is that `previous` (the entry frame, on the greenlet's C
 * stack). PCS_ERROR_LOOKUP when the layout cannot tell activations apart.
 */
struct pcs_error *pcs_python_walk_greenlet_activations(struct pcs_python *py,
						       pcs_addr_t frame,
						       pcs_python_frame_fn *fn,
						       pcs_python_activation_fn *afn,
						       void *arg);

/**
 * The `__version__` of the greenlet package @p interp imported (interned),
 * or NULL when it imported none.
 */
struct pcs_error *pcs_python_greenlet_version(struct pcs_python *py, pcs_addr_t interp,
					      const char **ret);

/** Whether the layout has greenlet's structs (pcs_layout_add_greenlet()). */
bool pcs_python_has_greenlets(const struct pcs_python *py);

/** Whether each interpreter has its own garbage collector (3.9+). */
bool pcs_python_gc_per_interpreter(const struct pcs_python *py);

enum pcs_greenlet_state {
	PCS_GREENLET_RUNNING,
	PCS_GREENLET_SUSPENDED,
	PCS_GREENLET_NOT_STARTED,
	PCS_GREENLET_DEAD,
};

/** One greenlet (greenlet 2.x/3.x). Strings interned. */
struct pcs_python_greenlet {
	pcs_addr_t addr;
	/** type(g).__name__. */
	const char *type;
	/** gevent's name, or the qualified name of what it runs; or NULL. */
	const char *name;
	enum pcs_greenlet_state state;
	bool is_main;
	/** Its parent greenlet; 0 for a main greenlet. */
	pcs_addr_t parent;
	/** The main greenlet of its thread, where known (itself if main). */
	pcs_addr_t main;
	/**
	 * An address on its thread's C stack (where its stack slice ends, or
	 * where a main greenlet last switched out), to tell the thread; 0.
	 */
	pcs_addr_t stack_hint;
	/** The saved frame (PyFrameObject) of a suspended greenlet, or 0. */
	pcs_addr_t top_frame;
	/** A main greenlet's greenlet::ThreadState, or 0. */
	pcs_addr_t thread_state;
	/** Why it could not be read completely, or NULL. */
	const char *error;
};

typedef struct pcs_error *pcs_python_greenlet_fn(void *arg,
						 const struct pcs_python_greenlet *g);

/**
 * Call @p fn for every greenlet of @p interp: every object the garbage
 * collector tracks whose type is greenlet.greenlet or a subtype. Needs the
 * greenlet structs in the layout (pcs_layout_add_greenlet()).
 * *@p incomplete is set when the collector was running at the time (some
 * objects sit in its private lists then). A fault in the collector's
 * lists ends the search with an error after the greenlets found so far.
 */
struct pcs_error *pcs_python_greenlets(struct pcs_python *py, pcs_addr_t interp,
				       pcs_python_greenlet_fn *fn, void *arg,
				       bool *incomplete);

/**
 * Where a suspended greenlet's C stack is (greenlet::StackState), as read
 * from the target: untrusted, unchecked.
 */
struct pcs_python_greenlet_stack {
	/** Its stack pointer when it switched out (`_stack_start`). */
	pcs_addr_t start;
	/**
	 * The end of its part of the stack (`stack_stop`, exclusive; the
	 * C stack grows down); UINT64_MAX ((char *)-1) for a main greenlet:
	 * the whole rest of its thread's stack.
	 */
	pcs_addr_t stop;
	/** Its lowest @c saved bytes are at @c copy (heap), not in place. */
	pcs_addr_t copy;
	uint64_t saved;
	/** Its saved frame (PyFrameObject), or 0. */
	pcs_addr_t top_frame;
};

/** Read the stack state of the greenlet @p g (a PyGreenlet). */
struct pcs_error *pcs_python_greenlet_stack(struct pcs_python *py, pcs_addr_t g,
					    struct pcs_python_greenlet_stack *ret);

/**
 * Whether one of the thread-local blocks of the thread whose pthread_t is
 * @p ident (glibc, x86-64) holds the pointer @p value among its first
 * words: greenlet keeps each thread's greenlet::ThreadState there.
 */
bool pcs_python_thread_local_holds(struct pcs_python *py, uint64_t ident,
				   uint64_t value);

/**
 * The OS thread whose stack holds @p addr: the thread whose stack pointer
 * lies in the same mapping. 0 when none does (or registers are unknown).
 */
int pcs_python_stack_owner(struct pcs_python *py, pcs_addr_t addr);

#endif
