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
	if (sb->len + extra + 1 <= sb->alloc)
		return true;
	size_t want = sb->alloc ? sb->alloc : 64;
	while (want < sb->len + extra + 1) {
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

void pcs_strbuf_add(struct pcs_strbuf *sb, const void *data, size_t len)
{
	if (!grow(sb, len))
		return;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void pcs_strbuf_adds(struct pcs_strbuf *sb, const char *s)
{
	pcs_strbuf_add(sb, s, strlen(s));
}

void pcs_strbuf_addc(struct pcs_strbuf *sb, char c)
{
	pcs_strbuf_add(sb, &c, 1);
}

void pcs_strbuf_addf(struct pcs_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !grow(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
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
	/** printf format for a control byte. */
	const char *control;
	/** printf format for a byte that is not valid UTF-8. */
	const char *invalid;
	/** Backslash-escape '"' and '\\' (JSON). */
	bool quote;
	/** Escape C1 controls U+0080..U+009F (terminals). */
	bool c1;
};

static void add_escaped(struct pcs_strbuf *sb, const char *s,
			const struct escape_style *style)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len = 1;
		if (style->quote && (c == '"' || c == '\\')) {
			pcs_strbuf_addc(sb, '\\');
			pcs_strbuf_addc(sb, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			pcs_strbuf_addf(sb, style->control, c);
		} else if (c < 0x80) {
			pcs_strbuf_addc(sb, (char)c);
		} else {
			len = pcs_utf8_seqlen(p + i, n - i);
			if (style->c1 && len == 2 && c == 0xc2 && p[i + 1] < 0xa0)
				len = 0;
			if (len) {
				pcs_strbuf_add(sb, p + i, len);
			} else {
				pcs_strbuf_addf(sb, style->invalid, c);
				len = 1;
			}
		}
		i += len;
	}
}

void pcs_strbuf_add_json_string(struct pcs_strbuf *sb, const char *s)
{
	static const struct escape_style json = {
		.control = "\\u%04x", .invalid = "\\ufffd", .quote = true,
	};
	pcs_strbuf_addc(sb, '"');
	add_escaped(sb, s, &json);
	pcs_strbuf_addc(sb, '"');
}

void pcs_strbuf_add_safe(struct pcs_strbuf *sb, const char *s)
{
	// C1 controls act as escapes on some terminals: escape them too.
	static const struct escape_style terminal = {
		.control = "\\x%02x", .invalid = "\\x%02x", .c1 = true,
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
