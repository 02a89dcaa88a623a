// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * ③ Layout: where the fields of CPython's structs are in one target, and
 * the named properties that say how a version behaves. Data, not code:
 * walkers ask the layout, they never test version numbers.
 *
 * A layout is resolved once per target from one source (DWARF today; the
 * target's _Py_DebugOffsets and committed generated tables are the other
 * sources the design has room for), and the source is recorded.
 */
#ifndef PCS_LAYOUT_LAYOUT_H
#define PCS_LAYOUT_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

struct pcs_error;
struct pcs_symbols;
struct pcs_target;
typedef struct Dwarf Dwarf;

enum pcs_struct {
#define PCS_STRUCT(id, names) PCS_S_##id,
#define PCS_FIELD(st, id, paths)
#include "layout/fields.def"
#undef PCS_STRUCT
#undef PCS_FIELD
	PCS_NUM_STRUCTS
};

enum pcs_field {
#define PCS_STRUCT(id, names)
#define PCS_FIELD(st, id, paths) PCS_F_##st##_##id,
#include "layout/fields.def"
#undef PCS_STRUCT
#undef PCS_FIELD
	PCS_NUM_FIELDS
};

enum { PCS_OFFSET_ABSENT = -1 };

/** Where the offsets of a layout came from (in the order they are tried). */
enum pcs_layout_source {
	PCS_LAYOUT_DEBUG_OFFSETS,
	PCS_LAYOUT_DWARF,
	PCS_LAYOUT_BUILTIN,
	PCS_NUM_LAYOUT_SOURCES,
	PCS_LAYOUT_AUTO = PCS_NUM_LAYOUT_SOURCES,
};

/** How the interpreters are found. */
enum pcs_root_model {
	/** Static `interp_head` (2.7, 3.6). */
	PCS_ROOT_INTERP_HEAD,
	/** `_PyRuntime.interpreters.head` (3.7+). */
	PCS_ROOT_RUNTIME,
};

/** What a thread state's frame chain is made of. */
enum pcs_frame_model {
	/** `tstate->frame`, PyFrameObject linked by f_back (≤ 3.10). */
	PCS_FRAMES_FRAME_OBJECT,
	/** `tstate->cframe->current_frame`, _PyInterpreterFrame (3.11, 3.12). */
	PCS_FRAMES_CFRAME,
	/** `tstate->current_frame`, _PyInterpreterFrame (3.13+). */
	PCS_FRAMES_IFRAME,
};

/** What the instruction position of a frame counts. */
enum pcs_instr_model {
	/** f_lasti in bytes (≤ 3.9). */
	PCS_INSTR_LASTI_BYTES,
	/** f_lasti in 2-byte code units (3.10). */
	PCS_INSTR_LASTI_UNITS,
	/** A pointer into co_code_adaptive (3.11+). */
	PCS_INSTR_POINTER,
};

/** Line number table format of code objects. */
enum pcs_linetable_model {
	/** co_lnotab, unsigned line increments (2.7). */
	PCS_LINETABLE_LNOTAB_UNSIGNED,
	/** co_lnotab, signed line increments (3.6–3.9). */
	PCS_LINETABLE_LNOTAB,
	/** PEP 626 co_linetable (3.10). */
	PCS_LINETABLE_310,
	/** Location table (3.11+). */
	PCS_LINETABLE_LOCATIONS,
};

/** When a frame's stored f_lineno overrides the line table. */
enum pcs_lineno_model {
	/** Never (3.11+: no field). */
	PCS_LINENO_TABLE,
	/** While the frame has f_trace set (≤ 3.9, PyFrame_GetLineNumber). */
	PCS_LINENO_IF_TRACED,
	/** Whenever f_lineno is non-zero (3.10). */
	PCS_LINENO_IF_SET,
};

