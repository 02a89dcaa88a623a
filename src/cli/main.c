// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// pycore-stacks: options, then a straight pipeline:
// target → symbols → layout → interpreter model → collectors → report.

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/gdb_target.h"
#include "collect/collect.h"
#include "interp/python.h"
#include "layout/layout.h"
#include "report/report.h"
#include "symbols/symbols.h"
#include "target/target.h"
#include "util/error.h"
#include "util/vector.h"

enum exit_status {
	EXIT_COMPLETE = 0,
	EXIT_NOTHING = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,
};

/** What a streamed report holds before it is written out. */
enum { REPORT_CHUNK = 1 << 20 };

enum format {
	FORMAT_TEXT,
	FORMAT_JSON,
	FORMAT_COLLAPSED,
	FORMAT_SENTRY,
};

struct options {
	int pid;
	const char *core;
	const char *executable;
	enum format format;
	enum pcs_layout_source layout_source;
	const char *debug_dir;
	/** The target is what gdb says it debugs (text on stdin). */
	bool gdb;
	/** Only this kind of unit: "threads", "greenlets", "tasks"; NULL all. */
	const char *only;
	/** Only the thread with this OS tid (0: all); -1: gdb's selected one. */
	int thread;
	/** Show each frame's source line (text, json). */
	bool no_source;
	/** Fold greenlets and tasks parked in the same place (text). */
	bool no_group;
	/** Colours: -1 auto (a terminal, NO_COLOR unset), 0 never, 1 always. */
	int color;
	/** The memory ceiling: most frames held in all (0: the default). */
	long max_frames;
	/** Each Python frame's arguments and locals. */
	bool locals;
	/** Native frames, with the Python frames merged in. */
	bool native;
	/** Where the files a core names are here (--sysroot, --lib-path). */
	const char *sysroot;
	const char *lib_path;
	/** Many cores (arguments: cores and directories), one document a line. */
	bool batch;
	/** --format was given (--batch defaults to json). */
	bool format_given;
	/** Storage for paths taken from gdb. */
	struct pcs_gdb_target gdb_target;
};

static const char usage_text[] =
	"usage: pycore-stacks [OPTIONS] CORE [EXECUTABLE]\n"
	"       pycore-stacks [OPTIONS] --pid PID\n"
	"       pycore-stacks [OPTIONS] --batch CORE|DIR...\n";

