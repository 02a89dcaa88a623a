// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdio.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "util/error.h"

struct pcs_symbols {
	struct pcs_target *target;
	// libdwfl keeps pointers to both for the session's lifetime.
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	Dwfl *dwfl;
	Elf *core_elf;
	Dwfl_Module *python;
	const char *python_path;
	bool dwarf_tried;
	Dwarf *dwarf;
};

// CPython defines this in every version we read (2.7 to 3.15); an
// executable that merely links against libpython has it undefined.
static const char interpreter_marker[] = "Py_IsInitialized";

static struct pcs_error *dwfl_error(const char *what)
{
	return pcs_error_create(PCS_ERROR_ELFUTILS, "%s: %s", what,
				dwfl_errmsg(-1));
}

static bool module_lookup(Dwfl_Module *mod, const char *name, pcs_addr_t *addr,
			  uint64_t *size)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr value;
		const char *sname = dwfl_module_getsym_info(mod, i, &sym, &value,
							     NULL, NULL, NULL);
		if (!sname || sym.st_shndx == SHN_UNDEF || strcmp(sname, name) != 0)
			continue;
		if (GELF_ST_TYPE(sym.st_info) == STT_TLS)
			continue;
		*addr = value;
		if (size)
			*size = sym.st_size;
		return true;
	}
	return false;
}

struct find_arg {
	Dwfl_Module *found;
	const char *path;
	// A module that looks like Python's but whose file libdwfl could not
	// use (missing, or replaced since the core was written).
	const char *unreadable;
	char why[128];
};

static int find_python(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	struct find_arg *fa = arg;
	pcs_addr_t addr;
	if (module_lookup(mod, interpreter_marker, &addr, NULL)) {
		const char *path = NULL;
		dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &path, NULL);
		fa->found = mod;
		fa->path = path ? path : name;
		return DWARF_CB_ABORT;
	}
	const char *base = strrchr(name, '/');
	if (!fa->unreadable && strstr(base ? base : name, "python") &&
	    dwfl_module_getsymtab(mod) < 0) {
		fa->unreadable = name;
		snprintf(fa->why, sizeof(fa->why), "%s", dwfl_errmsg(-1));
	}
	return DWARF_CB_OK;
}

static struct pcs_error *report(struct pcs_symbols *s)
{
	struct pcs_target *t = s->target;
	bool core = pcs_target_kind(t) == PCS_TARGET_CORE;
	s->callbacks = (Dwfl_Callbacks){
		.find_elf = core ? dwfl_build_id_find_elf : dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &s->debuginfo_path,
	};
	if (core) {
		s->dwfl = dwfl_begin(&s->callbacks);
		if (!s->dwfl)
			return dwfl_error("dwfl_begin");
		elf_version(EV_CURRENT);
		s->core_elf = elf_begin(pcs_target_core_fd(t), ELF_C_READ_MMAP, NULL);
		if (!s->core_elf)
			return pcs_error_create(PCS_ERROR_ELFUTILS, "elf_begin: %s",
						elf_errmsg(-1));
		dwfl_report_begin(s->dwfl);
		int r = dwfl_core_file_report(s->dwfl, s->core_elf,
					      pcs_target_exe_path(t));
		if (r < 0)
			return dwfl_error("cannot read the modules of the core");
	} else {
		s->dwfl = dwfl_begin(&s->callbacks);
		if (!s->dwfl)
			return dwfl_error("dwfl_begin");
		dwfl_report_begin(s->dwfl);
		int r = dwfl_linux_proc_report(s->dwfl, pcs_target_pid(t));
		if (r != 0)
			return r > 0 ? pcs_error_os(r, "cannot read the modules")
				     : dwfl_error("cannot read the modules");
	}
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0)
		return dwfl_error("dwfl_report_end");
	return NULL;
}

struct pcs_error *pcs_symbols_create(struct pcs_target *t, const char *debug_dir,
				     struct pcs_symbols **ret)
{
	struct pcs_symbols *s = calloc(1, sizeof(*s));
	if (!s)
		return &pcs_enomem;
	s->target = t;
	// libdwfl's own default, with the user's directory searched first:
	// "" is the file's directory, ".debug" beside it, then the tree.
	if (debug_dir && asprintf(&s->debuginfo_path, ":.debug:%s:/usr/lib/debug",
				  debug_dir) < 0) {
		free(s);
		return &pcs_enomem;
	}
	struct pcs_error *err = report(s);
	if (!err) {
		struct find_arg fa = { 0 };
		dwfl_getmodules(s->dwfl, find_python, &fa, 0);
		if (fa.found) {
			s->python = fa.found;
			s->python_path = fa.path;
		} else if (fa.unreadable) {
			err = pcs_error_create(PCS_ERROR_NOT_PYTHON,
					       "cannot read the symbols of '%s': missing, "
					       "or not the file the process mapped (%s)",
					       fa.unreadable, fa.why);
		} else if (pcs_target_kind(t) == PCS_TARGET_CORE) {
			err = pcs_error_create(PCS_ERROR_NOT_PYTHON,
					       "not a core of a Python process "
					       "(no module defines %s)",
					       interpreter_marker);
		} else {
			err = pcs_error_create(PCS_ERROR_NOT_PYTHON,
					       "not a Python process");
		}
	}
	if (err) {
		pcs_symbols_destroy(s);
		return err;
	}
	*ret = s;
	return NULL;
}

