// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The pipeline of src/cli/main.c with pcs_collect_native() after the other
// collectors, and the threads printed as JSON with their native frames
// (the shape of OUTPUT.md): what tests/native/run.py checks, usable before
// and independently of the CLI's --native.
//
// usage: dump [--debug-dir DIR] CORE [EXECUTABLE]
//        dump [--debug-dir DIR] --pid PID
//        dump [--debug-dir DIR] --held PID   (a process a debugger holds)
//
// Exit status: 0 complete, 3 with warnings, 1 nothing read, 2 usage.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "layout/layout.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void put_string(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void put_frame(const struct pcs_frame *f)
{
	if (f->kind == PCS_FRAME_PYTHON) {
		fputs("{\"kind\": \"python\", \"function\": ", stdout);
		put_string(f->function);
		fputs(", \"qualname\": ", stdout);
		put_string(f->qualname);
		fputs(", \"file\": ", stdout);
		put_string(f->file);
		if (f->line >= 0)
			printf(", \"line\": %d}", f->line);
		else
			fputs(", \"line\": null}", stdout);
		return;
	}
	fputs("{\"kind\": \"native\", \"symbol\": ", stdout);
	put_string(f->symbol);
	fputs(", \"module\": ", stdout);
	put_string(f->module);
	printf(", \"pc\": \"0x%" PRIx64 "\", \"offset\": %" PRIu64, f->pc, f->offset);
	if (f->file) {
		fputs(", \"file\": ", stdout);
		put_string(f->file);
		printf(", \"line\": %d", f->line);
	}
	putchar('}');
}

static void put_snapshot(const struct pcs_snapshot *snap, double native_ms)
{
	printf("{\"format\": \"pycore-stacks/1\", \"target\": {\"kind\": \"%s\", \"pid\": %d, "
	       "\"python\": {\"version\": ",
	       snap->kind == PCS_SNAPSHOT_CORE ? "core" : "process", snap->pid);
	put_string(snap->python_version);
	fputs("}, \"layout\": ", stdout);
	put_string(snap->layout);
	printf("}, \"native_ms\": %.3f,\n \"threads\": [", native_ms);
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct pcs_thread *th = &snap->threads[i];
		printf("%s\n  {\"tid\": %d, \"ident\": %" PRIu64 ", \"name\": ", i ? "," : "",
		       th->tid, th->ident);
		put_string(th->name);
		fputs(th->holds_gil == PCS_UNKNOWN ? ", \"holds_gil\": null"
		      : th->holds_gil == PCS_YES ? ", \"holds_gil\": true"
		      : ", \"holds_gil\": false", stdout);
		fputs(", \"truncated\": ", stdout);
		put_string(th->stack.truncated);
		fputs(", \"frames\": [", stdout);
		for (size_t j = 0; j < th->stack.nframes; j++) {
			fputs(j ? ",\n    " : "\n    ", stdout);
			put_frame(&th->stack.frames[j]);
		}
		fputs("]}", stdout);
	}
	fputs("],\n \"warnings\": [", stdout);
	for (size_t i = 0; i < snap->nwarnings; i++) {
		fputs(i ? ", " : "", stdout);
		put_string(snap->warnings[i]);
	}
	fputs("]}\n", stdout);
}

static struct pcs_error *snapshot(struct pcs_target *t, const char *debug_dir,
				  struct pcs_snapshot *snap, double *native_ms)
{
	struct pcs_symbols *syms = NULL;
	struct pcs_layout *layout = NULL;
	struct pcs_python *py = NULL;
	struct pcs_error *err = pcs_symbols_create(t, debug_dir, &syms);
	if (!err)
		err = pcs_layout_select(t, syms, PCS_LAYOUT_AUTO, &layout);
	if (!err) {
		snap->kind = pcs_target_kind(t) == PCS_TARGET_CORE ? PCS_SNAPSHOT_CORE
								   : PCS_SNAPSHOT_PROCESS;
		snap->pid = pcs_target_pid(t);
		snap->python_version = pcs_snapshot_intern(snap, layout->version);
		snap->layout = pcs_snapshot_intern(snap, pcs_layout_source_name(layout->source));
		err = pcs_target_stop(t);
	}
	if (!err)
		err = pcs_python_create(t, syms, layout, &snap->strings, &py);
	if (!err)
		err = pcs_collect_all(py, syms, layout, PCS_LAYOUT_AUTO, snap);
	if (!err) {
		double start = now_ms();
		err = pcs_collect_native(py, syms, t, snap);
		*native_ms = now_ms() - start;
	}
	pcs_python_destroy(py);
	pcs_layout_destroy(layout);
	pcs_symbols_destroy(syms);
	return err;
}

int main(int argc, char **argv)
{
	const char *debug_dir = NULL;
	int arg = 1;
	if (arg + 1 < argc && strcmp(argv[arg], "--debug-dir") == 0) {
		debug_dir = argv[arg + 1];
		arg += 2;
	}
	struct pcs_target *t = NULL;
	struct pcs_error *err;
	if (arg + 2 == argc && strcmp(argv[arg], "--pid") == 0)
		err = pcs_target_attach(atoi(argv[arg + 1]), &t);
	else if (arg + 2 == argc && strcmp(argv[arg], "--held") == 0)
		err = pcs_target_open_stopped(atoi(argv[arg + 1]), &t);
	else if (arg + 1 == argc || arg + 2 == argc)
		err = pcs_target_open_core(argv[arg], &(struct pcs_core_files){
			.executable = arg + 2 == argc ? argv[arg + 1] : NULL }, &t);
	else {
		fputs("usage: dump [--debug-dir DIR] (CORE [EXECUTABLE] | --pid PID | --held PID)\n",
		      stderr);
		return 2;
	}
	struct pcs_snapshot *snap = NULL;
	double native_ms = 0;
	if (!err)
		err = pcs_snapshot_create(&snap);
	if (!err)
		err = snapshot(t, debug_dir, snap, &native_ms);
	pcs_target_destroy(t);
	if (err) {
		fprintf(stderr, "%s\n", err->message);
		pcs_error_destroy(err);
		pcs_snapshot_destroy(snap);
		return 1;
	}
	put_snapshot(snap, native_ms);
	int status = pcs_snapshot_complete(snap) ? 0 : 3;
	pcs_snapshot_destroy(snap);
	return status;
}
