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
 *
 * A buffer may also stream (pcs_strbuf_set_sink()): what it holds is written
 * out a chunk at a time as it fills, so a report of tens of MB is never
 * held whole.
 */
#ifndef PCS_UTIL_STRBUF_H
#define PCS_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pcs_error;

/**
 * Where a streaming buffer's bytes go (pcs_strbuf_set_sink()): 0, or the
 * errno of a failed write.
 */
typedef int pcs_strbuf_sink_fn(void *arg, const char *data, size_t len);

struct pcs_strbuf {
	char *buf;	/**< NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t alloc;
	bool oom;
	/** Streaming: where full buffers go; NULL for a buffer kept whole. */
	pcs_strbuf_sink_fn *sink;
	void *sink_arg;
	/** The errno of the sink's first failed write; 0 if none. */
	int sink_errno;
};

#define PCS_STRBUF_INIT { 0 }

void pcs_strbuf_init(struct pcs_strbuf *sb);
void pcs_strbuf_deinit(struct pcs_strbuf *sb);
/** Empty the buffer, keeping its allocation. */
void pcs_strbuf_reset(struct pcs_strbuf *sb);

/**
 * Stream @p sb: from now on, whenever an append does not fit in its
 * @p chunk bytes, what it holds is handed to @p fn and it starts again
 * empty, so it never holds much more than @p chunk bytes. Only for writers
 * that append and never look back at (or rewrite) what they wrote.
 */
void pcs_strbuf_set_sink(struct pcs_strbuf *sb, pcs_strbuf_sink_fn *fn, void *arg,
			 size_t chunk);

/**
 * Hand what a streaming buffer holds to its sink. Returns 0, or the errno
 * of its first failed write (after which what follows is dropped).
 */
int pcs_strbuf_flush(struct pcs_strbuf *sb);

/** Room for @p extra more bytes (and the NUL); false when out of memory. */
bool pcs_strbuf_make_room(struct pcs_strbuf *sb, size_t extra);

// The appends are inline: report writers call them for every few bytes.
static inline void pcs_strbuf_add(struct pcs_strbuf *sb, const void *data, size_t len)
{
	if ((sb->oom || sb->alloc - sb->len <= len) && !pcs_strbuf_make_room(sb, len))
		return;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

static inline void pcs_strbuf_adds(struct pcs_strbuf *sb, const char *s)
{
	pcs_strbuf_add(sb, s, strlen(s));
}

static inline void pcs_strbuf_addc(struct pcs_strbuf *sb, char c)
{
	if ((sb->oom || sb->alloc - sb->len <= 1) && !pcs_strbuf_make_room(sb, 1))
		return;
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
}

void pcs_strbuf_addf(struct pcs_strbuf *sb, const char *fmt, ...)
	__attribute__((__format__(__printf__, 2, 3)));

/** Append @p v in decimal, as printf's "%" PRId64 would. */
void pcs_strbuf_add_int(struct pcs_strbuf *sb, int64_t v);

/** Append @p v as "0x" and lowercase hex digits, as "0x%" PRIx64 would. */
void pcs_strbuf_add_hex(struct pcs_strbuf *sb, uint64_t v);

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
