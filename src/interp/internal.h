// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Private to interp/: the model's state and the typed readers every walker
// uses. Nothing here knows a version number; offsets come from the layout.
#ifndef PCS_INTERP_INTERNAL_H
#define PCS_INTERP_INTERNAL_H

#include "interp/python.h"
#include "layout/layout.h"
#include "util/error.h"
#include "util/strbuf.h"

/** What we keep of a code object, cached by address. */
struct pcs_code_info {
	pcs_addr_t addr;	/**< 0 = empty slot */
	const char *name;
	const char *qualname;
	const char *file;
	int firstlineno;
	int firsttraceable;	/**< in code units; 0 if the version has none */
	uint8_t *linetable;
	size_t linetable_len;
	/** The names of its locals (locals.c), read when first asked for. */
	struct pcs_code_locals *locals;
	bool locals_read;
	/**
	 * The line of the offset last asked for (pcs_code_line()): frames
	 * of the same code are mostly parked at the same place.
	 */
	bool line_known;
	int64_t line_addrq;
	int line;
};

struct pcs_python {
	struct pcs_target *target;
	struct pcs_symbols *symbols;
	const struct pcs_layout *layout;
	struct pcs_strtab *strings;
	pcs_addr_t runtime;		/**< _PyRuntime, or 0 */
	pcs_addr_t interp_head_ptr;	/**< &interp_head, or 0 */
	pcs_addr_t code_type;		/**< &PyCode_Type, or 0 */
	pcs_addr_t unicode_type;	/**< &PyUnicode_Type, or 0 */
	pcs_addr_t dict_type;		/**< &PyDict_Type, or 0 */
	pcs_addr_t coro_type;		/**< &PyCoro_Type, or 0 */
	pcs_addr_t gen_type;		/**< &PyGen_Type, or 0 */
	pcs_addr_t asyncgen_type;	/**< &PyAsyncGen_Type, or 0 */
	pcs_addr_t asend_type;		/**< &_PyAsyncGenASend_Type, or 0 */
	pcs_addr_t set_dummy;		/**< &_PySet_Dummy's object, or 0 */
	pcs_addr_t function_type;	/**< &PyFunction_Type, or 0 */
	pcs_addr_t method_type;		/**< &PyMethod_Type, or 0 */
	pcs_addr_t tuple_type;		/**< &PyTuple_Type, or 0 */
	pcs_addr_t py2string_type;	/**< &PyString_Type (2.7), or 0 */
	pcs_addr_t py2int_type;		/**< &PyInt_Type (2.7), or 0 */
	/** What --locals tells apart (pcs_object_repr()); each 0 if absent. */
	pcs_addr_t none_obj;		/**< &_Py_NoneStruct */
	pcs_addr_t bool_type, long_type, float_type, bytes_type, list_type;
	pcs_addr_t set_type, frozenset_type, cell_type;
	/** Locals are read (pcs_python_set_locals()). */
	bool locals;
	/** Locals handed out so far, against PCS_MAX_LOCALS_TOTAL. */
	size_t nlocals_total;
	/** Frames reported without locals: unreadable, past the bound. */
	size_t locals_unreadable, locals_over_limit;
	/** Scratch for the locals of the frame being reported. */
	struct pcs_local *locals_buf;
	size_t nlocals_buf, cap_locals_buf;
	/** sizeof(Py_UNICODE) of a Python 2 build: 2, 4, or 0 if unknown. */
	unsigned py2_unicode_size;
	struct pcs_code_info *codes;
	size_t ncodes_slots, ncodes;
	/**
	 * strs and C strings decoded so far, by address (object.c): the
	 * same names, keys and qualnames are read for object after object.
	 */
	struct pcs_str_cache *str_cache;
	/** Offset of the kernel tid in glibc's struct pthread; -1 unknown. */
	int pthread_tid_offset;
};

enum { PCS_TID_OFFSET_UNKNOWN = -2 };

