// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Which CPython the target runs, and which layout source describes it.

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"
#include "util/strbuf.h"

static const char *const source_names[PCS_NUM_LAYOUT_SOURCES] = {
	[PCS_LAYOUT_DEBUG_OFFSETS] = "debug-offsets",
	[PCS_LAYOUT_DWARF] = "dwarf",
	[PCS_LAYOUT_BUILTIN] = "builtin",
};

static const char *const field_names[] = {
#define PCS_STRUCT(id, names)
#define PCS_FIELD(st, id, paths) #st "." #id,
#include "layout/fields.def"
#undef PCS_STRUCT
#undef PCS_FIELD
};

static const enum pcs_struct field_struct[] = {
#define PCS_STRUCT(id, names)
#define PCS_FIELD(st, id, paths) PCS_S_##st,
#include "layout/fields.def"
#undef PCS_STRUCT
#undef PCS_FIELD
};

static const char *const struct_ids[] = {
#define PCS_STRUCT(id, names) #id,
#define PCS_FIELD(st, id, paths)
#include "layout/fields.def"
#undef PCS_STRUCT
#undef PCS_FIELD
};

const char *pcs_layout_source_name(enum pcs_layout_source source)
{
	return source < PCS_NUM_LAYOUT_SOURCES ? source_names[source] : "auto";
}

bool pcs_layout_source_parse(const char *name, enum pcs_layout_source *ret)
{
	if (strcmp(name, "auto") == 0) {
		*ret = PCS_LAYOUT_AUTO;
		return true;
	}
	for (int i = 0; i < PCS_NUM_LAYOUT_SOURCES; i++) {
		if (strcmp(name, source_names[i]) == 0) {
			*ret = (enum pcs_layout_source)i;
			return true;
		}
	}
	return false;
}

const char *pcs_field_name(enum pcs_field field)
{
	return field_names[field];
}

const char *pcs_struct_name(enum pcs_struct st)
{
	return struct_ids[st];
}

void pcs_layout_destroy(struct pcs_layout *layout)
{
	free(layout);
}

static void format_hex_version(uint32_t hex, char *out, size_t n)
{
	unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
	const char *lv = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";
	if (level == 0xf || !*lv)
		snprintf(out, n, "%u.%u.%u", hex >> 24, (hex >> 16) & 0xff,
			 (hex >> 8) & 0xff);
	else
		snprintf(out, n, "%u.%u.%u%s%u", hex >> 24, (hex >> 16) & 0xff,
			 (hex >> 8) & 0xff, lv, serial);
}

// PY_VERSION_HEX from the text of sys.version ("3.8.18 (default, ...").
static bool parse_version_text(const char *text, uint32_t *hex, char *out,
			       size_t n)
{
	unsigned major, minor, micro;
	int used = 0;
	if (sscanf(text, "%u.%u.%u%n", &major, &minor, &micro, &used) != 3 ||
	    major > 9 || minor > 99 || micro > 99)
		return false;
	size_t len = strcspn(text, " ");
	if (len >= n)
		len = n - 1;
	memcpy(out, text, len);
	out[len] = '\0';
	unsigned level = 0xf, serial = 0;
	const char *rest = text + used;
	if (rest[0] == 'a' || rest[0] == 'b')
		level = rest[0] == 'a' ? 0xa : 0xb, serial = (unsigned)atoi(rest + 1);
	else if (rest[0] == 'r' && rest[1] == 'c')
		level = 0xc, serial = (unsigned)atoi(rest + 2);
	*hex = major << 24 | minor << 16 | micro << 8 | level << 4 | (serial & 0xf);
	return true;
}

