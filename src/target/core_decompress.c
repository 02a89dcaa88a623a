// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Compressed cores: systemd-coredump stores them as zstd (or lz4, xz) with
// the libraries' streaming API, so a frame need not say how large the core
// is; people gzip them for tickets. None of these formats can be read at a
// random offset, and the rest of target/ (and libdwfl) wants a file it can
// map, so the core is decompressed once into an anonymous memory file
// (memfd), never onto disk, and that file stands in for the core.
//
// Everything here is untrusted: a corrupt or truncated stream is an error
// naming the format and the byte where decoding stopped, and what it may
// expand to is bounded (see output_ceiling()).

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "target/target_internal.h"
#include "util/error.h"

enum {
	// Input is read, and output written, in pieces this large: big enough
	// that system calls cost nothing, small enough not to matter in RSS.
	CHUNK = 1 << 20,
	PAGE = 4096,
	MAX_MAGIC = 6,
};

// xz's decoder refuses streams that need more memory than this: xz -9
// needs 65 MiB; only a hand-made stream asks for more.
static const uint64_t XZ_MEMLIMIT = 1ULL << 30;

// The largest core we expand, whatever memory there is: no process this
// tool is meant for dumps a terabyte, and a stream that expands further
// (all zeros cost no memory here, see write_out()) is a bomb, whose
// decoding would otherwise keep us busy for minutes.
static const uint64_t MAX_CORE_SIZE = 1ULL << 40;

enum step_result { STEP_ERROR, STEP_MORE, STEP_END };

// The buffers a decoder works on: it consumes in[in_pos, in_size) and
// appends to out[out_pos, CHUNK).
struct stream {
	const unsigned char *in;
	size_t in_size, in_pos;
	// No input remains after in[in_size].
	bool eof;
	unsigned char *out;
	size_t out_pos;
};

struct format {
	const char *name;
	// What the format calls the units that may be concatenated.
	const char *unit;
	unsigned char magic[MAX_MAGIC];
	size_t magic_len;
	// Allocate the decoder into *state; false: out of memory.
	bool (*init)(void **state);
	// One decoding step. STEP_END: the stream decoded so far ends a
	// frame or member cleanly (more may follow). STEP_ERROR: *why says
	// what the library found wrong.
	enum step_result (*step)(void *state, struct stream *s, const char **why);
	void (*deinit)(void *state);
};

// zstd: ZSTD_decompressStream() goes on across concatenated and skippable
// frames by itself; it returns 0 where a frame ends, all of it flushed.

static bool zstd_init(void **state)
{
	*state = ZSTD_createDStream();
	return *state != NULL;
}

static enum step_result zstd_step(void *state, struct stream *s, const char **why)
{
	ZSTD_inBuffer in = { s->in, s->in_size, s->in_pos };
	ZSTD_outBuffer out = { s->out, CHUNK, s->out_pos };
	size_t r = ZSTD_decompressStream(state, &out, &in);
	s->in_pos = in.pos;
	s->out_pos = out.pos;
	if (ZSTD_isError(r)) {
		*why = ZSTD_getErrorName(r);
		return STEP_ERROR;
	}
	return r == 0 ? STEP_END : STEP_MORE;
}

static void zstd_deinit(void *state)
{
	ZSTD_freeDStream(state);
}

// lz4 frame format: LZ4F_decompress() returns 0 where a frame ends, and the
// same context then starts on the next frame.

static bool lz4_init(void **state)
{
	LZ4F_dctx *dctx;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return false;
	*state = dctx;
	return true;
}

static enum step_result lz4_step(void *state, struct stream *s, const char **why)
{
	size_t in_len = s->in_size - s->in_pos, out_len = CHUNK - s->out_pos;
	size_t r = LZ4F_decompress(state, s->out + s->out_pos, &out_len,
				   s->in + s->in_pos, &in_len, NULL);
	s->in_pos += in_len;
	s->out_pos += out_len;
	if (LZ4F_isError(r)) {
		*why = LZ4F_getErrorName(r);
		return STEP_ERROR;
	}
	return r == 0 ? STEP_END : STEP_MORE;
}

