// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * Interned strings. A snapshot holds thousands of frames that share a few
 * hundred file and function names; each distinct string is stored once and
 * every user holds a borrowed `const char *` valid until pcs_strtab_deinit().
 */
#ifndef PCS_UTIL_STRTAB_H
#define PCS_UTIL_STRTAB_H

#include <stddef.h>
#include <stdint.h>

/** A slot of the table: a string, with its length and (part of) its hash. */
struct pcs_strtab_slot {
	const char *s;	/**< NULL = empty */
	uint32_t len;
	uint32_t hash;
};

struct pcs_strtab {
	struct pcs_strtab_slot *slots;	/**< open addressing */
	size_t nslots;
	size_t count;
	/**
	 * Memory the table owns: the blocks its strings are stored in, and
	 * arrays of interned strings (pcs_strtab_add_locals()).
	 */
	void **arrays;
	size_t narrays, cap_arrays;
	/** Room left in the block strings are being added to. */
	char *block_free;
	size_t block_left;
};

/** An argument or local variable of a frame (--locals): interned strings. */
struct pcs_local {
	const char *name;
	/** A short, bounded repr of its value (corpus/README.md, "locals truth"). */
	const char *repr;
};

void pcs_strtab_init(struct pcs_strtab *tab);
void pcs_strtab_deinit(struct pcs_strtab *tab);

/**
 * Return the interned copy of @p s (@p len bytes, need not be
 * NUL-terminated), adding it if new. NULL when memory runs out.
 * @return borrowed; valid until pcs_strtab_deinit().
 */
const char *pcs_strtab_intern(struct pcs_strtab *tab, const char *s, size_t len);

/** Same for a NUL-terminated string. */
const char *pcs_strtab_interns(struct pcs_strtab *tab, const char *s);

/**
 * A copy of the @p n locals at @p items (their strings interned in @p tab),
 * owned by the table and freed by pcs_strtab_deinit(), like its strings:
 * whatever holds it can be copied freely. Not NULL for @p n == 0; NULL when
 * memory runs out.
 */
const struct pcs_local *pcs_strtab_add_locals(struct pcs_strtab *tab,
					       const struct pcs_local *items, size_t n);

/** FNV-1a, shared by the hash tables of the project. */
uint64_t pcs_hash_bytes(const void *data, size_t len);

#endif
