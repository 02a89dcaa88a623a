// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// layout-dump FILE VERSION ORIGIN [MORE-FILE...]: resolve fields.def from the
// DWARF in FILE (a libpython, an executable, or a separate .debug file), the
// structs it lacks from the MORE-FILEs (e.g. the _asyncio extension), and
// print the layout table tools/gen-layout commits under src/layout/tables/.
//
// layout-dump --greenlet FILE GREENLET-VERSION PYTHON-VERSION ORIGIN: the
// greenlet structs from the DWARF of a greenlet extension module built for
// CPython PYTHON-VERSION, as one entry of tables/greenlet.inc.

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "layout/layout.h"
#include "util/error.h"
#include "util/strbuf.h"

static int dump_greenlet(char **argv)
{
	int fd = open(argv[0], O_RDONLY);
	Dwarf *dw = fd >= 0 ? dwarf_begin(fd, DWARF_C_READ) : NULL;
	if (!dw) {
		fprintf(stderr, "%s: no DWARF\n", argv[0]);
		return 1;
	}
	struct pcs_layout layout;
	memset(&layout, 0, sizeof(layout));
	unsigned major, minor;
	if (sscanf(argv[2], "%u.%u", &major, &minor) != 2) {
		fprintf(stderr, "bad Python version '%s'\n", argv[2]);
		return 2;
	}
	layout.version_hex = major << 24 | minor << 16;
	snprintf(layout.version, sizeof(layout.version), "%s", argv[2]);
	struct pcs_error *err = pcs_layout_from_dwarf(dw, &layout);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[0], err->message);
		return 1;
	}
	struct pcs_strbuf out = PCS_STRBUF_INIT;
	pcs_layout_write_greenlet_table(&layout, argv[1], argv[3], &out);
	fputs(out.buf, stdout);
	pcs_strbuf_deinit(&out);
	dwarf_end(dw);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "--greenlet") == 0)
		return dump_greenlet(argv + 2);
	if (argc < 4) {
		fprintf(stderr, "usage: layout-dump FILE VERSION ORIGIN [MORE-FILE...]\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw) {
		fprintf(stderr, "%s: %s\n", argv[1], dwarf_errmsg(-1));
		return 1;
	}
	struct pcs_layout layout;
	memset(&layout, 0, sizeof(layout));
	snprintf(layout.version, sizeof(layout.version), "%s", argv[2]);
	struct pcs_error *err = pcs_layout_from_dwarf(dw, &layout);
	if (err) {
		fprintf(stderr, "%s: %s\n", argv[1], err->message);
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		int mfd = open(argv[i], O_RDONLY);
		Dwarf *more = mfd >= 0 ? dwarf_begin(mfd, DWARF_C_READ) : NULL;
		if (!more) {
			fprintf(stderr, "%s: no DWARF\n", argv[i]);
			return 1;
		}
		pcs_layout_merge_dwarf(more, &layout);
		dwarf_end(more);
		close(mfd);
	}
	struct pcs_strbuf out = PCS_STRBUF_INIT;
	pcs_layout_write_table(&layout, argv[3], &out);
	fputs(out.buf, stdout);
	pcs_strbuf_deinit(&out);
	dwarf_end(dw);
	close(fd);
	return 0;
}