// Look for sys.version's text in [addr, addr + size): a NUL-preceded
// "X.Y.Z... (" with a major version CPython has had.
static bool scan_version(struct pcs_target *t, pcs_addr_t addr, uint64_t size,
			 struct pcs_layout *l)
{
	enum { CHUNK = 65536, OVERLAP = 64, MAX_SCAN = 64 << 20 };
	char *buf = malloc(CHUNK + OVERLAP + 1);
	bool found = false;
	if (!buf)
		return false;
	if (size > MAX_SCAN)
		size = MAX_SCAN;
	for (uint64_t off = 0; off < size && !found; off += CHUNK) {
		size_t n = size - off < CHUNK + OVERLAP ? (size_t)(size - off)
							: CHUNK + OVERLAP;
		struct pcs_error *err = pcs_target_read(t, addr + off, buf, n);
		if (err) {
			pcs_error_destroy(err);
			continue;
		}
		buf[n] = '\0';
		for (size_t i = 0; i + 8 < n && i < CHUNK && !found; i++) {
			if ((buf[i] != '2' && buf[i] != '3') || buf[i + 1] != '.' ||
			    (i > 0 && buf[i - 1] != '\0'))
				continue;
			const char *space = memchr(buf + i, ' ', n - i < 24 ? n - i : 24);
			if (!space || space[1] != '(')
				continue;
			found = parse_version_text(buf + i, &l->version_hex, l->version,
						   sizeof(l->version));
		}
	}
	free(buf);
	return found;
}

// The version, from the most to the least authoritative witness.
static struct pcs_error *detect_version(struct pcs_target *t,
					struct pcs_symbols *s,
					struct pcs_layout *l)
{
	pcs_addr_t addr;
	uint64_t size;
	// 3.13+: _PyRuntime starts with _Py_DebugOffsets: cookie, version.
	if (pcs_symbols_python_runtime(s, &addr)) {
		unsigned char buf[16];
		struct pcs_error *err = pcs_target_read(t, addr, buf, sizeof(buf));
		if (!err && memcmp(buf, "xdebugpy", 8) == 0) {
			uint64_t hex, free_threaded = 0;
			memcpy(&hex, buf + 8, 8);
			err = pcs_target_read(t, addr + 16, &free_threaded, 8);
			l->free_threaded = !err && free_threaded == 1;
			if (hex >> 24 == 3) {
				l->version_hex = (uint32_t)hex;
				format_hex_version(l->version_hex, l->version,
						   sizeof(l->version));
				return NULL;
			}
		}
		pcs_error_destroy(err);
	}
	// 3.11+: Py_Version.
	if (pcs_symbols_lookup(s, "Py_Version", &addr, NULL)) {
		uint32_t hex;
		struct pcs_error *err = pcs_target_read(t, addr, &hex, sizeof(hex));
		if (!err && (hex >> 24) == 3) {
			l->version_hex = hex;
			format_hex_version(hex, l->version, sizeof(l->version));
			return NULL;
		}
		pcs_error_destroy(err);
	}
	// Any version: the buffer Py_GetVersion() fills at start-up.
	static const char *const buffers[] = { "version", "version.0" };
	for (size_t i = 0; i < 2; i++) {
		if (!pcs_symbols_lookup(s, buffers[i], &addr, &size) || size < 8)
			continue;
		char text[64];
		struct pcs_error *err = pcs_target_read(t, addr, text, sizeof(text) - 1);
		if (err) {
			pcs_error_destroy(err);
			continue;
		}
		text[sizeof(text) - 1] = '\0';
		if (parse_version_text(text, &l->version_hex, l->version,
				       sizeof(l->version)))
			return NULL;
	}
	// Fully stripped builds: that buffer is still in .bss (or .data), found
	// by its shape: "3.8.18 (default, ...".
	static const char *const sections[] = { ".bss", ".data" };
	for (size_t i = 0; i < 2; i++) {
		if (!pcs_symbols_section(s, sections[i], &addr, &size))
			continue;
		if (scan_version(t, addr, size, l))
			return NULL;
	}
	return pcs_error_create(PCS_ERROR_LOOKUP,
				"cannot tell the Python version of '%s'",
				pcs_symbols_python_path(s));
}

