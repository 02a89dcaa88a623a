// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * What gdb is debugging, read from the text of its `info target` and
 * `thread` commands (the gdb-scripts pipe them to `pycore-stacks --gdb`):
 * gdb without Python has no other way to hand it over.
 */
#ifndef PCS_CLI_GDB_TARGET_H
#define PCS_CLI_GDB_TARGET_H

#include <limits.h>

struct pcs_gdb_target {
	/** Core file gdb has open, or "" */
	char core[PATH_MAX];
	/** Executable gdb has open, or "" */
	char exe[PATH_MAX];
	/** LWP of the live thread gdb uses for the process, or 0. */
	int lwp;
	/** LWP of gdb's selected thread, or 0. */
	int selected_lwp;
};

/**
 * Parse gdb's output @p text. Returns 0 on success, -1 when gdb debugs
 * neither a live process nor a core file.
 */
int pcs_gdb_target_parse(const char *text, struct pcs_gdb_target *ret);

#endif
