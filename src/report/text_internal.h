// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// Private to the text report: what its parts share.
#ifndef PCS_REPORT_TEXT_INTERNAL_H
#define PCS_REPORT_TEXT_INTERNAL_H

#include "report/report.h"

/** Trees are drawn at most this deep. */
enum { PCS_TEXT_MAX_DEPTH = 256 };

enum pcs_text_color {
	PCS_COLOR_NONE,
	PCS_COLOR_HEADER,	/**< a unit's title line */
	PCS_COLOR_FILE,
	PCS_COLOR_LINE,
	PCS_COLOR_FUNCTION,
	PCS_COLOR_DIM,		/**< tree lines, addresses */
	PCS_COLOR_WARNING,
};

struct pcs_text {
	struct pcs_strbuf *out;
	const struct pcs_snapshot *snap;
	const struct pcs_text_style *style;
};

/** Start text in @p color (nothing without colour); PCS_COLOR_NONE ends it. */
void pcs_text_color(struct pcs_text *tx, enum pcs_text_color color);

/**
 * One frame as a traceback shows it, each line after @p prefix (the tree
 * drawn so far); its source line below it, where known.
 */
void pcs_text_frame(struct pcs_text *tx, const char *prefix, const struct pcs_frame *f);

/** The frames of @p st, then why it stops early, if it does. */
void pcs_text_stack(struct pcs_text *tx, const char *prefix, const struct pcs_stack *st,
		    const char *what);

/** "├─ " or "└─ " after @p prefix. */
void pcs_text_branch(struct pcs_text *tx, const char *prefix, bool last);

/** ": 1 running, 8 suspended": the greenlets by state, the empty ones left out. */
void pcs_text_greenlet_states(struct pcs_text *tx);

void pcs_text_greenlets(struct pcs_text *tx);
void pcs_text_tasks(struct pcs_text *tx);

#endif
