// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Every object the garbage collector tracks: what gc.get_objects() returns.
// Each generation is a circular list of PyGC_Head (the object follows its
// head) through a sentinel head; the low bits of the next pointer carry
// flags in some versions (3.14's old-space bit), so they are masked.

#include <inttypes.h>

#include "interp/internal.h"
#include "symbols/symbols.h"

enum {
	/** Three generations; then the permanent one (gc.freeze(), 3.7+). */
	NUM_GENERATIONS = 3,
	/** Heads are at least 16-byte aligned; bits below are flags. */
	GC_NEXT_MASK = ~(uint64_t)7,
};

// The list heads of @p interp's collector, and its `collecting` flag.
static struct pcs_error *gc_heads(struct pcs_python *py, pcs_addr_t interp,
				  pcs_addr_t heads[NUM_GENERATIONS + 1], size_t *nheads,
				  pcs_addr_t *collecting)
{
	const struct pcs_layout *l = py->layout;
	uint64_t stride = l->struct_size[PCS_S_gcgeneration];
	pcs_addr_t state = 0;
	*nheads = 0;
	*collecting = 0;
	if (!stride || !l->struct_size[PCS_S_gchead])
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"no layout for the garbage collector's lists");
	switch (l->props.gc) {
	case PCS_GC_GENERATION0: {
		pcs_addr_t sym;
		uint64_t gen0;
		if (!pcs_symbols_lookup(py->symbols, "_PyGC_generation0", &sym, NULL))
			return pcs_error_create(PCS_ERROR_LOOKUP,
						"no symbol _PyGC_generation0");
		struct pcs_error *err = pcs_read_u64(py, sym, &gen0);
		if (err)
			return err;
		for (size_t i = 0; i < NUM_GENERATIONS; i++)
			heads[(*nheads)++] = gen0 + i * stride;
		return NULL;
	}
	case PCS_GC_RUNTIME:
		if (!py->runtime || !pcs_layout_has(l, PCS_F_runtime_gc))
			return pcs_error_create(PCS_ERROR_LOOKUP, "no _PyRuntime.gc");
		state = py->runtime + (uint64_t)l->offset[PCS_F_runtime_gc];
		break;
	case PCS_GC_INTERP:
		if (!pcs_layout_has(l, PCS_F_interp_gc))
			return pcs_error_create(PCS_ERROR_LOOKUP, "no interpreter gc field");
		state = interp + (uint64_t)l->offset[PCS_F_interp_gc];
		break;
	}
	if (!pcs_layout_has(l, PCS_F_gcstate_generations))
		return pcs_error_create(PCS_ERROR_LOOKUP, "no gc generations field");
	pcs_addr_t gens = state + (uint64_t)l->offset[PCS_F_gcstate_generations];
	for (size_t i = 0; i < NUM_GENERATIONS; i++)
		heads[(*nheads)++] = gens + i * stride;
	if (pcs_layout_has(l, PCS_F_gcstate_permanent_generation))
		heads[(*nheads)++] = state + (uint64_t)l->offset[PCS_F_gcstate_permanent_generation];
	if (pcs_layout_has(l, PCS_F_gcstate_collecting))
		*collecting = state + (uint64_t)l->offset[PCS_F_gcstate_collecting];
	return NULL;
}

struct pcs_error *pcs_python_gc_objects(struct pcs_python *py, pcs_addr_t interp,
					pcs_python_object_fn *fn, void *arg,
					bool *collecting)
{
	const struct pcs_layout *l = py->layout;
	pcs_addr_t heads[NUM_GENERATIONS + 1], collecting_addr;
	size_t nheads;
	*collecting = false;
	struct pcs_error *err = gc_heads(py, interp, heads, &nheads, &collecting_addr);
	if (err)
		return err;
	if (collecting_addr) {
		uint32_t c;
		if (!pcs_read_u32(py, collecting_addr, &c))
			*collecting = c != 0;
	}
	uint64_t head_size = l->struct_size[PCS_S_gchead];
	int64_t type_off = l->offset[PCS_F_object_ob_type];
	for (size_t i = 0; i < nheads; i++) {
		struct pcs_cycle_guard guard;
		pcs_cycle_guard_init(&guard, PCS_MAX_GC_OBJECTS, "garbage collector list");
		uint64_t next;
		if ((err = pcs_read_u64(py, heads[i], &next)))
			return err;
		for (pcs_addr_t p = next & GC_NEXT_MASK; p != heads[i]; p = next & GC_NEXT_MASK) {
			if (!p)
				return pcs_error_create(PCS_ERROR_BAD_DATA,
							"garbage collector list broken at a null link");
			if ((err = pcs_cycle_guard_step(&guard, p)))
				return err;
			uint64_t type;
			pcs_addr_t obj = p + head_size;
			if ((err = pcs_read_u64(py, p, &next)) ||
			    (err = pcs_read_u64(py, obj + (uint64_t)type_off, &type)) ||
			    (err = fn(arg, obj, type)))
				return err;
		}
	}
	return NULL;
}

bool pcs_python_gc_per_interpreter(const struct pcs_python *py)
{
	return py->layout->props.gc == PCS_GC_INTERP;
}