// The fields the walkers cannot do without, given the properties.
static struct pcs_error *check_required(const struct pcs_layout *l)
{
	static const enum pcs_field always[] = {
		PCS_F_interp_next, PCS_F_interp_threads_head,
		PCS_F_tstate_next, PCS_F_tstate_interp, PCS_F_tstate_thread_id,
		PCS_F_code_co_filename, PCS_F_code_co_name,
		PCS_F_code_co_firstlineno, PCS_F_code_co_linetable,
		PCS_F_object_ob_type, PCS_F_varobject_ob_size,
	};
	static const enum pcs_field pep393[] = {
		PCS_F_asciiobject_length, PCS_F_asciiobject_state, PCS_F_bytes_ob_sval,
	};
	static const enum pcs_field py2[] = {
		PCS_F_py2string_ob_sval, PCS_F_py2unicode_length, PCS_F_py2unicode_str,
	};
	static const enum pcs_field frame_object[] = {
		PCS_F_tstate_frame, PCS_F_frameobj_f_back, PCS_F_frameobj_f_code,
		PCS_F_frameobj_f_lasti,
	};
	static const enum pcs_field iframe[] = {
		PCS_F_iframe_previous, PCS_F_iframe_executable,
		PCS_F_iframe_instr_ptr, PCS_F_iframe_owner,
		PCS_F_code_co_code_adaptive,
	};
	static const enum pcs_field cframe[] = {
		PCS_F_tstate_cframe, PCS_F_cframe_current_frame,
	};
	static const enum pcs_field runtime[] = { PCS_F_runtime_interpreters_head };
	struct { const enum pcs_field *f; size_t n; bool on; } groups[] = {
		{ always, sizeof(always) / sizeof(*always), true },
		{ pep393, sizeof(pep393) / sizeof(*pep393),
		  l->props.strings == PCS_STR_PEP393 },
		{ py2, sizeof(py2) / sizeof(*py2), l->props.strings == PCS_STR_PY2 },
		{ frame_object, sizeof(frame_object) / sizeof(*frame_object),
		  l->props.frames == PCS_FRAMES_FRAME_OBJECT },
		{ iframe, sizeof(iframe) / sizeof(*iframe),
		  l->props.frames != PCS_FRAMES_FRAME_OBJECT },
		{ cframe, sizeof(cframe) / sizeof(*cframe),
		  l->props.frames == PCS_FRAMES_CFRAME },
		{ &(enum pcs_field){ PCS_F_tstate_current_frame }, 1,
		  l->props.frames == PCS_FRAMES_IFRAME },
		{ runtime, 1, l->props.root == PCS_ROOT_RUNTIME },
	};
	for (size_t g = 0; g < sizeof(groups) / sizeof(*groups); g++) {
		for (size_t i = 0; groups[g].on && i < groups[g].n; i++) {
			if (!pcs_layout_has(l, groups[g].f[i]))
				return pcs_error_create(PCS_ERROR_LOOKUP,
							"field '%s' not found",
							pcs_field_name(groups[g].f[i]));
		}
	}
	if (l->props.strings == PCS_STR_PEP393 &&
	    (!l->struct_size[PCS_S_asciiobject] || !l->struct_size[PCS_S_compactunicode]))
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"size of the str object structs not found");
	return NULL;
}