/** Where the GIL's state is. */
enum pcs_gil_model {
	/** Static `gil_locked`, `gil_last_holder` symbols (3.6). */
	PCS_GIL_STATIC,
	/** Embedded in _PyRuntime at `ceval.gil` (3.7–3.11). */
	PCS_GIL_RUNTIME,
	/** Pointed to by `interp->ceval.gil` (3.12+). */
	PCS_GIL_INTERP_POINTER,
};

/** Dict keys object flavour. */
enum pcs_dict_model {
	/** ma_mask + ma_table of {hash, key, value} (2.7). */
	PCS_DICT_TABLE,
	/** dk_size, 24-byte entries (3.6–3.10). */
	PCS_DICT_DK_SIZE,
	/** dk_log2_size, dk_kind, unicode entries (3.11+). */
	PCS_DICT_DK_LOG2,
};

/** Where a plain instance keeps its attributes. */
enum pcs_instdict_model {
	/** `*(obj + tp_dictoffset)` (≤ 3.10). */
	PCS_INSTDICT_DICTOFFSET,
	/** Managed: dict at obj-24, else values at obj-32 (3.11). */
	PCS_INSTDICT_MANAGED_311,
	/** Managed: tagged dict-or-values word at obj-24 (3.12). */
	PCS_INSTDICT_MANAGED_312,
	/** Inline values after the object, else dict at obj-24 (3.13+). */
	PCS_INSTDICT_INLINE_313,
};

/** int objects. */
enum pcs_long_model {
	/** PyIntObject (ob_ival) beside ≤ 3.11-style longs (2.7). */
	PCS_LONG_PY2,
	/** Sign and digit count in ob_size (≤ 3.11). */
	PCS_LONG_OB_SIZE,
	/** lv_tag: count << 3 | sign (3.12+). */
	PCS_LONG_LV_TAG,
};

/** str objects. */
enum pcs_str_model {
	/** PyStringObject bytes and UCS-2/UCS-4 PyUnicodeObject (2.7). */
	PCS_STR_PY2,
	/** PEP 393 compact strings (3.3+). */
	PCS_STR_PEP393,
};

/** Where the pending asyncio tasks are registered. */
enum pcs_asyncio_model {
	/** Not read yet for this version. */
	PCS_ASYNCIO_NONE,
	/** Intrusive lists of TaskObj.task_node per thread and interpreter (3.14+). */
	PCS_ASYNCIO_LLIST,
	/**
	 * _asyncio's WeakSet of tasks (props.asyncio_weakset: _all_tasks in
	 * 3.7–3.11, _scheduled_tasks in 3.12–3.13) and _eager_tasks (3.12+).
	 */
	PCS_ASYNCIO_WEAKSET,
};

/** How a generator's awaited object is found (_PyGen_yf). */
enum pcs_yf_model {
	PCS_YF_NONE,
	/**
	 * The generator's PyFrameObject (gi_frame) stopped before YIELD_FROM:
	 * f_stacktop[-1] (≤ 3.9; f_lasti in bytes).
	 */
	PCS_YF_FRAMEOBJ_STACKTOP,
	/** The same with f_valuestack[f_stackdepth - 1] (3.10; f_lasti in units). */
	PCS_YF_FRAMEOBJ_STACKDEPTH,
	/** Suspended (gi_frame_state) at a RESUME after a yield: localsplus[stacktop-1] (3.11, 3.12). */
	PCS_YF_STACKTOP_RESUME,
	/** A gi_frame_state for "in yield from": localsplus[stacktop-1] (3.13). */
	PCS_YF_STACKTOP,
	/** The same state test; *(stackpointer - depth) (3.14+). */
	PCS_YF_STACKPOINTER,
};

