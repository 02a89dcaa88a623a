// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// What each CPython minor version does differently, as named properties.
// Offsets are not here (they come from a layout source); behaviour is.

#include <stddef.h>

#include "layout/layout.h"

#define COMMON_36_TO_310                                  \
	.running_loop = PCS_RUNNING_LOOP_DICT_HOLDER,     \
	.asyncio_weakset = "_all_tasks",                  \
	.resume_opcode = 72, /* YIELD_FROM */             \
	.instdict = PCS_INSTDICT_DICTOFFSET,              \
	.dict = PCS_DICT_DK_SIZE,                         \
	.longs = PCS_LONG_OB_SIZE,                        \
	.frames = PCS_FRAMES_FRAME_OBJECT,                \
	.owner_c_first = -1, .owner_generator = -1,        \
	.strings = PCS_STR_PEP393,                        \
	.locals = PCS_LOCALS_VARNAMES,                    \
	.thread_name_attr = "_name"

#define COMMON_314_UP                                                      \
	.root = PCS_ROOT_RUNTIME, .frames = PCS_FRAMES_IFRAME,             \
	.instr = PCS_INSTR_POINTER, .linetable = PCS_LINETABLE_LOCATIONS,  \
	.lineno = PCS_LINENO_TABLE, .owner_c_first = 3, .owner_generator = 1, \
	.skip_incomplete = true, .executable_tag_bits = 3,                 \
	.gil = PCS_GIL_INTERP_POINTER, .dict = PCS_DICT_DK_LOG2,           \
	.instdict = PCS_INSTDICT_INLINE_313, .longs = PCS_LONG_LV_TAG,     \
	.strings = PCS_STR_PEP393, .thread_name_attr = "_name",          \
	.asyncio = PCS_ASYNCIO_LLIST, .yf = PCS_YF_STACKPOINTER,           \
	.running_loop = PCS_RUNNING_LOOP_TSTATE, .gc = PCS_GC_INTERP,      \
	.locals = PCS_LOCALS_KINDS