// Try one source; on success the layout has every field it could give and
// all the walkers need.
static struct pcs_error *try_source(struct pcs_target *t, struct pcs_symbols *s,
				    enum pcs_layout_source source,
				    struct pcs_layout *l)
{
	struct pcs_error *err;
	switch (source) {
	case PCS_LAYOUT_DEBUG_OFFSETS:
		err = pcs_layout_from_debug_offsets(t, s, l);
		break;
	case PCS_LAYOUT_DWARF: {
		Dwarf *dw = pcs_symbols_python_dwarf(s);
		if (!dw)
			return pcs_error_create(PCS_ERROR_LOOKUP,
						"no DWARF debug info for '%s'",
						pcs_symbols_python_path(s));
		err = pcs_layout_from_dwarf(dw, l);
		// _asyncio's structs are in its own module (when it is one).
		Dwarf *aio = pcs_symbols_module_dwarf(s, "_asyncio");
		if (!err && aio)
			pcs_layout_merge_dwarf(aio, l);
		break;
	}
	case PCS_LAYOUT_BUILTIN:
		// The tables describe release builds; a debug build's structs
		// differ.
		if (l->debug_build)
			return pcs_error_create(PCS_ERROR_UNSUPPORTED,
						"no built-in table for debug builds");
		err = pcs_layout_from_table(l->version_hex >> 24,
					    (l->version_hex >> 16) & 0xff, l, NULL);
		break;
	default:
		return pcs_error_create(PCS_ERROR_LOOKUP, "unknown layout source");
	}
	if (!err)
		err = check_required(l);
	if (!err)
		l->source = source;
	return err;
}

// What pcs_layout_select_ahead() leaves to its thread, and what it read.
struct pcs_layout_check {
	pthread_t thread;
	struct pcs_target *target;
	struct pcs_symbols *symbols;
	/* The interpreter's files, then _asyncio's (pcs_symbols_types_files()). */
	char *files[4];
	bool has_asyncio;
	/* The layout the DWARF gives, so far; what the thread could read. */
	struct pcs_layout *dwarf;
	bool read, asyncio_read;
	/* What the sources were tried on (the version's properties). */
	struct pcs_layout base;
	/* The layout handed out, as it was then. */
	struct pcs_layout table;
};

static bool same_layout(const struct pcs_layout *a, const struct pcs_layout *b)
{
	return memcmp(a->struct_size, b->struct_size, sizeof(a->struct_size)) == 0 &&
	       memcmp(a->offset, b->offset, sizeof(a->offset)) == 0 &&
	       memcmp(a->width, b->width, sizeof(a->width)) == 0;
}

// The thread: what try_source() does with DWARF, as far as it needs no
// symbol session (libdwfl is not to be used by two threads).
static void *read_dwarf(void *arg)
{
	struct pcs_layout_check *c = arg;
	struct pcs_types_dwarf *td = pcs_symbols_open_types(c->files[0], c->files[1]);
	if (!td)
		return NULL;
	pcs_layout_from_dwarf(pcs_types_dwarf_get(td), c->dwarf);
	pcs_types_dwarf_close(td);
	c->read = true;
	if (c->has_asyncio && (td = pcs_symbols_open_types(c->files[2], c->files[3]))) {
		pcs_layout_merge_dwarf(pcs_types_dwarf_get(td), c->dwarf);
		pcs_types_dwarf_close(td);
		c->asyncio_read = true;
	}
	return NULL;
}

void pcs_layout_check_destroy(struct pcs_layout_check *c)
{
	if (!c)
		return;
	pthread_join(c->thread, NULL);
	for (size_t i = 0; i < sizeof(c->files) / sizeof(c->files[0]); i++)
		free(c->files[i]);
	free(c->dwarf);
	free(c);
}

