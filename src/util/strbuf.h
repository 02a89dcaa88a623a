// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * Growable NUL-terminated byte strings.
 *
 * A `struct pcs_strbuf` owns its buffer. Appending never fails visibly: on
 * allocation failure the buffer enters a sticky "oom" state, further appends
 * are ignored, and pcs_strbuf_error() reports &pcs_enomem. That keeps report
 * writers free of error checks on every line.
 */
#ifndef PCS_UTIL_STRBUF_H
#define PCS_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pcs_error;

struct pcs_strbuf {
	char *buf;	/**< NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t alloc;
	bool oom;
};

#define PCS_STRBUF_INIT { 0 }

void pcs_strbuf_init(struct pcs_strbuf *sb);
void pcs_strbuf_deinit(struct pcs_strbuf *sb);
/** Empty the buffer, keeping its allocation. */
void pcs_strbuf_reset(struct pcs_strbuf *sb);

void pcs_strbuf_add(struct pcs_strbuf *sb, const void *data, size_t len);
void pcs_strbuf_adds(struct pcs_strbuf *sb, const char *s);
void pcs_strbuf_addc(struct pcs_strbuf *sb, char c);
void pcs_strbuf_addf(struct pcs_strbuf *sb, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

/**
 * Append @p s (UTF-8, possibly invalid) as a JSON string literal with quotes.
 * Control characters and invalid UTF-8 bytes are escaped (the latter as
 * U+FFFD) so the output is always valid JSON.
 */
void pcs_strbuf_add_json_string(struct pcs_strbuf *sb, const char *s);

/**
 * Append @p s for a terminal: printable UTF-8 passes through; control
 * characters (including ESC) and invalid bytes are shown as \\xNN escapes so
 * no escape sequence from the target reaches the user's terminal.
 */
void pcs_strbuf_add_safe(struct pcs_strbuf *sb, const char *s);

/** Take ownership of the buffer (never NULL unless oom); sb is reset. */
char *pcs_strbuf_detach(struct pcs_strbuf *sb);

/** NULL, or &pcs_enomem if an append failed. */
struct pcs_error *pcs_strbuf_error(const struct pcs_strbuf *sb);

/**
 * Length of the valid UTF-8 sequence starting at @p s (at most @p n bytes),
 * or 0 if the bytes there are not valid UTF-8.
 */
size_t pcs_utf8_seqlen(const unsigned char *s, size_t n);

/** Encode code point @p cp as UTF-8 into @p out (4 bytes room); returns length. */
size_t pcs_utf8_encode(uint32_t cp, char *out);

#endif
