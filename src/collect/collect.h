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
 * code names, where that file is readable here.
 */
struct pcs_error *pcs_collect_source_lines(struct pcs_snapshot *snap);

struct pcs_symbols;

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

#endif
