// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// A minimal test harness: CHECK records a failure and goes on.
#ifndef PCS_TESTS_HARNESS_H
#define PCS_TESTS_HARNESS_H

#include <stdio.h>

struct test_state {
	int checks;
	int failures;
};

extern struct test_state test_state;

#define CHECK(cond)                                                          \
	do {                                                                 \
		test_state.checks++;                                         \
		if (!(cond)) {                                               \
			test_state.failures++;                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
		}                                                            \
	} while (0)

#define CHECK_INT(got, want)                                                 \
	do {                                                                 \
		long long g_ = (long long)(got), w_ = (long long)(want);     \
		test_state.checks++;                                         \
		if (g_ != w_) {                                              \
			test_state.failures++;                               \
			fprintf(stderr, "%s:%d: %s is %lld, want %lld\n",    \
				__FILE__, __LINE__, #got, g_, w_);           \
		}                                                            \
	} while (0)

void test_linetable(void);
void test_strbuf(void);
void test_core(void);
void test_debug_offsets(void);
void test_gdb_target(void);
void test_report(void);
void test_repr(void);
void test_native(void);

#endif
