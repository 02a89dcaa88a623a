// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The text report's greenlet trees: a thousand workers parked in the same
// place read as one entry; different places, parents and threads do not
// fold together; a damaged parent chain (a loop) still draws, once.
// The Sentry event of a crash: the signal as the exception on the crashed
// thread, hostile strings escaped into valid JSON on one line, greenlets
// folded, and an event too big for Sentry cut down to size.

#include <stdio.h>
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

// A JSON syntax check, enough to know a report is one valid document.
static const char *json_value(const char *p, int depth);

static const char *json_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;
		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			c = (unsigned char)*p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, p++)
					if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
					      (*p >= 'A' && *p <= 'F')))
						return NULL;
			} else if (!strchr("\"\\/bfnrt", c) || !c) {
				return NULL;
			}
		} else if (c >= 0x80) {
			size_t n = pcs_utf8_seqlen((const unsigned char *)p - 1, 4);
			if (!n)
				return NULL;
			p += n - 1;
		}
	}
}

static const char *json_value(const char *p, int depth)
{
	p = json_space(p);
	if (depth > 64)
		return NULL;
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		p = json_space(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = json_string(json_space(p));
				if (!p || *(p = json_space(p)) != ':')
					return NULL;
				p++;
			}
			p = json_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_space(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_string(p);
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	const char *start = p;
	if (*p == '-')
		p++;
	while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
	       *p == '-')
		p++;
	return p > start ? p : NULL;
}

// One JSON document on one line, ending in a newline.
static bool json_valid(const char *text)
{
	const char *end = json_value(text, 0);
	return end && strcmp(end, "\n") == 0 && !strchr(text, '\n')[1];
}

// A thread of @p nframes frames in @p function (else "serve" and "handle")
// of @p file (else "/srv/app/server.py").
static struct pcs_thread *add_thread(struct pcs_snapshot *snap, int tid, const char *name,
				     size_t nframes, const char *function, const char *file)
{
	struct pcs_thread *th = &snap->threads[snap->nthreads++];
	*th = (struct pcs_thread){ .tid = tid, .ident = 0x1000 + (uint64_t)tid,
				   .name = pcs_snapshot_intern(snap, name), .holds_gil = PCS_NO };
	const char *functions[2] = {
		pcs_snapshot_intern(snap, function ? function : "serve"),
		pcs_snapshot_intern(snap, function ? function : "handle"),
	};
	file = pcs_snapshot_intern(snap, file ? file : "/srv/app/server.py");
	const char *source = pcs_snapshot_intern(snap, "handle(request)");
	for (size_t i = 0; i < nframes; i++) {
		struct pcs_frame f = {
			.kind = PCS_FRAME_PYTHON,
			.function = functions[i % 2],
			.file = file,
			.line = 10 + (int)i,
			.source = source,
		};
		CHECK(pcs_stack_push(&th->stack, &f) == NULL);
	}
	return th;
}

static bool first_two(const struct pcs_thread *th, void *arg)
{
	(void)arg;
	return th->tid < 100;
}

