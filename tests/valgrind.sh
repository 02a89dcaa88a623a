#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pycore-stacks under valgrind's memcheck, for the corpus harness (--tool):
# any invalid read or write, use of uninitialised memory or leak makes the
# run fail with status 99 (the harness reports the status and valgrind's
# stderr).
exec valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect \
	"$(dirname "$0")/../src/pycore-stacks" "$@"
