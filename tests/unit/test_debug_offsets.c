// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// _Py_DebugOffsets are read from the target, so they are untrusted: a sane
// 3.13 block is applied, and each kind of damage is refused.

#include <string.h>

#include "harness.h"
#include "layout/layout.h"
#include "util/error.h"

// CPython 3.13.0's values, at their positions in the struct.
static const struct { unsigned pos; uint64_t value; } values_313[] = {
	{ 8, 0x030d00f0 }, { 24, 283320 }, { 32, 608 }, { 40, 632 },
	{ 48, 194968 }, { 56, 7272 }, { 64, 7264 }, { 72, 7344 }, { 80, 7400 },
	{ 88, 7656 }, { 96, 7640 }, { 104, 7648 }, { 112, 16 }, { 120, 7752 },
	{ 128, 0 }, { 136, 7768 }, { 144, 7760 }, { 152, 304 }, { 160, 0 },
	{ 168, 8 }, { 176, 16 }, { 184, 72 }, { 192, 152 }, { 200, 160 },
	{ 208, 232 }, { 216, 32 }, { 224, 80 }, { 232, 8 }, { 240, 0 },
	{ 248, 56 }, { 256, 72 }, { 264, 70 }, { 272, 208 }, { 280, 112 },
	{ 288, 120 }, { 296, 128 }, { 304, 136 }, { 312, 68 }, { 320, 52 },
	{ 328, 96 }, { 336, 104 }, { 344, 200 }, { 352, 16 }, { 360, 8 },
	{ 368, 416 }, { 376, 24 }, { 384, 88 }, { 392, 168 }, { 400, 32 },
	{ 408, 24 }, { 416, 16 }, { 424, 40 }, { 432, 24 }, { 440, 16 },
	{ 448, 48 }, { 456, 32 }, { 464, 40 }, { 472, 24 }, { 480, 16 },
	{ 488, 32 }, { 496, 16 }, { 504, 24 }, { 512, 40 }, { 520, 16 },
	{ 528, 32 }, { 536, 64 }, { 544, 32 }, { 552, 16 }, { 560, 40 },
	{ 568, 240 }, { 576, 200 },
};

static void build(unsigned char *buf, size_t len)
{
	memset(buf, 0, len);
	memcpy(buf, "xdebugpy", 8);
	for (size_t i = 0; i < sizeof(values_313) / sizeof(values_313[0]); i++)
		memcpy(buf + values_313[i].pos, &values_313[i].value, 8);
}

static void set(unsigned char *buf, unsigned pos, uint64_t value)
{
	memcpy(buf + pos, &value, 8);
}

static int apply(const unsigned char *buf, struct pcs_layout *l)
{
	memset(l, 0, sizeof(*l));
	l->version_hex = 0x030d00f0;
	for (size_t f = 0; f < PCS_NUM_FIELDS; f++)
		l->offset[f] = PCS_OFFSET_ABSENT;
	struct pcs_error *err = pcs_debug_offsets_apply(buf, 1024, l);
	int code = err ? (int)err->code : -1;
	pcs_error_destroy(err);
	return code;
}

void test_debug_offsets(void)
{
	unsigned char buf[1024];
	struct pcs_layout l;
	build(buf, sizeof(buf));
	CHECK_INT(apply(buf, &l), -1);
	CHECK_INT(l.offset[PCS_F_tstate_current_frame], 72);
	CHECK_INT(l.offset[PCS_F_interp_threads_head], 7344);
	CHECK_INT(l.offset[PCS_F_iframe_owner], 70);
	CHECK_INT(l.offset[PCS_F_code_co_code_adaptive], 200);
	// The GIL's fields are given from the interpreter; we want them from
	// the GIL struct.
	CHECK_INT(l.offset[PCS_F_gil_locked], 16);
	CHECK_INT(l.offset[PCS_F_gil_last_holder], 8);
	CHECK_INT(l.struct_size[PCS_S_asciiobject], 40);
	CHECK_INT(l.struct_size[PCS_S_compactunicode], 56);
	CHECK_INT(l.source, PCS_LAYOUT_DEBUG_OFFSETS);

	build(buf, sizeof(buf));
	memcpy(buf, "ydebugpy", 8);
	CHECK_INT(apply(buf, &l), PCS_ERROR_LOOKUP);

	build(buf, sizeof(buf));
	set(buf, 8, 0x030c01f0);	// another version
	CHECK_INT(apply(buf, &l), PCS_ERROR_BAD_DATA);

	build(buf, sizeof(buf));
	set(buf, 184, 400);		// current_frame past sizeof(PyThreadState)
	CHECK_INT(apply(buf, &l), PCS_ERROR_BAD_DATA);

	build(buf, sizeof(buf));
	set(buf, 184, UINT64_MAX - 2);	// offset + width wraps
	CHECK_INT(apply(buf, &l), PCS_ERROR_BAD_DATA);

	build(buf, sizeof(buf));
	set(buf, 312, 69);		// a misaligned int
	CHECK_INT(apply(buf, &l), PCS_ERROR_BAD_DATA);

	build(buf, sizeof(buf));
	set(buf, 120, 7800);		// the GIL's fields before the GIL
	CHECK_INT(apply(buf, &l), PCS_ERROR_BAD_DATA);

	build(buf, sizeof(buf));
	set(buf, 152, 0);		// no size
	CHECK_INT(apply(buf, &l), PCS_ERROR_BAD_DATA);

	build(buf, sizeof(buf));
	set(buf, 48, 1ULL << 40);	// an absurd size
	CHECK_INT(apply(buf, &l), PCS_ERROR_BAD_DATA);

	// A version we have no description for.
	build(buf, sizeof(buf));
	memset(&l, 0, sizeof(l));
	l.version_hex = 0x030c00f0;
	struct pcs_error *err = pcs_debug_offsets_apply(buf, sizeof(buf), &l);
	CHECK(err && err->code == PCS_ERROR_LOOKUP);
	pcs_error_destroy(err);
}
