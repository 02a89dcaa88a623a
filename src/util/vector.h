// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * Growable arrays: a pointer, a length and a capacity that live in the
 * owning struct, grown by pcs_vec_grow(). Usage:
 *
 *     struct pcs_frame *frames; size_t nframes, cap_frames;
 *     if (!PCS_VEC_RESERVE(frames, nframes, cap_frames, 1))
 *             return &pcs_enomem;
 *     frames[nframes++] = f;
 */
#ifndef PCS_UTIL_VECTOR_H
#define PCS_UTIL_VECTOR_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Make room for @p extra more elements of @p elsize bytes in *@p data, which
 * holds @p len of *@p cap. Returns false (leaving everything unchanged) when
 * memory runs out or the size would overflow.
 */
bool pcs_vec_grow(void **data, size_t len, size_t *cap, size_t extra,
		  size_t elsize);

#define PCS_VEC_RESERVE(data, len, cap, extra) \
	pcs_vec_grow((void **)&(data), (len), &(cap), (extra), sizeof(*(data)))

#endif
