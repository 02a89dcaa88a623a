// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "target/target_internal.h"
#include "util/error.h"
#include "util/vector.h"

struct pcs_error *pcs_target_read(struct pcs_target *t, pcs_addr_t addr,
				  void *buf, size_t len)
{
	// A core's reads mostly stay in the page the previous one was in.
	if (addr - t->window_addr < t->window_size &&
	    len <= t->window_size - (addr - t->window_addr)) {
		memcpy(buf, t->window + (addr - t->window_addr), len);
		return NULL;
	}
	if (len == 0)
		return NULL;
	if (addr + len < addr)
		return pcs_error_fault(addr, "cannot read %zu bytes at 0x%" PRIx64
				       ": address wraps", len, addr);
	if (t->kind == PCS_TARGET_CORE)
		return pcs_target_core_read(t, addr, buf, len);
	return pcs_target_live_read(t, addr, buf, len);
}

bool pcs_target_readable(struct pcs_target *t, pcs_addr_t addr, size_t len)
{
	unsigned char tmp[64];
	while (len) {
		size_t n = len < sizeof(tmp) ? len : sizeof(tmp);
		struct pcs_error *err = pcs_target_read(t, addr, tmp, n);
		if (err) {
			pcs_error_destroy(err);
			return false;
		}
		addr += n;
		len -= n;
	}
	return true;
}

struct pcs_error *pcs_target_stop(struct pcs_target *t)
{
	return t->kind == PCS_TARGET_PROCESS ? pcs_target_live_stop(t) : NULL;
}

void pcs_target_destroy(struct pcs_target *t)
{
	if (!t)
		return;
	if (t->kind == PCS_TARGET_CORE)
		pcs_target_core_deinit(t);
	else
		pcs_target_live_deinit(t);
	for (size_t i = 0; i < t->nmappings; i++)
		free(t->mappings[i].path);
	free(t->mappings);
	free(t->regions);
	free(t->threads);
	free(t->name);
	free(t->core_path);
	free(t->exe_path);
	free(t->core_exe_path);
	free(t->args);
	free(t->sysroot);
	free(t->lib_path);
	for (size_t i = 0; i < t->nlocal_files; i++) {
		free(t->local_files[i].path);
		free(t->local_files[i].local);
		free(t->local_files[i].why);
	}
	free(t->local_files);
	free(t);
}

struct pcs_error *pcs_target_add_mapping(struct pcs_target *t, pcs_addr_t start,
					 pcs_addr_t end, uint64_t offset,
					 const char *path)
{
	if (!PCS_VEC_RESERVE(t->mappings, t->nmappings, t->cap_mappings, 1))
		return &pcs_enomem;
	char *copy = strdup(path);
	if (!copy)
		return &pcs_enomem;
	t->mappings[t->nmappings++] = (struct pcs_target_mapping){
		.start = start, .end = end, .offset = offset, .path = copy,
	};
	return NULL;
}

enum pcs_target_kind pcs_target_kind(const struct pcs_target *t)
{
	return t->kind;
}

int pcs_target_pid(const struct pcs_target *t)
{
	return t->pid;
}

const char *pcs_target_core_path(const struct pcs_target *t)
{
	return t->core_path;
}

const char *pcs_target_core_compression(const struct pcs_target *t)
{
	return t->core_compression;
}

const char *pcs_target_exe_path(const struct pcs_target *t)
{
	return t->exe_path;
}

const char *pcs_target_name(const struct pcs_target *t)
{
	return t->name;
}

size_t pcs_target_num_threads(const struct pcs_target *t)
{
	return t->nthreads;
}

const struct pcs_target_thread *pcs_target_thread(const struct pcs_target *t,
						  size_t index)
{
	return &t->threads[index];
}

size_t pcs_target_num_mappings(const struct pcs_target *t)
{
	return t->nmappings;
}

const struct pcs_target_mapping *pcs_target_mapping(const struct pcs_target *t,
						    size_t index)
{
	return &t->mappings[index];
}

int pcs_target_core_fd(const struct pcs_target *t)
{
	return t->kind == PCS_TARGET_CORE ? t->core_fd : -1;
}

const char *pcs_target_local_path(struct pcs_target *t, const char *path)
{
	if (t->kind == PCS_TARGET_CORE)
		return pcs_target_core_local_path(t, path);
	return pcs_target_live_local_path(t, path);
}

bool pcs_target_file_matches(struct pcs_target *t, const char *path, char *why,
			     size_t why_size)
{
	if (t->kind == PCS_TARGET_CORE)
		return pcs_target_core_file_matches(t, path, why, why_size);
	return true;
}

const struct pcs_target_crash *pcs_target_crash(const struct pcs_target *t)
{
	return t->has_crash ? &t->crash : NULL;
}

const char *pcs_target_args(const struct pcs_target *t)
{
	return t->args;
}

bool pcs_target_region(const struct pcs_target *t, pcs_addr_t addr,
		       pcs_addr_t *start, pcs_addr_t *end)
{
	// Both lists are sorted by address and do not overlap.
	size_t lo = 0, hi = t->kind == PCS_TARGET_CORE ? t->nsegments : t->nregions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		pcs_addr_t s, e;
		if (t->kind == PCS_TARGET_CORE) {
			s = t->segments[mid].vaddr;
			e = s + t->segments[mid].memsz;
		} else {
			s = t->regions[mid].start;
			e = t->regions[mid].end;
		}
		if (addr < s) {
			hi = mid;
		} else if (addr >= e) {
			lo = mid + 1;
		} else {
			*start = s;
			*end = e;
			return true;
		}
	}
	return false;
}
