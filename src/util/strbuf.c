// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/strbuf.h"

void pcs_strbuf_init(struct pcs_strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void pcs_strbuf_deinit(struct pcs_strbuf *sb)
{
	free(sb->buf);
	pcs_strbuf_init(sb);
}

void pcs_strbuf_reset(struct pcs_strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

static bool grow(struct pcs_strbuf *sb, size_t extra)
{
	if (sb->oom)
		return false;
	if (extra < sb->alloc - sb->len)
		return true;
	size_t want = sb->alloc ? sb->alloc : 64;
	while (want - sb->len <= extra) {
		if (want > SIZE_MAX / 2)
			goto oom;
		want *= 2;
	}
	char *p = realloc(sb->buf, want);
	if (!p)
		goto oom;
	sb->buf = p;
	sb->alloc = want;
	return true;
oom:
	sb->oom = true;
	return false;
}

bool pcs_strbuf_make_room(struct pcs_strbuf *sb, size_t extra)
{
	// A stream hands over what it holds rather than grow (unless one
	// append is larger than its whole buffer).
	if (sb->sink && !sb->oom && extra >= sb->alloc - sb->len) {
		pcs_strbuf_flush(sb);
		if (extra < sb->alloc)
			return true;
	}
	return grow(sb, extra);
}

void pcs_strbuf_set_sink(struct pcs_strbuf *sb, pcs_strbuf_sink_fn *fn, void *arg,
			 size_t chunk)
{
	sb->sink = fn;
	sb->sink_arg = arg;
	if (chunk > sb->len + 1)
		grow(sb, chunk - sb->len - 1);
}

int pcs_strbuf_flush(struct pcs_strbuf *sb)
{
	if (!sb->sink)
		return 0;
	if (sb->len && !sb->sink_errno)
		sb->sink_errno = sb->sink(sb->sink_arg, sb->buf, sb->len);
	pcs_strbuf_reset(sb);
	return sb->sink_errno;
}

void pcs_strbuf_addf(struct pcs_strbuf *sb, const char *fmt, ...)
{
	if (sb->oom)
		return;
	// Formatted in place when it fits, as it mostly does.
	size_t room = sb->alloc - sb->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < room) {
		sb->len += (size_t)n;
		return;
	}
	if (room)
		sb->buf[sb->len] = '\0';
	if (n < 0 || !pcs_strbuf_make_room(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void pcs_strbuf_add_int(struct pcs_strbuf *sb, int64_t v)
{
	char digits[24];
	char *p = digits + sizeof(digits);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	pcs_strbuf_add(sb, p, (size_t)(digits + sizeof(digits) - p));
}

void pcs_strbuf_add_hex(struct pcs_strbuf *sb, uint64_t v)
{
	char digits[24];
	char *p = digits + sizeof(digits);
	do {
		*--p = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	pcs_strbuf_add(sb, p, (size_t)(digits + sizeof(digits) - p));
}

size_t pcs_utf8_seqlen(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	size_t len;
	uint32_t min;
	if (c < 0x80)
		return 1;
	else if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	uint32_t cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t pcs_utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	} else {
		out[0] = (char)(0xf0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		return 4;
	}
}

// How one escaper differs from the other: the rest (walking UTF-8, passing
// valid sequences through) is shared.
struct escape_style {
	/** The bytes copied as they are. */
	const bool *plain;
	/** What precedes the two hex digits of a control byte. */
	const char *control;
	/** What a byte that is not valid UTF-8 becomes; NULL: as a control byte. */
	const char *invalid;
	/** Backslash-escape '"' and '\\' (JSON). */
	bool quote;
	/** Escape C1 controls U+0080..U+009F (terminals). */
	bool c1;
};

static void add_hex_byte(struct pcs_strbuf *sb, const char *prefix, unsigned char c)
{
	char hex[2] = { "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15] };
	pcs_strbuf_adds(sb, prefix);
	pcs_strbuf_add(sb, hex, 2);
}

static void add_escaped(struct pcs_strbuf *sb, const char *s,
			const struct escape_style *style)
{
	const unsigned char *p = (const unsigned char *)s;
	for (;;) {
		// Printable ASCII, most of any text, is copied in runs.
		const unsigned char *run = p;
		while (style->plain[*p])
			p++;
		if (p > run)
			pcs_strbuf_add(sb, run, (size_t)(p - run));
		unsigned char c = *p;
		size_t len = 1;
		if (!c) {
			return;
		} else if (style->quote && (c == '"' || c == '\\')) {
			pcs_strbuf_addc(sb, '\\');
			pcs_strbuf_addc(sb, (char)c);
		} else if (c < 0x80) {
			add_hex_byte(sb, style->control, c);
		} else {
			// At most 4 bytes, and it stops at the NUL (no
			// continuation byte).
			len = pcs_utf8_seqlen(p, 4);
			if (style->c1 && len == 2 && c == 0xc2 && p[1] < 0xa0)
				len = 0;
			if (len) {
				pcs_strbuf_add(sb, p, len);
			} else {
				if (style->invalid)
					pcs_strbuf_adds(sb, style->invalid);
				else
					add_hex_byte(sb, style->control, c);
				len = 1;
			}
		}
		p += len;
	}
}

// Printable ASCII; for JSON, but for '"' and '\\'.
static const bool plain_terminal[256] = { [0x20 ... 0x7e] = true };
static const bool plain_json[256] = {
	[0x20 ... '"' - 1] = true, ['"' + 1 ... '\\' - 1] = true, ['\\' + 1 ... 0x7e] = true,
};

void pcs_strbuf_add_json_string(struct pcs_strbuf *sb, const char *s)
{
	static const struct escape_style json = {
		.plain = plain_json, .control = "\\u00", .invalid = "\\ufffd", .quote = true,
	};
	pcs_strbuf_addc(sb, '"');
	add_escaped(sb, s, &json);
	pcs_strbuf_addc(sb, '"');
}

void pcs_strbuf_add_safe(struct pcs_strbuf *sb, const char *s)
{
	// C1 controls act as escapes on some terminals: escape them too.
	static const struct escape_style terminal = {
		.plain = plain_terminal, .control = "\\x", .c1 = true,
	};
	add_escaped(sb, s, &terminal);
}

char *pcs_strbuf_detach(struct pcs_strbuf *sb)
{
	if (sb->oom) {
		pcs_strbuf_deinit(sb);
		return NULL;
	}
	char *ret = sb->buf ? sb->buf : strdup("");
	pcs_strbuf_init(sb);
	return ret;
}

struct pcs_error *pcs_strbuf_error(const struct pcs_strbuf *sb)
{
	return sb->oom ? &pcs_enomem : NULL;
}
