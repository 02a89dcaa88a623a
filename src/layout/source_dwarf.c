// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Layout from the interpreter's DWARF: each struct of fields.def looked up by
// name, each member by name, CO-RE style. One pass over the compile units,
// looking only at their top-level DIEs, ends as soon as every struct is found.

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout/layout.h"
#include "util/error.h"

static const char *const struct_names[] = {
#define PCS_STRUCT(id, names) names,
#define PCS_FIELD(st, id, paths)
#include "layout/fields.def"
#undef PCS_STRUCT
#undef PCS_FIELD
};

static const struct {
	enum pcs_struct st;
	const char *paths;
} field_defs[] = {
#define PCS_STRUCT(id, names)
#define PCS_FIELD(st, id, paths) { PCS_S_##st, paths },
#include "layout/fields.def"
#undef PCS_STRUCT
#undef PCS_FIELD
};

// Whether @p name (@p len bytes) is one of the '|'-separated @p names.
static bool name_in(const char *name, size_t len, const char *names)
{
	for (const char *p = names;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (n == len && memcmp(p, name, n) == 0)
			return true;
		if (!bar)
			return false;
		p = bar + 1;
	}
}

// Strip typedefs and qualifiers. False if the chain is broken.
static bool peel(Dwarf_Die *die)
{
	for (int depth = 0; depth < 16; depth++) {
		int tag = dwarf_tag(die);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type && tag != DW_TAG_atomic_type)
			return true;
		Dwarf_Attribute attr;
		if (!dwarf_attr_integrate(die, DW_AT_type, &attr) ||
		    !dwarf_formref_die(&attr, die))
			return false;
	}
	return false;
}

static bool is_definition(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);
	return (tag == DW_TAG_structure_type || tag == DW_TAG_union_type ||
		tag == DW_TAG_class_type) &&
	       !dwarf_hasattr(die, DW_AT_declaration) && dwarf_haschildren(die);
}

static bool member_offset(Dwarf_Die *member, Dwarf_Word *ret)
{
	Dwarf_Attribute attr;
	if (!dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
		*ret = 0;	// union members
		return true;
	}
	return dwarf_formudata(&attr, ret) == 0;
}

