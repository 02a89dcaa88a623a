// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <stdlib.h>
#include <string.h>

#include "util/strtab.h"
#include "util/vector.h"

uint64_t pcs_hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void pcs_strtab_init(struct pcs_strtab *tab)
{
	memset(tab, 0, sizeof(*tab));
}

void pcs_strtab_deinit(struct pcs_strtab *tab)
{
	for (size_t i = 0; i < tab->nslots; i++)
		free((char *)tab->slots[i]);
	free(tab->slots);
	for (size_t i = 0; i < tab->narrays; i++)
		free(tab->arrays[i]);
	free(tab->arrays);
	pcs_strtab_init(tab);
}

static const char **find_slot(const char **slots, size_t nslots, const char *s,
			      size_t len)
{
	size_t i = pcs_hash_bytes(s, len) & (nslots - 1);
	for (;;) {
		const char *cur = slots[i];
		if (!cur || (strncmp(cur, s, len) == 0 && cur[len] == '\0'))
			return &slots[i];
		i = (i + 1) & (nslots - 1);
	}
}

static int rehash(struct pcs_strtab *tab)
{
	size_t n = tab->nslots ? tab->nslots * 2 : 256;
	const char **slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < tab->nslots; i++) {
		const char *s = tab->slots[i];
		if (s)
			*find_slot(slots, n, s, strlen(s)) = s;
	}
	free(tab->slots);
	tab->slots = slots;
	tab->nslots = n;
	return 0;
}

const char *pcs_strtab_intern(struct pcs_strtab *tab, const char *s, size_t len)
{
	// Every user reads a C string: one with a NUL inside (a str holding
	// U+0000) ends there, here too, else rehash() (strlen()) would put it
	// where its prefix goes and lose one of the two.
	len = strnlen(s, len);
	if ((tab->count + 1) * 2 > tab->nslots && rehash(tab) < 0)
		return NULL;
	const char **slot = find_slot(tab->slots, tab->nslots, s, len);
	if (*slot)
		return *slot;
	char *copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	*slot = copy;
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
