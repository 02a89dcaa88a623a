// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <stdint.h>
#include <stdlib.h>

#include "util/vector.h"

bool pcs_vec_grow(void **data, size_t len, size_t *cap, size_t extra,
		  size_t elsize)
{
	if (extra > SIZE_MAX - len)
		return false;
	size_t need = len + extra;
	if (need <= *cap)
		return true;
	size_t want = *cap ? *cap : 8;
	while (want < need) {
		if (want > SIZE_MAX / 2)
			return false;
		want *= 2;
	}
	if (want > SIZE_MAX / elsize)
		return false;
	void *p = realloc(*data, want * elsize);
	if (!p)
		return false;
	*data = p;
	*cap = want;
	return true;
}