/**
 * Brent's cycle detection over a linked list: no memory, and any loop is
 * found within a few times its length. Also bounds the walk to @p max.
 */
struct pcs_cycle_guard {
	pcs_addr_t saved;
	uint64_t power, steps, total, max;
	const char *what;
};

static inline void pcs_cycle_guard_init(struct pcs_cycle_guard *g, uint64_t max,
					const char *what)
{
	*g = (struct pcs_cycle_guard){ .power = 1, .max = max, .what = what };
}

/** Visit @p addr: PCS_ERROR_LIMIT on a loop or past the bound. */
struct pcs_error *pcs_cycle_guard_step(struct pcs_cycle_guard *g, pcs_addr_t addr);

/** Limits on what object decoders accept. */
enum {
	PCS_MAX_STR = 1 << 16,
	PCS_MAX_LINETABLE = 1 << 20,
	PCS_MAX_DICT_ENTRIES = 1 << 22,
};

struct pcs_error *pcs_read_u8(struct pcs_python *py, pcs_addr_t addr, uint8_t *ret);
struct pcs_error *pcs_read_u32(struct pcs_python *py, pcs_addr_t addr, uint32_t *ret);
struct pcs_error *pcs_read_u64(struct pcs_python *py, pcs_addr_t addr, uint64_t *ret);

/** Read field @p f of the struct at @p base, zero-extended. */
struct pcs_error *pcs_read_field(struct pcs_python *py, pcs_addr_t base,
				 enum pcs_field f, uint64_t *ret);
/** Read field @p f of the struct at @p base, sign-extended. */
struct pcs_error *pcs_read_field_signed(struct pcs_python *py, pcs_addr_t base,
					enum pcs_field f, int64_t *ret);

/** An object's type pointer. */
struct pcs_error *pcs_object_type(struct pcs_python *py, pcs_addr_t obj,
				  pcs_addr_t *ret);

/**
 * Decode the str at @p addr as UTF-8, interned. At most PCS_MAX_STR code
 * points. PCS_ERROR_BAD_DATA when it is not a sane str.
 */
struct pcs_error *pcs_object_str(struct pcs_python *py, pcs_addr_t addr,
				 const char **ret);

/** Whether the str at @p addr equals the ASCII string @p s. */
struct pcs_error *pcs_object_str_equals(struct pcs_python *py, pcs_addr_t addr,
					const char *s, bool *ret);

/** Decode the bytes object at @p addr into a malloc'd buffer. */
struct pcs_error *pcs_object_bytes(struct pcs_python *py, pcs_addr_t addr,
				   size_t max, uint8_t **ret, size_t *len);

/** Decode an int that fits in 64 bits (two's complement for negatives). */
struct pcs_error *pcs_object_int(struct pcs_python *py, pcs_addr_t addr,
				 uint64_t *ret);

typedef struct pcs_error *pcs_dict_item_fn(void *arg, pcs_addr_t key,
					   pcs_addr_t value, bool *stop);

/** Call @p fn for each item of the dict at @p dict, in order. */
struct pcs_error *pcs_object_dict_items(struct pcs_python *py, pcs_addr_t dict,
					pcs_dict_item_fn *fn, void *arg);

/** The value for str key @p key in the dict at @p dict; 0 if absent. */
struct pcs_error *pcs_object_dict_get(struct pcs_python *py, pcs_addr_t dict,
				      const char *key, pcs_addr_t *ret);

/** Instance attribute @p name of @p obj; 0 if absent. */
struct pcs_error *pcs_object_attr(struct pcs_python *py, pcs_addr_t obj,
				  const char *name, pcs_addr_t *ret);

/**
 * A short, bounded repr of the object at @p obj, as --locals shows it (the
 * rules of corpus/README.md, "locals truth"), appended to @p out. An error
 * (and @p out unchanged) when the object cannot be read.
 */
struct pcs_error *pcs_object_repr(struct pcs_python *py, pcs_addr_t obj,
				  struct pcs_strbuf *out);

