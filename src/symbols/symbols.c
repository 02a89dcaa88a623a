// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "util/error.h"

struct location_slot {
	Dwarf_Addr addr;	/* 0: empty */
	Dwarf_Addr symbol_start;
	struct pcs_native_location loc;
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
	/* What pcs_symbols_locate() found, by address (open addressing). */
	struct location_slot *locations;
	size_t nlocation_slots, nlocations;
	/* The unwinder: libdwfl's process state, attached on first use. */
	bool attached;
	/* A read of the stack failed during the current unwind, there. */
	bool faulted;
	pcs_addr_t fault_addr;
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

static bool get_thread(Dwfl *dwfl, pid_t tid, void *dwfl_arg, void **thread_argp)
{
	(void)dwfl;
	struct pcs_symbols *s = dwfl_arg;
	for (size_t i = 0; i < pcs_target_num_threads(s->target); i++) {
		const struct pcs_target_thread *th = pcs_target_thread(s->target, i);
		if (th->tid == tid) {
			*thread_argp = (void *)th;
			return true;
		}
	}
	return false;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			void *dwfl_arg)
{
	(void)dwfl;
	struct pcs_symbols *s = dwfl_arg;
	uint64_t word;
	struct pcs_error *err = pcs_target_read(s->target, addr, &word, sizeof(word));
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

struct unwind_ctx {
	struct pcs_symbols *s;
	size_t max, count;
	pcs_native_frame_fn *fn;
	void *arg;
	struct pcs_native_frame last;
	struct pcs_error *err;
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
	if (!thread->has_regs)
		return pcs_error_create(PCS_ERROR_UNSUPPORTED,
					"the registers of thread %d are not known",
					thread->tid);
	struct pcs_error *err = attach(s);
	if (err)
		return err;
	struct unwind_ctx ctx = { .s = s, .max = max, .fn = fn, .arg = arg };
	s->faulted = false;
	int r = dwfl_getthread_frames(s->dwfl, thread->tid, unwind_frame, &ctx);
	if (ctx.err)
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
			*slot = found;
			s->nlocations++;
		}
	}
	*ret = found.loc;
	if (ret->symbol)
		ret->offset = frame->pc - found.symbol_start;
}
