// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <stdlib.h>
#include <string.h>

#include "util/strtab.h"
#include "util/vector.h"

enum {
	/** Strings are stored in blocks of this size... */
	BLOCK_SIZE = 64 << 10,
	/** ...except longer ones, each in a block of its own. */
	BLOCK_MAX_STRING = 4 << 10,
	/** The longest string kept whole (UINT32_MAX would not fit a slot). */
	MAX_LEN = 1 << 30,
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t pcs_hash_bytes(const void *data, size_t len)
{
	// Eight bytes at a time; every bit of the input reaches every bit of
	// the result, so tables can index with the low bits.
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < len; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return mix(h ^ w);
}

void pcs_strtab_init(struct pcs_strtab *tab)
{
	memset(tab, 0, sizeof(*tab));
}

void pcs_strtab_deinit(struct pcs_strtab *tab)
{
	free(tab->slots);
	for (size_t i = 0; i < tab->narrays; i++)
		free(tab->arrays[i]);
	free(tab->arrays);
	pcs_strtab_init(tab);
}

// The slot of @p s (@p len bytes, @p hash: the low 32 bits of its hash,
// which index the table too), or the empty one it would go to.
static struct pcs_strtab_slot *find_slot(struct pcs_strtab_slot *slots, size_t nslots,
					 const char *s, size_t len, uint32_t hash)
{
	size_t i = hash & (nslots - 1);
	for (;;) {
		struct pcs_strtab_slot *cur = &slots[i];
		if (!cur->s || (cur->hash == hash && cur->len == len &&
				memcmp(cur->s, s, len) == 0))
			return cur;
		i = (i + 1) & (nslots - 1);
	}
}

static int rehash(struct pcs_strtab *tab)
{
	size_t n = tab->nslots ? tab->nslots * 2 : 256;
	struct pcs_strtab_slot *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	// By the hashes kept: the strings themselves are not read again.
	for (size_t i = 0; i < tab->nslots; i++) {
		const struct pcs_strtab_slot *cur = &tab->slots[i];
		if (!cur->s)
			continue;
		size_t j = cur->hash & (n - 1);
		while (slots[j].s)
			j = (j + 1) & (n - 1);
		slots[j] = *cur;
	}
	free(tab->slots);
	tab->slots = slots;
	tab->nslots = n;
	return 0;
}

// Room for @p size bytes that live as long as the table.
static char *store(struct pcs_strtab *tab, size_t size)
{
	if (size > BLOCK_MAX_STRING || size > tab->block_left) {
		size_t block = size > BLOCK_MAX_STRING ? size : BLOCK_SIZE;
		char *p = malloc(block);
		if (!p || !PCS_VEC_RESERVE(tab->arrays, tab->narrays, tab->cap_arrays, 1)) {
			free(p);
			return NULL;
		}
		tab->arrays[tab->narrays++] = p;
		if (size > BLOCK_MAX_STRING)
			return p;
		tab->block_free = p;
		tab->block_left = block;
	}
	char *p = tab->block_free;
	tab->block_free += size;
	tab->block_left -= size;
	return p;
}

const char *pcs_strtab_intern(struct pcs_strtab *tab, const char *s, size_t len)
{
	// Every user reads a C string: one with a NUL inside (a str holding
	// U+0000) ends there, here too, else strings that differ only after
	// it would be one.
	len = strnlen(s, len < MAX_LEN ? len : MAX_LEN);
	if ((tab->count + 1) * 2 > tab->nslots && rehash(tab) < 0)
		return NULL;
	uint32_t hash = (uint32_t)pcs_hash_bytes(s, len);
	struct pcs_strtab_slot *slot = find_slot(tab->slots, tab->nslots, s, len, hash);
	if (slot->s)
		return slot->s;
	char *copy = store(tab, len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	*slot = (struct pcs_strtab_slot){ .s = copy, .len = (uint32_t)len, .hash = hash };
	tab->count++;
	return copy;
}

const char *pcs_strtab_interns(struct pcs_strtab *tab, const char *s)
{
	return pcs_strtab_intern(tab, s, strlen(s));
}

const struct pcs_local *pcs_strtab_add_locals(struct pcs_strtab *tab,
					       const struct pcs_local *items, size_t n)
{
	static const struct pcs_local none[1];
	if (!n)
		return none;
	if (n > SIZE_MAX / sizeof(*items) ||
	    !PCS_VEC_RESERVE(tab->arrays, tab->narrays, tab->cap_arrays, 1))
		return NULL;
	struct pcs_local *copy = malloc(n * sizeof(*items));
	if (!copy)
		return NULL;
	memcpy(copy, items, n * sizeof(*items));
	tab->arrays[tab->narrays++] = copy;
	return copy;
}