static const struct pcs_python_props versions[] = {
	// 2.7: byte-string names, unsigned lnotab increments, old dicts,
	// threading's name-mangled Thread.__name.
	{ 2, 7, .root = PCS_ROOT_INTERP_HEAD, .frames = PCS_FRAMES_FRAME_OBJECT,
	  .instr = PCS_INSTR_LASTI_BYTES, .linetable = PCS_LINETABLE_LNOTAB_UNSIGNED,
	  .lineno = PCS_LINENO_IF_TRACED, .owner_c_first = -1, .owner_generator = -1,
	  .gil = PCS_GIL_STATIC, .dict = PCS_DICT_TABLE,
	  .instdict = PCS_INSTDICT_DICTOFFSET, .longs = PCS_LONG_PY2,
	  .strings = PCS_STR_PY2, .thread_name_attr = "_Thread__name",
	  .gc = PCS_GC_GENERATION0, .locals = PCS_LOCALS_VARNAMES },
	// 3.6: _asyncio keeps its WeakSet of tasks in a static, `all_tasks`.
	{ 3, 6, COMMON_36_TO_310, .root = PCS_ROOT_INTERP_HEAD,
	  .instr = PCS_INSTR_LASTI_BYTES, .linetable = PCS_LINETABLE_LNOTAB,
	  .lineno = PCS_LINENO_IF_TRACED, .gil = PCS_GIL_STATIC,
	  .asyncio = PCS_ASYNCIO_WEAKSET, .yf = PCS_YF_FRAMEOBJ_STACKTOP,
	  .asyncio_weakset_static = "all_tasks", .gc = PCS_GC_GENERATION0 },
	{ 3, 7, COMMON_36_TO_310, .root = PCS_ROOT_RUNTIME,
	  .instr = PCS_INSTR_LASTI_BYTES, .linetable = PCS_LINETABLE_LNOTAB,
	  .lineno = PCS_LINENO_IF_TRACED, .gil = PCS_GIL_RUNTIME,
	  .asyncio = PCS_ASYNCIO_WEAKSET, .yf = PCS_YF_FRAMEOBJ_STACKTOP,
	  .gc = PCS_GC_RUNTIME },
	{ 3, 8, COMMON_36_TO_310, .root = PCS_ROOT_RUNTIME,
	  .instr = PCS_INSTR_LASTI_BYTES, .linetable = PCS_LINETABLE_LNOTAB,
	  .lineno = PCS_LINENO_IF_TRACED, .gil = PCS_GIL_RUNTIME,
	  .asyncio = PCS_ASYNCIO_WEAKSET, .yf = PCS_YF_FRAMEOBJ_STACKTOP,
	  .gc = PCS_GC_RUNTIME },
	// 3.9: the garbage collector's state moved into each interpreter.
	{ 3, 9, COMMON_36_TO_310, .root = PCS_ROOT_RUNTIME,
	  .instr = PCS_INSTR_LASTI_BYTES, .linetable = PCS_LINETABLE_LNOTAB,
	  .lineno = PCS_LINENO_IF_TRACED, .gil = PCS_GIL_RUNTIME,
	  .asyncio = PCS_ASYNCIO_WEAKSET, .yf = PCS_YF_FRAMEOBJ_STACKTOP,
	  .gc = PCS_GC_INTERP },
	// 3.10: PEP 626 line table; f_lasti counts code units (bpo-27129).
	{ 3, 10, COMMON_36_TO_310, .root = PCS_ROOT_RUNTIME,
	  .instr = PCS_INSTR_LASTI_UNITS, .linetable = PCS_LINETABLE_310,
	  .lineno = PCS_LINENO_IF_SET, .gil = PCS_GIL_RUNTIME,
	  .asyncio = PCS_ASYNCIO_WEAKSET, .yf = PCS_YF_FRAMEOBJ_STACKDEPTH,
	  .gc = PCS_GC_INTERP },
	// 3.11: _PyInterpreterFrame reached through _PyCFrame (bpo-44590),
	// location tables (PEP 657), managed dicts.
	{ 3, 11, .root = PCS_ROOT_RUNTIME, .frames = PCS_FRAMES_CFRAME,
	  .instr = PCS_INSTR_POINTER, .linetable = PCS_LINETABLE_LOCATIONS,
	  .lineno = PCS_LINENO_TABLE, .owner_c_first = -1, .owner_generator = 1,
	  .skip_incomplete = true, .gil = PCS_GIL_RUNTIME,
	  .dict = PCS_DICT_DK_LOG2, .instdict = PCS_INSTDICT_MANAGED_311,
	  .longs = PCS_LONG_OB_SIZE, .strings = PCS_STR_PEP393,
	  .thread_name_attr = "_name", .asyncio = PCS_ASYNCIO_WEAKSET,
	  .asyncio_weakset = "_all_tasks", .yf = PCS_YF_STACKTOP_RESUME,
	  .yf_state_first = -1, .yf_state_last = -1, .resume_opcode = 151,
	  .resume_opcode_variant = 150, /* RESUME_QUICK */
	  .running_loop = PCS_RUNNING_LOOP_DICT_HOLDER, .gc = PCS_GC_INTERP,
	  .locals = PCS_LOCALS_KINDS },
	// 3.12: shim frames owned by the C stack (gh-100762), per-interpreter
	// GIL (PEP 684), compact ints (gh-101291), tagged dict-or-values.
	{ 3, 12, .root = PCS_ROOT_RUNTIME, .frames = PCS_FRAMES_CFRAME,
	  .instr = PCS_INSTR_POINTER, .linetable = PCS_LINETABLE_LOCATIONS,
	  .lineno = PCS_LINENO_TABLE, .owner_c_first = 3, .owner_generator = 1,
	  .skip_incomplete = true, .gil = PCS_GIL_INTERP_POINTER,
	  .dict = PCS_DICT_DK_LOG2, .instdict = PCS_INSTDICT_MANAGED_312,
	  .longs = PCS_LONG_LV_TAG, .strings = PCS_STR_PEP393,
	  .thread_name_attr = "_name", .asyncio = PCS_ASYNCIO_WEAKSET,
	  .yf = PCS_YF_STACKTOP_RESUME, .yf_state_first = -1, .yf_state_last = -1,
	  .resume_opcode = 151, .resume_opcode_variant = 240, /* INSTRUMENTED_RESUME */
	  .running_loop = PCS_RUNNING_LOOP_DICT,
	  .asyncio_weakset = "_scheduled_tasks", .gc = PCS_GC_INTERP,
	  .locals = PCS_LOCALS_KINDS },
	// 3.13: _PyCFrame removed (gh-113071), inline values (gh-115776).
	{ 3, 13, .root = PCS_ROOT_RUNTIME, .frames = PCS_FRAMES_IFRAME,
	  .instr = PCS_INSTR_POINTER, .linetable = PCS_LINETABLE_LOCATIONS,
	  .lineno = PCS_LINENO_TABLE, .owner_c_first = 3, .owner_generator = 1,
	  .skip_incomplete = true, .gil = PCS_GIL_INTERP_POINTER,
	  .dict = PCS_DICT_DK_LOG2, .instdict = PCS_INSTDICT_INLINE_313,
	  .longs = PCS_LONG_LV_TAG, .strings = PCS_STR_PEP393,
	  .thread_name_attr = "_name", .asyncio = PCS_ASYNCIO_WEAKSET,
	  .yf = PCS_YF_STACKTOP, .yf_state_first = -1, .yf_state_last = -1,
	  .running_loop = PCS_RUNNING_LOOP_TSTATE,
	  .asyncio_weakset = "_scheduled_tasks", .gc = PCS_GC_INTERP,
	  .locals = PCS_LOCALS_KINDS },
	// 3.14: f_executable is a tagged _PyStackRef (gh-118926); frames
	// owned by the interpreter itself join the C-stack ones (owner 3, 4);
	// tasks in per-thread lists (gh-127165); FRAME_SUSPENDED_YIELD_FROM -1.
	{ 3, 14, COMMON_314_UP, .yf_state_first = -1, .yf_state_last = -1,
	  .yf_stack_depth = 1 },
	// 3.15: a code-less base frame ends every thread's chain (owner 4);
	// frame states renumbered (SUSPENDED_YIELD_FROM 2, ..._LOCKED 3) and
	// the awaited object one slot deeper.
	{ 3, 15, COMMON_314_UP, .yf_state_first = 2, .yf_state_last = 3,
	  .yf_stack_depth = 2 },
};

const struct pcs_python_props *pcs_python_props_find(unsigned major,
						     unsigned minor)
{
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (versions[i].major == major && versions[i].minor == minor)
			return &versions[i];
	}
	return NULL;
}