// The event of a hand-made crash: thread 42 took SIGSEGV at 0x0.
static void test_sentry(void)
{
	struct pcs_snapshot *snap;
	CHECK(pcs_snapshot_create(&snap) == NULL);
	snap->kind = PCS_SNAPSHOT_CORE;
	snap->core = pcs_snapshot_intern(snap, "/nonexistent/core.41");
	snap->pid = 41;
	snap->executable = pcs_snapshot_intern(snap, "/usr/bin/python3.12");
	snap->python_version = pcs_snapshot_intern(snap, "3.12.1");
	snap->layout = pcs_snapshot_intern(snap, "debug-offsets");
	snap->args = pcs_snapshot_intern(snap, "python3 -c \"import app\"\n\x1b[31m");
	snap->crash = (struct pcs_crash){
		.signal = 11, .signal_name = "SIGSEGV", .code = 1, .code_name = "SEGV_MAPERR",
		.has_address = true, .address = 0, .tid = 42,
	};
	snap->threads = calloc(1200, sizeof(*snap->threads));
	snap->cap_threads = 1200;
	struct pcs_thread *main_thread = add_thread(snap, 41, "MainThread", 2, NULL, NULL);
	main_thread->holds_gil = PCS_YES;
	// A hostile thread: quotes, backslashes, control characters and bytes
	// that are not UTF-8 in every string it has.
	struct pcs_thread *worker = add_thread(snap, 42, "worker \"1\"\x01", 0, NULL, NULL);
	struct pcs_local locals[] = {
		{ .name = "path", .repr = "'C:\\\\tmp\\n'" },
		{ .name = "\xff\xfe", .repr = "b'\\x00\"'" },
	};
	struct pcs_frame outer = {
		.kind = PCS_FRAME_PYTHON,
		.function = pcs_snapshot_intern(snap, "_bootstrap"),
		.qualname = pcs_snapshot_intern(snap, "Thread._bootstrap"),
		.file = pcs_snapshot_intern(snap, "/usr/lib/python3.12/threading.py"),
		.line = 1030,
	};
	struct pcs_frame crash = {
		.kind = PCS_FRAME_PYTHON,
		.function = pcs_snapshot_intern(snap, "crash\"\\\n\x1b"),
		.file = pcs_snapshot_intern(snap, "/srv/app/\"odd\"\xc3.py"),
		.line = 7,
		.source = pcs_snapshot_intern(snap, "ctypes.string_at(0)\t# \"boom\""),
		.locals = pcs_strtab_add_locals(&snap->strings, locals, 2),
		.nlocals = 2,
	};
	struct pcs_frame native = {
		.kind = PCS_FRAME_NATIVE,
		.symbol = pcs_snapshot_intern(snap, "PyBytes_FromString"),
		.offset = 0x10,
		.module = pcs_snapshot_intern(snap, "/usr/lib/libpython3.12.so.1.0"),
		.pc = 0x7f0000001234,
		.line = -1,
	};
	CHECK(pcs_stack_push(&worker->stack, &outer) == NULL);
	CHECK(pcs_stack_push(&worker->stack, &crash) == NULL);
	CHECK(pcs_stack_push(&worker->stack, &native) == NULL);
	CHECK(pcs_snapshot_warn(snap, "thread %d: a \"warning\"\n", 43) == NULL);

	struct pcs_strbuf out = PCS_STRBUF_INIT;
	pcs_report_sentry(snap, &out);
	const char *text = out.buf ? out.buf : "";
	CHECK(json_valid(text));
	CHECK(strncmp(text, "{\"event_id\":\"", 13) == 0);
	for (int i = 13; i < 45 && text[0]; i++)
		CHECK(strchr("0123456789abcdef", text[i]) && text[i]);
	CHECK_INT(text[13 + 12], '4');	// UUID v4
	CHECK(strstr(text, "\"platform\":\"python\""));
	CHECK(strstr(text, "\"level\":\"fatal\""));
	CHECK(strstr(text, "\"logger\":\"pycore-stacks\""));
	CHECK(strstr(text, "\"exception\":{\"values\":[{\"type\":\"SIGSEGV\",\"value\":\"SEGV_MAPERR at 0x0\",\"thread_id\":42,"));
	CHECK(strstr(text, "\"mechanism\":{\"type\":\"signalhandler\",\"handled\":false,"));
	CHECK(strstr(text, "\"meta\":{\"signal\":{\"number\":11,\"code\":1,\"name\":\"SIGSEGV\",\"code_name\":\"SEGV_MAPERR\"}}"));
	CHECK(!strstr(text, "\"logentry\""));
	// The crashed thread's frames are the exception's, not its own.
	CHECK(strstr(text, "{\"id\":42,\"name\":\"worker \\\"1\\\"\\u0001\",\"crashed\":true,\"current\":true}"));
	CHECK(strstr(text, "{\"id\":41,\"name\":\"MainThread\",\"crashed\":false,\"current\":true,\"stacktrace\":{\"frames\":[{\"function\":\"serve\""));
	CHECK(strstr(text, "{\"function\":\"Thread._bootstrap\",\"module\":\"threading\",\"filename\":\"threading.py\",\"abs_path\":\"/usr/lib/python3.12/threading.py\",\"in_app\":false,\"lineno\":1030}"));
	CHECK(strstr(text, "{\"function\":\"crash\\\"\\\\\\u000a\\u001b\",\"filename\":\"/srv/app/\\\"odd\\\"\\ufffd.py\","));
	CHECK(strstr(text, "\"in_app\":true,\"lineno\":7,\"context_line\":\"ctypes.string_at(0)\\u0009# \\\"boom\\\"\""));
	CHECK(strstr(text, "\"vars\":{\"path\":\"'C:\\\\\\\\tmp\\\\n'\",\"\\ufffd\\ufffd\":\"b'\\\\x00\\\"'\"}"));
	CHECK(strstr(text, "{\"platform\":\"native\",\"instruction_addr\":\"0x7f0000001234\",\"function\":\"PyBytes_FromString\",\"symbol_addr\":\"0x7f0000001224\",\"package\":\"/usr/lib/libpython3.12.so.1.0\",\"in_app\":false}]}}]}"));
	CHECK(strstr(text, "\"signal\":\"SIGSEGV\""));
	CHECK(strstr(text, "\"python.version\":\"3.12.1\""));
	CHECK(strstr(text, "\"pycore_stacks.target\":\"core\""));
	CHECK(strstr(text, "\"runtime\":{\"type\":\"runtime\",\"name\":\"CPython\",\"version\":\"3.12.1\"}"));
	CHECK(strstr(text, "\"args\":\"python3 -c \\\"import app\\\"\\u000a\\u001b[31m\""));
	CHECK(strstr(text, "\"warnings\":[\"thread 43: a \\\"warning\\\"\\u000a\"]"));
	CHECK(strstr(text, "\"left_out\":[]"));
	if (test_state.failures)
		fputs(text, stderr);

	// 1200 threads of 300 frames, the last ones with names of 2000
	// control characters or bytes that are not UTF-8 (each escaped to 6
	// bytes): far over Sentry's 1 MB. The event still fits, keeps the
	// crashed thread, and says what it left out.
	char *function = malloc(2001), *file = malloc(2001);
	memset(function, '\x01', 2000);
	memset(file, '\xff', 2000);
	function[2000] = file[2000] = '\0';
	for (int i = 0; i < 1198; i++)
		add_thread(snap, 100 + i, i % 2 ? "pool" : file, 300, i % 2 ? NULL : function,
			   i % 2 ? NULL : file);
	free(function);
	free(file);
	pcs_strbuf_reset(&out);
	pcs_report_sentry(snap, &out);
	text = out.buf ? out.buf : "";
	CHECK(json_valid(text));
	CHECK(out.len <= 1000 * 1000);
	CHECK(out.len > 100 * 1000);
	CHECK(strstr(text, "\"thread_id\":42,"));
	CHECK(strstr(text, "{\"id\":42,"));
	CHECK(strstr(text, " threads after the first "));
	CHECK(strstr(text, "frames from the middle of "));
	CHECK(strstr(text, "\"frames_omitted\":["));
	CHECK(!strstr(text, "\"left_out\":[]"));
	CHECK(strstr(text, "\\u0001\\u0001\u2026\""));	// cut strings
	if (test_state.failures)
		fprintf(stderr, "%.2000s\n", text);
	pcs_strbuf_deinit(&out);

	// No crash, a live process: a message, not an exception.
	snap->crash = (struct pcs_crash){ 0 };
	snap->kind = PCS_SNAPSHOT_PROCESS;
	snap->core = NULL;
	pcs_snapshot_retain_threads(snap, first_two, NULL);
	CHECK_INT(snap->nthreads, 2);
	pcs_report_sentry(snap, &out);
	text = out.buf ? out.buf : "";
	CHECK(json_valid(text));
	CHECK(strstr(text, "\"level\":\"info\""));
	CHECK(strstr(text, "\"logentry\":{\"message\":\"Python stacks of pid %s (python %s)\",\"params\":[\"41\",\"3.12.1\"],\"formatted\":\"Python stacks of pid 41 (python 3.12.1)\"}"));
	CHECK(!strstr(text, "\"exception\""));
	CHECK(!strstr(text, "\"crashed\":true"));
	CHECK(strstr(text, "{\"id\":42,\"name\":\"worker \\\"1\\\"\\u0001\",\"crashed\":false,\"current\":false,\"stacktrace\":{\"frames\":[{\"function\":\"Thread._bootstrap\""));
	if (test_state.failures)
		fputs(text, stderr);
	pcs_strbuf_deinit(&out);
	pcs_snapshot_destroy(snap);
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

	// The same greenlets in a Sentry event: folded too.
	pcs_strbuf_reset(&out);
	pcs_report_sentry(snap, &out);
	text = out.buf ? out.buf : "";
	CHECK(json_valid(text));
	CHECK(strstr(text, "\"name\":\"1001 \u00d7 Greenlet (suspended, thread 7, parked in the"));
	CHECK(strstr(text, "\"id\":\"greenlet 0x90000\",\"name\":\"5 \u00d7 Greenlet \\\"worker\\\""));
	// The running main greenlet is its thread's; then the 1001, the 5,
	// the dead one and the two of the loop.
	CHECK_INT(count(text, "\"id\":\"greenlet "), 5);
	pcs_strbuf_deinit(&out);
	pcs_snapshot_destroy(snap);
	test_sentry();
}