/** Where a thread's running event loop is. */
enum pcs_running_loop_model {
	PCS_RUNNING_LOOP_NONE,
	/** The thread state dict's "__asyncio_running_event_loop__" is the loop (3.12). */
	PCS_RUNNING_LOOP_DICT,
	/** ... is a _RunningLoopHolder whose rl_loop is the loop (3.7–3.11). */
	PCS_RUNNING_LOOP_DICT_HOLDER,
	/** _PyThreadStateImpl.asyncio_running_loop (3.13+). */
	PCS_RUNNING_LOOP_TSTATE,
};

/** Where the garbage collector's generation lists are. */
enum pcs_gc_model {
	/**
	 * `_PyGC_generation0` points at the first of the static generations
	 * (2.7, 3.6).
	 */
	PCS_GC_GENERATION0,
	/** In _PyRuntime at `gc` (3.7, 3.8). */
	PCS_GC_RUNTIME,
	/** Per interpreter, at `interp->gc` (3.9+). */
	PCS_GC_INTERP,
};

/** Where a frame's arguments and locals are, and their names (--locals). */
enum pcs_locals_model {
	/**
	 * The PyFrameObject's f_localsplus: co_nlocals plain locals named by
	 * co_varnames, then a cell per co_cellvars and per co_freevars (≤ 3.10).
	 */
	PCS_LOCALS_VARNAMES,
	/**
	 * The _PyInterpreterFrame's localsplus, named by co_localsplusnames,
	 * each of the kind co_localspluskinds says (plain, cell, free; 3.11+).
	 */
	PCS_LOCALS_KINDS,
};

/** Named properties of one CPython minor version. */
struct pcs_python_props {
	uint8_t major, minor;
	enum pcs_root_model root;
	enum pcs_frame_model frames;
	enum pcs_instr_model instr;
	enum pcs_linetable_model linetable;
	enum pcs_lineno_model lineno;
	/**
	 * _PyInterpreterFrame.owner values from this one up mark frames owned
	 * by C (3.12–3.13 CSTACK; 3.14 INTERPRETER and CSTACK), which are not
	 * Python frames; -1: none.
	 */
	int owner_c_first;
	/** owner value of generator frames; -1: no owner field. */
	int owner_generator;
	/** Frames before their code's _co_firsttraceable are not yet Python's. */
	bool skip_incomplete;
	/**
	 * Tag bits of _PyStackRef to clear from f_executable and localsplus
	 * (3.14+, where they are tagged references; all of them set: a tagged
	 * int); 0 where they are plain pointers.
	 */
	uint64_t executable_tag_bits;
	enum pcs_locals_model locals;
	enum pcs_gil_model gil;
	enum pcs_dict_model dict;
	enum pcs_instdict_model instdict;
	enum pcs_long_model longs;
	enum pcs_str_model strings;
	enum pcs_asyncio_model asyncio;
	/**
	 * gi_frame_state values of a generator suspended in `yield from` /
	 * `await` (3.13+), and how deep in its value stack the awaited object
	 * sits (_PyGen_yf).
	 */
	enum pcs_yf_model yf;
	int8_t yf_state_first, yf_state_last;
	uint8_t yf_stack_depth;
	/** The RESUME opcode (PCS_YF_STACKTOP_RESUME); YIELD_FROM (FRAMEOBJ). */
	uint8_t resume_opcode;
	/**
	 * What RESUME may have become in co_code_adaptive: RESUME_QUICK once
	 * specialized (3.11), INSTRUMENTED_RESUME under sys.monitoring (3.12);
	 * 0: none.
	 */
	uint8_t resume_opcode_variant;
	enum pcs_running_loop_model running_loop;
	enum pcs_gc_model gc;
	/** _asyncio's module attribute holding the WeakSet of tasks. */
	const char *asyncio_weakset;
	/** ... or its static variable, when not an attribute (3.6). */
	const char *asyncio_weakset_static;
	/** threading.Thread attribute holding the name. */
	const char *thread_name_attr;
};