// Before DWARF is tried on @p l: when the table has a layout too, hand out
// the table's in @p l (*@p check set, the DWARF read by a thread). NULL
// with *@p check NULL when not: DWARF is tried now.
static struct pcs_error *start_check(struct pcs_target *t, struct pcs_symbols *s,
				     struct pcs_layout *l, struct pcs_layout_check **check)
{
	*check = NULL;
	struct pcs_layout_check *c = calloc(1, sizeof(*c));
	struct pcs_layout *table = malloc(sizeof(*table));
	if (c)
		c->dwarf = malloc(sizeof(*c->dwarf));
	if (!c || !table || !c->dwarf) {
		free(table);
		if (c)
			free(c->dwarf);
		free(c);
		return &pcs_enomem;
	}
	*table = *c->dwarf = c->base = *l;
	c->target = t;
	c->symbols = s;
	// Only where there is DWARF to read: else the table's layout is final
	// at once.
	bool ahead = pcs_symbols_types_files(s, NULL, &c->files[0], &c->files[1]) &&
		     pcs_symbols_probe_types(c->files[0], c->files[1]);
	if (ahead)
		c->has_asyncio = pcs_symbols_types_files(s, "_asyncio", &c->files[2],
							 &c->files[3]);
	struct pcs_error *err = ahead ? try_source(t, s, PCS_LAYOUT_BUILTIN, table) : NULL;
	// The table has _asyncio's structs too, which the DWARF has only from
	// _asyncio's module (unless the interpreter has it built in: then the
	// guess is wrong, pcs_layout_settle() finds it so).
	for (size_t i = 0; !err && !c->has_asyncio && i < PCS_NUM_FIELDS; i++) {
		if (field_struct[i] == PCS_S_task || field_struct[i] == PCS_S_runningloopholder) {
			table->offset[i] = PCS_OFFSET_ABSENT;
			table->width[i] = 0;
		}
	}
	if (!err && !c->has_asyncio)
		table->struct_size[PCS_S_task] = table->struct_size[PCS_S_runningloopholder] = 0;
	if (ahead && !err && pthread_create(&c->thread, NULL, read_dwarf, c) == 0) {
		*l = *table;
		*check = c;
	} else {
		for (size_t i = 0; i < sizeof(c->files) / sizeof(c->files[0]); i++)
			free(c->files[i]);
		free(c->dwarf);
		free(c);
	}
	free(table);
	if (err == &pcs_enomem)
		return err;
	pcs_error_destroy(err);
	return NULL;
}

// The tail of pcs_layout_select(), whatever the source: _asyncio
// describes its own structs (3.14+). If that is damaged, tasks are not
// read; thread stacks still are.
static struct pcs_error *add_asyncio_debug(struct pcs_target *t, struct pcs_symbols *s,
					   struct pcs_layout *l)
{
	struct pcs_error *err = pcs_layout_add_asyncio_debug(t, s, l);
	if (err && err != &pcs_enomem) {
		pcs_error_destroy(err);
		err = NULL;
		l->offset[PCS_F_task_task_node] = PCS_OFFSET_ABSENT;
	}
	return err;
}

struct pcs_error *pcs_layout_settle(struct pcs_layout_check *c, struct pcs_layout *l,
				    struct pcs_layout **redo)
{
	*redo = NULL;
	pthread_join(c->thread, NULL);
	struct pcs_layout *d = c->dwarf;
	struct pcs_error *err;
	if (!c->read) {
		// DWARF of a kind the thread does not read (libdwfl's own
		// opening does), or none: as pcs_layout_select() tries it.
		err = try_source(c->target, c->symbols, PCS_LAYOUT_DWARF, d);
	} else {
		Dwarf *aio = !c->asyncio_read ? pcs_symbols_module_dwarf(c->symbols, "_asyncio")
					      : NULL;
		if (aio)
			pcs_layout_merge_dwarf(aio, d);
		err = check_required(d);
		if (!err)
			d->source = PCS_LAYOUT_DWARF;
	}
	bool dwarf = !err;
	if (err && err != &pcs_enomem) {
		// No DWARF that does: the table's layout is the one, whole (as
		// pcs_layout_select() finds it; what was handed out may lack
		// _asyncio's structs).
		pcs_error_destroy(err);
		*d = c->base;
		err = try_source(c->target, c->symbols, PCS_LAYOUT_BUILTIN, d);
	}
	if (!err)
		err = add_asyncio_debug(c->target, c->symbols, d);
	if (err)
		goto out;
	if (!same_layout(d, &c->table)) {
		*redo = d;
		c->dwarf = NULL;
	} else if (dwarf) {
		l->source = PCS_LAYOUT_DWARF;
	}
out:
	for (size_t i = 0; i < sizeof(c->files) / sizeof(c->files[0]); i++)
		free(c->files[i]);
	free(c->dwarf);
	free(c);
	return err;
}

