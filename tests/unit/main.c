// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include "harness.h"

struct test_state test_state;

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "linetable", test_linetable },
	{ "strbuf", test_strbuf },
	{ "core", test_core },
	{ "debug-offsets", test_debug_offsets },
	{ "gdb-target", test_gdb_target },
	{ "report", test_report },
	{ "repr", test_repr },
	{ "native", test_native },
};

int main(void)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int before = test_state.failures;
		tests[i].fn();
		if (test_state.failures == before) {
			printf("ok - unit %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL - unit %s\n", tests[i].name);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
