// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The arguments and local variables of a frame, as frame.f_locals has them,
// each with a short repr of its value (--locals). Which names, in which
// order, and the reprs are the rules of corpus/README.md ("locals truth").
//
// A frame keeps its locals in an array of slots after its fixed part: plain
// locals (arguments first), then cells, then free variables (closure cells).
// ≤ 3.10 the array is the PyFrameObject's f_localsplus and the code names
// its parts with co_varnames, co_cellvars and co_freevars; 3.11+ it is the
// _PyInterpreterFrame's localsplus, named by co_localsplusnames with a kind
// per slot (co_localspluskinds); 3.14+ its slots are tagged _PyStackRefs.

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "interp/internal.h"
#include "util/strtab.h"
#include "util/vector.h"

// What a slot holds.
enum {
	SLOT_CELL = 1,		// a cell whose content is the value
	SLOT_FREE = 2,		// a free variable: a cell too
	SLOT_HIDDEN = 4,	// a hidden local of an inlined comprehension (3.12+)
};

// co_localspluskinds bits (Include/internal/pycore_code.h, 3.11+).
enum {
	CO_FAST_HIDDEN = 0x10,
	CO_FAST_CELL = 0x40,
	CO_FAST_FREE = 0x80,
};

// co_flags: a function's code (not a module's, a class body's or exec's).
enum { CO_OPTIMIZED = 0x1 };

// The names of a code object's local slots, interned; NULL for a slot
// without a name. One allocation.
struct pcs_code_locals {
	uint32_t n;
	bool optimized;
	const char **names;
	uint8_t *kinds;
};

void pcs_python_set_locals(struct pcs_python *py, bool on)
{
	py->locals = on;
}

void pcs_python_locals_gaps(const struct pcs_python *py, size_t *unreadable,
			    size_t *over_limit)
{
	*unreadable = py->locals_unreadable;
	*over_limit = py->locals_over_limit;
}

// Items of the tuple at @p tuple: at most @p max, interned in names[].
static struct pcs_error *tuple_names(struct pcs_python *py, pcs_addr_t tuple,
				     uint64_t max, const char **names, uint64_t *count)
{
	pcs_addr_t type;
	int64_t size;
	struct pcs_error *err = pcs_object_type(py, tuple, &type);
	if (!err && py->tuple_type && type != py->tuple_type)
		err = pcs_error_create(PCS_ERROR_BAD_DATA, "not a tuple at 0x%" PRIx64, tuple);
	if (!err)
		err = pcs_read_field_signed(py, tuple, PCS_F_varobject_ob_size, &size);
	if (!err && (size < 0 || (uint64_t)size > max))
		err = pcs_error_create(PCS_ERROR_BAD_DATA, "tuple at 0x%" PRIx64
				       " has %" PRId64 " names", tuple, size);
	if (!err && !pcs_layout_has(py->layout, PCS_F_tuple_ob_item))
		err = pcs_error_create(PCS_ERROR_LOOKUP, "no layout for tuple items");
	if (err)
		return err;
	pcs_addr_t items = tuple + (uint64_t)py->layout->offset[PCS_F_tuple_ob_item];
	for (int64_t i = 0; i < size && !err; i++) {
		uint64_t item;
		err = pcs_read_u64(py, items + 8 * (uint64_t)i, &item);
		if (!err)
			err = pcs_object_str(py, item, &names[i]);
	}
	*count = (uint64_t)size;
	return err;
}

static struct pcs_code_locals *code_locals_alloc(uint64_t n)
{
	struct pcs_code_locals *cl = calloc(1, sizeof(*cl) + n * (sizeof(char *) + 1));
	if (!cl)
		return NULL;
	cl->n = (uint32_t)n;
	cl->names = (const char **)(cl + 1);
	cl->kinds = (uint8_t *)(cl->names + n);
	return cl;
}

static struct pcs_error *read_int_field(struct pcs_python *py, pcs_addr_t base,
					enum pcs_field f, uint64_t max, uint64_t *ret)
{
	int64_t v;
	struct pcs_error *err = pcs_read_field_signed(py, base, f, &v);
	if (err)
		return err;
	if (v < 0 || (uint64_t)v > max)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "%s is %" PRId64,
					pcs_field_name(f), v);
	*ret = (uint64_t)v;
	return NULL;
}

