// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * Line numbers from a code object's line table: pure functions over bytes
 * already copied from the target, so they can be tested on their own.
 *
 * Each returns the line CPython's PyCode_Addr2Line() returns for the byte
 * offset @p addrq into the code, or -1 where CPython has no line (None).
 * A negative @p addrq (a frame that has not started) gives @p firstlineno,
 * as in CPython.
 */
#ifndef PCS_INTERP_LINETABLE_H
#define PCS_INTERP_LINETABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * co_lnotab: CPython 3.6–3.9 (@p signed_increments), 2.7 (unsigned).
 */
int pcs_linetable_lnotab(const uint8_t *table, size_t len, int firstlineno,
			 int64_t addrq, bool signed_increments);

/** co_linetable of CPython 3.10 (PEP 626). */
int pcs_linetable_310(const uint8_t *table, size_t len, int firstlineno,
		      int64_t addrq);

/** Location table (co_linetable) of CPython 3.11+ (PEP 657). */
int pcs_linetable_locations(const uint8_t *table, size_t len, int firstlineno,
			    int64_t addrq);

#endif
