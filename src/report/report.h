// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * ⑥ Reports: pure functions of the model. Each renders a whole snapshot
 * into a string buffer; the caller writes it out.
 */
#ifndef PCS_REPORT_REPORT_H
#define PCS_REPORT_REPORT_H

#include "collect/model.h"
#include "util/strbuf.h"

/** Python-traceback-like text, one block per thread. */
void pcs_report_text(const struct pcs_snapshot *snap, struct pcs_strbuf *out);

/** The JSON document of spec/OUTPUT.md ("pycore-stacks/1"). */
void pcs_report_json(const struct pcs_snapshot *snap, struct pcs_strbuf *out);

#endif