// Find member @p name (@p len bytes) in struct @p st, looking through
// anonymous structs and unions. On success, *ret is the member's DIE and
// *offset its offset from the start of @p st.
static bool find_member(Dwarf_Die *st, const char *name, size_t len,
			Dwarf_Die *ret, Dwarf_Word *offset, int depth)
{
	Dwarf_Die child;
	if (depth > 8 || dwarf_child(st, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		Dwarf_Word off;
		if (!member_offset(&child, &off))
			continue;
		const char *mname = dwarf_diename(&child);
		if (mname && strlen(mname) == len && memcmp(mname, name, len) == 0) {
			*ret = child;
			*offset = off;
			return true;
		}
		if (!mname) {
			Dwarf_Attribute attr;
			Dwarf_Die type;
			if (!dwarf_attr_integrate(&child, DW_AT_type, &attr) ||
			    !dwarf_formref_die(&attr, &type) || !peel(&type))
				continue;
			Dwarf_Word inner;
			if (find_member(&type, name, len, ret, &inner, depth + 1)) {
				*offset = off + inner;
				return true;
			}
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

// Resolve one dotted path in @p st; offset and byte width of the type.
static bool resolve_path(Dwarf_Die *st, const char *path, size_t len,
			 int64_t *offset, uint8_t *width)
{
	Dwarf_Die cur = *st, member;
	Dwarf_Word total = 0;
	for (;;) {
		const char *dot = memchr(path, '.', len);
		size_t n = dot ? (size_t)(dot - path) : len;
		Dwarf_Word off;
		if (!find_member(&cur, path, n, &member, &off, 0))
			return false;
		total += off;
		Dwarf_Attribute attr;
		Dwarf_Die type;
		if (!dwarf_attr_integrate(&member, DW_AT_type, &attr) ||
		    !dwarf_formref_die(&attr, &type) || !peel(&type))
			return false;
		if (!dot) {
			// Arrays: the width of one element.
			if (dwarf_tag(&type) == DW_TAG_array_type) {
				if (!dwarf_attr_integrate(&type, DW_AT_type, &attr) ||
				    !dwarf_formref_die(&attr, &type) || !peel(&type))
					return false;
			}
			Dwarf_Word size;
			int tag = dwarf_tag(&type);
			if (tag == DW_TAG_pointer_type)
				size = 8;
			else if (dwarf_aggregate_size(&type, &size) != 0)
				size = 0;
			*offset = (int64_t)total;
			*width = size <= 8 ? (uint8_t)size : 0;
			return true;
		}
		cur = type;
		len -= n + 1;
		path = dot + 1;
	}
}

static void resolve_field(Dwarf_Die *st, const char *paths, int64_t *offset,
			  uint8_t *width)
{
	for (const char *p = paths;;) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (resolve_path(st, p, n, offset, width))
			return;
		if (!bar)
			return;
		p = bar + 1;
	}
}

struct found_structs {
	Dwarf_Die die[PCS_NUM_STRUCTS];
	bool have[PCS_NUM_STRUCTS];
	size_t remaining;
};

// Match the DIEs from @p die on (siblings) against the structs still
// missing; @p ns is the enclosing C++ namespace ("" at the top), so that
// fields.def can name "greenlet::Greenlet".
static void scan_dies(Dwarf_Die die, const char *ns, struct found_structs *fs)
{
	do {
		// By tag first: most DIEs (functions, variables) are neither
		// a type nor a namespace, and need no name.
		int tag = dwarf_tag(&die);
		bool type = tag == DW_TAG_structure_type || tag == DW_TAG_typedef ||
			    tag == DW_TAG_union_type || tag == DW_TAG_class_type;
		if (!type && tag != DW_TAG_namespace)
			continue;
		const char *name = dwarf_diename(&die);
		if (!name)
			continue;
		if (tag == DW_TAG_namespace) {
			Dwarf_Die child;
			if (!*ns && dwarf_child(&die, &child) == 0)
				scan_dies(child, name, fs);
			continue;
		}
		char qualified[256];
		if (*ns) {
			snprintf(qualified, sizeof(qualified), "%s::%s", ns, name);
			name = qualified;
		}
		size_t len = strlen(name);
		for (size_t i = 0; i < PCS_NUM_STRUCTS; i++) {
			if (fs->have[i] || !name_in(name, len, struct_names[i]))
				continue;
			Dwarf_Die def = die;
			if (!peel(&def) || !is_definition(&def))
				continue;
			fs->die[i] = def;
			fs->have[i] = true;
			fs->remaining--;
		}
	} while (fs->remaining && dwarf_siblingof(&die, &die) == 0);
}

struct pcs_error *pcs_layout_from_dwarf(Dwarf *dw, struct pcs_layout *layout)
{
	struct found_structs fs = { .remaining = PCS_NUM_STRUCTS };
	Dwarf_Die *found = fs.die;
	bool *have = fs.have;

	Dwarf_Off off = 0, next;
	size_t hsize;
	while (fs.remaining && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0)
			scan_dies(die, "", &fs);
		off = next;
	}

	for (size_t i = 0; i < PCS_NUM_STRUCTS; i++) {
		Dwarf_Word size;
		layout->struct_size[i] =
			have[i] && dwarf_aggregate_size(&found[i], &size) == 0 ? size : 0;
	}
	for (size_t f = 0; f < PCS_NUM_FIELDS; f++) {
		layout->offset[f] = PCS_OFFSET_ABSENT;
		layout->width[f] = 0;
		if (have[field_defs[f].st])
			resolve_field(&found[field_defs[f].st], field_defs[f].paths,
				      &layout->offset[f], &layout->width[f]);
	}
	layout->source = PCS_LAYOUT_DWARF;
	return NULL;
}

void pcs_layout_merge_dwarf(Dwarf *dw, struct pcs_layout *layout)
{
	struct pcs_layout *m = calloc(1, sizeof(*m));
	if (!m || pcs_layout_from_dwarf(dw, m)) {
		free(m);
		return;
	}
	for (size_t st = 0; st < PCS_NUM_STRUCTS; st++) {
		if (layout->struct_size[st] || !m->struct_size[st])
			continue;
		layout->struct_size[st] = m->struct_size[st];
		for (size_t f = 0; f < PCS_NUM_FIELDS; f++) {
			if (field_defs[f].st == st) {
				layout->offset[f] = m->offset[f];
				layout->width[f] = m->width[f];
			}
		}
	}
	free(m);
}