static const char help_text[] =
	"Print the Python stack of every thread of a CPython process, read from\n"
	"the outside: from an ELF core file, or from a live process that is\n"
	"stopped only while it is read.\n"
	"\n"
	"  CORE [EXECUTABLE]      a core file; the executable defaults to the one\n"
	"                         the core names\n"
	"  -p, --pid PID          a live process\n"
	"      --batch            each argument is a core, or a directory of cores\n"
	"                         (compressed or not); one JSON document (or Sentry\n"
	"                         event) per line, in argument and name order\n"
	"      --sysroot DIR      the target's root file system is at DIR: look for\n"
	"                         the executable and libraries a core names there\n"
	"      --lib-path P1:P2   directories to look for them in, by file name\n"
	"  -f, --format FORMAT    text (default); json (see OUTPUT.md); collapsed\n"
	"                         (one line per distinct stack with its count, for\n"
	"                         flamegraph.pl and speedscope); sentry (a Sentry\n"
	"                         event, for sentry-cli send-event)\n"
	"      --layout-source S  where struct offsets come from: auto (default),\n"
	"                         dwarf, debug-offsets, builtin\n"
	"      --debug-dir DIR    look for separate debug info in DIR (laid out\n"
	"                         like /usr/lib/debug) before the standard places\n"
	"      --only KIND        only threads, greenlets or tasks\n"
	"      --thread TID       only the thread with OS thread id TID\n"
	"      --locals           the arguments and local variables of each Python\n"
	"                         frame, with short reprs\n"
	"      --native           native (C) frames too, unwound from each thread's\n"
	"                         registers, with the Python frames at the\n"
	"                         evaluation-loop frames that run them\n"
	"      --no-source        do not show the source line of each frame\n"
	"      --no-group         list every greenlet and task, even those parked\n"
	"                         in the same place as others\n"
	"      --color WHEN       auto (default: on a terminal, unless NO_COLOR is\n"
	"                         set), always, never\n"
	"      --max-frames N     the memory ceiling: hold at most N frames in all\n"
	"                         (default 10000000); past it, stacks are cut\n"
	"                         with a warning\n"
	"      --gdb              the target is what gdb debugs: read the output of\n"
	"                         gdb's 'info target' and 'thread' on stdin (used by\n"
	"                         gdb-scripts/pycore-stacks.gdb); with --thread=selected,\n"
	"                         gdb's selected thread\n"
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
	enum { OPT_VERSION = 256, OPT_LAYOUT_SOURCE, OPT_DEBUG_DIR, OPT_GDB, OPT_ONLY,
	       OPT_THREAD, OPT_MAX_FRAMES, OPT_NO_SOURCE, OPT_NO_GROUP, OPT_COLOR,
	       OPT_LOCALS, OPT_NATIVE, OPT_SYSROOT, OPT_LIB_PATH, OPT_BATCH };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "layout-source", required_argument, NULL, OPT_LAYOUT_SOURCE },
		{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
		{ "gdb", no_argument, NULL, OPT_GDB },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "thread", required_argument, NULL, OPT_THREAD },
		{ "max-frames", required_argument, NULL, OPT_MAX_FRAMES },
		{ "no-source", no_argument, NULL, OPT_NO_SOURCE },
		{ "no-group", no_argument, NULL, OPT_NO_GROUP },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "locals", no_argument, NULL, OPT_LOCALS },
		{ "native", no_argument, NULL, OPT_NATIVE },
		{ "sysroot", required_argument, NULL, OPT_SYSROOT },
		{ "lib-path", required_argument, NULL, OPT_LIB_PATH },
		{ "batch", no_argument, NULL, OPT_BATCH },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	opts->layout_source = PCS_LAYOUT_AUTO;
	opts->color = -1;
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
			opts->format_given = true;
			if (strcmp(optarg, "text") == 0)
				opts->format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				opts->format = FORMAT_JSON;
			else if (strcmp(optarg, "collapsed") == 0)
				opts->format = FORMAT_COLLAPSED;
			else if (strcmp(optarg, "sentry") == 0)
				opts->format = FORMAT_SENTRY;
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
		case OPT_GDB:
			opts->gdb = true;
			break;
		case OPT_ONLY:
			if (strcmp(optarg, "threads") && strcmp(optarg, "greenlets") &&
			    strcmp(optarg, "tasks"))
				return usage_error("unknown kind '%s' (threads, greenlets, tasks)",
						   optarg);
			opts->only = optarg;
			break;
		case OPT_THREAD: {
			char *end;
			long tid = strtol(optarg, &end, 10);
			if (strcmp(optarg, "selected") == 0)
				opts->thread = -1;
			else if (*end || end == optarg || tid <= 0 || tid > INT_MAX)
				return usage_error("invalid thread id '%s'", optarg);
			else
				opts->thread = (int)tid;
			break;
		}
		case OPT_MAX_FRAMES: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n <= 0 || n > PCS_MAX_SNAPSHOT_FRAMES)
				return usage_error("invalid frame count '%s'", optarg);
			opts->max_frames = n;
			break;
		}
		case OPT_NO_SOURCE:
			opts->no_source = true;
			break;
		case OPT_NO_GROUP:
			opts->no_group = true;
			break;
		case OPT_LOCALS:
			opts->locals = true;
			break;
		case OPT_NATIVE:
			opts->native = true;
			break;
		case OPT_SYSROOT:
			opts->sysroot = optarg;
			break;
		case OPT_LIB_PATH:
			opts->lib_path = optarg;
			break;
		case OPT_BATCH:
			opts->batch = true;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") == 0)
				opts->color = -1;
			else if (strcmp(optarg, "always") == 0)
				opts->color = 1;
			else if (strcmp(optarg, "never") == 0)
				opts->color = 0;
			else
				return usage_error("unknown colour choice '%s' (auto, always, never)",
						   optarg);
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
	if (opts->batch) {
		if (opts->gdb || opts->pid)
			return usage_error("%s", "--batch reads core files, not a process");
		if (rest < 1)
			return usage_error("%s", "--batch needs cores or directories of cores");
		if (!opts->format_given)
			opts->format = FORMAT_JSON;
		if (opts->format != FORMAT_JSON && opts->format != FORMAT_SENTRY)
			return usage_error("%s", "--batch writes --format json or sentry");
		if (opts->thread)
			return usage_error("%s", "--thread names one process's thread, not a batch's");
	} else if (opts->gdb) {
		if (rest || opts->pid)
			return usage_error("%s", "--gdb takes its target from gdb, not arguments");
	} else if (opts->thread == -1) {
		return usage_error("%s", "--thread=selected needs --gdb");
	} else if (opts->pid) {
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
	snap->core_compression = pcs_snapshot_intern(snap, pcs_target_core_compression(t));
	snap->executable = pcs_snapshot_intern(snap, pcs_target_exe_path(t));
	snap->python_version = pcs_snapshot_intern(snap, l->version);
	snap->layout = pcs_snapshot_intern(snap, pcs_layout_source_name(l->source));
	snap->debug_build = l->debug_build;
	struct stat st;
	snap->time_from_core = pcs_target_core_path(t) && stat(pcs_target_core_path(t), &st) == 0;
	if (snap->time_from_core)
		snap->time = st.st_mtim;
	else
		clock_gettime(CLOCK_REALTIME, &snap->time);
	snap->free_threaded = l->free_threaded;
	if ((pcs_target_core_path(t) && !snap->core) ||
	    (pcs_target_core_compression(t) && !snap->core_compression) ||
	    (pcs_target_exe_path(t) && !snap->executable) ||
	    !snap->python_version || !snap->layout)
		return &pcs_enomem;
	return NULL;
}