static struct pcs_error *select_layout(struct pcs_target *t, struct pcs_symbols *s,
				       enum pcs_layout_source wanted,
				       struct pcs_layout_check **check,
				       struct pcs_layout **ret)
{
	struct pcs_layout *l = calloc(1, sizeof(*l));
	if (!l)
		return &pcs_enomem;
	struct pcs_error *err = detect_version(t, s, l);
	if (err)
		goto fail;
	// Defined only where Py_REF_DEBUG is, which Py_DEBUG implies.
	pcs_addr_t addr;
	l->debug_build = pcs_symbols_lookup(s, "_Py_NegativeRefcount", &addr, NULL);
	if (l->free_threaded) {
		err = pcs_error_create(PCS_ERROR_UNSUPPORTED,
				       "free-threaded CPython %s is not supported yet",
				       l->version);
		goto fail;
	}
	const struct pcs_python_props *props =
		pcs_python_props_find(l->version_hex >> 24, (l->version_hex >> 16) & 0xff);
	if (!props) {
		err = pcs_error_create(PCS_ERROR_UNSUPPORTED,
				       "unsupported CPython version '%s'", l->version);
		goto fail;
	}
	l->props = *props;

	if (wanted != PCS_LAYOUT_AUTO) {
		err = try_source(t, s, wanted, l);
		if (err)
			err = pcs_error_prefix(err, "layout source '%s' for CPython %s",
					       pcs_layout_source_name(wanted), l->version);
	} else {
		// In order of authority; the reasons each failed make the
		// message when none works.
		struct pcs_strbuf why = PCS_STRBUF_INIT;
		bool found = false;
		for (int src = 0; src < PCS_NUM_LAYOUT_SOURCES && !found; src++) {
			if (src == PCS_LAYOUT_DWARF && check) {
				if ((err = start_check(t, s, l, check)))
					break;
				if (*check) {
					found = true;
					break;
				}
			}
			err = try_source(t, s, (enum pcs_layout_source)src, l);
			if (!err)
				found = true;
			else if (err == &pcs_enomem)
				break;
			else {
				pcs_strbuf_addf(&why, "%s%s: %s", why.len ? "; " : "",
						pcs_layout_source_name((enum pcs_layout_source)src),
						err->message);
				pcs_error_destroy(err);
				err = NULL;
			}
		}
		if (!found && !err)
			err = pcs_error_create(PCS_ERROR_LOOKUP,
					       "no layout for CPython %s (%s)", l->version,
					       why.buf ? why.buf : "");
		pcs_strbuf_deinit(&why);
	}
	if (!err)
		err = add_asyncio_debug(t, s, l);
	if (err)
		goto fail;
	if (check && *check)
		(*check)->table = *l;
	*ret = l;
	return NULL;
fail:
	if (check) {
		pcs_layout_check_destroy(*check);
		*check = NULL;
	}
	free(l);
	return err;
}

struct pcs_error *pcs_layout_select(struct pcs_target *t, struct pcs_symbols *s,
				    enum pcs_layout_source wanted,
				    struct pcs_layout **ret)
{
	return select_layout(t, s, wanted, NULL, ret);
}

struct pcs_error *pcs_layout_select_ahead(struct pcs_target *t, struct pcs_symbols *s,
					  enum pcs_layout_source wanted,
					  struct pcs_layout_check **check,
					  struct pcs_layout **ret)
{
	*check = NULL;
	return select_layout(t, s, wanted, check, ret);
}