static void lz4_deinit(void *state)
{
	LZ4F_freeDecompressionContext(state);
}

// xz: one decoder for concatenated streams and their padding; it can only
// tell that the last one is complete when told the input is over.

struct xz_state {
	lzma_stream strm;
	bool done;
};

static bool xz_init(void **state)
{
	struct xz_state *x = calloc(1, sizeof(*x));
	if (!x)
		return false;
	x->strm = (lzma_stream)LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&x->strm, XZ_MEMLIMIT,
				LZMA_CONCATENATED) != LZMA_OK) {
		free(x);
		return false;
	}
	*state = x;
	return true;
}

static const char *xz_strerror(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR:
		return "not in xz format";
	case LZMA_OPTIONS_ERROR:
		return "unsupported compression options";
	case LZMA_DATA_ERROR:
		return "compressed data is corrupt";
	case LZMA_MEMLIMIT_ERROR:
		return "needs more than 1 GiB of memory to decode";
	case LZMA_MEM_ERROR:
		return "out of memory";
	default:
		return "decoder error";
	}
}

static enum step_result xz_step(void *state, struct stream *s, const char **why)
{
	struct xz_state *x = state;
	if (x->done)
		return STEP_END;
	x->strm.next_in = s->in + s->in_pos;
	x->strm.avail_in = s->in_size - s->in_pos;
	x->strm.next_out = s->out + s->out_pos;
	x->strm.avail_out = CHUNK - s->out_pos;
	bool last = s->eof;
	lzma_ret r = lzma_code(&x->strm, last ? LZMA_FINISH : LZMA_RUN);
	s->in_pos = s->in_size - x->strm.avail_in;
	s->out_pos = CHUNK - x->strm.avail_out;
	switch (r) {
	case LZMA_OK:
	// No progress possible: the caller sees none and calls it truncated.
	case LZMA_BUF_ERROR:
		return STEP_MORE;
	case LZMA_STREAM_END:
		x->done = true;
		return STEP_END;
	default:
		*why = xz_strerror(r);
		return STEP_ERROR;
	}
}

static void xz_deinit(void *state)
{
	struct xz_state *x = state;
	lzma_end(&x->strm);
	free(x);
}

// gzip: inflate() stops at the end of each member; gzip(1) reads members
// concatenated (cat a.gz b.gz), so a new one starts where input remains.

struct gzip_state {
	z_stream strm;
	bool member_done;
};

static bool gzip_init(void **state)
{
	struct gzip_state *g = calloc(1, sizeof(*g));
	if (!g)
		return false;
	// 16 + window bits: gzip members only, not zlib or raw deflate.
	if (inflateInit2(&g->strm, 16 + MAX_WBITS) != Z_OK) {
		free(g);
		return false;
	}
	*state = g;
	return true;
}

static enum step_result gzip_step(void *state, struct stream *s, const char **why)
{
	struct gzip_state *g = state;
	if (g->member_done) {
		if (s->in_pos == s->in_size)
			return STEP_END;
		if (inflateReset(&g->strm) != Z_OK) {
			*why = "cannot restart the decoder";
			return STEP_ERROR;
		}
		g->member_done = false;
	}
	// CHUNK fits zlib's unsigned int counts.
	g->strm.next_in = (unsigned char *)s->in + s->in_pos;
	g->strm.avail_in = (unsigned)(s->in_size - s->in_pos);
	g->strm.next_out = s->out + s->out_pos;
	g->strm.avail_out = (unsigned)(CHUNK - s->out_pos);
	int r = inflate(&g->strm, Z_NO_FLUSH);
	s->in_pos = s->in_size - g->strm.avail_in;
	s->out_pos = CHUNK - g->strm.avail_out;
	switch (r) {
	case Z_OK:
	case Z_BUF_ERROR:
		return STEP_MORE;
	case Z_STREAM_END:
		g->member_done = true;
		return STEP_END;
	case Z_MEM_ERROR:
		*why = "out of memory";
		return STEP_ERROR;
	default:
		*why = g->strm.msg ? g->strm.msg : "corrupt data";
		return STEP_ERROR;
	}
}