// The walk of the interpreter with @p layout, into @p snap.
static struct pcs_error *walk_target(struct pcs_target *t, const struct options *opts,
				     struct pcs_symbols *syms, struct pcs_layout *layout,
				     struct pcs_snapshot *snap)
{
	struct pcs_python *py = NULL;
	struct pcs_error *err = pcs_python_create(t, syms, layout, &snap->strings, &py);
	if (!err)
		pcs_python_set_locals(py, opts->locals);
	if (!err)
		err = pcs_collect_all(py, syms, layout, opts->layout_source, snap);
	// Unwound while the target is still stopped; merges the Python
	// frames collected above into each thread's native stack.
	if (!err && opts->native) {
		// Its walk only counts the frames already collected (with
		// their locals): reading locals again would be wasted.
		pcs_python_set_locals(py, false);
		err = pcs_collect_native(py, syms, t, snap);
	}
	pcs_python_destroy(py);
	return err;
}

// A core was read with the built-in table's layout while the interpreter's
// DWARF was read (pcs_layout_select_ahead()): the DWARF decides. Where it
// gives another layout, all is read again with it.
static struct pcs_error *settle_layout(struct pcs_target *t, const struct options *opts,
				       struct pcs_symbols *syms, struct pcs_layout_check *check,
				       struct pcs_layout **layout, size_t nwarnings,
				       struct pcs_error *err, struct pcs_snapshot *snap)
{
	struct pcs_layout *dwarf = NULL;
	struct pcs_error *serr = pcs_layout_settle(check, *layout, &dwarf);
	if (serr) {
		pcs_error_destroy(err);
		return serr;
	}
	if (dwarf) {
		pcs_error_destroy(err);
		pcs_snapshot_clear_units(snap, nwarnings);
		pcs_layout_destroy(*layout);
		*layout = dwarf;
		err = walk_target(t, opts, syms, *layout, snap);
	}
	snap->layout = pcs_snapshot_intern(snap, pcs_layout_source_name((*layout)->source));
	if (!snap->layout && !err)
		err = &pcs_enomem;
	return err;
}

// Everything that needs the target, which for a live process is stopped
// for exactly as long as this runs.
static struct pcs_error *snapshot_target(struct pcs_target *t,
					 const struct options *opts,
					 struct pcs_snapshot *snap)
{
	struct pcs_symbols *syms = NULL;
	struct pcs_layout *layout = NULL;
	struct pcs_layout_check *check = NULL;
	struct pcs_error *err = pcs_symbols_create(t, opts->debug_dir, &syms);
	// A core waits: it is read while the DWARF is (its layout decides,
	// settle_layout()). A live process is stopped only once the layout
	// is known.
	if (!err)
		err = pcs_target_kind(t) == PCS_TARGET_CORE
			? pcs_layout_select_ahead(t, syms, opts->layout_source, &check, &layout)
			: pcs_layout_select(t, syms, opts->layout_source, &layout);
	if (!err)
		err = describe_target(t, layout, snap);
	if (!err)
		err = pcs_collect_crash(t, snap);
	// Native frames are unwound and named while a live target is
	// stopped: what that reads is found before.
	if (!err && opts->native && pcs_target_kind(t) == PCS_TARGET_PROCESS)
		pcs_symbols_load_all(syms);
	// A live target pauses from here: only the walk itself is in the pause.
	if (!err)
		err = pcs_target_stop(t);
	if (!err) {
		size_t nwarnings = snap->nwarnings;
		err = walk_target(t, opts, syms, layout, snap);
		if (check && err != &pcs_enomem) {
			err = settle_layout(t, opts, syms, check, &layout, nwarnings, err, snap);
			check = NULL;
		}
	}
	pcs_layout_check_destroy(check);
	pcs_layout_destroy(layout);
	pcs_symbols_destroy(syms);
	return err;
}