/** A resolved layout. */
struct pcs_layout {
	/** PY_VERSION_HEX of the target. */
	uint32_t version_hex;
	/** "3.12.1", "3.13.0rc2". */
	char version[32];
	enum pcs_layout_source source;
	/** Py_DEBUG (Py_REF_DEBUG) build. */
	bool debug_build;
	/** Py_GIL_DISABLED build (3.13t+). */
	bool free_threaded;
	struct pcs_python_props props;
	uint64_t struct_size[PCS_NUM_STRUCTS];
	int64_t offset[PCS_NUM_FIELDS];
	/** Byte width of each field's type (element width for arrays). */
	uint8_t width[PCS_NUM_FIELDS];
	/**
	 * greenlet's structs (pcs_layout_add_greenlet()): the greenlet
	 * release they describe ("" when greenlet is not loaded) and where
	 * they came from (PCS_LAYOUT_AUTO: nowhere).
	 */
	char greenlet_version[24];
	enum pcs_layout_source greenlet_source;
	/**
	 * A suspended greenlet's frame chain skips the frames its C stack
	 * holds (CPython's entry frames): greenlet ≥ 3.0.3 on 3.12+ links its
	 * complete frames to each other on every switch out, and keeps each
	 * one's own `previous` in its frame object (f_frame_data).
	 */
	bool greenlet_exposes_frames;
};

/** "dwarf", "debug-offsets", "builtin". */
const char *pcs_layout_source_name(enum pcs_layout_source source);
/** Parse a --layout-source value; false if unknown. */
bool pcs_layout_source_parse(const char *name, enum pcs_layout_source *ret);

const char *pcs_field_name(enum pcs_field field);
const char *pcs_struct_name(enum pcs_struct st);

/**
 * Identify the target's CPython version and resolve its layout from
 * @p wanted (PCS_LAYOUT_AUTO: the first source that works). Errors name
 * the version and what is missing, e.g. the debug info package to install.
 */
struct pcs_error *pcs_layout_select(struct pcs_target *t, struct pcs_symbols *s,
				    enum pcs_layout_source wanted,
				    struct pcs_layout **ret);

void pcs_layout_destroy(struct pcs_layout *layout);

/** The DWARF of the interpreter being read while its table is used. */
struct pcs_layout_check;

/**
 * pcs_layout_select(), with the interpreter's DWARF read on another thread
 * where the result would come from it (auto, no debug offsets) and the
 * built-in table also has one: then *@p check is set and the table's
 * layout returned at once, to read a target that waits (a core) while the
 * DWARF is read (tens of ms for a distribution's debug file). The DWARF
 * still decides: pcs_layout_settle() tells whether it gives the same
 * layout. *@p check is NULL when the layout is final already.
 */
struct pcs_error *pcs_layout_select_ahead(struct pcs_target *t, struct pcs_symbols *s,
					  enum pcs_layout_source wanted,
					  struct pcs_layout_check **check,
					  struct pcs_layout **ret);

/**
 * Wait for the DWARF of @p check (freed) and compare what it gives with
 * what pcs_layout_select_ahead() returned, @p layout, as it was then (what
 * was added since, greenlet's structs, is not compared). The same offsets,
 * widths and sizes: @p layout is the DWARF's (its source says so) and
 * what was read with it stands. Different: *@p redo is the DWARF's layout,
 * to read the target again with. No DWARF, or one that lacks what the
 * walkers need: @p layout is the table's, as pcs_layout_select() would
 * have found.
 */
struct pcs_error *pcs_layout_settle(struct pcs_layout_check *check, struct pcs_layout *layout,
				    struct pcs_layout **redo);

/** Wait for the DWARF of @p check and free it, unused. NULL is a no-op. */
void pcs_layout_check_destroy(struct pcs_layout_check *check);

/**
 * The properties of CPython @p major.@p minor, or NULL if that version is
 * not supported.
 */
const struct pcs_python_props *pcs_python_props_find(unsigned major,
						     unsigned minor);

