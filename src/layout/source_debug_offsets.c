// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The target's own _Py_DebugOffsets (CPython 3.13+, PEP 768 era): the first
// member of _PyRuntime, a cookie, the version, and nested structs of uint64
// offsets. The struct does not describe itself, so where each offset sits
// is known per minor version (the tables below); what it holds is untrusted
// and checked: every offset plus its width must fall inside the size the
// same struct declares, and sizes must be sane.

#include <inttypes.h>
#include <string.h>

#include "layout/layout.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"

enum { MAX_DEBUG_OFFSETS = 1024, MAX_STRUCT_SIZE = 1 << 24 };

// Kinds of entries in a debug-offsets description.
enum entry_kind {
	// A struct's size: `pos` holds sizeof(st).
	ENTRY_SIZE,
	// A field: `pos` holds offsetof(st, field).
	ENTRY_FIELD,
	// A field whose stored offset is relative to another struct: the value
	// at `pos` minus the value at `base_pos` (the GIL fields are given
	// relative to the interpreter, we read them relative to the GIL).
	ENTRY_FIELD_REBASED,
	// sizeof(PyCompactUnicodeObject), which 3.13/3.14 do not publish:
	// sizeof(PyASCIIObject) + utf8_length + utf8.
	ENTRY_COMPACT_FROM_ASCII,
};

struct entry {
	enum entry_kind kind;
	uint16_t pos;
	uint16_t base_pos;
	enum pcs_struct st;	// for sizes
	enum pcs_field field;	// for fields
	uint8_t width;
	// The debug-offsets struct whose size bounds this field (its pos).
	uint16_t size_pos;
};

