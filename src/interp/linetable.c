// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Decoders follow CPython's Objects/lnotab_notes.txt (3.6–3.10) and
// InternalDocs/locations.md (3.11+). Every read is within [table, table+len):
// a table copied from a corrupt target cannot make them read out of bounds.

#include <stdbool.h>
#include <stdint.h>

#include "interp/linetable.h"

// Lines add up in 64 bits, so a corrupt table cannot overflow them; a line
// that does not fit an int is no line.
static int as_line(int64_t line)
{
	return line >= INT32_MIN && line <= INT32_MAX ? (int)line : -1;
}

int pcs_linetable_lnotab(const uint8_t *table, size_t len, int firstlineno,
			 int64_t addrq, bool signed_increments)
{
	int64_t line = firstlineno;
	int64_t addr = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += table[i];
		if (addr > addrq)
			break;
		line += signed_increments ? (int8_t)table[i + 1] : table[i + 1];
	}
	return as_line(line);
}

int pcs_linetable_310(const uint8_t *table, size_t len, int firstlineno,
		      int64_t addrq)
{
	if (addrq < 0)
		return firstlineno;
	int64_t line = firstlineno;
	int64_t end = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		int64_t start = end;
		end += table[i];
		int8_t ldelta = (int8_t)table[i + 1];
		int cur = -1;
		if (ldelta != -128) {
			line += ldelta;
			cur = as_line(line);
		}
		if (start <= addrq && addrq < end)
			return cur;
	}
	return -1;
}

// A varint of 6-bit chunks, least significant first, 0x40 = more follows.
static uint32_t read_varint(const uint8_t *table, size_t len, size_t *pos)
{
	uint32_t val = 0;
	unsigned shift = 0;
	while (*pos < len) {
		uint8_t b = table[(*pos)++];
		if (shift < 32)
			val |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	return val;
}

static int32_t read_svarint(const uint8_t *table, size_t len, size_t *pos)
{
	uint32_t u = read_varint(table, len, pos);
	return (u & 1) ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
}

enum {
	LOCATION_ONE_LINE0 = 10,
	LOCATION_ONE_LINE2 = 12,
	LOCATION_NO_COLUMNS = 13,
	LOCATION_LONG = 14,
	LOCATION_NONE = 15,
};

int pcs_linetable_locations(const uint8_t *table, size_t len, int firstlineno,
			    int64_t addrq)
{
	if (addrq < 0)
		return firstlineno;
	int64_t line = firstlineno;
	int64_t addr = 0;
	size_t pos = 0;
	while (pos < len) {
		uint8_t first = table[pos];
		if (!(first & 0x80)) {
			// Not at an entry start: corrupt table. CPython skips
			// continuation bytes; so do we.
			pos++;
			continue;
		}
		int code = (first >> 3) & 15;
		int64_t end = addr + 2 * ((first & 7) + 1);
		size_t p = pos + 1;
		if (code == LOCATION_NO_COLUMNS || code == LOCATION_LONG)
			line += read_svarint(table, len, &p);
		else if (code >= LOCATION_ONE_LINE0 && code <= LOCATION_ONE_LINE2)
			line += code - LOCATION_ONE_LINE0;
		if (addr <= addrq && addrq < end)
			return code == LOCATION_NONE ? -1 : as_line(line);
		addr = end;
		// The next entry starts at the next byte with the top bit set.
		pos++;
		while (pos < len && !(table[pos] & 0x80))
			pos++;
	}
	return -1;
}
