// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// DWARF for reading types. Opening a file, libdw decompresses every debug
// section it knows; in a distribution's debug file they are compressed,
// and the line tables, location and range lists are most of them: for
// CPython 3.11's, tens of milliseconds and tens of MB that the layout
// sources never use. Here only .debug_info and the sections its DIEs refer
// to are decompressed, into an ELF image in memory that libdw opens like
// the file: the DIEs, and so every offset read from them, are the same.

#include <elf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#ifdef PCS_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "symbols/types_dwarf.h"

struct pcs_types_dwarf {
	unsigned char *image;
	Elf *elf;
	Dwarf *dwarf;
};

// What the DIEs of .debug_info refer to, besides .debug_abbrev: strings
// (DW_FORM_strp, line_strp, strx) and addresses (addrx).
static const char *const kept_names[] = {
	".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str",
	".debug_str_offsets", ".debug_addr", ".debug_types",
};
enum { NKEPT = sizeof(kept_names) / sizeof(kept_names[0]) };

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2
#endif

struct kept {
	Elf_Scn *scn;
	GElf_Shdr shdr;
	size_t name;		/* offset in the image's section name table */
	uint64_t size;		/* decompressed */
	uint64_t offset;	/* in the image */
};

// The decompressed size of a section, or 0 when it cannot be told.
static uint64_t data_size(Elf_Scn *scn, const GElf_Shdr *shdr)
{
	if (!(shdr->sh_flags & SHF_COMPRESSED))
		return shdr->sh_size;
	Elf_Data *raw = elf_rawdata(scn, NULL);
	Elf64_Chdr ch;
	if (!raw || raw->d_size < sizeof(ch))
		return 0;
	memcpy(&ch, raw->d_buf, sizeof(ch));
	return ch.ch_type == ELFCOMPRESS_ZLIB || ch.ch_type == ELFCOMPRESS_ZSTD ? ch.ch_size
										: 0;
}

// Copy or decompress the section's contents to @p out (@p size bytes).
static bool extract(Elf_Scn *scn, const GElf_Shdr *shdr, unsigned char *out, uint64_t size)
{
	Elf_Data *raw = elf_rawdata(scn, NULL);
	if (!raw || (!raw->d_buf && raw->d_size))
		return false;
	if (!(shdr->sh_flags & SHF_COMPRESSED)) {
		if (raw->d_size != size)
			return false;
		memcpy(out, raw->d_buf, size);
		return true;
	}
	Elf64_Chdr ch;
	memcpy(&ch, raw->d_buf, sizeof(ch));
	const unsigned char *in = (const unsigned char *)raw->d_buf + sizeof(ch);
	size_t in_size = raw->d_size - sizeof(ch);
	if (ch.ch_type == ELFCOMPRESS_ZSTD)
		return ZSTD_decompress(out, size, in, in_size) == size;
#ifdef PCS_HAVE_LIBDEFLATE
	// Two to three times as fast as zlib's inflate.
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	if (d) {
		size_t got = 0;
		enum libdeflate_result r = libdeflate_zlib_decompress(d, in, in_size, out, size, &got);
		libdeflate_free_decompressor(d);
		return r == LIBDEFLATE_SUCCESS && got == size;
	}
#endif
	uLongf out_size = size;	// unsigned long: 64 bits here
	return uncompress(out, &out_size, in, in_size) == Z_OK && out_size == size;
}

// Which of the kept sections @p name is; -1 if none.
static int kept_index(const char *name)
{
	for (int i = 0; i < NKEPT; i++)
		if (strcmp(name, kept_names[i]) == 0)
			return i;
	return -1;
}

// The image: the ELF header, the sections, their names, their headers.
static struct pcs_types_dwarf *build(const GElf_Ehdr *eh, struct kept *kept)
{
	size_t nkept = 0;
	uint64_t end = sizeof(Elf64_Ehdr);
	char names[256];
	size_t names_len = 1;
	names[0] = '\0';
	for (int i = 0; i < NKEPT; i++) {
		if (!kept[i].scn)
			continue;
		kept[i].offset = end;
		end = (end + kept[i].size + 7) & ~(uint64_t)7;
		kept[i].name = names_len;
		size_t n = strlen(kept_names[i]) + 1;
		memcpy(names + names_len, kept_names[i], n);
		names_len += n;
		nkept++;
	}
	static const char shstrtab[] = ".shstrtab";
	size_t shstrtab_name = names_len;
	memcpy(names + names_len, shstrtab, sizeof(shstrtab));
	names_len += sizeof(shstrtab);
	uint64_t names_off = end;
	uint64_t shoff = (names_off + names_len + 7) & ~(uint64_t)7;
	size_t nsections = nkept + 2;
	uint64_t total = shoff + nsections * sizeof(Elf64_Shdr);
	if (total > SIZE_MAX)
		return NULL;

