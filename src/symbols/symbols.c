// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "symbols/types_dwarf.h"
#include "util/error.h"
#include "util/vector.h"

struct location_slot {
	Dwarf_Addr addr;	/* 0: empty */
	Dwarf_Addr symbol_start;
	struct pcs_native_location loc;
	/* loc.symbol demangled, owned; NULL if it is not a C++ name. */
	char *demangled;
};

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
	/* What holds @c dwarf when it was opened for its types only. */
	struct pcs_types_dwarf *types;
	/* The other modules' DWARF (pcs_symbols_module_dwarf()), by module. */
	struct module_types {
		Dwfl_Module *mod;
		Dwarf *dwarf;
		struct pcs_types_dwarf *types;	/* NULL: libdwfl's */
	} *module_types;
	size_t nmodule_types, cap_module_types;
	/* What pcs_symbols_locate() found, by address (open addressing). */
	struct location_slot *locations;
	size_t nlocation_slots, nlocations;
	/* The unwinder: libdwfl's process state, attached on first use. */
	bool attached;
	/* A read of the stack failed during the current unwind, there. */
	bool faulted;
	pcs_addr_t fault_addr;
	/*
	 * pcs_symbols_unwind_switched(): the stack being unwound (NULL when
	 * none), and the pseudo-thread libdwfl unwinds it as.
	 */
	const struct pcs_switched_stack *switched;
	struct pcs_target_thread switched_thread;
	/* What pcs_symbols_switch_frame() learnt of the switch function. */
	struct switch_site {
		Dwfl_Module *mod;
		/* Its pc after the call that saved the stack pointer. */
		Dwarf_Addr resume;
		/* Its frame's size there: the CFA is sp + this. */
		uint64_t cfa_offset;
		/* Return addresses into its callers, checked. */
		Dwarf_Addr returns[4];
		size_t nreturns;
	} switch_site;
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

// The path the target mapped @p mod from: the file mapped at its start
// (libdwfl names a core's modules by their soname). NULL if none.
static const char *mapped_path(const struct pcs_target *t, Dwfl_Module *mod)
{
	Dwarf_Addr start;
	dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < pcs_target_num_mappings(t); i++) {
		const struct pcs_target_mapping *m = pcs_target_mapping(t, i);
		if (m->start == start && m->offset == 0)
			return m->path;
	}
	return NULL;
}

// libdwfl's callbacks carry no argument: the target whose modules are being
// found. One symbol session at a time uses it (pcs_symbols_create() sets it).
static struct pcs_target *find_elf_target;

// A module's file, as pcs_target_local_path() finds it: under --sysroot or
// in --lib-path for a core (with the build-id the core records), under
// /proc/PID/root for a process (its own mount namespace); else where
// libdwfl looks (the path, build-id directories, debuginfod).
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
		    Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct pcs_target *t = find_elf_target;
	bool core = pcs_target_kind(t) == PCS_TARGET_CORE;
	const char *path = mapped_path(t, mod);
	if (path && pcs_target_file_matches(t, path, NULL, 0)) {
		const char *local = pcs_target_local_path(t, path);
		if (strcmp(local, path) != 0) {
			int fd = open(local, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				*file_name = strdup(local);
				*elfp = NULL;
				return fd;
			}
		}
	}
	return core ? dwfl_build_id_find_elf(mod, userdata, modname, base, file_name, elfp)
		    : dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
}

struct find_arg {
	Dwfl_Module *found;
	const char *path;
	// A module that looks like Python's but whose file libdwfl could not
	// use (missing, or replaced since the core was written).
	const char *unreadable;
	char why[1024];
};

// Whether the module's own file (not its separate debug file) defines
// @p name in .dynsym or .symtab. Reading it costs no debug-info lookup:
// libdwfl's symbol table would fetch each library's debug file first,
// from debuginfod if that is set up.
static bool file_defines(Dwfl_Module *mod, const char *name)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	Elf_Scn *scn = NULL;
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr) ||
		    (shdr.sh_type != SHT_DYNSYM && shdr.sh_type != SHT_SYMTAB) ||
		    !shdr.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = data ? data->d_size / shdr.sh_entsize : 0;
		for (size_t i = 1; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			const char *sname = elf_strptr(elf, shdr.sh_link, sym.st_name);
			if (sname && strcmp(sname, name) == 0)
				return true;
		}
	}
	return false;
}

static void found_python(struct find_arg *fa, Dwfl_Module *mod, const char *name)
{
	const char *path = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &path, NULL);
	fa->found = mod;
	fa->path = path ? path : name;
}

static int find_python_cheaply(Dwfl_Module *mod, void **userdata, const char *name,
			       Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	if (!file_defines(mod, interpreter_marker))
		return DWARF_CB_OK;
	found_python(arg, mod, name);
	return DWARF_CB_ABORT;
}