// ≤ 3.10: co_nlocals plain slots named by co_varnames (PyFrame_FastToLocals
// names no more than it has), then co_cellvars, then co_freevars.
static struct pcs_error *read_varnames(struct pcs_python *py, pcs_addr_t code,
				       struct pcs_code_locals **ret)
{
	uint64_t nlocals, varnames, cellvars, freevars, nvar, ncell, nfree;
	struct pcs_error *err;
	if ((err = read_int_field(py, code, PCS_F_code_co_nlocals, PCS_MAX_LOCALS, &nlocals)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_varnames, &varnames)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_cellvars, &cellvars)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_freevars, &freevars)))
		return err;
	// names, then the cells' and the free variables' after nlocals.
	const char **names = calloc(2 * PCS_MAX_LOCALS, sizeof(*names));
	if (!names)
		return &pcs_enomem;
	uint64_t room = PCS_MAX_LOCALS - nlocals;
	if (!(err = tuple_names(py, varnames, PCS_MAX_LOCALS, names, &nvar)) &&
	    !(err = tuple_names(py, cellvars, room, names + PCS_MAX_LOCALS + nlocals,
				&ncell)))
		err = tuple_names(py, freevars, room - ncell,
				  names + PCS_MAX_LOCALS + nlocals + ncell, &nfree);
	struct pcs_code_locals *cl = NULL;
	if (!err && !(cl = code_locals_alloc(nlocals + ncell + nfree)))
		err = &pcs_enomem;
	for (uint64_t i = 0; !err && i < nlocals + ncell + nfree; i++) {
		cl->names[i] = i < nlocals ? (i < nvar ? names[i] : NULL)
					   : names[PCS_MAX_LOCALS + i];
		cl->kinds[i] = i < nlocals ? 0 : i < nlocals + ncell ? SLOT_CELL : SLOT_FREE;
	}
	free(names);
	if (!err)
		*ret = cl;
	return err;
}

// 3.11+: co_nlocalsplus slots, named by co_localsplusnames, of the kinds
// co_localspluskinds says.
static struct pcs_error *read_kinds(struct pcs_python *py, pcs_addr_t code,
				    struct pcs_code_locals **ret)
{
	uint64_t n, names_addr, kinds_addr, nnames;
	struct pcs_error *err;
	if ((err = read_int_field(py, code, PCS_F_code_co_nlocalsplus, PCS_MAX_LOCALS, &n)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_localsplusnames, &names_addr)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_localspluskinds, &kinds_addr)))
		return err;
	struct pcs_code_locals *cl = code_locals_alloc(n);
	if (!cl)
		return &pcs_enomem;
	uint8_t *kinds = NULL;
	size_t nkinds = 0;
	err = tuple_names(py, names_addr, n, cl->names, &nnames);
	if (!err)
		err = pcs_object_bytes(py, kinds_addr, n, &kinds, &nkinds);
	if (!err && (nnames != n || nkinds != n))
		err = pcs_error_create(PCS_ERROR_BAD_DATA, "code object at 0x%" PRIx64
				       " names %" PRIu64 " of its %" PRIu64 " locals",
				       code, nnames < nkinds ? nnames : nkinds, n);
	for (uint64_t i = 0; !err && i < n; i++) {
		cl->kinds[i] = (kinds[i] & CO_FAST_FREE ? SLOT_FREE : 0) |
			       (kinds[i] & CO_FAST_CELL ? SLOT_CELL : 0) |
			       (kinds[i] & CO_FAST_HIDDEN ? SLOT_HIDDEN : 0);
	}
	free(kinds);
	if (err) {
		free(cl);
		return err;
	}
	*ret = cl;
	return NULL;
}

// The names of the locals of @p ci, cached with it; NULL if unreadable.
static struct pcs_error *code_locals(struct pcs_python *py,
				     const struct pcs_code_info *ci,
				     const struct pcs_code_locals **ret)
{
	// The cache entry is the model's own (pcs_code_info()); only this
	// file fills its locals.
	struct pcs_code_info *entry = (struct pcs_code_info *)ci;
	if (!entry->locals_read) {
		struct pcs_code_locals *cl = NULL;
		uint64_t flags = 0;
		struct pcs_error *err =
			pcs_read_field(py, ci->addr, PCS_F_code_co_flags, &flags);
		if (!err)
			err = py->layout->props.locals == PCS_LOCALS_KINDS
				? read_kinds(py, ci->addr, &cl)
				: read_varnames(py, ci->addr, &cl);
		if (err == &pcs_enomem)
			return err;
		pcs_error_destroy(err);
		if (cl)
			cl->optimized = flags & CO_OPTIMIZED;
		entry->locals = cl;
		entry->locals_read = true;
	}
	*ret = entry->locals;
	return NULL;
}

// Where @p name is among the locals gathered so far; SIZE_MAX if not.
static size_t find_local(const struct pcs_python *py, const char *name)
{
	for (size_t i = 0; i < py->nlocals_buf; i++) {
		// Interned: the same name is the same pointer.
		if (py->locals_buf[i].name == name)
			return i;
	}
	return SIZE_MAX;
}