static void gzip_deinit(void *state)
{
	struct gzip_state *g = state;
	inflateEnd(&g->strm);
	free(g);
}

static const struct format formats[] = {
	{ "zstd", "frame", { 0x28, 0xb5, 0x2f, 0xfd }, 4, zstd_init, zstd_step, zstd_deinit },
	{ "lz4", "frame", { 0x04, 0x22, 0x4d, 0x18 }, 4, lz4_init, lz4_step, lz4_deinit },
	{ "xz", "stream", { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00 }, 6, xz_init, xz_step,
	  xz_deinit },
	{ "gzip", "member", { 0x1f, 0x8b }, 2, gzip_init, gzip_step, gzip_deinit },
};

// A number from the first line of @p path; false if there is none.
static bool read_u64_file(const char *path, uint64_t *ret)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	unsigned long long v;
	bool ok = fscanf(f, "%llu", &v) == 1;
	fclose(f);
	if (ok)
		*ret = v;
	return ok;
}

// The number after @p key on its line of @p path ("Key: 12 kB" lines of
// /proc/meminfo, "key 12" of a cgroup's memory.stat), times @p unit; false
// if absent.
static bool keyed_value(const char *path, const char *key, uint64_t unit,
			uint64_t *ret)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[256];
	size_t klen = strlen(key);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (strncmp(line, key, klen) == 0 &&
		    (line[klen] == ':' || line[klen] == ' ') &&
		    sscanf(line + klen + 1, "%llu", &v) == 1 && v <= UINT64_MAX / unit) {
			*ret = v * unit;
			found = true;
		}
	}
	fclose(f);
	return found;
}

