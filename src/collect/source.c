// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The text of each Python frame's current line, as tracebacks show it, when
// the file the code object names is readable here (a core from another
// machine may name files this one does not have: then there is none).

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/collect.h"
#include "util/error.h"
#include "util/strbuf.h"

enum {
	/** Larger files are not read. */
	MAX_SOURCE_FILE = 16 << 20,
	/** Distinct files read in one dump. */
	MAX_SOURCE_FILES = 4096,
	/** The longest line shown, in bytes. */
	MAX_SOURCE_LINE = 300,
};

struct source_file {
	const char *path;	/**< interned: compared by pointer */
	char *text;		/**< NULL: unreadable */
	size_t len;
	size_t *line_starts;	/**< offset of each line */
	size_t nlines;
	/** Each line's text once asked for (line_text()), by line; NULL: not yet. */
	const char **texts;
};

struct sources {
	struct source_file *files;
	size_t nfiles;
	/** Index + 1 into files by path pointer (open addressing), 0: empty. */
	uint32_t *slots;
	struct pcs_snapshot *snap;
	/** Where the target's files are (its root), or NULL: here. */
	const char *root;
};

enum { NUM_SLOTS = 2 * MAX_SOURCE_FILES };

static void load(struct source_file *f, const char *root)
{
	int fd;
	if (root) {
		char *path;
		if (asprintf(&path, "%s%s", root, f->path) < 0)
			return;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		free(path);
	} else {
		fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_SOURCE_FILE) {
		close(fd);
		return;
	}
	char *text = malloc((size_t)st.st_size + 1);
	size_t len = 0;
	while (text && len < (size_t)st.st_size) {
		ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!text)
		return;
	size_t nlines = 1;
	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	f->line_starts = malloc(nlines * sizeof(*f->line_starts));
	if (!f->line_starts) {
		free(text);
		return;
	}
	f->line_starts[0] = 0;
	for (size_t i = 0, k = 1; i < len; i++)
		if (text[i] == '\n')
			f->line_starts[k++] = i + 1;
	text[len] = '\0';
	f->text = text;
	f->len = len;
	f->nlines = nlines;
}

static struct source_file *file_of(struct sources *s, const char *path)
{
	size_t i = (size_t)(((uintptr_t)path >> 3) * UINT64_C(0x9e3779b97f4a7c15)) % NUM_SLOTS;
	for (; s->slots[i]; i = (i + 1) % NUM_SLOTS)
		if (s->files[s->slots[i] - 1].path == path)
			return &s->files[s->slots[i] - 1];
	if (s->nfiles >= MAX_SOURCE_FILES)
		return NULL;
	s->slots[i] = (uint32_t)++s->nfiles;
	struct source_file *f = &s->files[s->nfiles - 1];
	*f = (struct source_file){ .path = path };
	// Only absolute paths are under a root; relative ones (a script run
	// from its directory) name nothing a root could find.
	if (!s->root || f->path[0] == '/')
		load(f, s->root);
	return f;
}

// What texts[] holds for a blank line.
static const char blank[] = "";

// Line @p line of @p f, stripped of surrounding white space, interned;
// NULL if there is no such line or it is blank.
static const char *line_text(struct sources *s, struct source_file *f, int line)
{
	if (!f->text || line < 1 || (size_t)line > f->nlines)
		return NULL;
	// Thousands of frames are often at the same few lines.
	if (!f->texts)
		f->texts = calloc(f->nlines, sizeof(*f->texts));
	if (f->texts && f->texts[line - 1])
		return f->texts[line - 1] == blank ? NULL : f->texts[line - 1];
	const char *p = f->text + f->line_starts[line - 1];
	const char *end = (size_t)line < f->nlines ? f->text + f->line_starts[line] - 1
						   : f->text + f->len;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\f'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	if (p == end) {
		if (f->texts)
			f->texts[line - 1] = blank;
		return NULL;
	}
	size_t n = (size_t)(end - p) < MAX_SOURCE_LINE ? (size_t)(end - p) : MAX_SOURCE_LINE;
	const char *text = pcs_strtab_intern(&s->snap->strings, p, n);
	if (f->texts)
		f->texts[line - 1] = text;
	return text;
}

static void annotate(struct sources *s, struct pcs_stack *stack)
{
	for (size_t i = 0; i < stack->nframes; i++) {
		struct pcs_frame *fr = &stack->frames[i];
		if (fr->kind != PCS_FRAME_PYTHON || !fr->file || fr->line < 1)
			continue;
		struct source_file *f = file_of(s, fr->file);
		if (f)
			fr->source = line_text(s, f, fr->line);
	}
}

struct pcs_error *pcs_collect_source_lines(struct pcs_snapshot *snap, const char *root)
{
	struct sources s = { .snap = snap, .root = root };
	s.files = calloc(MAX_SOURCE_FILES, sizeof(*s.files));
	s.slots = calloc(NUM_SLOTS, sizeof(*s.slots));
	if (!s.files || !s.slots) {
		free(s.files);
		free(s.slots);
		return &pcs_enomem;
	}
	for (size_t i = 0; i < snap->nthreads; i++)
		annotate(&s, &snap->threads[i].stack);
	for (size_t i = 0; i < snap->ntasks; i++)
		annotate(&s, &snap->tasks[i].stack);
	for (size_t i = 0; i < snap->ngreenlets; i++)
		annotate(&s, &snap->greenlets[i].stack);
	for (size_t i = 0; i < s.nfiles; i++) {
		free(s.files[i].text);
		free(s.files[i].line_starts);
		free(s.files[i].texts);
	}
	free(s.files);
	free(s.slots);
	return NULL;
}
