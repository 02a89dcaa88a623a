// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// pycore-stacks: options, then a straight pipeline:
// target → symbols → layout → interpreter model → collectors → report.

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/collect.h"
#include "interp/python.h"
#include "layout/layout.h"
#include "report/report.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"

enum exit_status {
	EXIT_COMPLETE = 0,
	EXIT_NOTHING = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,
};

enum format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

struct options {
	int pid;
	const char *core;
	const char *executable;
	enum format format;
	enum pcs_layout_source layout_source;
	const char *debug_dir;
};

static const char usage_text[] =
	"usage: pycore-stacks [OPTIONS] CORE [EXECUTABLE]\n"
	"       pycore-stacks [OPTIONS] --pid PID\n";

static const char help_text[] =
	"Print the Python stack of every thread of a CPython process, read from\n"
	"the outside: from an ELF core file, or from a live process that is\n"
	"stopped only while it is read.\n"
	"\n"
	"  CORE [EXECUTABLE]      a core file; the executable defaults to the one\n"
	"                         the core names\n"
	"  -p, --pid PID          a live process\n"
	"  -f, --format FORMAT    text (default) or json (see OUTPUT.md)\n"
	"      --layout-source S  where struct offsets come from: auto (default),\n"
	"                         dwarf, debug-offsets, builtin\n"
	"      --debug-dir DIR    look for separate debug info in DIR (laid out\n"
	"                         like /usr/lib/debug) before the standard places\n"
	"  -h, --help             show this help\n"
	"      --version          show the version\n"
	"\n"
	"Exit status: 0 every stack was read; 3 partial (gaps are named in the\n"
	"warnings); 1 nothing could be read; 2 usage error.\n";

// One line, like every other error: what is wrong, and where to look.
static int usage_error(const char *fmt, const char *arg)
{
	fputs("pycore-stacks: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see pycore-stacks --help)\n", stderr);
	return EXIT_USAGE;
}

// Returns -1 to go on, else the exit status.
static int parse_options(int argc, char **argv, struct options *opts)
{
	enum { OPT_VERSION = 256, OPT_LAYOUT_SOURCE, OPT_DEBUG_DIR };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "layout-source", required_argument, NULL, OPT_LAYOUT_SOURCE },
		{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	opts->layout_source = PCS_LAYOUT_AUTO;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":p:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': {
			char *end;
			errno = 0;
			long pid = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || pid <= 0 || pid > INT_MAX)
				return usage_error("invalid pid '%s'", optarg);
			opts->pid = (int)pid;
			break;
		}
		case 'f':
			if (strcmp(optarg, "text") == 0)
				opts->format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				opts->format = FORMAT_JSON;
			else
				return usage_error("unknown format '%s'", optarg);
			break;
		case OPT_LAYOUT_SOURCE:
			if (!pcs_layout_source_parse(optarg, &opts->layout_source))
				return usage_error("unknown layout source '%s'", optarg);
			break;
		case OPT_DEBUG_DIR:
			opts->debug_dir = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputc('\n', stdout);
			fputs(help_text, stdout);
			return EXIT_COMPLETE;
		case OPT_VERSION:
			puts("pycore-stacks " PACKAGE_VERSION);
			return EXIT_COMPLETE;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	int rest = argc - optind;
	if (opts->pid) {
		if (rest)
			return usage_error("unexpected argument '%s' with --pid",
					   argv[optind]);
	} else {
		if (rest < 1)
			return usage_error("%s", "no core file or --pid given");
		if (rest > 2)
			return usage_error("unexpected argument '%s'", argv[optind + 2]);
		opts->core = argv[optind];
		opts->executable = rest == 2 ? argv[optind + 1] : NULL;
	}
	return -1;
}

static struct pcs_error *describe_target(struct pcs_target *t,
					 const struct pcs_layout *l,
					 struct pcs_snapshot *snap)
{
	snap->kind = pcs_target_kind(t) == PCS_TARGET_CORE ? PCS_SNAPSHOT_CORE
							   : PCS_SNAPSHOT_PROCESS;
	snap->pid = pcs_target_pid(t);
	snap->core = pcs_snapshot_intern(snap, pcs_target_core_path(t));
	snap->executable = pcs_snapshot_intern(snap, pcs_target_exe_path(t));
	snap->python_version = pcs_snapshot_intern(snap, l->version);
	snap->layout = pcs_snapshot_intern(snap, pcs_layout_source_name(l->source));
	snap->debug_build = l->debug_build;
	snap->free_threaded = l->free_threaded;
	if ((pcs_target_core_path(t) && !snap->core) ||
	    (pcs_target_exe_path(t) && !snap->executable) ||
	    !snap->python_version || !snap->layout)
		return &pcs_enomem;
	return NULL;
}

// Everything that needs the target, which for a live process is stopped
// for exactly as long as this runs.
static struct pcs_error *snapshot_target(struct pcs_target *t,
					 const struct options *opts,
					 struct pcs_snapshot *snap)
{
	struct pcs_symbols *syms = NULL;
	struct pcs_layout *layout = NULL;
	struct pcs_python *py = NULL;
	struct pcs_error *err = pcs_symbols_create(t, opts->debug_dir, &syms);
	if (!err)
		err = pcs_layout_select(t, syms, opts->layout_source, &layout);
	if (!err)
		err = describe_target(t, layout, snap);
	if (!err)
		err = pcs_python_create(t, syms, layout, &snap->strings, &py);
	if (!err)
		err = pcs_collect_threads(py, snap);
	pcs_python_destroy(py);
	pcs_layout_destroy(layout);
	pcs_symbols_destroy(syms);
	return err;
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	int status = parse_options(argc, argv, &opts);
	if (status >= 0)
		return status;

	struct pcs_target *target = NULL;
	struct pcs_snapshot *snap = NULL;
	struct pcs_error *err;
	if (opts.pid)
		err = pcs_target_attach(opts.pid, &target);
	else
		err = pcs_target_open_core(opts.core, opts.executable, &target);
	if (!err)
		err = pcs_snapshot_create(&snap);
	if (!err) {
		err = snapshot_target(target, &opts, snap);
		if (err)
			err = pcs_error_prefix(err, "%s", pcs_target_name(target));
	}
	// Resume a live target before anything is written out.
	pcs_target_destroy(target);
	if (err) {
		fprintf(stderr, "%s\n", err->message);
		pcs_error_destroy(err);
		pcs_snapshot_destroy(snap);
		return EXIT_NOTHING;
	}

	struct pcs_strbuf out = PCS_STRBUF_INIT;
	if (opts.format == FORMAT_JSON)
		pcs_report_json(snap, &out);
	else
		pcs_report_text(snap, &out);
	status = pcs_snapshot_complete(snap) ? EXIT_COMPLETE : EXIT_PARTIAL;
	if (pcs_strbuf_error(&out) ||
	    fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "pycore-stacks: cannot write the report: %s\n",
			pcs_strbuf_error(&out) ? "out of memory" : strerror(errno));
		status = EXIT_NOTHING;
	}
	pcs_strbuf_deinit(&out);
	pcs_snapshot_destroy(snap);
	return status;
}
