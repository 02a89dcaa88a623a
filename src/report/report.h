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
#include <stdbool.h>

#include "util/strbuf.h"

/** How the text report looks. */
struct pcs_text_style {
	/** ANSI colours (a terminal, and NO_COLOR unset). */
	bool color;
	/** Fold greenlets and tasks parked in the same place. */
	bool group;
};

/**
 * Python-traceback-like text: a summary, one block per thread, then the
 * greenlet trees and the task tree. @p style NULL: plain, no grouping.
 */
void pcs_report_text(const struct pcs_snapshot *snap, const struct pcs_text_style *style,
		     struct pcs_strbuf *out);

/**
 * Collapsed stacks, the input of flamegraph.pl and speedscope: one line
 * per distinct stack, "kind;outermost;...;innermost count".
 */
void pcs_report_collapsed(const struct pcs_snapshot *snap, struct pcs_strbuf *out);

/** The JSON document of spec/OUTPUT.md ("pycore-stacks/1"). */
void pcs_report_json(const struct pcs_snapshot *snap, struct pcs_strbuf *out);

/**
 * A Sentry event (the JSON payload of sentry-cli send-event and of an
 * envelope's "event" item): one thread per OS thread with its stacktrace,
 * the crash signal as an exception where the core records one, and tags
 * for the Python version and the signal.
 */
void pcs_report_sentry(const struct pcs_snapshot *snap, struct pcs_strbuf *out);

#endif