// Read what gdb debugs from stdin and set the options to match.
static struct pcs_error *take_gdb_target(struct options *opts)
{
	struct pcs_strbuf text = PCS_STRBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0 && text.len < (16 << 20))
		pcs_strbuf_add(&text, buf, n);
	struct pcs_gdb_target *g = &opts->gdb_target;
	int r = pcs_gdb_target_parse(text.buf ? text.buf : "", g);
	pcs_strbuf_deinit(&text);
	if (r < 0)
		return pcs_error_create(PCS_ERROR_OTHER,
					"gdb is debugging no process and no core file");
	if (opts->thread == -1)
		opts->thread = g->selected_lwp;
	if (g->core[0]) {
		opts->core = g->core;
		opts->executable = g->exe[0] ? g->exe : NULL;
		return NULL;
	}
	// gdb names a thread; the process is its thread group.
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", g->lwp);
	FILE *f = fopen(path, "re");
	if (!f)
		return pcs_error_os(errno, "cannot read %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &opts->pid) == 1)
			break;
	fclose(f);
	return opts->pid > 0 ? NULL
		: pcs_error_create(PCS_ERROR_OTHER, "no process for thread %d", g->lwp);
}

// Keep what --only and --thread ask for.
static bool wanted_task(const struct pcs_task *task, void *arg)
{
	const struct options *opts = arg;
	(void)task;
	return (!opts->only || strcmp(opts->only, "tasks") == 0) && opts->thread <= 0;
}

static bool wanted_thread(const struct pcs_thread *th, void *arg)
{
	const struct options *opts = arg;
	if (opts->only && strcmp(opts->only, "threads") != 0)
		return false;
	return opts->thread <= 0 || th->tid == opts->thread;
}

// The greenlets of the thread --thread names, or all of them.
static bool wanted_greenlet(const struct pcs_greenlet *g, void *arg)
{
	const struct options *opts = arg;
	if (opts->only && strcmp(opts->only, "greenlets") != 0)
		return false;
	return opts->thread <= 0 || g->tid == opts->thread;
}

static struct pcs_error *filter(struct options *opts, struct pcs_snapshot *snap)
{
	pcs_snapshot_retain_threads(snap, wanted_thread, opts);
	pcs_snapshot_retain_tasks(snap, wanted_task, opts);
	pcs_snapshot_retain_greenlets(snap, wanted_greenlet, opts);
	if (opts->thread > 0 && !snap->nthreads)
		return pcs_error_create(PCS_ERROR_LOOKUP,
					"thread %d runs no Python code", opts->thread);
	return NULL;
}

// ① The target: a core, a process we stop, or what gdb holds.
static struct pcs_error *open_target(struct options *opts, struct pcs_target **ret)
{
	if (opts->gdb) {
		struct pcs_error *err = take_gdb_target(opts);
		if (err)
			return err;
		if (opts->pid)
			return pcs_target_open_stopped(opts->pid, ret);
	}
	if (opts->pid)
		return pcs_target_attach(opts->pid, ret);
	const struct pcs_core_files files = {
		.executable = opts->executable,
		.sysroot = opts->sysroot,
		.lib_path = opts->lib_path,
	};
	return pcs_target_open_core(opts->core, &files, ret);
}

