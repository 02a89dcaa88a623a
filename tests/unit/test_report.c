// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The text report's greenlet trees: a thousand workers parked in the same
// place read as one entry; different places, parents and threads do not
// fold together; a damaged parent chain (a loop) still draws, once.

#include <stdlib.h>
#include <string.h>

#include "collect/model.h"
#include "harness.h"
#include "report/report.h"

static struct pcs_greenlet *add(struct pcs_snapshot *snap, uint64_t address,
				uint64_t parent, const char *state, const char *name,
				int line)
{
	snap->greenlets[snap->ngreenlets] = (struct pcs_greenlet){
		.address = address,
		.type = pcs_snapshot_intern(snap, parent ? "Greenlet" : "greenlet"),
		.name = pcs_snapshot_intern(snap, name),
		.state = state,
		.is_main = !parent,
		.parent = parent,
		.tid = 7,
	};
	struct pcs_greenlet *g = &snap->greenlets[snap->ngreenlets++];
	if (line) {
		struct pcs_frame f = {
			.kind = PCS_FRAME_PYTHON,
			.function = pcs_snapshot_intern(snap, "worker"),
			.file = pcs_snapshot_intern(snap, "/srv/app.py"),
			.line = line,
		};
		CHECK(pcs_stack_push(&g->stack, &f) == NULL);
	}
	return g;
}

static size_t count(const char *haystack, const char *needle)
{
	size_t n = 0;
	for (const char *p = haystack; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

void test_report(void)
{
	struct pcs_snapshot *snap;
	CHECK(pcs_snapshot_create(&snap) == NULL);
	snap->kind = PCS_SNAPSHOT_PROCESS;
	snap->python_version = "3.12.1";
	snap->layout = "dwarf";
	snap->threads = calloc(1, sizeof(*snap->threads));
	snap->threads[0] = (struct pcs_thread){ .tid = 7, .name = "MainThread" };
	snap->nthreads = snap->cap_threads = 1;
	snap->greenlets = calloc(1100, sizeof(*snap->greenlets));
	snap->cap_greenlets = 1100;

	add(snap, 0x1000, 0, "running", NULL, 0);
	for (uint64_t i = 0; i < 1000; i++)
		add(snap, 0x10000 + 0x40 * i, 0x1000, "suspended", "worker", 12);
	for (uint64_t i = 0; i < 5; i++)
		add(snap, 0x90000 + 0x40 * i, 0x1000, "suspended", "worker", 14);
	add(snap, 0xa0000, 0x1000, "suspended", "special", 12);	// other name
	add(snap, 0xa1000, 0x1000, "dead", NULL, 0);
	add(snap, 0xa2000, 0xa2040, "suspended", NULL, 3);	// a parent loop
	add(snap, 0xa2040, 0xa2000, "suspended", NULL, 4);

	struct pcs_strbuf out = PCS_STRBUF_INIT;
	struct pcs_text_style style = { .group = true };
	pcs_report_text(snap, &style, &out);
	const char *text = out.buf ? out.buf : "";
	CHECK(strstr(text, "1010 greenlets: 1 running, 1008 suspended, 1 dead\n"));
	CHECK(strstr(text, "Thread 7 \"MainThread\"\n"));
	// The 1000 and the 5 fold; one with another name stands alone
	// ("special" at line 12 shares the place but not the name).
	CHECK(strstr(text, "1001 \u00d7 Greenlet (e.g. "));
	CHECK(strstr(text, "5 \u00d7 Greenlet \"worker\" (e.g. 0x90000, suspended)\n"));
	CHECK_INT(count(text, "line 12, in worker"), 1);
	CHECK_INT(count(text, "line 14, in worker"), 1);
	CHECK(strstr(text, "Greenlet (0xa1000, dead)\n"));
	// The loop is drawn (no root: nothing of it is lost), each member once.
	CHECK_INT(count(text, "line 3, in worker"), 1);
	CHECK_INT(count(text, "line 4, in worker"), 1);
	CHECK(count(text, "\n") < 40);
	if (test_state.failures)
		fputs(text, stderr);
	pcs_strbuf_deinit(&out);
	pcs_snapshot_destroy(snap);
}