#define SIZE(st_, pos_) { ENTRY_SIZE, pos_, 0, PCS_S_##st_, 0, 0, pos_ }
#define FIELD(st_, f_, pos_, width_, size_pos_) \
	{ ENTRY_FIELD, pos_, 0, PCS_S_##st_, PCS_F_##st_##_##f_, width_, size_pos_ }
#define REBASED(st_, f_, pos_, base_, width_, size_pos_) \
	{ ENTRY_FIELD_REBASED, pos_, base_, PCS_S_##st_, PCS_F_##st_##_##f_, width_, size_pos_ }

// CPython 3.13: Include/internal/pycore_runtime.h, struct _Py_DebugOffsets
// (584 bytes). Positions checked against the DWARF of 3.13.0.
static const struct entry offsets_313[] = {
	SIZE(runtime, 24),
	FIELD(runtime, interpreters_head, 40, 8, 24),
	SIZE(interp, 48),
	FIELD(interp, id, 56, 8, 48),
	FIELD(interp, next, 64, 8, 48),
	FIELD(interp, threads_head, 72, 8, 48),
	FIELD(interp, modules, 88, 8, 48),
	FIELD(interp, ceval_gil, 112, 8, 48),
	REBASED(gil, locked, 136, 120, 4, 48),
	REBASED(gil, last_holder, 144, 120, 8, 48),
	SIZE(tstate, 152),
	FIELD(tstate, next, 168, 8, 152),
	FIELD(tstate, interp, 176, 8, 152),
	FIELD(tstate, current_frame, 184, 8, 152),
	FIELD(tstate, thread_id, 192, 8, 152),
	FIELD(tstate, native_thread_id, 200, 8, 152),
	SIZE(iframe, 224),
	FIELD(iframe, previous, 232, 8, 224),
	FIELD(iframe, executable, 240, 8, 224),
	FIELD(iframe, instr_ptr, 248, 8, 224),
	FIELD(iframe, owner, 264, 1, 224),
	SIZE(code, 272),
	FIELD(code, co_filename, 280, 8, 272),
	FIELD(code, co_name, 288, 8, 272),
	FIELD(code, co_qualname, 296, 8, 272),
	FIELD(code, co_linetable, 304, 8, 272),
	FIELD(code, co_firstlineno, 312, 4, 272),
	FIELD(code, co_code_adaptive, 344, 2, 272),
	SIZE(object, 352),
	FIELD(object, ob_type, 360, 8, 352),
	SIZE(type, 368),
	FIELD(type, tp_flags, 392, 8, 368),
	SIZE(dict, 448),
	FIELD(dict, ma_keys, 456, 8, 448),
	FIELD(dict, ma_values, 464, 8, 448),
	SIZE(long, 488),
	FIELD(long, lv_tag, 496, 8, 488),
	FIELD(long, ob_digit, 504, 4, 488),
	SIZE(bytes, 512),
	FIELD(varobject, ob_size, 520, 8, 512),
	FIELD(bytes, ob_sval, 528, 1, 512),
	FIELD(asciiobject, state, 544, 4, 536),
	FIELD(asciiobject, length, 552, 8, 536),
	SIZE(asciiobject, 560),
	{ ENTRY_COMPACT_FROM_ASCII, 560, 0, PCS_S_compactunicode, 0, 0, 560 },
};

// CPython 3.14 (760 bytes): 3.13's fields plus threads_main, tlbc and
// stackpointer fields, set, gen and debugger groups. Positions from the
// DWARF of Debian's 3.14.10.
static const struct entry offsets_314[] = {
	SIZE(runtime, 24),
	FIELD(runtime, interpreters_head, 40, 8, 24),
	SIZE(interp, 48),
	FIELD(interp, id, 56, 8, 48),
	FIELD(interp, next, 64, 8, 48),
	FIELD(interp, threads_head, 72, 8, 48),
	FIELD(interp, modules, 96, 8, 48),
	FIELD(interp, ceval_gil, 120, 8, 48),
	REBASED(gil, locked, 144, 128, 4, 48),
	REBASED(gil, last_holder, 152, 128, 8, 48),
	SIZE(tstate, 176),
	FIELD(tstate, next, 192, 8, 176),
	FIELD(tstate, interp, 200, 8, 176),
	FIELD(tstate, current_frame, 208, 8, 176),
	FIELD(tstate, thread_id, 216, 8, 176),
	FIELD(tstate, native_thread_id, 224, 8, 176),
	SIZE(iframe, 248),
	FIELD(iframe, previous, 256, 8, 248),
	FIELD(iframe, executable, 264, 8, 248),
	FIELD(iframe, instr_ptr, 272, 8, 248),
	FIELD(iframe, owner, 288, 1, 248),
	FIELD(iframe, stackpointer, 296, 8, 248),
	SIZE(code, 312),
	FIELD(code, co_filename, 320, 8, 312),
	FIELD(code, co_name, 328, 8, 312),
	FIELD(code, co_qualname, 336, 8, 312),
	FIELD(code, co_linetable, 344, 8, 312),
	FIELD(code, co_firstlineno, 352, 4, 312),
	FIELD(code, co_code_adaptive, 384, 2, 312),
	SIZE(object, 400),
	FIELD(object, ob_type, 408, 8, 400),
	SIZE(type, 416),
	FIELD(type, tp_flags, 440, 8, 416),
	SIZE(dict, 528),
	FIELD(dict, ma_keys, 536, 8, 528),
	FIELD(dict, ma_values, 544, 8, 528),
	SIZE(long, 568),
	FIELD(long, lv_tag, 576, 8, 568),
	FIELD(long, ob_digit, 584, 4, 568),
	SIZE(bytes, 592),
	FIELD(varobject, ob_size, 600, 8, 592),
	FIELD(bytes, ob_sval, 608, 1, 592),
	FIELD(asciiobject, state, 624, 4, 616),
	FIELD(asciiobject, length, 632, 8, 616),
	SIZE(asciiobject, 640),
	{ ENTRY_COMPACT_FROM_ASCII, 640, 0, PCS_S_compactunicode, 0, 0, 640 },
	SIZE(set, 496),
	FIELD(set, table, 512, 8, 496),
	FIELD(set, mask, 520, 8, 496),
	SIZE(gen, 664),
	FIELD(gen, gi_iframe, 680, 8, 664),
	FIELD(gen, gi_frame_state, 688, 1, 664),
};

// CPython 3.15 (888 bytes): the thread state gains base_frame and profiling
// fields, the type object tp_basicsize/tp_dictoffset, a heap-type group, and
// the str group sizeof(PyCompactUnicodeObject). Positions from the DWARF of
// Debian's 3.15.2.
static const struct entry offsets_315[] = {
	SIZE(runtime, 24),
	FIELD(runtime, interpreters_head, 40, 8, 24),
	SIZE(interp, 48),
	FIELD(interp, id, 56, 8, 48),
	FIELD(interp, next, 64, 8, 48),
	FIELD(interp, threads_head, 72, 8, 48),
	FIELD(interp, modules, 96, 8, 48),
	FIELD(interp, ceval_gil, 120, 8, 48),
	REBASED(gil, locked, 144, 128, 4, 48),
	REBASED(gil, last_holder, 152, 128, 8, 48),
	SIZE(tstate, 176),
	FIELD(tstate, next, 192, 8, 176),
	FIELD(tstate, interp, 200, 8, 176),
	FIELD(tstate, current_frame, 208, 8, 176),
	FIELD(tstate, thread_id, 240, 8, 176),
	FIELD(tstate, native_thread_id, 248, 8, 176),
	SIZE(iframe, 312),
	FIELD(iframe, previous, 320, 8, 312),
	FIELD(iframe, executable, 328, 8, 312),
	FIELD(iframe, instr_ptr, 336, 8, 312),
	FIELD(iframe, owner, 352, 1, 312),
	FIELD(iframe, stackpointer, 360, 8, 312),
	SIZE(code, 376),
	FIELD(code, co_filename, 384, 8, 376),
	FIELD(code, co_name, 392, 8, 376),
	FIELD(code, co_qualname, 400, 8, 376),
	FIELD(code, co_linetable, 408, 8, 376),
	FIELD(code, co_firstlineno, 416, 4, 376),
	FIELD(code, co_code_adaptive, 448, 2, 376),
	SIZE(object, 464),
	FIELD(object, ob_type, 472, 8, 464),
	SIZE(type, 480),
	FIELD(type, tp_flags, 504, 8, 480),
	FIELD(type, tp_basicsize, 512, 8, 480),
	FIELD(type, tp_dictoffset, 520, 8, 480),
	SIZE(heaptype, 528),
	FIELD(heaptype, ht_cached_keys, 536, 8, 528),
	SIZE(dict, 624),
	FIELD(dict, ma_keys, 632, 8, 624),
	FIELD(dict, ma_values, 640, 8, 624),
	SIZE(long, 664),
	FIELD(long, lv_tag, 672, 8, 664),
	FIELD(long, ob_digit, 680, 4, 664),
	SIZE(bytes, 688),
	FIELD(varobject, ob_size, 696, 8, 688),
	FIELD(bytes, ob_sval, 704, 1, 688),
	FIELD(asciiobject, state, 720, 4, 712),
	FIELD(asciiobject, length, 728, 8, 712),
	SIZE(asciiobject, 736),
	SIZE(compactunicode, 744),
	SIZE(set, 592),
	FIELD(set, table, 608, 8, 592),
	FIELD(set, mask, 616, 8, 592),
	SIZE(gen, 792),
	FIELD(gen, gi_iframe, 808, 8, 792),
	FIELD(gen, gi_frame_state, 816, 1, 792),
};

static const struct {
	unsigned major, minor;
	uint64_t struct_size;
	const struct entry *entries;
	size_t count;
} descriptions[] = {
	{ 3, 13, 584, offsets_313, sizeof(offsets_313) / sizeof(offsets_313[0]) },
	{ 3, 14, 760, offsets_314, sizeof(offsets_314) / sizeof(offsets_314[0]) },
	{ 3, 15, 888, offsets_315, sizeof(offsets_315) / sizeof(offsets_315[0]) },
};

static uint64_t word(const unsigned char *buf, size_t pos)
{
	uint64_t v;
	memcpy(&v, buf + pos, 8);
	return v;
}

struct pcs_error *pcs_debug_offsets_apply(const unsigned char *buf, size_t len,
					  struct pcs_layout *l)
{
	unsigned major = l->version_hex >> 24, minor = (l->version_hex >> 16) & 0xff;
	size_t d = 0, nd = sizeof(descriptions) / sizeof(descriptions[0]);
	while (d < nd && (descriptions[d].major != major || descriptions[d].minor != minor))
		d++;
	if (d == nd)
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"CPython %u.%u has no debug offsets we can read",
					major, minor);
	if (len < descriptions[d].struct_size || memcmp(buf, "xdebugpy", 8) != 0)
		return pcs_error_create(PCS_ERROR_LOOKUP, "no debug offsets cookie");
	if ((uint32_t)word(buf, 8) != l->version_hex)
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"debug offsets are for version 0x%" PRIx64
					", not 0x%x", word(buf, 8), l->version_hex);
	for (size_t i = 0; i < descriptions[d].count; i++) {
		const struct entry *e = &descriptions[d].entries[i];
		uint64_t size = word(buf, e->size_pos), v = word(buf, e->pos);
		if (size == 0 || size > MAX_STRUCT_SIZE)
			return pcs_error_create(PCS_ERROR_BAD_DATA,
						"debug offsets: bad struct size %" PRIu64
						" at +%u", size, e->size_pos);
		switch (e->kind) {
		case ENTRY_SIZE:
			l->struct_size[e->st] = v;
			break;
		case ENTRY_COMPACT_FROM_ASCII:
			l->struct_size[e->st] = v + 16;
			break;
		case ENTRY_FIELD_REBASED: {
			// Both the field and its base are inside the struct that
			// holds them, the field after the base.
			uint64_t base = word(buf, e->base_pos);
			if (v > size || e->width > size - v || base > v || v % e->width)
				goto bad;
			l->offset[e->field] = (int64_t)(v - base);
			l->width[e->field] = e->width;
			break;
		}
		case ENTRY_FIELD:
			if (v > size || e->width > size - v || v % e->width)
				goto bad;
			l->offset[e->field] = (int64_t)v;
			l->width[e->field] = e->width;
			break;
		}
		continue;
bad:
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"debug offsets: field '%s' at %" PRIu64
					" does not fit its struct (%" PRIu64 " bytes)",
					pcs_field_name(e->field), v, size);
	}
	l->source = PCS_LAYOUT_DEBUG_OFFSETS;
	return NULL;
}