void pcs_symbols_destroy(struct pcs_symbols *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	if (s->core_elf)
		elf_end(s->core_elf);
	free(s->debuginfo_path);
	free(s);
}

const char *pcs_symbols_python_path(const struct pcs_symbols *s)
{
	return s->python_path;
}

bool pcs_symbols_lookup(struct pcs_symbols *s, const char *name,
			pcs_addr_t *addr, uint64_t *size)
{
	return module_lookup(s->python, name, addr, size);
}

static bool module_section(Dwfl_Module *mod, const char *name, pcs_addr_t *addr,
			   uint64_t *size)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *sname = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sname && strcmp(sname, name) == 0 && (sh.sh_flags & SHF_ALLOC)) {
			*addr = sh.sh_addr + bias;
			*size = sh.sh_size;
			return true;
		}
	}
	return false;
}

void pcs_symbols_lookup_many(struct pcs_symbols *s, const char *const names[],
			     pcs_addr_t addrs[], size_t n)
{
	size_t left = n;
	for (size_t j = 0; j < n; j++)
		addrs[j] = 0;
	int count = dwfl_module_getsymtab(s->python);
	for (int i = 1; i < count && left; i++) {
		GElf_Sym sym;
		GElf_Addr value;
		const char *sname = dwfl_module_getsym_info(s->python, i, &sym, &value,
							     NULL, NULL, NULL);
		if (!sname || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) == STT_TLS)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (!addrs[j] && strcmp(sname, names[j]) == 0) {
				addrs[j] = value;
				left--;
			}
		}
	}
}

bool pcs_symbols_section(struct pcs_symbols *s, const char *name,
			 pcs_addr_t *addr, uint64_t *size)
{
	return module_section(s->python, name, addr, size);
}

struct section_arg {
	const char *name;
	pcs_addr_t addr;
	uint64_t size;
	bool found;
};

static int find_section(Dwfl_Module *mod, void **userdata, const char *name,
			Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)name;
	(void)start;
	struct section_arg *sa = arg;
	if (!module_section(mod, sa->name, &sa->addr, &sa->size))
		return DWARF_CB_OK;
	sa->found = true;
	return DWARF_CB_ABORT;
}

bool pcs_symbols_any_section(struct pcs_symbols *s, const char *name,
			     pcs_addr_t *addr, uint64_t *size)
{
	struct section_arg sa = { .name = name };
	dwfl_getmodules(s->dwfl, find_section, &sa, 0);
	if (sa.found) {
		*addr = sa.addr;
		*size = sa.size;
	}
	return sa.found;
}

bool pcs_symbols_python_runtime(struct pcs_symbols *s, pcs_addr_t *addr)
{
	uint64_t size;
	return pcs_symbols_lookup(s, "_PyRuntime", addr, NULL) ||
	       pcs_symbols_section(s, ".PyRuntime", addr, &size);
}

Dwarf *pcs_symbols_python_dwarf(struct pcs_symbols *s)
{
	if (!s->dwarf_tried) {
		Dwarf_Addr bias;
		s->dwarf = dwfl_module_getdwarf(s->python, &bias);
		s->dwarf_tried = true;
	}
	return s->dwarf;
}

struct module_arg {
	const char *part;
	Dwfl_Module *found;
};

static int find_module(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	struct module_arg *ma = arg;
	const char *base = strrchr(name, '/');
	if (!strstr(base ? base + 1 : name, ma->part))
		return DWARF_CB_OK;
	ma->found = mod;
	return DWARF_CB_ABORT;
}

bool pcs_symbols_module_lookup(struct pcs_symbols *s, const char *name_part,
			       const char *name, pcs_addr_t *addr)
{
	struct module_arg ma = { .part = name_part };
	dwfl_getmodules(s->dwfl, find_module, &ma, 0);
	return ma.found && module_lookup(ma.found, name, addr, NULL);
}

Dwarf *pcs_symbols_module_dwarf(struct pcs_symbols *s, const char *name_part)
{
	struct module_arg ma = { .part = name_part };
	dwfl_getmodules(s->dwfl, find_module, &ma, 0);
	if (!ma.found)
		return NULL;
	Dwarf_Addr bias;
	return dwfl_module_getdwarf(ma.found, &bias);
}
