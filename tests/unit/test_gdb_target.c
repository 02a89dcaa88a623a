// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// gdb's own words, as gdb 13 prints them, for each kind of target.

#include <string.h>

#include "cli/gdb_target.h"
#include "harness.h"

void test_gdb_target(void)
{
	struct pcs_gdb_target g;
	CHECK_INT(pcs_gdb_target_parse(
		"Symbols from \"/root/.pyenv/versions/3.12.1/bin/python3.12\".\n"
		"Local core dump file:\n"
		"\t`/tmp/gg.13826', file type elf64-x86-64.\n"
		"\t0x0000 - 0x0001 is load1\n"
		"Local exec file:\n"
		"\t`/root/.pyenv/versions/3.12.1/bin/python3.12', file type elf64-x86-64.\n"
		"\tEntry point: 0x55b4ba74e060\n"
		"[Current thread is 1 (Thread 0x7f0b1db5ab80 (LWP 13826))]\n", &g), 0);
	CHECK(strcmp(g.core, "/tmp/gg.13826") == 0);
	CHECK(strcmp(g.exe, "/root/.pyenv/versions/3.12.1/bin/python3.12") == 0);
	CHECK_INT(g.lwp, 0);
	CHECK_INT(g.selected_lwp, 13826);

	CHECK_INT(pcs_gdb_target_parse(
		"Native process:\n"
		"\tUsing the running image of attached Thread 0x7f0b1db5ab80 (LWP 13826).\n"
		"\tWhile running this, GDB does not access memory from...\n"
		"Local exec file:\n"
		"\t`/usr/bin/python3.11', file type elf64-x86-64.\n"
		"[Current thread is 3 (Thread 0x7f0b1d0006c0 (LWP 13830))]\n", &g), 0);
	CHECK(g.core[0] == '\0');
	CHECK_INT(g.lwp, 13826);
	CHECK_INT(g.selected_lwp, 13830);

	CHECK_INT(pcs_gdb_target_parse(
		"Native process:\n\tUsing the running image of child process 4242.\n", &g), 0);
	CHECK_INT(g.lwp, 4242);

	// No process, no core: gdb only has an executable, or nothing.
	CHECK_INT(pcs_gdb_target_parse(
		"Symbols from \"/bin/true\".\nLocal exec file:\n"
		"\t`/bin/true', file type elf64-x86-64.\n", &g), -1);
	CHECK_INT(pcs_gdb_target_parse("", &g), -1);
	// A heading at the very end of the text (found by fuzzing).
	CHECK_INT(pcs_gdb_target_parse("Local core dump file:", &g), -1);
	// A path with a quote in it.
	CHECK_INT(pcs_gdb_target_parse(
		"Local core dump file:\n\t`/tmp/it's a core', file type elf64-x86-64.\n", &g), 0);
	CHECK(strcmp(g.core, "/tmp/it's a core") == 0);
}