// frame.f_locals[name] = the value in @p slot, or del frame.f_locals[name]
// where the slot is empty (an unbound local, an empty cell).
static struct pcs_error *set_local(struct pcs_python *py, const char *name,
				   uint8_t kind, uint64_t slot, struct pcs_strbuf *sb)
{
	const struct pcs_python_props *props = &py->layout->props;
	size_t at = find_local(py, name);
	uint64_t tag = props->executable_tag_bits;
	pcs_addr_t value = slot & ~tag;
	struct pcs_error *err = NULL;
	pcs_strbuf_reset(sb);
	if (tag && (slot & tag) == tag) {
		// A tagged int (3.14+ _PyStackRef), not an object.
		pcs_strbuf_addf(sb, "%" PRId64, (int64_t)slot >> 2);
	} else if (value && (kind & (SLOT_CELL | SLOT_FREE))) {
		// Its cell, where it is one (3.11+: not yet, before MAKE_CELL).
		pcs_addr_t type = 0;
		if (py->cell_type)
			err = pcs_object_type(py, value, &type);
		if (!err && (!py->cell_type || type == py->cell_type))
			err = pcs_read_field(py, value, PCS_F_cell_ob_ref, &value);
	}
	if (!err && value && !sb->len)
		err = pcs_object_repr(py, value, sb);
	if (err == &pcs_enomem)
		return err;
	if (err) {
		// What it refers to cannot be read: say so, for this one alone.
		pcs_error_destroy(err);
		pcs_strbuf_reset(sb);
		pcs_strbuf_addf(sb, "<unreadable object at 0x%" PRIx64 ">", value);
	}
	if (!value && !sb->len) {
		if (at != SIZE_MAX) {
			memmove(&py->locals_buf[at], &py->locals_buf[at + 1],
				(py->nlocals_buf - at - 1) * sizeof(*py->locals_buf));
			py->nlocals_buf--;
		}
		return NULL;
	}
	if ((err = pcs_strbuf_error(sb)))
		return err;
	const char *repr = pcs_strtab_intern(py->strings, sb->buf, sb->len);
	if (!repr)
		return &pcs_enomem;
	if (at != SIZE_MAX) {
		py->locals_buf[at].repr = repr;
		return NULL;
	}
	if (!PCS_VEC_RESERVE(py->locals_buf, py->nlocals_buf, py->cap_locals_buf, 1))
		return &pcs_enomem;
	py->locals_buf[py->nlocals_buf++] = (struct pcs_local){ name, repr };
	return NULL;
}

struct pcs_error *pcs_python_frame_locals(struct pcs_python *py, pcs_addr_t f,
					  const struct pcs_code_info *ci,
					  struct pcs_python_frame *frame)
{
	if (!py->locals)
		return NULL;
	if (py->nlocals_total >= PCS_MAX_LOCALS_TOTAL) {
		py->locals_over_limit++;
		return NULL;
	}
	const struct pcs_layout *l = py->layout;
	const struct pcs_code_locals *cl;
	struct pcs_error *err = code_locals(py, ci, &cl);
	if (err)
		return err;
	enum pcs_field array = l->props.locals == PCS_LOCALS_KINDS
		? PCS_F_iframe_localsplus : PCS_F_frameobj_f_localsplus;
	if (!cl || !pcs_layout_has(l, array)) {
		py->locals_unreadable++;
		return NULL;
	}
	uint64_t *slots = malloc((cl->n ? cl->n : 1) * sizeof(*slots));
	if (!slots)
		return &pcs_enomem;
	err = pcs_target_read(py->target, f + (uint64_t)l->offset[array], slots,
			      cl->n * sizeof(*slots));
	if (err) {
		// No locals for a frame whose slots cannot be read.
		pcs_error_destroy(err);
		free(slots);
		py->locals_unreadable++;
		return NULL;
	}
	struct pcs_strbuf sb = PCS_STRBUF_INIT;
	py->nlocals_buf = 0;
	for (uint32_t i = 0; i < cl->n && !err; i++) {
		uint8_t kind = cl->kinds[i];
		// Hidden locals, and a class body's or module's free variables,
		// are not in f_locals.
		if (!cl->names[i] || (kind & SLOT_HIDDEN) ||
		    ((kind & SLOT_FREE) && !cl->optimized))
			continue;
		err = set_local(py, cl->names[i], kind, slots[i], &sb);
	}
	pcs_strbuf_deinit(&sb);
	free(slots);
	if (err)
		return err;
	frame->locals = pcs_strtab_add_locals(py->strings, py->locals_buf, py->nlocals_buf);
	if (!frame->locals)
		return &pcs_enomem;
	frame->nlocals = py->nlocals_buf;
	py->nlocals_total += py->nlocals_buf;
	return NULL;
}