// The whole pipeline for one target, into a new snapshot. A live target is
// resumed before this returns: nothing after it touches the target.
static struct pcs_error *read_target(struct options *opts, struct pcs_snapshot **ret)
{
	struct pcs_target *target = NULL;
	struct pcs_snapshot *snap = NULL;
	struct pcs_error *err = open_target(opts, &target);
	if (!err)
		err = pcs_snapshot_create(&snap);
	if (!err && opts->max_frames)
		pcs_snapshot_limit_frames(snap, (size_t)opts->max_frames);
	if (!err) {
		err = snapshot_target(target, opts, snap);
		if (!err)
			err = filter(opts, snap);
		if (err)
			err = pcs_error_prefix(err, "%s", pcs_target_name(target));
	}
	pcs_target_destroy(target);
	// Source lines come from files here, read after the target resumed:
	// the target's own files, under its root (a process may be in another
	// mount namespace; a core's files may be under --sysroot).
	if (!err && !opts->no_source && opts->format != FORMAT_COLLAPSED) {
		char proc_root[64];
		const char *root = opts->sysroot;
		if (opts->pid) {
			snprintf(proc_root, sizeof(proc_root), "/proc/%d/root", opts->pid);
			root = access(proc_root, X_OK) == 0 ? proc_root : NULL;
		}
		err = pcs_collect_source_lines(snap, root);
	}
	if (err) {
		pcs_snapshot_destroy(snap);
		return err;
	}
	*ret = snap;
	return NULL;
}

// JSON's newlines are all layout (strings escape theirs), and so is the
// indentation after each: dropping both puts a document on one line.
static void join_lines(struct pcs_strbuf *out)
{
	size_t w = 0;
	for (size_t r = 0; r < out->len; r++) {
		if (out->buf[r] == '\n') {
			while (r + 1 < out->len && out->buf[r + 1] == ' ')
				r++;
			continue;
		}
		out->buf[w++] = out->buf[r];
	}
	out->len = w;
	if (out->buf)
		out->buf[w] = '\0';
}

static void render(const struct options *opts, const struct pcs_snapshot *snap,
		   struct pcs_strbuf *out)
{
	if (opts->format == FORMAT_JSON) {
		pcs_report_json(snap, out);
	} else if (opts->format == FORMAT_COLLAPSED) {
		pcs_report_collapsed(snap, out);
	} else if (opts->format == FORMAT_SENTRY) {
		pcs_report_sentry(snap, out);
	} else {
		const char *no_color = getenv("NO_COLOR");
		struct pcs_text_style style = {
			.color = opts->color == 1 ||
				 (opts->color == -1 && isatty(STDOUT_FILENO) &&
				  !(no_color && *no_color)),
			.group = !opts->no_group,
		};
		pcs_report_text(snap, &style, out);
	}
}

// The sink of a report written as it is rendered: stdout.
static int write_stdout(void *arg, const char *data, size_t len)
{
	(void)arg;
	errno = 0;
	return fwrite(data, 1, len, stdout) == len ? 0 : errno ? errno : EIO;
}

// Write @p out (what is left of it, for a stream) to stdout; false (said on
// stderr) if it could not be.
static bool write_out(struct pcs_strbuf *out)
{
	int err = 0;
	if (!pcs_strbuf_error(out)) {
		errno = 0;
		if (out->sink)
			err = pcs_strbuf_flush(out);
		else if (fwrite(out->buf, 1, out->len, stdout) != out->len)
			err = errno ? errno : EIO;
		if (!err && fflush(stdout) != 0)
			err = errno ? errno : EIO;
	}
	if (pcs_strbuf_error(out) || err) {
		fprintf(stderr, "pycore-stacks: cannot write the report: %s\n",
			pcs_strbuf_error(out) ? "out of memory" : strerror(err));
		return false;
	}
	return true;
}

