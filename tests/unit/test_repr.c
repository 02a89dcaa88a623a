// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The reprs of --locals (corpus/README.md, "locals truth"): the pure parts.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "interp/internal.h"

static int float_is(double v, const char *want)
{
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	pcs_repr_float(v, &sb);
	int ok = sb.buf && strcmp(sb.buf, want) == 0;
	if (!ok)
		fprintf(stderr, "repr(%.17g) = %s, want %s\n", v, sb.buf, want);
	pcs_strbuf_deinit(&sb);
	return ok;
}

static int bigint_is(const uint32_t *digits, size_t n, unsigned shift, const char *want)
{
	uint32_t copy[8];
	memcpy(copy, digits, n * sizeof(*digits));
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	pcs_repr_bigint(copy, n, shift, &sb);
	int ok = sb.buf && strcmp(sb.buf, want) == 0;
	if (!ok)
		fprintf(stderr, "bigint = %s, want %s\n", sb.buf, want);
	pcs_strbuf_deinit(&sb);
	return ok;
}

static int text_is(const char *utf32_hex, enum pcs_repr_text kind, const char *prefix,
		   const char *want)
{
	uint32_t cps[128];
	size_t n = 0;
	for (const char *s = utf32_hex; *s && n < 128;) {
		char *end;
		cps[n++] = (uint32_t)strtoul(s, &end, 16);
		s = *end ? end + 1 : end;
	}
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	pcs_repr_text(cps, n > 80 ? 80 : n, kind, prefix, n > 80, &sb);
	int ok = sb.buf && strcmp(sb.buf, want) == 0;
	if (!ok)
		fprintf(stderr, "text(%s) = %s, want %s\n", utf32_hex, sb.buf, want);
	pcs_strbuf_deinit(&sb);
	return ok;
}

void test_repr(void)
{
	// repr(float) of CPython, short form.
	CHECK(float_is(0.0, "0.0"));
	CHECK(float_is(-0.0, "-0.0"));
	CHECK(float_is(1.5, "1.5"));
	CHECK(float_is(0.1, "0.1"));
	CHECK(float_is(0.1 + 0.2, "0.30000000000000004"));
	CHECK(float_is(1.0 / 3, "0.3333333333333333"));
	CHECK(float_is(1e16, "1e+16"));
	CHECK(float_is(1e15, "1000000000000000.0"));
	CHECK(float_is(123456789.0, "123456789.0"));
	CHECK(float_is(1e-4, "0.0001"));
	CHECK(float_is(1e-5, "1e-05"));
	CHECK(float_is(1e300, "1e+300"));
	CHECK(float_is(-1e-300, "-1e-300"));
	CHECK(float_is(5e-324, "5e-324"));
	CHECK(float_is(1.7976931348623157e308, "1.7976931348623157e+308"));
	// Powers of two: the correctly rounded 16 digits do not read back,
	// the nearest 16 that do are a unit above.
	CHECK(float_is(0x1p-24, "5.960464477539063e-08"));
	CHECK(float_is(0x1p1000, "1.0715086071862673e+301"));
	CHECK(float_is(1.0 / 0.0, "inf"));
	CHECK(float_is(-1.0 / 0.0, "-inf"));
	CHECK(float_is(0.0 / 0.0, "nan"));

	static const uint32_t zero[1] = { 0 };
	static const uint32_t two62[3] = { 0, 0, 4 };	// 2**62, 30-bit digits
	static const uint32_t two100[4] = { 0, 0, 0, 1024 };
	static const uint32_t max15[2] = { 0x7fff, 0x7fff };	// 2**30 - 1, 15-bit digits
	CHECK(bigint_is(zero, 1, 30, "0"));
	CHECK(bigint_is(two62, 3, 30, "4611686018427387904"));
	CHECK(bigint_is(two100, 4, 30, "1267650600228229401496703205376"));
	CHECK(bigint_is(max15, 2, 15, "1073741823"));

	CHECK(text_is("61 62", PCS_REPR_STR, "", "'ab'"));
	CHECK(text_is("69 74 27 73", PCS_REPR_STR, "", "\"it's\""));
	CHECK(text_is("27 22", PCS_REPR_STR, "", "'\\'\"'"));
	CHECK(text_is("9 a d 5c 0 1f 7f", PCS_REPR_STR, "", "'\\t\\n\\r\\\\\\x00\\x1f\\x7f'"));
	CHECK(text_is("fc 80 a0 ad", PCS_REPR_STR, "u", "u'\xc3\xbc\\x80\\xa0\\xad'"));
	CHECK(text_is("1f40d 202e d800 e000 4e2d", PCS_REPR_STR, "",
		      "'\xf0\x9f\x90\x8d\\u202e\\ud800\\ue000\xe4\xb8\xad'"));
	CHECK(text_is("e0001 10fffd", PCS_REPR_STR, "", "'\\U000e0001\\U0010fffd'"));
	CHECK(text_is("62 0 ff 27", PCS_REPR_BYTES, "b", "b\"b\\x00\\xff'\""));
	CHECK(text_is("fc", PCS_REPR_BYTES, "", "'\\xfc'"));
	char many[81 * 3 + 1] = "";
	for (int i = 0; i < 81; i++)
		strcat(many, "78 ");
	char want[80 + 6] = "'";
	memset(want + 1, 'x', 80);
	strcpy(want + 81, "'...");
	CHECK(text_is(many, PCS_REPR_STR, "", want));
}
