// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The lines that matter, as gdb 8 to 15 print them:
//   Local core dump file:
//           `/tmp/core.123', file type elf64-x86-64.
//   Local exec file:
//           `/usr/bin/python3.12', file type elf64-x86-64.
//   Native process:
//           Using the running image of attached Thread 0x7f.. (LWP 123).
//           Using the running image of child process 123.
//   [Current thread is 1 (Thread 0x7f.. (LWP 123))]

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/gdb_target.h"

// The quoted path on the line after @p heading: `PATH', file type ...
static void path_after(const char *text, const char *heading, char *out, size_t n)
{
	const char *h = strstr(text, heading);
	const char *line = h ? strchr(h, '\n') : NULL;
	if (!line)
		return;
	line++;
	const char *q = strchr(line, '`');
	const char *nl = strchr(line, '\n');
	if (!q || (nl && q > nl))
		return;
	const char *end = strstr(q, "', file type");
	if (!end || (size_t)(end - q - 1) >= n)
		return;
	memcpy(out, q + 1, (size_t)(end - q - 1));
	out[end - q - 1] = '\0';
}

// The thread or process id in "... process 123" or "... (LWP 123)".
static int id_in(const char *line)
{
	const char *lwp = strstr(line, "(LWP ");
	const char *proc = strstr(line, "process ");
	const char *nl = strchr(line, '\n');
	if (lwp && (!nl || lwp < nl))
		return atoi(lwp + 5);
	if (proc && (!nl || proc < nl))
		return atoi(proc + 8);
	return 0;
}

int pcs_gdb_target_parse(const char *text, struct pcs_gdb_target *ret)
{
	memset(ret, 0, sizeof(*ret));
	path_after(text, "Local core dump file:", ret->core, sizeof(ret->core));
	path_after(text, "Local exec file:", ret->exe, sizeof(ret->exe));
	const char *image = strstr(text, "Using the running image of ");
	if (image)
		ret->lwp = id_in(image);
	const char *current = strstr(text, "[Current thread is ");
	if (current)
		ret->selected_lwp = id_in(current);
	return ret->core[0] || ret->lwp > 0 ? 0 : -1;
}
