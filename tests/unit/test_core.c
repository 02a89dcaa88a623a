// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The core-file reader on hand-built cores: segments, notes, the fallback to
// mapped files for memory the core omits, and malformed input.

#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "target/target.h"
#include "util/error.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

struct image {
	unsigned char buf[16384];
	size_t len;
};

static size_t put(struct image *im, const void *p, size_t n)
{
	size_t at = im->len;
	memcpy(im->buf + at, p, n);
	im->len += (n + 3) & ~(size_t)3;
	return at;
}

static void put_note(struct image *im, uint32_t type, const void *desc, uint32_t n)
{
	uint32_t hdr[3] = { 5, n, type };
	put(im, hdr, sizeof(hdr));
	put(im, "CORE\0\0\0", 8);
	put(im, desc, n);
}

static char backing_path[] = "/tmp/pcs-unit-backing-XXXXXX";

// A core with one thread, one dumped segment at 0x10000 ("DUMPED..."), and
// one omitted file-backed segment at 0x20000 whose bytes are in a file.
static void build(struct image *im)
{
	memset(im, 0, sizeof(*im));
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 3;
	put(im, &eh, sizeof(eh));
	Elf64_Phdr ph[3] = { 0 };
	size_t ph_at = put(im, ph, sizeof(ph));

	size_t notes_at = im->len;
	unsigned char prstatus[336] = { 0 };
	uint32_t tid = 4242;
	uint64_t fs_base = 0x7f0011223344;
	memcpy(prstatus + 32, &tid, 4);
	memcpy(prstatus + 112 + 8 * 21, &fs_base, 8);
	put_note(im, NT_PRSTATUS, prstatus, sizeof(prstatus));
	uint64_t auxv[4] = { AT_PHDR, 0x20040, AT_NULL, 0 };
	put_note(im, NT_AUXV, auxv, sizeof(auxv));
	unsigned char file[256] = { 0 };
	uint64_t hdr[5] = { 1, 4096, 0x20000, 0x21000, 0 };
	memcpy(file, hdr, sizeof(hdr));
	strcpy((char *)file + sizeof(hdr), backing_path);
	put_note(im, NT_FILE, file, (uint32_t)(sizeof(hdr) + strlen(backing_path) + 1));
	size_t notes_len = im->len - notes_at;

	size_t data_at = put(im, "DUMPED-BYTES", 12);
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes_at,
			      .p_filesz = notes_len };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = data_at,
			      .p_vaddr = 0x10000, .p_filesz = 12, .p_memsz = 4096 };
	ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = im->len,
			      .p_vaddr = 0x20000, .p_filesz = 0, .p_memsz = 4096 };
	memcpy(im->buf + ph_at, ph, sizeof(ph));
}

static struct pcs_error *open_image(const struct image *im, size_t len,
				    struct pcs_target **t)
{
	char path[] = "/tmp/pcs-unit-core-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, im->buf, len) != (ssize_t)len)
		abort();
	close(fd);
	struct pcs_error *err = pcs_target_open_core(path, NULL, t);
	unlink(path);
	return err;
}

static void expect_format_error(const struct image *im, size_t len, const char *needle)
{
	struct pcs_target *t = NULL;
	struct pcs_error *err = open_image(im, len, &t);
	CHECK(err != NULL);
	if (err) {
		CHECK_INT(err->code, PCS_ERROR_FORMAT);
		if (!strstr(err->message, needle))
			fprintf(stderr, "message '%s' lacks '%s'\n", err->message, needle);
		CHECK(strstr(err->message, needle) != NULL);
	}
	pcs_error_destroy(err);
	pcs_target_destroy(t);
}

void test_core(void)
{
	int fd = mkstemp(backing_path);
	char page[4096];
	memset(page, 'F', sizeof(page));
	memcpy(page + 0x40, "FROM-FILE", 9);
	if (fd < 0 || write(fd, page, sizeof(page)) != sizeof(page))
		abort();
	close(fd);

	struct image im;
	build(&im);
	struct pcs_target *t = NULL;
	struct pcs_error *err = open_image(&im, im.len, &t);
	CHECK(err == NULL);
	if (!err) {
		CHECK_INT(pcs_target_num_threads(t), 1);
		CHECK_INT(pcs_target_thread(t, 0)->tid, 4242);
		CHECK(pcs_target_thread(t, 0)->fs_base == 0x7f0011223344);
		CHECK_INT(pcs_target_pid(t), 4242);
		// The executable is the file mapped where AT_PHDR points.
		CHECK(strcmp(pcs_target_exe_path(t), backing_path) == 0);
		char buf[16] = { 0 };
		CHECK(pcs_target_read(t, 0x10000, buf, 6) == NULL);
		CHECK(memcmp(buf, "DUMPED", 6) == 0);
		// Omitted from the core: read from the mapped file.
		CHECK(pcs_target_read(t, 0x20040, buf, 9) == NULL);
		CHECK(memcmp(buf, "FROM-FILE", 9) == 0);
		// Neither in the core nor in a file: a fault naming the address.
		err = pcs_target_read(t, 0x30000, buf, 4);
		CHECK(err && err->code == PCS_ERROR_FAULT && err->address == 0x30000);
		pcs_error_destroy(err);
		// Beyond what the core holds of a segment.
		err = pcs_target_read(t, 0x10000 + 100, buf, 4);
		CHECK(err != NULL);
		pcs_error_destroy(err);
		pcs_target_destroy(t);
	}

	expect_format_error(&im, 0, "empty");
	expect_format_error(&im, 10, "not an ELF core");
	expect_format_error(&im, 100, "truncated");
	expect_format_error(&im, im.len - 4, "truncated");
	struct image bad = im;
	bad.buf[16] = ET_EXEC;
	expect_format_error(&bad, bad.len, "not an ELF core file");
	bad = im;
	// A note claiming more bytes than its segment has.
	uint32_t huge = 0x7fffffff;
	memcpy(bad.buf + sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr) + 4, &huge, 4);
	expect_format_error(&bad, bad.len, "malformed note");
	unlink(backing_path);
}
