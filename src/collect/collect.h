// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * ⑤ Collectors: walk the interpreter model and fill the snapshot.
 */
#ifndef PCS_COLLECT_COLLECT_H
#define PCS_COLLECT_COLLECT_H

#include "collect/model.h"
#include "layout/layout.h"

struct pcs_error;
struct pcs_python;
struct pcs_python_frame;

/**
 * A pcs_python_frame_fn that appends the frame to the `struct pcs_stack *`
 * @p stack (the strings are already interned in the snapshot).
 */
struct pcs_error *pcs_collect_push_frame(void *stack,
					 const struct pcs_python_frame *pf);

/**
 * Add every OS thread of every interpreter to @p snap. A thread whose
 * stack cannot be read completely keeps the frames read so far, is marked
 * truncated and adds a warning; only a failure to read the interpreter
 * list at all is returned as an error.
 */
struct pcs_error *pcs_collect_threads(struct pcs_python *py,
				      struct pcs_snapshot *snap);

/**
 * Add every pending asyncio task (on versions whose task registry is read)
 * with its await chain and the tasks it waits on.
 */
struct pcs_error *pcs_collect_tasks(struct pcs_python *py,
				    struct pcs_snapshot *snap);

/**
 * Add every greenlet of every interpreter, with its state, parent, thread
 * and saved frames, where the layout has greenlet's structs. Threads must
 * be collected first: a running greenlet's frames are its thread's.
 */
struct pcs_error *pcs_collect_greenlets(struct pcs_python *py,
					struct pcs_snapshot *snap);

/**
 * Give each Python frame of @p snap the text of its line, from the file its
 * code names, where that file is readable here: under @p root (a core's
 * --sysroot, a process's /proc/PID/root) when not NULL.
 */
struct pcs_error *pcs_collect_source_lines(struct pcs_snapshot *snap, const char *root);

/**
 * The command line, and the signal that ended the process with the thread
 * that took it and its names ("SIGSEGV", "SEGV_MAPERR"), as the target
 * records them (snap->args, snap->crash).
 */
struct pcs_error *pcs_collect_crash(struct pcs_target *t, struct pcs_snapshot *snap);

struct pcs_symbols;
struct pcs_target;

/**
 * Run every collector on @p py: threads, asyncio tasks, greenlets (whose
 * structs are added to @p layout first, from the source @p wanted or the
 * first that has them). Gaps become warnings in @p snap; only what stops
 * the whole dump is returned.
 */
struct pcs_error *pcs_collect_all(struct pcs_python *py, struct pcs_symbols *syms,
				  struct pcs_layout *layout,
				  enum pcs_layout_source wanted,
				  struct pcs_snapshot *snap);

/**
 * Replace the stack of every thread of @p snap (collected by
 * pcs_collect_threads() from @p py) with its native stack merged with its
 * Python frames, outermost first: each C activation of the evaluation loop
 * (`_PyEval_EvalFrameDefault`; `PyEval_EvalFrameEx` on 2.7) is followed by
 * the Python frames it runs, oldest first. The Python frames keep their
 * order and are all kept: those no activation can be found for (an unwind
 * cut short) go before the native frames they are older than.
 *
 * Native frames are unwound from each thread's registers (pcs_symbols_unwind())
 * at most PCS_MAX_NATIVE_FRAMES per thread. A thread that cannot be
 * unwound completely keeps what was found, with a warning; a target
 * without registers (a process a debugger holds) keeps its Python stacks,
 * with one warning. The target must still be stopped: call it between
 * pcs_collect_all() and pcs_symbols_destroy().
 *
 * Greenlets too: each suspended one's saved frames merged the same way with
 * the C stack greenlet switched out (pcs_symbols_switch_frame()); one whose
 * stack cannot be unwound keeps its Python frames and says why in its
 * stack's note (a warning too where the stack reads as corrupt). A thread
 * running a greenlet other than its main one has the C frames of that
 * greenlet only (the rest of the stack is the suspended greenlets'), and a
 * running greenlet's frames become its thread's merged ones.
 */
struct pcs_error *pcs_collect_native(struct pcs_python *py, struct pcs_symbols *syms,
				     struct pcs_target *t, struct pcs_snapshot *snap);

/** The most native frames pcs_collect_native() unwinds per thread. */
enum { PCS_MAX_NATIVE_FRAMES = 100000 };

#endif