/** repr(float) of @p v: the shortest digits that read back as @p v. */
void pcs_repr_float(double v, struct pcs_strbuf *out);

/**
 * The decimal digits of the magnitude in @p digits (@p n digits of @p shift
 * bits each, least significant first; destroyed) appended to @p out.
 */
void pcs_repr_bigint(uint32_t *digits, size_t n, unsigned shift,
		     struct pcs_strbuf *out);

/** How pcs_repr_text() quotes and escapes. */
enum pcs_repr_text {
	PCS_REPR_STR,		/**< str: printable code points as they are */
	PCS_REPR_BYTES,		/**< bytes: printable ASCII as it is */
};

/**
 * The repr of the text @p cps (@p n code points, or bytes) between quotes,
 * after @p prefix ("", "b", "u"), with "..." after the closing quote when
 * @p truncated.
 */
void pcs_repr_text(const uint32_t *cps, size_t n, enum pcs_repr_text kind,
		   const char *prefix, bool truncated, struct pcs_strbuf *out);

/** Read the NUL-terminated string at @p addr (at most @p max bytes), interned. */
struct pcs_error *pcs_read_cstring(struct pcs_python *py, pcs_addr_t addr, size_t max,
				   const char **ret);

/**
 * The __dict__ of module @p name in @p interp's sys.modules; 0 if it is
 * not imported.
 */
struct pcs_error *pcs_module_dict(struct pcs_python *py, pcs_addr_t interp,
				  const char *name, pcs_addr_t *ret);

/** Most objects a garbage collector walk visits. */
enum { PCS_MAX_GC_OBJECTS = 1 << 28 };

typedef struct pcs_error *pcs_python_object_fn(void *arg, pcs_addr_t obj,
					       pcs_addr_t type);

/**
 * Call @p fn with every object @p interp's garbage collector tracks (all
 * generations, the permanent one included) and its type. *@p collecting
 * is set when a collection was under way (objects missing from the lists).
 */
struct pcs_error *pcs_python_gc_objects(struct pcs_python *py, pcs_addr_t interp,
					pcs_python_object_fn *fn, void *arg,
					bool *collecting);

/** The cached description of the code object at @p code. Borrowed. */
struct pcs_error *pcs_code_info(struct pcs_python *py, pcs_addr_t code,
				const struct pcs_code_info **ret);

/** Report the Python frame of the PyFrameObject at @p f (≤ 3.10). */
struct pcs_error *pcs_python_frame_object(struct pcs_python *py, pcs_addr_t f,
					  pcs_python_frame_fn *fn, void *arg);

/** Report the Python frame of the _PyInterpreterFrame at @p f (none for a
 * code-less sentinel). */
struct pcs_error *pcs_python_iframe(struct pcs_python *py, pcs_addr_t f,
				    pcs_python_frame_fn *fn, void *arg);

/**
 * Fill @p frame->locals for the frame at @p f (a PyFrameObject ≤ 3.10, else a
 * _PyInterpreterFrame) running @p code, when locals are asked for; none when
 * they cannot be read (locals.c). Only ENOMEM is an error.
 */
struct pcs_error *pcs_python_frame_locals(struct pcs_python *py, pcs_addr_t f,
					  const struct pcs_code_info *code,
					  struct pcs_python_frame *frame);

/** Bounds of the reprs of --locals. */
enum {
	/** Code points (str) or bytes shown of a str or bytes value. */
	PCS_REPR_MAX_TEXT = 80,
	/** Decimal digits shown of an int; longer ones show their length. */
	PCS_REPR_MAX_DIGITS = 40,
	/** Bits of the ints whose decimal digits are counted; longer: bits. */
	PCS_REPR_MAX_INT_BITS = 4096,
};

/** The line of byte offset @p addrq in @p code, as PyCode_Addr2Line(). */
int pcs_code_line(const struct pcs_python *py, const struct pcs_code_info *code,
		  int64_t addrq);

#endif