static int dump(struct options *opts)
{
	struct pcs_snapshot *snap = NULL;
	struct pcs_error *err = read_target(opts, &snap);
	if (err) {
		fprintf(stderr, "%s\n", err->message);
		pcs_error_destroy(err);
		return EXIT_NOTHING;
	}
	struct pcs_strbuf out = PCS_STRBUF_INIT;
	// Written a chunk at a time as it is rendered (the JSON of 100,000
	// tasks is tens of MB), except a Sentry event: one too large is
	// rendered again, smaller, over itself.
	if (opts->format != FORMAT_SENTRY)
		pcs_strbuf_set_sink(&out, write_stdout, NULL, REPORT_CHUNK);
	render(opts, snap, &out);
	int status = pcs_snapshot_complete(snap) ? EXIT_COMPLETE : EXIT_PARTIAL;
	if (!write_out(&out))
		status = EXIT_NOTHING;
	pcs_strbuf_deinit(&out);
	pcs_snapshot_destroy(snap);
	return status;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

// The cores of @p arg: itself, or a directory's files that look like cores,
// by name. Appended to *@p paths (owned strings).
static struct pcs_error *list_cores(const char *arg, char ***paths, size_t *n, size_t *cap)
{
	struct stat st;
	if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
		char *copy = strdup(arg);
		if (!copy || !PCS_VEC_RESERVE(*paths, *n, *cap, 1)) {
			free(copy);
			return &pcs_enomem;
		}
		(*paths)[(*n)++] = copy;
		return NULL;
	}
	DIR *dir = opendir(arg);
	if (!dir)
		return pcs_error_os(errno, "%s: cannot list the directory", arg);
	size_t first = *n;
	struct pcs_error *err = NULL;
	struct dirent *de;
	while (!err && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		char *path;
		if (asprintf(&path, "%s/%s", arg, de->d_name) < 0) {
			err = &pcs_enomem;
			break;
		}
		// Files named on the command line are read whatever they look
		// like; a directory's only if they look like cores (an unreadable
		// one too: its line says why).
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    (access(path, R_OK) == 0 && !pcs_target_looks_like_core(path))) {
			free(path);
			continue;
		}
		if (!PCS_VEC_RESERVE(*paths, *n, *cap, 1)) {
			free(path);
			err = &pcs_enomem;
			break;
		}
		(*paths)[(*n)++] = path;
	}
	closedir(dir);
	qsort(*paths + first, *n - first, sizeof(**paths), cmp_names);
	return err;
}

// One line for a core that could not be read at all: the document's
// target, and why.
static void render_failure(const char *core, const struct pcs_error *err,
			   struct pcs_strbuf *out)
{
	char resolved[PATH_MAX];
	pcs_strbuf_adds(out, "{\"format\": \"pycore-stacks/1\", \"target\": {\"kind\": \"core\", "
			"\"core\": ");
	pcs_strbuf_add_json_string(out, realpath(core, resolved) ? resolved : core);
	pcs_strbuf_adds(out, "}, \"status\": 1, \"error\": ");
	pcs_strbuf_add_json_string(out, err->message);
	pcs_strbuf_adds(out, "}\n");
}

// Every core, one line each, as each is read: a CI job sees progress, and
// a core that cannot be read costs its own line only. Status: 0 when every
// core was read completely, 1 when none could be read, else 3.
static int dump_batch(struct options *opts, char **args, int nargs)
{
	char **paths = NULL;
	size_t n = 0, cap = 0;
	struct pcs_error *err = NULL;
	for (int i = 0; i < nargs && !err; i++)
		err = list_cores(args[i], &paths, &n, &cap);
	int status = EXIT_COMPLETE;
	size_t failed = 0;
	if (err) {
		fprintf(stderr, "pycore-stacks: %s\n", err->message);
		pcs_error_destroy(err);
		status = EXIT_NOTHING;
	} else if (!n) {
		fputs("pycore-stacks: --batch: no core files found\n", stderr);
		status = EXIT_NOTHING;
	}
	for (size_t i = 0; status != EXIT_NOTHING && i < n; i++) {
		opts->core = paths[i];
		opts->executable = NULL;
		struct pcs_snapshot *snap = NULL;
		struct pcs_strbuf out = PCS_STRBUF_INIT;
		err = read_target(opts, &snap);
		if (err) {
			render_failure(paths[i], err, &out);
			pcs_error_destroy(err);
			failed++;
			status = EXIT_PARTIAL;
		} else {
			render(opts, snap, &out);
			join_lines(&out);
			pcs_strbuf_addc(&out, '\n');
			if (!pcs_snapshot_complete(snap))
				status = EXIT_PARTIAL;
			pcs_snapshot_destroy(snap);
		}
		if (!write_out(&out))
			failed = n;
		pcs_strbuf_deinit(&out);
		if (failed == n)
			break;
	}
	if (n && failed == n)
		status = EXIT_NOTHING;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return status;
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	int status = parse_options(argc, argv, &opts);
	if (status >= 0)
		return status;
	if (opts.batch)
		return dump_batch(&opts, argv + optind, argc - optind);
	return dump(&opts);
}