static inline bool pcs_layout_has(const struct pcs_layout *l, enum pcs_field f)
{
	return l->offset[f] != PCS_OFFSET_ABSENT;
}

/**
 * Resolve every field of fields.def from the DWARF @p dw: offsets, widths,
 * struct sizes; what it lacks is absent (layout/source_dwarf.c).
 */
struct pcs_error *pcs_layout_from_dwarf(Dwarf *dw, struct pcs_layout *layout);

/**
 * Fill the structs @p layout lacks (size 0) from the DWARF @p dw: another
 * module's, such as the _asyncio extension's TaskObj.
 */
void pcs_layout_merge_dwarf(Dwarf *dw, struct pcs_layout *layout);

/**
 * Fill @p layout from the target's own _Py_DebugOffsets (3.13+), validated,
 * over the committed table for the fields they do not cover
 * (layout/source_debug_offsets.c). PCS_ERROR_LOOKUP when the target has
 * none; PCS_ERROR_BAD_DATA when they fail validation.
 */
struct pcs_error *pcs_layout_from_debug_offsets(struct pcs_target *t,
						struct pcs_symbols *s,
						struct pcs_layout *layout);

/**
 * Apply the _Py_DebugOffsets in @p buf (@p len bytes read from _PyRuntime)
 * over @p layout, whose version_hex says which description to use. Nothing
 * in @p buf is trusted: PCS_ERROR_LOOKUP without the cookie,
 * PCS_ERROR_BAD_DATA for another version or any offset outside its struct.
 * On error @p layout may be partly written.
 */
struct pcs_error *pcs_debug_offsets_apply(const unsigned char *buf, size_t len,
					  struct pcs_layout *layout);

/**
 * Apply _asyncio's .AsyncioDebug offsets (3.14+, thirteen uint64s in
 * @p buf) over @p layout; untrusted, validated like the debug offsets.
 */
struct pcs_error *pcs_asyncio_debug_apply(const unsigned char *buf, size_t len,
					  struct pcs_layout *layout);

/**
 * Find the .AsyncioDebug section in the target and apply it. No error (and
 * no change) when there is none.
 */
struct pcs_error *pcs_layout_add_asyncio_debug(struct pcs_target *t,
					       struct pcs_symbols *s,
					       struct pcs_layout *layout);

/**
 * Fill @p layout from the committed table for @p major.@p minor
 * (layout/tables.c). PCS_ERROR_LOOKUP if there is none. @p built_from,
 * if not NULL, receives the version the table was generated from.
 */
struct pcs_error *pcs_layout_from_table(unsigned major, unsigned minor,
					struct pcs_layout *layout,
					const char **built_from);

/** Whether @p st is one of greenlet's structs rather than CPython's. */
bool pcs_struct_is_greenlet(enum pcs_struct st);

/**
 * Add the structs of greenlet @p version (its __version__) to @p layout,
 * from the DWARF of the target's greenlet extension module, else from the
 * committed table for that greenlet on the layout's CPython minor version
 * (@p wanted: PCS_LAYOUT_DWARF or PCS_LAYOUT_BUILTIN forces one of them).
 * PCS_ERROR_LOOKUP, naming what was tried, when neither describes it.
 */
struct pcs_error *pcs_layout_add_greenlet(struct pcs_symbols *s,
					  const char *version,
					  enum pcs_layout_source wanted,
					  struct pcs_layout *layout);

/**
 * Write the greenlet structs of @p layout (version_hex set) as one entry of
 * tables/greenlet.inc, for greenlet @p version; for tools/gen-layout.
 */
struct pcs_strbuf;
void pcs_layout_write_greenlet_table(const struct pcs_layout *layout,
				     const char *version, const char *origin,
				     struct pcs_strbuf *out);

/** Write @p layout as a table (.inc) to @p out; for tools/gen-layout. */
void pcs_layout_write_table(const struct pcs_layout *layout, const char *origin,
			    struct pcs_strbuf *out);

#endif
