// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// A Sentry event built from a snapshot (see pcs_report_sentry()).

#include "report/report.h"

void pcs_report_sentry(const struct pcs_snapshot *snap, struct pcs_strbuf *out)
{
	(void)snap;
	pcs_strbuf_adds(out, "{}\n");
}
