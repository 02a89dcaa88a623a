// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <string.h>

#include "harness.h"
#include "util/strbuf.h"

static int json_is(const char *in, const char *want)
{
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	pcs_strbuf_add_json_string(&sb, in);
	int ok = strcmp(sb.buf, want) == 0;
	if (!ok)
		fprintf(stderr, "json(%s) = %s, want %s\n", in, sb.buf, want);
	pcs_strbuf_deinit(&sb);
	return ok;
}

static int safe_is(const char *in, const char *want)
{
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	pcs_strbuf_add_safe(&sb, in);
	int ok = strcmp(sb.buf ? sb.buf : "", want) == 0;
	if (!ok)
		fprintf(stderr, "safe(%s) = %s, want %s\n", in, sb.buf, want);
	pcs_strbuf_deinit(&sb);
	return ok;
}

void test_strbuf(void)
{
	CHECK(json_is("plain", "\"plain\""));
	CHECK(json_is("q\"b\\", "\"q\\\"b\\\\\""));
	CHECK(json_is("\n\x1b", "\"\\u000a\\u001b\""));
	CHECK(json_is("w\xc3\xb6rker-\xf0\x9f\x90\x8d", "\"w\xc3\xb6rker-\xf0\x9f\x90\x8d\""));
	CHECK(json_is("bad\xff", "\"bad\\ufffd\""));
	// Terminal escapes from the target never reach the terminal.
	CHECK(safe_is("a\x1b[31mred", "a\\x1b[31mred"));
	CHECK(safe_is("\xc2\x9b" "2J", "\\xc2\\x9b2J"));
	CHECK(safe_is("\xe7\xba\xbf", "\xe7\xba\xbf"));

	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	for (int i = 0; i < 1000; i++)
		pcs_strbuf_addf(&sb, "%d,", i);
	CHECK_INT(sb.len, 3890);
	CHECK(strncmp(sb.buf + sb.len - 4, "999,", 4) == 0);
	pcs_strbuf_deinit(&sb);
}