struct pcs_error *pcs_layout_from_debug_offsets(struct pcs_target *t,
						struct pcs_symbols *s,
						struct pcs_layout *l)
{
	pcs_addr_t runtime;
	if (!pcs_symbols_python_runtime(s, &runtime))
		return pcs_error_create(PCS_ERROR_LOOKUP, "no _PyRuntime");
	unsigned char buf[MAX_DEBUG_OFFSETS];
	struct pcs_error *err = pcs_target_read(t, runtime, buf, sizeof(buf));
	if (err)
		return err;
	// Check them before anything else is done with them.
	struct pcs_layout scratch = *l;
	if ((err = pcs_debug_offsets_apply(buf, sizeof(buf), &scratch)))
		return err;

	// What the offsets do not cover (dict internals, instance layout,
	// _co_firsttraceable) comes from the committed table for a release
	// build, or from DWARF when there is some (debug builds).
	unsigned major = l->version_hex >> 24, minor = (l->version_hex >> 16) & 0xff;
	struct pcs_error *under = l->debug_build
		? pcs_error_create(PCS_ERROR_LOOKUP, "no table for debug builds")
		: pcs_layout_from_table(major, minor, l, NULL);
	// Loaded only then: reading a distribution's DWARF costs tens of ms.
	Dwarf *dw = under ? pcs_symbols_python_dwarf(s) : NULL;
	if (under && dw) {
		pcs_error_destroy(under);
		under = pcs_layout_from_dwarf(dw, l);
	}
	if (under == &pcs_enomem)
		return under;
	if (under) {
		pcs_error_destroy(under);
		memset(l->struct_size, 0, sizeof(l->struct_size));
		memset(l->width, 0, sizeof(l->width));
		for (size_t f = 0; f < PCS_NUM_FIELDS; f++)
			l->offset[f] = PCS_OFFSET_ABSENT;
	}
	return pcs_debug_offsets_apply(buf, sizeof(buf), l);
}