static int find_python(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)start;
	struct find_arg *fa = arg;
	pcs_addr_t addr;
	if (module_lookup(mod, interpreter_marker, &addr, NULL)) {
		found_python(fa, mod, name);
		return DWARF_CB_ABORT;
	}
	const char *base = strrchr(name, '/');
	if (!fa->unreadable && strstr(base ? base : name, "python") &&
	    dwfl_module_getsymtab(mod) < 0) {
		fa->unreadable = name;
		// Say what was looked at, where the target can (a core's
		// build-id against the candidates); else libdwfl's reason.
		const char *path = mapped_path(find_elf_target, mod);
		if (path) {
			fa->unreadable = path;
			if (pcs_target_file_matches(find_elf_target, path, fa->why,
						    sizeof(fa->why)))
				path = NULL;
		}
		if (!path)
			snprintf(fa->why, sizeof(fa->why), "%s", dwfl_errmsg(-1));
	}
	return DWARF_CB_OK;
}

static struct pcs_error *report(struct pcs_symbols *s)
{
	struct pcs_target *t = s->target;
	bool core = pcs_target_kind(t) == PCS_TARGET_CORE;
	find_elf_target = t;
	s->callbacks = (Dwfl_Callbacks){
		.find_elf = find_elf,
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

// libdwfl's standard search ends with debuginfod when DEBUGINFOD_URLS names
// servers. libdebuginfod's own limit (DEBUGINFOD_TIMEOUT, 90 s without
// 100 KB, tried three times) leaves a server that never completes the TCP
// connection to curl's 300 s connect timeout, three times per file: cap
// each download at a minute, unless the user set a cap (0: none).
static void limit_debuginfod(void)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (urls && *urls)
		setenv("DEBUGINFOD_MAXTIME", "60", 0);
}

struct pcs_error *pcs_symbols_create(struct pcs_target *t, const char *debug_dir,
				     struct pcs_symbols **ret)
{
	limit_debuginfod();
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
		// CPython exports its marker: the modules' own symbol tables
		// find it. Only failing that, every module's full symbol table
		// (debug files included).
		struct find_arg fa = { 0 };
		dwfl_getmodules(s->dwfl, find_python_cheaply, &fa, 0);
		if (!fa.found)
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
	pcs_types_dwarf_close(s->types);
	for (size_t i = 0; i < s->nmodule_types; i++)
		pcs_types_dwarf_close(s->module_types[i].types);
	free(s->module_types);
	free(s->debuginfo_path);
	for (size_t i = 0; i < s->nlocation_slots; i++)
		free(s->locations[i].demangled);
	free(s->locations);
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

// The files @p mod's types are read from (pcs_symbols_types_files()).
static void module_files(Dwfl_Module *mod, const char **main_file, const char **debug_file)
{
	// A module with no symbol table of its own has had its debug file
	// looked for, as libdwfl looks for its DWARF.
	dwfl_module_getsymtab(mod);
	*main_file = *debug_file = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, main_file, debug_file);
}

// The DWARF of @p mod for its types: all its callers read. From the file
// libdwfl would take it from (the module's own file when it has DWARF,
// else the debug file found for its symbols), with only the sections they
// need decompressed; else as libdwfl opens it, whole.
static Dwarf *module_dwarf(Dwfl_Module *mod, struct pcs_types_dwarf **types)
{
	const char *main_file, *debug_file;
	module_files(mod, &main_file, &debug_file);
	*types = pcs_symbols_open_types(main_file, debug_file);
	if (*types)
		return pcs_types_dwarf_get(*types);
	Dwarf_Addr bias;
	return dwfl_module_getdwarf(mod, &bias);
}

Dwarf *pcs_symbols_python_dwarf(struct pcs_symbols *s)
{
	if (!s->dwarf_tried) {
		s->dwarf = module_dwarf(s->python, &s->types);
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
	if (ma.found == s->python)
		return pcs_symbols_python_dwarf(s);
	for (size_t i = 0; i < s->nmodule_types; i++)
		if (s->module_types[i].mod == ma.found)
			return s->module_types[i].dwarf;
	struct module_types mt = { .mod = ma.found };
	mt.dwarf = module_dwarf(ma.found, &mt.types);
	if (!PCS_VEC_RESERVE(s->module_types, s->nmodule_types, s->cap_module_types, 1)) {
		// Not to be kept: libdwfl's, which libdwfl keeps.
		pcs_types_dwarf_close(mt.types);
		Dwarf_Addr bias;
		return dwfl_module_getdwarf(ma.found, &bias);
	}
	s->module_types[s->nmodule_types++] = mt;
	return mt.dwarf;
}

bool pcs_symbols_types_files(struct pcs_symbols *s, const char *name_part,
			     char **main_file, char **debug_file)
{
	Dwfl_Module *mod = s->python;
	*main_file = *debug_file = NULL;
	if (name_part) {
		struct module_arg ma = { .part = name_part };
		dwfl_getmodules(s->dwfl, find_module, &ma, 0);
		mod = ma.found;
	}
	if (!mod)
		return false;
	const char *m, *d;
	module_files(mod, &m, &d);
	*main_file = m ? strdup(m) : NULL;
	*debug_file = d ? strdup(d) : NULL;
	if ((m && !*main_file) || (d && !*debug_file)) {
		free(*main_file);
		free(*debug_file);
		*main_file = *debug_file = NULL;
		return false;
	}
	return true;
}

// --- Unwinding --------------------------------------------------------------
//
// libdwfl unwinds through our own thread callbacks: the registers come from
// the target (a core's notes, or the threads pcs_target_stop() stopped) and
// the stack from pcs_target_read(), so a core and a live process are read
// the same way and libdwfl never ptraces anything itself.

// x86-64 DWARF register numbers 0-16: rax rdx rcx rbx rsi rdi rbp rsp
// r8-r15, and the return address (rip).
enum { DWARF_X86_64_NREGS = 17, DWARF_X86_64_RSP = 7 };

static pid_t next_thread(Dwfl *dwfl, void *dwfl_arg, void **thread_argp)
{
	(void)dwfl;
	struct pcs_symbols *s = dwfl_arg;
	size_t next = *thread_argp ? (size_t)((const struct pcs_target_thread *)*thread_argp -
					      pcs_target_thread(s->target, 0)) + 1
				   : 0;
	if (next >= pcs_target_num_threads(s->target))
		return 0;
	const struct pcs_target_thread *th = pcs_target_thread(s->target, next);
	*thread_argp = (void *)th;
	return th->tid;
}

// The tid pcs_symbols_unwind_switched() asks libdwfl for: no thread has it.
enum { SWITCHED_TID = -1 };

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	(void)dwfl;
	struct pcs_symbols *s = dwfl_arg;
	if (tid == SWITCHED_TID) {
		*thread_argp = &s->switched_thread;
		return s->switched != NULL;
	}
	for (size_t i = 0; i < pcs_target_num_threads(s->target); i++) {
		const struct pcs_target_thread *th = pcs_target_thread(s->target, i);
		if (th->tid == tid) {
			*thread_argp = (void *)th;
			return true;
		}
	}
	return false;
}

// Read @p len bytes of the stack @p st at @p addr: those it saved from its
// copy, the rest in place.
static struct pcs_error *switched_read(struct pcs_symbols *s,
				       const struct pcs_switched_stack *st,
				       pcs_addr_t addr, void *buf, size_t len)
{
	unsigned char *out = buf;
	const pcs_addr_t lo = st->start, hi = st->start + st->saved;
	while (len) {
		size_t n = len;
		pcs_addr_t from = addr;
		if (addr < lo) {
			if (lo - addr < n)
				n = (size_t)(lo - addr);
		} else if (addr < hi) {
			if (hi - addr < n)
				n = (size_t)(hi - addr);
			from = st->copy + (addr - lo);
		}
		struct pcs_error *err = pcs_target_read(s->target, from, out, n);
		if (err)
			return err;
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			void *dwfl_arg)
{
	(void)dwfl;
	struct pcs_symbols *s = dwfl_arg;
	uint64_t word;
	struct pcs_error *err = s->switched
		? switched_read(s, s->switched, addr, &word, sizeof(word))
		: pcs_target_read(s->target, addr, &word, sizeof(word));
	if (err) {
		pcs_error_destroy(err);
		if (!s->faulted) {
			s->faulted = true;
			s->fault_addr = addr;
		}
		return false;
	}
	*result = word;
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct pcs_target_thread *th = thread_arg;
	const struct pcs_x86_64_regs *r = &th->regs;
	if (!th->has_regs)
		return false;
	// A switched stack: only where it stopped is known, the rest is
	// unset (libdwfl then fails where it would need it, never guesses).
	if (th->tid == SWITCHED_TID) {
		const Dwarf_Word sp = r->rsp;
		if (!dwfl_thread_state_registers(thread, DWARF_X86_64_RSP, 1, &sp))
			return false;
		dwfl_thread_state_register_pc(thread, r->rip);
		return true;
	}
	const Dwarf_Word regs[DWARF_X86_64_NREGS] = {
		r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
		r->rip,
	};
	return dwfl_thread_state_registers(thread, 0, DWARF_X86_64_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static struct pcs_error *attach(struct pcs_symbols *s)
{
	if (s->attached)
		return NULL;
	// With no ELF, libdwfl takes the architecture from the modules.
	if (!dwfl_attach_state(s->dwfl, s->core_elf, pcs_target_pid(s->target),
			       &thread_callbacks, s))
		return dwfl_error("cannot unwind");
	s->attached = true;
	return NULL;
}

// The CFI row of the code address @p pc in @p mod, where libdwfl's
// unwinder finds it (.eh_frame, else .debug_frame), and the bias of its
// addresses. NULL if none; free() it.
static Dwarf_Frame *cfi_row(Dwfl_Module *mod, Dwarf_Addr pc, Dwarf_Addr *bias)
{
	Dwarf_Frame *row;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(mod, bias);
	if (cfi && dwarf_cfi_addrframe(cfi, pc - *bias, &row) == 0)
		return row;
	cfi = dwfl_module_dwarf_cfi(mod, bias);
	if (cfi && dwarf_cfi_addrframe(cfi, pc - *bias, &row) == 0)
		return row;
	return NULL;
}

enum frame_end { FRAME_END_KNOWN, FRAME_END_NO_CFI, FRAME_END_UNKNOWN };

// Where the frame @p state (@p f) ends, from its CFI: its CFA, its caller's
// stack pointer. Without CFI at its pc, libdwfl would unwind its caller
// from frame pointers.
static enum frame_end frame_end(struct pcs_symbols *s, Dwfl_Frame *state,
				const struct pcs_native_frame *f, Dwarf_Addr *cfa)
{
	Dwarf_Addr pc = f->exact ? f->pc : f->pc - 1, bias;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
	Dwarf_Frame *row = mod ? cfi_row(mod, pc, &bias) : NULL;
	if (!row)
		return FRAME_END_NO_CFI;
	Dwarf_Op *ops;
	size_t nops;
	Dwarf_Word base;
	bool known = dwarf_frame_cfa(row, &ops, &nops) == 0 && nops == 1 &&
		     ops[0].atom == DW_OP_bregx && ops[0].number < DWARF_X86_64_NREGS &&
		     dwfl_frame_reg(state, (unsigned)ops[0].number, &base) == 0;
	if (known)
		*cfa = base + ops[0].number2;
	free(row);
	return known ? FRAME_END_KNOWN : FRAME_END_UNKNOWN;
}

struct unwind_ctx {
	struct pcs_symbols *s;
	size_t max, count;
	pcs_native_frame_fn *fn;
	void *arg;
	struct pcs_native_frame last;
	struct pcs_error *err;
	/** pcs_symbols_unwind_to(): where the frames reported end; reached. */
	pcs_addr_t stop;
	bool reached_stop;
};

static int unwind_frame(Dwfl_Frame *state, void *arg)
{
	struct unwind_ctx *ctx = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation)) {
		ctx->err = dwfl_error("cannot tell the pc of a native frame");
		return DWARF_CB_ABORT;
	}
	Dwarf_Word sp;
	if (dwfl_frame_reg(state, DWARF_X86_64_RSP, &sp) != 0)
		sp = 0;
	struct pcs_native_frame f = { .pc = pc, .sp = sp, .exact = activation };
	// A caller's frame is above its callee's on the stack; only a frame a
	// signal interrupted (exact) may be anywhere (sigaltstack). Garbage
	// unwound from a corrupt stack would go round in circles.
	if (ctx->count && !f.exact && f.sp && ctx->last.sp && f.sp <= ctx->last.sp) {
		ctx->err = pcs_error_create(PCS_ERROR_LIMIT,
					    "native frames stop at 0x%" PRIx64
					    ": its caller's stack pointer 0x%" PRIx64
					    " is not above its own", ctx->last.pc, f.sp);
		return DWARF_CB_ABORT;
	}
	Dwarf_Addr cfa;
	if (ctx->stop != UINT64_MAX) {
		if (frame_end(ctx->s, state, &f, &cfa) != FRAME_END_KNOWN) {
			ctx->err = pcs_error_create(PCS_ERROR_ELFUTILS, "native frames stop "
						    "before 0x%" PRIx64 ": cannot tell where "
						    "its frame ends", f.pc);
			return DWARF_CB_ABORT;
		}
		if (cfa > ctx->stop) {
			ctx->reached_stop = true;
			return DWARF_CB_ABORT;
		}
	}
	if (ctx->count == ctx->max) {
		ctx->err = pcs_error_create(PCS_ERROR_LIMIT,
					    "more than %zu native frames; truncated",
					    ctx->max);
		return DWARF_CB_ABORT;
	}
	ctx->count++;
	ctx->last = f;
	ctx->err = ctx->fn(ctx->arg, &f);
	return ctx->err ? DWARF_CB_ABORT : DWARF_CB_OK;
}

struct pcs_error *pcs_symbols_unwind(struct pcs_symbols *s,
				     const struct pcs_target_thread *thread,
				     size_t max, pcs_native_frame_fn *fn,
				     void *arg)
{
	return pcs_symbols_unwind_to(s, thread, UINT64_MAX, max, fn, arg);
}

struct pcs_error *pcs_symbols_unwind_to(struct pcs_symbols *s,
					const struct pcs_target_thread *thread,
					pcs_addr_t stop, size_t max,
					pcs_native_frame_fn *fn, void *arg)
{
	if (!thread->has_regs)
		return pcs_error_create(PCS_ERROR_UNSUPPORTED,
					"the registers of thread %d are not known",
					thread->tid);
	struct pcs_error *err = attach(s);
	if (err)
		return err;
	struct unwind_ctx ctx = { .s = s, .max = max, .fn = fn, .arg = arg, .stop = stop };
	s->faulted = false;
	int r = dwfl_getthread_frames(s->dwfl, thread->tid, unwind_frame, &ctx);
	if (ctx.err || ctx.reached_stop)
		return ctx.err;
	if (r == 0)
		return NULL;
	if (!ctx.count)
		return dwfl_error("cannot unwind");
	// The frame libdwfl could not unwind from is the last one reported.
	if (s->faulted)
		return pcs_error_fault(s->fault_addr,
				       "native frames stop at 0x%" PRIx64
				       ": cannot read the stack at 0x%" PRIx64,
				       ctx.last.pc, s->fault_addr);
	return pcs_error_create(PCS_ERROR_ELFUTILS, "native frames stop at 0x%" PRIx64
				": %s", ctx.last.pc, dwfl_errmsg(-1));
}

// --- Switched stacks ---------------------------------------------------------
//
// A suspended greenlet's C stack is not any thread's: it stopped in
// greenlet's slp_switch() (platform/switch_amd64_unix.h), which spilled the
// callee-saved registers its CFI describes (the REGS_TO_SAVE clobbers, rbx),
// saved rsp as the greenlet's stack_start and called slp_save_state_trampoline();
// the greenlet resumes, on another greenlet's switch, from the instruction
// after that call with rsp == stack_start. So the stack unwinds like a
// thread stopped there: pc after that call, sp = stack_start. slp_switch()
// keeps rbp in a plain local, which its CFI does not describe: rbp stays
// unknown, which costs nothing while a caller saves it before any frame is
// addressed from it (g_switchstack() pushes it), and otherwise ends the
// unwind rather than guess. Nothing here needs greenlet's symbols: Debian's
// module has none for slp_switch().

enum {
	/** How far above its stack pointer the switch frame's return address may be. */
	SWITCH_MAX_FRAME = 1024,
	/** How far into the switch function the call that saved sp may be. */
	SWITCH_MAX_CODE = 512,
	/** The largest switched stack believed (a thread's stack is 8 MiB by default). */
	SWITCH_MAX_STACK = 1 << 30,
};

static struct pcs_error *check_switched(const struct pcs_switched_stack *st)
{
	if (!st->start || st->start % 8 || st->stop <= st->start ||
	    (st->stop != UINT64_MAX && st->stop - st->start > SWITCH_MAX_STACK) ||
	    st->saved > SWITCH_MAX_STACK || st->saved > st->stop - st->start ||
	    (st->saved && !st->copy))
		return pcs_error_create(PCS_ERROR_BAD_DATA,
					"not a stack: [0x%" PRIx64 ", 0x%" PRIx64 ") with %" PRIu64
					" bytes saved at 0x%" PRIx64, st->start, st->stop,
					st->saved, st->copy);
	return NULL;
}

// The CFA rule of @p row when it is rsp + *@p offset.
static bool cfa_from_sp(Dwarf_Frame *row, int64_t *offset)
{
	Dwarf_Op *ops;
	size_t nops;
	if (dwarf_frame_cfa(row, &ops, &nops) != 0 || nops != 1)
		return false;
	if (ops[0].atom == DW_OP_bregx && ops[0].number == DWARF_X86_64_RSP) {
		*offset = (int64_t)ops[0].number2;
		return true;
	}
	if (ops[0].atom == DW_OP_breg0 + DWARF_X86_64_RSP) {
		*offset = (int64_t)ops[0].number;
		return true;
	}
	return false;
}

// Up to @p max bytes of @p mod's code at @p addr, from its file (what its
// CFI describes); how many.
static size_t code_bytes(Dwfl_Module *mod, Dwarf_Addr addr, unsigned char *buf, size_t max)
{
	Dwarf_Addr off = addr, bias;
	Elf_Scn *scn = dwfl_module_address_section(mod, &off, &bias);
	Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
	if (!data || !data->d_buf || off >= data->d_size)
		return 0;
	size_t n = data->d_size - off < max ? (size_t)(data->d_size - off) : max;
	memcpy(buf, (const unsigned char *)data->d_buf + off, n);
	return n;
}

// Whether @p addr starts a function of @p mod: its CFI row begins there,
// with the CFA just above the return address (rsp + 8).
static bool function_entry(Dwfl_Module *mod, Dwarf_Addr addr)
{
	Dwarf_Addr bias, start, end;
	int64_t offset;
	Dwarf_Frame *row = cfi_row(mod, addr, &bias);
	bool yes = row && dwarf_frame_info(row, &start, &end, NULL) >= 0 &&
		   start + bias == addr && cfa_from_sp(row, &offset) && offset == 8;
	free(row);
	return yes;
}

// The function whose direct call (e8 rel32) returns to @p ret in @p mod.
static bool direct_call_before(Dwfl_Module *mod, Dwarf_Addr ret, Dwarf_Addr *callee)
{
	unsigned char insn[5];
	if (ret < 5 || code_bytes(mod, ret - 5, insn, 5) != 5 || insn[0] != 0xe8)
		return false;
	int32_t rel = (int32_t)((uint32_t)insn[1] | (uint32_t)insn[2] << 8 |
				(uint32_t)insn[3] << 16 | (uint32_t)insn[4] << 24);
	*callee = ret + (Dwarf_Addr)(int64_t)rel;
	return function_entry(mod, *callee);
}

enum resume_found { RESUME_NONE, RESUME_FOUND, RESUME_FRAME_POINTER };

// In the function at @p entry, the pc after its first direct call of a
// function where its CFI puts the CFA at sp + @p cfa_offset.
static enum resume_found find_resume(Dwfl_Module *mod, Dwarf_Addr entry,
				     uint64_t cfa_offset, Dwarf_Addr *resume)
{
	unsigned char code[SWITCH_MAX_CODE];
	size_t n = code_bytes(mod, entry, code, sizeof(code));
	enum resume_found found = RESUME_NONE;
	for (size_t i = 0; i + 5 <= n; i++) {
		Dwarf_Addr callee, after = entry + i + 5, bias;
		int64_t offset;
		if (code[i] != 0xe8 || !direct_call_before(mod, after, &callee) ||
		    callee == entry)
			continue;
		Dwarf_Frame *row = cfi_row(mod, after, &bias);
		if (row && cfa_from_sp(row, &offset)) {
			free(row);
			if (offset < 0 || (uint64_t)offset != cfa_offset)
				return RESUME_NONE;
			*resume = after;
			return RESUME_FOUND;
		}
		// Not addressed from sp: a frame pointer we cannot recover.
		free(row);
		found = row ? RESUME_FRAME_POINTER : RESUME_NONE;
		break;
	}
	return found;
}

static Dwfl_Module *module_named(struct pcs_symbols *s, const char *part)
{
	struct module_arg ma = { .part = part };
	dwfl_getmodules(s->dwfl, find_module, &ma, 0);
	return ma.found;
}

struct pcs_error *pcs_symbols_switch_frame(struct pcs_symbols *s, const char *module_part,
					   const struct pcs_switched_stack *st,
					   struct pcs_native_frame *ret)
{
	struct pcs_error *err = check_switched(st);
	if (err)
		return err;
	Dwfl_Module *mod = module_named(s, module_part);
	if (!mod)
		return pcs_error_create(PCS_ERROR_LOOKUP, "no module '%s'", module_part);
	Dwarf_Addr low, high;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	struct switch_site *site = &s->switch_site;
	// The switch function's frame has the same size in every stack: try
	// where the return address was before first.
	if (site->mod == mod && site->cfa_offset <= st->stop - st->start) {
		uint64_t word;
		err = switched_read(s, st, st->start + site->cfa_offset - 8, &word, sizeof(word));
		if (err)
			return pcs_error_prefix(err, "no return address above the stack pointer");
		for (size_t i = 0; i < site->nreturns; i++) {
			if (site->returns[i] == word) {
				*ret = (struct pcs_native_frame){ .pc = site->resume,
								  .sp = st->start,
								  .exact = true };
				return NULL;
			}
		}
	}
	bool frame_pointer = false;
	for (uint64_t off = 8; off < SWITCH_MAX_FRAME && off + 8 <= st->stop - st->start;
	     off += 8) {
		uint64_t word;
		Dwarf_Addr callee, resume;
		err = switched_read(s, st, st->start + off, &word, sizeof(word));
		if (err)
			return pcs_error_prefix(err, "no return address above the stack pointer");
		if (word < low || word >= high || !direct_call_before(mod, word, &callee))
			continue;
		switch (find_resume(mod, callee, off + 8, &resume)) {
		case RESUME_NONE:
			continue;
		case RESUME_FRAME_POINTER:
			frame_pointer = true;
			continue;
		case RESUME_FOUND:
			break;
		}
		if (site->mod != mod || site->resume != resume || site->cfa_offset != off + 8)
			*site = (struct switch_site){ .mod = mod, .resume = resume,
						      .cfa_offset = off + 8 };
		if (site->nreturns < sizeof(site->returns) / sizeof(*site->returns))
			site->returns[site->nreturns++] = word;
		*ret = (struct pcs_native_frame){ .pc = resume, .sp = st->start, .exact = true };
		return NULL;
	}
	if (frame_pointer)
		return pcs_error_create(PCS_ERROR_UNSUPPORTED, "its switch function keeps a "
					"frame pointer, which it does not save");
	return pcs_error_create(PCS_ERROR_BAD_DATA, "no return address into '%s' from its "
				"switch function above the stack pointer 0x%" PRIx64,
				module_part, st->start);
}

struct switched_ctx {
	struct unwind_ctx u;
	const struct pcs_switched_stack *st;
	/** The unwind reached a frame that is another stack's. */
	bool reached_stop;
};

// One frame of a switched stack: reported when libdwfl can unwind its
// caller through CFI and its caller's stack pointer (its CFA) is at most
// the stack's stop; the first frame past that ends the unwind.
static int unwind_switched_frame(Dwfl_Frame *state, void *arg)
{
	struct switched_ctx *ctx = arg;
	struct unwind_ctx *u = &ctx->u;
	Dwarf_Addr pc;
	bool activation;
	Dwarf_Word sp;
	if (!dwfl_frame_pc(state, &pc, &activation)) {
		u->err = dwfl_error("cannot tell the pc of a native frame");
		return DWARF_CB_ABORT;
	}
	if (dwfl_frame_reg(state, DWARF_X86_64_RSP, &sp) != 0)
		sp = 0;
	struct pcs_native_frame f = { .pc = pc, .sp = sp, .exact = activation };
	if (u->count && (f.exact || !f.sp || f.sp <= u->last.sp)) {
		u->err = pcs_error_create(PCS_ERROR_LIMIT, "native frames stop at 0x%" PRIx64
					  ": its caller's stack pointer 0x%" PRIx64
					  " is not above its own", u->last.pc, f.sp);
		return DWARF_CB_ABORT;
	}
	Dwarf_Addr cfa = 0;
	switch (frame_end(u->s, state, &f, &cfa)) {
	case FRAME_END_NO_CFI:
		u->err = pcs_error_create(PCS_ERROR_ELFUTILS, "native frames stop before 0x%"
					  PRIx64 ": no CFI there", f.pc);
		return DWARF_CB_ABORT;
	case FRAME_END_UNKNOWN:
		if (ctx->st->stop == UINT64_MAX)
			break;
		u->err = pcs_error_create(PCS_ERROR_ELFUTILS, "native frames stop before 0x%"
					  PRIx64 ": cannot tell where its frame ends", f.pc);
		return DWARF_CB_ABORT;
	case FRAME_END_KNOWN:
		if (cfa > ctx->st->stop) {
			ctx->reached_stop = true;
			return DWARF_CB_ABORT;
		}
		break;
	}
	if (u->count == u->max) {
		u->err = pcs_error_create(PCS_ERROR_LIMIT, "more than %zu native frames; "
					  "truncated", u->max);
		return DWARF_CB_ABORT;
	}
	u->count++;
	u->last = f;
	u->err = u->fn(u->arg, &f);
	return u->err ? DWARF_CB_ABORT : DWARF_CB_OK;
}

struct pcs_error *pcs_symbols_unwind_switched(struct pcs_symbols *s,
					      const struct pcs_switched_stack *st,
					      const struct pcs_native_frame *top, size_t max,
					      pcs_native_frame_fn *fn, void *arg)
{
	struct pcs_error *err = check_switched(st);
	if (!err && (top->sp < st->start || top->sp >= st->stop))
		err = pcs_error_create(PCS_ERROR_BAD_DATA, "native frames start at sp 0x%"
				       PRIx64 ", outside their stack", top->sp);
	if (!err)
		err = attach(s);
	if (err)
		return err;
	s->switched = st;
	s->switched_thread = (struct pcs_target_thread){
		.tid = SWITCHED_TID,
		.pc = top->pc,
		.sp = top->sp,
		.has_regs = true,
		.regs = { .rip = top->pc, .rsp = top->sp },
	};
	s->faulted = false;
	struct switched_ctx ctx = {
		.u = { .s = s, .max = max, .fn = fn, .arg = arg },
		.st = st,
	};
	int r = dwfl_getthread_frames(s->dwfl, SWITCHED_TID, unwind_switched_frame, &ctx);
	s->switched = NULL;
	if (ctx.u.err || ctx.reached_stop)
		return ctx.u.err;
	if (!ctx.u.count)
		return dwfl_error("cannot unwind");
	// libdwfl takes a return address it cannot read for the end of the
	// stack.
	if (s->faulted)
		return pcs_error_fault(s->fault_addr, "native frames stop at 0x%" PRIx64
				       ": cannot read the stack at 0x%" PRIx64,
				       ctx.u.last.pc, s->fault_addr);
	if (r != 0)
		return pcs_error_create(PCS_ERROR_ELFUTILS, "native frames stop at 0x%"
					PRIx64 ": %s", ctx.u.last.pc, dwfl_errmsg(-1));
	// The outermost frame: the end of a stack without a stop, and only
	// there.
	if (st->stop != UINT64_MAX)
		return pcs_error_create(PCS_ERROR_BAD_DATA, "native frames end at 0x%" PRIx64
					", below the end of their stack at 0x%" PRIx64,
					ctx.u.last.pc, st->stop);
	return NULL;
}

// The path of the file the target mapped at @p addr in @p mod (libdwfl
// names a core's modules by their soname), remembered in the module's
// userdata; else libdwfl's name for it.
static const char *module_path(struct pcs_symbols *s, Dwfl_Module *mod,
			       Dwarf_Addr addr)
{
	void **userdata;
	const char *name = dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL,
					    NULL, NULL);
	if (*userdata)
		return *userdata;
	for (size_t i = 0; i < pcs_target_num_mappings(s->target); i++) {
		const struct pcs_target_mapping *m = pcs_target_mapping(s->target, i);
		if (m->start <= addr && addr < m->end) {
			*userdata = m->path;
			return m->path;
		}
	}
	return name;
}

static void locate(struct pcs_symbols *s, Dwarf_Addr addr, struct location_slot *ret)
{
	*ret = (struct location_slot){ .addr = addr, .loc = { .line = -1 } };
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return;
	ret->loc.module = module_path(s, mod, addr);
	GElf_Off offset;
	GElf_Sym sym;
	ret->loc.symbol = dwfl_module_addrinfo(mod, addr, &offset, &sym, NULL, NULL, NULL);
	if (ret->loc.symbol)
		ret->symbol_start = addr - offset;
	Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
	int lineno;
	const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
				: NULL;
	if (file && lineno > 0) {
		ret->loc.file = file;
		ret->loc.line = lineno;
	}
}

enum { MAX_LOCATIONS = 1 << 16 };

// The slot for @p addr in the cache: libdwfl looks a symbol up by going
// through the whole symbol table, and the threads of one process stop in
// the same few places. NULL when the cache cannot grow.
static struct location_slot *location_slot(struct pcs_symbols *s, Dwarf_Addr addr)
{
	if (2 * (s->nlocations + 1) > s->nlocation_slots) {
		size_t n = s->nlocation_slots ? 2 * s->nlocation_slots : 256;
		struct location_slot *slots = n <= 2 * MAX_LOCATIONS ? calloc(n, sizeof(*slots))
								      : NULL;
		if (!slots)
			return NULL;
		for (size_t i = 0; i < s->nlocation_slots; i++) {
			const struct location_slot *old = &s->locations[i];
			if (!old->addr)
				continue;
			size_t j = (old->addr * 0x9e3779b97f4a7c15ULL) >> 20 & (n - 1);
			while (slots[j].addr)
				j = (j + 1) & (n - 1);
			slots[j] = *old;
		}
		free(s->locations);
		s->locations = slots;
		s->nlocation_slots = n;
	}
	size_t mask = s->nlocation_slots - 1;
	size_t j = (addr * 0x9e3779b97f4a7c15ULL) >> 20 & mask;
	while (s->locations[j].addr && s->locations[j].addr != addr)
		j = (j + 1) & mask;
	return &s->locations[j];
}

static int load_module(Dwfl_Module *mod, void **userdata, const char *name,
		       Dwarf_Addr start, void *arg)
{
	(void)userdata;
	(void)name;
	(void)start;
	(void)arg;
	Dwarf_Addr bias;
	dwfl_module_getsymtab(mod);
	dwfl_module_getdwarf(mod, &bias);
	dwfl_module_dwarf_cfi(mod, &bias);
	dwfl_module_eh_cfi(mod, &bias);
	return DWARF_CB_OK;
}

void pcs_symbols_load_all(struct pcs_symbols *s)
{
	dwfl_getmodules(s->dwfl, load_module, NULL, 0);
}

typedef char *cxa_demangle_fn(const char *name, char *buf, size_t *len, int *status);

// A C++ symbol (greenlet's, an extension's) as people read it, from the
// C++ runtime's own demangler where the system has one. It is loaded on
// first use: dumps of C-only stacks do not load it. NULL: not a C++ name,
// or no demangler.
static char *demangle(const char *name)
{
	static cxa_demangle_fn *fn;
	static bool tried;
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	if (!tried) {
		tried = true;
		void *lib = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		void *sym = lib ? dlsym(lib, "__cxa_demangle") : NULL;
		memcpy(&fn, &sym, sizeof(fn));
	}
	if (!fn)
		return NULL;
	int status = -1;
	char *out = fn(name, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

void pcs_symbols_locate(struct pcs_symbols *s, const struct pcs_native_frame *frame,
			struct pcs_native_location *ret)
{
	// A return address is just past the call: the call is the byte before.
	Dwarf_Addr addr = frame->exact || !frame->pc ? frame->pc : frame->pc - 1;
	struct location_slot found;
	struct location_slot *slot = addr ? location_slot(s, addr) : NULL;
	if (slot && slot->addr) {
		found = *slot;
	} else {
		locate(s, addr, &found);
		if (slot) {
			found.demangled = demangle(found.loc.symbol);
			if (found.demangled)
				found.loc.symbol = found.demangled;
			*slot = found;
			s->nlocations++;
		}
	}
	*ret = found.loc;
	if (ret->symbol)
		ret->offset = frame->pc - found.symbol_start;
}
