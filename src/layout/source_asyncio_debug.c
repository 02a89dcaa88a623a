// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// _asyncio's own offsets (3.14+): `struct _Py_AsyncioModuleDebugOffsets` in
// the ELF section .AsyncioDebug of the module that holds _asyncio (the
// extension, or the interpreter when it is built in). Thirteen uint64s in
// three groups, each led by the size of the struct it describes; untrusted
// like _Py_DebugOffsets, and checked the same way.

#include <inttypes.h>
#include <string.h>

#include "layout/layout.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"

enum { ASYNCIO_DEBUG_SIZE = 13 * 8, MAX_STRUCT = 1 << 24 };

static const struct {
	unsigned index;		// which uint64
	unsigned size_index;	// the size bounding it
	enum pcs_struct st;
	int field;		// -1: this is the size itself
	uint8_t width;
} entries[] = {
	{ 0, 0, PCS_S_task, -1, 0 },
	{ 1, 0, PCS_S_task, PCS_F_task_task_name, 8 },
	{ 2, 0, PCS_S_task, PCS_F_task_task_awaited_by, 8 },
	{ 3, 0, PCS_S_task, PCS_F_task_task_is_task, 1 },
	{ 4, 0, PCS_S_task, PCS_F_task_task_awaited_by_is_set, 1 },
	{ 5, 0, PCS_S_task, PCS_F_task_task_coro, 8 },
	{ 6, 0, PCS_S_task, PCS_F_task_task_node, 8 },
	{ 8, 7, PCS_S_interp, PCS_F_interp_asyncio_tasks_head, 8 },
	{ 9, 9, PCS_S_tstateimpl, -1, 0 },
	{ 10, 9, PCS_S_tstateimpl, PCS_F_tstateimpl_asyncio_running_loop, 8 },
	{ 11, 9, PCS_S_tstateimpl, PCS_F_tstateimpl_asyncio_running_task, 8 },
	{ 12, 9, PCS_S_tstateimpl, PCS_F_tstateimpl_asyncio_tasks_head, 8 },
};

struct pcs_error *pcs_asyncio_debug_apply(const unsigned char *buf, size_t len,
					  struct pcs_layout *l)
{
	if (len < ASYNCIO_DEBUG_SIZE)
		return pcs_error_create(PCS_ERROR_BAD_DATA, ".AsyncioDebug too small");
	uint64_t v[13];
	memcpy(v, buf, sizeof(v));
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		uint64_t size = v[entries[i].size_index], off = v[entries[i].index];
		if (size == 0 || size > MAX_STRUCT)
			return pcs_error_create(PCS_ERROR_BAD_DATA,
						".AsyncioDebug: bad struct size %" PRIu64, size);
		if (entries[i].field < 0) {
			l->struct_size[entries[i].st] = size;
			continue;
		}
		if (off > size || entries[i].width > size - off || off % entries[i].width)
			return pcs_error_create(PCS_ERROR_BAD_DATA,
						".AsyncioDebug: offset %" PRIu64
						" outside its struct (%" PRIu64 " bytes)", off, size);
		l->offset[entries[i].field] = (int64_t)off;
		l->width[entries[i].field] = entries[i].width;
	}
	return NULL;
}

struct pcs_error *pcs_layout_add_asyncio_debug(struct pcs_target *t,
					       struct pcs_symbols *s,
					       struct pcs_layout *l)
{
	pcs_addr_t addr;
	uint64_t size;
	if (!pcs_symbols_any_section(s, ".AsyncioDebug", &addr, &size))
		return NULL;	// before 3.14, or _asyncio not loaded
	if (size < ASYNCIO_DEBUG_SIZE)
		return pcs_error_create(PCS_ERROR_BAD_DATA, ".AsyncioDebug too small");
	unsigned char buf[ASYNCIO_DEBUG_SIZE];
	struct pcs_error *err = pcs_target_read(t, addr, buf, sizeof(buf));
	if (!err)
		err = pcs_asyncio_debug_apply(buf, sizeof(buf), l);
	return err;
}
