// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Every collector, in the order their dependencies ask for.

#include <stdlib.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "layout/layout.h"
#include "util/error.h"

// greenlet's structs depend on the greenlet release the target imported:
// only its memory says which.
static struct pcs_error *add_greenlet_layout(struct pcs_python *py,
					     struct pcs_symbols *syms,
					     struct pcs_layout *layout,
					     enum pcs_layout_source wanted,
					     struct pcs_snapshot *snap)
{
	pcs_addr_t *interps;
	size_t n;
	const char *version = NULL;
	struct pcs_error *err = pcs_python_interpreters(py, &interps, &n);
	for (size_t i = 0; !err && i < n && !version; i++)
		err = pcs_python_greenlet_version(py, interps[i], &version);
	free(interps);
	if (err)
		return pcs_snapshot_warn_error(
			snap, err, "greenlets not read: cannot tell the greenlet version");
	if (!version)
		return NULL;
	snap->greenlet_version = version;
	err = pcs_layout_add_greenlet(syms, version, wanted, layout);
	if (err)
		return pcs_snapshot_warn_error(snap, err, "greenlets not read");
	snap->greenlet_layout = pcs_layout_source_name(layout->greenlet_source);
	return NULL;
}

struct pcs_error *pcs_collect_all(struct pcs_python *py, struct pcs_symbols *syms,
				  struct pcs_layout *layout,
				  enum pcs_layout_source wanted,
				  struct pcs_snapshot *snap)
{
	struct pcs_error *err = pcs_collect_threads(py, snap);
	if (!err)
		err = pcs_collect_tasks(py, snap);
	if (!err)
		err = add_greenlet_layout(py, syms, layout, wanted, snap);
	// After the threads: a running greenlet's frames are its thread's.
	if (!err)
		err = pcs_collect_greenlets(py, snap);
	size_t unreadable, over_limit;
	pcs_python_locals_gaps(py, &unreadable, &over_limit);
	if (!err && unreadable)
		err = pcs_snapshot_warn(snap, "the locals of %zu frame%s could not be read",
					unreadable, unreadable == 1 ? "" : "s");
	if (!err && over_limit)
		err = pcs_snapshot_warn(snap, "%zu frame%s without locals: past %d locals in all",
					over_limit, over_limit == 1 ? "" : "s",
					PCS_MAX_LOCALS_TOTAL);
	return err;
}