// What the memory controller (cgroup v2) still lets this process's group and
// every group above it use: in a container the machine's free memory is
// someone else's. UINT64_MAX where nothing limits it or it cannot be read.
static uint64_t cgroup_headroom(void)
{
	uint64_t headroom = UINT64_MAX;
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return headroom;
	char line[4096], group[4096] = "";
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(group, sizeof(group), "%s", line + 3);
			group[strcspn(group, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	// From the process's group up to the root; a group that is not visible
	// here (another cgroup namespace) simply has no files.
	while (group[0] == '/') {
		char path[sizeof(group) + 64];
		uint64_t max, current;
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", group);
		bool limited = read_u64_file(path, &max);	// "max" reads as none
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.current", group);
		if (limited && read_u64_file(path, &current)) {
			// Page cache the group would give back first (the
			// compressed core just copied in, say) is not in use.
			uint64_t idle = 0;
			snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.stat", group);
			if (keyed_value(path, "inactive_file", 1, &idle) && idle <= current)
				current -= idle;
			uint64_t room = current < max ? max - current : 0;
			if (room < headroom)
				headroom = room;
		}
		char *slash = strrchr(group, '/');
		if (slash == group && group[1] == '\0')
			break;
		*(slash == group ? slash + 1 : slash) = '\0';
	}
	return headroom;
}

// How many bytes of decompressed core we may hold. They live in memory
// (shared memory, swappable), so the bound is what the machine and our
// cgroup have available: past that the kernel would reclaim hard, then
// kill us or something else. 7/8 of it leaves the rest of the dump (and
// the machine) room. When nothing can be read, only MAX_CORE_SIZE bounds it.
static uint64_t output_ceiling(void)
{
	uint64_t avail, swap = 0, limit = MAX_CORE_SIZE;
	if (keyed_value("/proc/meminfo", "MemAvailable", 1024, &avail)) {
		keyed_value("/proc/meminfo", "SwapFree", 1024, &swap);
		if (avail < limit && swap < limit - avail)
			limit = avail + swap;
	}
	uint64_t cg = cgroup_headroom();
	if (cg < limit)
		limit = cg;
	return limit / 8 * 7;
}

// Where decompressed bytes go.
struct sink {
	int fd;
	// Bytes of core so far (the memory file's size), and those of them that
	// take memory (the rest are holes).
	uint64_t size;
	uint64_t resident;
	uint64_t ceiling;
};

static bool all_zero(const unsigned char *p, size_t n)
{
	// Whole words, which the compiler turns into vector compares.
	uint64_t acc = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

// Append @p n bytes to the memory file. Pages of zeros are left as holes,
// which cost no memory: a core is full of them (untouched stack and heap,
// which the kernel or gcore writes out as zeros). Every call but the last
// is CHUNK bytes, so pages here are pages of the file.
static struct pcs_error *write_out(struct sink *k, const struct format *fmt,
				   const unsigned char *buf, size_t n)
{
	if (n > MAX_CORE_SIZE - k->size)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"%s stream expands past %" PRIu64 " GiB; "
					"refusing it as a decompression bomb",
					fmt->name, MAX_CORE_SIZE >> 30);
	size_t i = 0;
	while (i < n) {
		size_t len = n - i < PAGE ? n - i : PAGE;
		if (all_zero(buf + i, len)) {
			i += len;
			continue;
		}
		// A run of pages with data: one write.
		size_t end = i + len;
		while (end < n) {
			size_t l = n - end < PAGE ? n - end : PAGE;
			if (all_zero(buf + end, l))
				break;
			end += l;
		}
		if (end - i > k->ceiling - k->resident)
			return pcs_error_create(PCS_ERROR_FORMAT,
						"%s stream expands past the memory available "
						"to hold it (%" PRIu64 " MiB); decompress it "
						"to a file first",
						fmt->name, k->ceiling >> 20);
		for (size_t done = i; done < end;) {
			ssize_t w = pwrite(k->fd, buf + done, end - done,
					   (off_t)(k->size + done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return pcs_error_os(w < 0 ? errno : ENOSPC,
						    "cannot hold the decompressed core in memory");
			done += (size_t)w;
		}
		k->resident += end - i;
		i = end;
	}
	k->size += n;
	return NULL;
}

// Whether the first bytes out of the stream are an ELF file's: checked as
// soon as they are out, so that a compressed file of anything else is
// refused without expanding all of it.
static struct pcs_error *check_elf(const struct format *fmt,
				   const unsigned char *p, size_t n)
{
	if (n >= SELFMAG && memcmp(p, ELFMAG, SELFMAG) == 0)
		return NULL;
	return pcs_error_create(PCS_ERROR_FORMAT,
				"not an ELF core file (%s-compressed %s)", fmt->name,
				n ? "data of another kind" : "empty file");
}

static struct pcs_error *decompress(int in_fd, const struct format *fmt,
				    void *state, struct sink *k,
				    unsigned char *inbuf, unsigned char *outbuf)
{
	struct stream s = { .in = inbuf, .out = outbuf };
	// Input bytes before inbuf[0], for messages.
	uint64_t consumed = 0;
	bool checked = false, at_end = false;
	for (;;) {
		if (s.in_pos == s.in_size && !s.eof) {
			consumed += s.in_size;
			ssize_t r = pread(in_fd, inbuf, CHUNK, (off_t)consumed);
			if (r < 0 && errno == EINTR) {
				s.in_size = s.in_pos = 0;
				continue;
			}
			if (r < 0)
				return pcs_error_os(errno, "cannot read");
			s.in_size = (size_t)r;
			s.in_pos = 0;
			s.eof = r == 0;
		}
		size_t in_before = s.in_pos, out_before = s.out_pos;
		const char *why = NULL;
		enum step_result r = fmt->step(state, &s, &why);
		if (r == STEP_ERROR)
			return pcs_error_create(PCS_ERROR_FORMAT,
						"corrupt %s stream at byte %" PRIu64 " (%s)",
						fmt->name, consumed + s.in_pos, why);
		bool progress = s.in_pos != in_before || s.out_pos != out_before;
		// A step that decoded nothing may only be asking for more input
		// (zstd and lz4 then say nothing of where the stream is), or
		// confirm an end already reached (xz and gzip).
		if (progress || r == STEP_END)
			at_end = r == STEP_END;
		if (!checked && s.out_pos >= SELFMAG) {
			struct pcs_error *err = check_elf(fmt, outbuf, s.out_pos);
			if (err)
				return err;
			checked = true;
		}
		if (s.out_pos == CHUNK) {
			struct pcs_error *err = write_out(k, fmt, outbuf, CHUNK);
			if (err)
				return err;
			s.out_pos = 0;
		} else if (!progress) {
			if (s.eof)
				break;
			// Input left, room for output, and nothing decoded: a
			// decoder that stalls would spin here forever.
			if (s.in_pos < s.in_size)
				return pcs_error_create(PCS_ERROR_FORMAT,
							"corrupt %s stream at byte %" PRIu64
							" (decoder stalled)",
							fmt->name, consumed + s.in_pos);
		}
	}
	if (!at_end)
		return pcs_error_create(PCS_ERROR_FORMAT,
					"truncated %s stream (it ends at byte %" PRIu64
					", inside a %s)",
					fmt->name, consumed, fmt->unit);
	// A whole stream of fewer bytes than an ELF magic number.
	struct pcs_error *err = checked ? NULL : check_elf(fmt, outbuf, s.out_pos);
	return err ? err : write_out(k, fmt, outbuf, s.out_pos);
}

// The compressed format whose magic @p head (@p n bytes) starts with, or NULL.
static const struct format *format_of(const unsigned char *head, size_t n)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (n >= formats[i].magic_len &&
		    memcmp(head, formats[i].magic, formats[i].magic_len) == 0)
			return &formats[i];
	}
	return NULL;
}

bool pcs_target_looks_like_core(const char *path)
{
	unsigned char head[MAX_MAGIC];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n <= 0)
		return false;
	return ((size_t)n >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0) ||
	       format_of(head, (size_t)n);
}

struct pcs_error *pcs_target_core_decompress(int fd, int *ret_fd,
					     const char **ret_format)
{
	unsigned char magic[MAX_MAGIC];
	ssize_t n = pread(fd, magic, sizeof(magic), 0);
	if (n < 0)
		return pcs_error_os(errno, "cannot read");
	const struct format *fmt = format_of(magic, (size_t)n);
	if (!fmt) {
		*ret_fd = -1;
		*ret_format = NULL;
		return NULL;
	}

	struct sink k = { .fd = -1, .ceiling = output_ceiling() };
	void *state = NULL;
	unsigned char *inbuf = malloc(CHUNK), *outbuf = malloc(CHUNK);
	struct pcs_error *err = NULL;
	if (!inbuf || !outbuf || !fmt->init(&state)) {
		err = &pcs_enomem;
		goto out;
	}
	k.fd = memfd_create("pycore-stacks core", MFD_CLOEXEC);
	if (k.fd < 0) {
		err = pcs_error_os(errno, "cannot create a memory file for the "
				   "decompressed core");
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	err = decompress(fd, fmt, state, &k, inbuf, outbuf);
	// The size, holes at the end included.
	if (!err && ftruncate(k.fd, (off_t)k.size) < 0)
		err = pcs_error_os(errno, "cannot hold the decompressed core in memory");
out:
	if (state)
		fmt->deinit(state);
	free(inbuf);
	free(outbuf);
	if (err) {
		if (k.fd >= 0)
			close(k.fd);
		return err;
	}
	*ret_fd = k.fd;
	*ret_format = fmt->name;
	return NULL;
}