	struct pcs_types_dwarf *td = calloc(1, sizeof(*td));
	unsigned char *image = td ? calloc(1, (size_t)total) : NULL;
	if (!image) {
		free(td);
		return NULL;
	}
	td->image = image;
	Elf64_Ehdr out = {
		.e_type = eh->e_type,
		.e_machine = eh->e_machine,
		.e_version = EV_CURRENT,
		.e_shoff = shoff,
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_shentsize = sizeof(Elf64_Shdr),
		.e_shnum = (Elf64_Half)nsections,
		.e_shstrndx = (Elf64_Half)(nsections - 1),
	};
	memcpy(out.e_ident, eh->e_ident, EI_NIDENT);
	memcpy(image, &out, sizeof(out));
	Elf64_Shdr *sh = (Elf64_Shdr *)(image + shoff);
	size_t k = 1;
	for (int i = 0; i < NKEPT; i++) {
		if (!kept[i].scn)
			continue;
		if (!extract(kept[i].scn, &kept[i].shdr, image + kept[i].offset, kept[i].size))
			goto fail;
		sh[k++] = (Elf64_Shdr){
			.sh_name = (Elf64_Word)kept[i].name,
			.sh_type = kept[i].shdr.sh_type,
			.sh_flags = kept[i].shdr.sh_flags & ~(uint64_t)(SHF_COMPRESSED | SHF_ALLOC),
			.sh_offset = kept[i].offset,
			.sh_size = kept[i].size,
			.sh_addralign = 1,
			.sh_entsize = kept[i].shdr.sh_entsize,
		};
	}
	memcpy(image + names_off, names, names_len);
	sh[k] = (Elf64_Shdr){
		.sh_name = (Elf64_Word)shstrtab_name,
		.sh_type = SHT_STRTAB,
		.sh_offset = names_off,
		.sh_size = names_len,
		.sh_addralign = 1,
	};
	td->elf = elf_memory((char *)image, (size_t)total);
	if (!td->elf)
		goto fail;
	td->dwarf = dwarf_begin_elf(td->elf, DWARF_C_READ, NULL);
	if (!td->dwarf)
		goto fail;
	return td;
fail:
	pcs_types_dwarf_close(td);
	return NULL;
}

// The kept sections of @p elf; false when it has no .debug_info, or holds
// its DWARF in a way not for us (see the header: then *has_dwarf is set,
// the caller is to leave it to libdwfl).
static bool find_sections(Elf *elf, const GElf_Ehdr *eh, struct kept *kept,
			  bool *has_dwarf)
{
	size_t shstrndx;
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_type == ET_REL || elf_getshdrstrndx(elf, &shstrndx) != 0)
		goto not_for_us;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr shdr;
		const char *name;
		if (!gelf_getshdr(scn, &shdr) || !(name = elf_strptr(elf, shstrndx, shdr.sh_name)))
			goto not_for_us;
		if (strncmp(name, ".zdebug", 7) == 0 || strcmp(name, ".gnu_debugaltlink") == 0 ||
		    strcmp(name, ".debug_sup") == 0)
			goto not_for_us;
		if (shdr.sh_type == SHT_NOBITS)
			continue;
		if (strcmp(name, ".debug_info") == 0 || strcmp(name, ".debug_line") == 0 ||
		    strcmp(name, ".debug_frame") == 0)
			*has_dwarf = true;
		int i = kept_index(name);
		if (i < 0 || kept[i].scn)
			continue;
		kept[i] = (struct kept){ .scn = scn, .shdr = shdr, .size = data_size(scn, &shdr) };
		if (!kept[i].size && shdr.sh_size)
			goto not_for_us;
	}
	return kept[0].scn && kept[0].size && kept[1].scn;
not_for_us:
	*has_dwarf = true;
	return false;
}

// Whether the file at @p path has types to read here (*@p has_dwarf as
// pcs_types_dwarf_open() says); opened into *@p td when @p td is not NULL.
static bool open_file(const char *path, bool *has_dwarf, struct pcs_types_dwarf **td)
{
	bool scratch;
	if (!has_dwarf)
		has_dwarf = &scratch;
	*has_dwarf = false;
	if (td)
		*td = NULL;
	if (!path)
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	struct kept kept[NKEPT] = { 0 };
	bool found = elf && elf_kind(elf) == ELF_K_ELF && gelf_getehdr(elf, &eh) &&
		     find_sections(elf, &eh, kept, has_dwarf);
	if (found && td)
		found = (*td = build(&eh, kept)) != NULL;
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

struct pcs_types_dwarf *pcs_types_dwarf_open(const char *path, bool *has_dwarf)
{
	struct pcs_types_dwarf *td;
	open_file(path, has_dwarf, &td);
	return td;
}

bool pcs_symbols_probe_types(const char *main_file, const char *debug_file)
{
	bool main_has_dwarf = false;
	if (open_file(main_file, &main_has_dwarf, NULL))
		return true;
	return !main_has_dwarf && debug_file &&
	       (!main_file || strcmp(debug_file, main_file) != 0) &&
	       open_file(debug_file, NULL, NULL);
}

struct pcs_types_dwarf *pcs_symbols_open_types(const char *main_file, const char *debug_file)
{
	// As libdwfl takes a module's DWARF: from its own file when that has
	// some, else from the debug file found for it.
	bool main_has_dwarf = false;
	struct pcs_types_dwarf *td = pcs_types_dwarf_open(main_file, &main_has_dwarf);
	if (!td && !main_has_dwarf && debug_file &&
	    (!main_file || strcmp(debug_file, main_file) != 0))
		td = pcs_types_dwarf_open(debug_file, NULL);
	return td;
}

Dwarf *pcs_types_dwarf_get(const struct pcs_types_dwarf *td)
{
	return td->dwarf;
}

void pcs_types_dwarf_close(struct pcs_types_dwarf *td)
{
	if (!td)
		return;
	if (td->dwarf)
		dwarf_end(td->dwarf);
	if (td->elf)
		elf_end(td->elf);
	free(td->image);
	free(td);
}
