// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Code objects, read once each and cached by address: a 900-frame recursion
// is one code object, and its name, file and line table are read once.

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "interp/internal.h"
#include "interp/linetable.h"
#include "util/strtab.h"

static struct pcs_code_info *slot_for(struct pcs_code_info *slots, size_t n,
				      pcs_addr_t addr)
{
	size_t i = (size_t)(pcs_hash_bytes(&addr, sizeof(addr)) & (n - 1));
	while (slots[i].addr && slots[i].addr != addr)
		i = (i + 1) & (n - 1);
	return &slots[i];
}

static bool grow_cache(struct pcs_python *py)
{
	size_t n = py->ncodes_slots ? py->ncodes_slots * 2 : 256;
	struct pcs_code_info *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < py->ncodes_slots; i++) {
		if (py->codes[i].addr)
			*slot_for(slots, n, py->codes[i].addr) = py->codes[i];
	}
	free(py->codes);
	py->codes = slots;
	py->ncodes_slots = n;
	return true;
}

static struct pcs_error *read_code(struct pcs_python *py, pcs_addr_t code,
				   struct pcs_code_info *ci)
{
	const struct pcs_layout *l = py->layout;
	uint64_t name, file, qualname = 0, table;
	int64_t firstlineno, firsttraceable = 0;
	struct pcs_error *err;
	if (py->code_type) {
		pcs_addr_t type;
		if ((err = pcs_object_type(py, code, &type)))
			return err;
		if (type != py->code_type)
			return pcs_error_create(PCS_ERROR_BAD_DATA,
						"not a code object at 0x%" PRIx64, code);
	}
	if ((err = pcs_read_field(py, code, PCS_F_code_co_name, &name)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_filename, &file)) ||
	    (err = pcs_read_field_signed(py, code, PCS_F_code_co_firstlineno,
					 &firstlineno)) ||
	    (err = pcs_read_field(py, code, PCS_F_code_co_linetable, &table)))
		return err;
	if (pcs_layout_has(l, PCS_F_code_co_qualname) &&
	    (err = pcs_read_field(py, code, PCS_F_code_co_qualname, &qualname)))
		return err;
	// Without it (debug offsets alone do not give it) only frames owned
	// by C are skipped, as CPython's own remote unwinder does.
	if (l->props.skip_incomplete && pcs_layout_has(l, PCS_F_code__co_firsttraceable) &&
	    (err = pcs_read_field_signed(py, code, PCS_F_code__co_firsttraceable,
					 &firsttraceable)))
		return err;
	if ((err = pcs_object_str(py, name, &ci->name)) ||
	    (err = pcs_object_str(py, file, &ci->file)))
		return err;
	ci->qualname = ci->name;
	if (qualname && (err = pcs_object_str(py, qualname, &ci->qualname)))
		return err;
	ci->firstlineno = (int)firstlineno;
	ci->firsttraceable = (int)firsttraceable;
	return pcs_object_bytes(py, table, PCS_MAX_LINETABLE, &ci->linetable,
				&ci->linetable_len);
}

struct pcs_error *pcs_code_info(struct pcs_python *py, pcs_addr_t code,
				const struct pcs_code_info **ret)
{
	if (!code)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "frame without code object");
	if (py->ncodes_slots) {
		struct pcs_code_info *ci = slot_for(py->codes, py->ncodes_slots, code);
		if (ci->addr) {
			*ret = ci;
			return NULL;
		}
	}
	struct pcs_code_info info = { .addr = code };
	struct pcs_error *err = read_code(py, code, &info);
	if (err) {
		free(info.linetable);
		return pcs_error_prefix(err, "code object at 0x%" PRIx64, code);
	}
	if ((py->ncodes + 1) * 2 > py->ncodes_slots && !grow_cache(py)) {
		free(info.linetable);
		return &pcs_enomem;
	}
	struct pcs_code_info *ci = slot_for(py->codes, py->ncodes_slots, code);
	*ci = info;
	py->ncodes++;
	*ret = ci;
	return NULL;
}

static int decode_line(const struct pcs_python *py, const struct pcs_code_info *code,
		       int64_t addrq)
{
	switch (py->layout->props.linetable) {
	case PCS_LINETABLE_LNOTAB_UNSIGNED:
	case PCS_LINETABLE_LNOTAB:
		return pcs_linetable_lnotab(code->linetable, code->linetable_len,
					    code->firstlineno, addrq,
					    py->layout->props.linetable == PCS_LINETABLE_LNOTAB);
	case PCS_LINETABLE_310:
		return pcs_linetable_310(code->linetable, code->linetable_len,
					 code->firstlineno, addrq);
	case PCS_LINETABLE_LOCATIONS:
		return pcs_linetable_locations(code->linetable, code->linetable_len,
					       code->firstlineno, addrq);
	}
	return -1;
}

int pcs_code_line(const struct pcs_python *py, const struct pcs_code_info *code,
		  int64_t addrq)
{
	// The cache of the last answer is no part of what the code is: the
	// entry itself is the cache's (py->codes), not const.
	struct pcs_code_info *entry = (struct pcs_code_info *)code;
	if (!entry->line_known || entry->line_addrq != addrq) {
		entry->line = decode_line(py, code, addrq);
		entry->line_addrq = addrq;
		entry->line_known = true;
	}
	return entry->line;
}
