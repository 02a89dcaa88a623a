// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * ② Symbols: the modules mapped in the target and their symbols and debug
 * information, through libdwfl. This is the only directory that includes
 * libdwfl.h.
 *
 * The interpreter lives in one module: libpython (shared builds) or the
 * executable (static builds). pcs_symbols_create() finds it by the symbols
 * only CPython defines; every lookup below is in that module.
 */
#ifndef PCS_SYMBOLS_SYMBOLS_H
#define PCS_SYMBOLS_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "target/target.h"

struct pcs_error;
struct pcs_symbols;
typedef struct Dwarf Dwarf;

/**
 * Report the target's modules and find the interpreter's module. Debug
 * information is looked up the standard way (beside each file, its .debug
 * directory, /usr/lib/debug by build-id), in @p debug_dir first if not NULL
 * (a tree laid out like /usr/lib/debug).
 * Errors: PCS_ERROR_NOT_PYTHON when no module defines CPython's symbols;
 * PCS_ERROR_ELFUTILS when libdwfl cannot read the target at all.
 * @p t must outlive the result.
 */
struct pcs_error *pcs_symbols_create(struct pcs_target *t, const char *debug_dir,
				     struct pcs_symbols **ret);

/** Free everything. NULL is a no-op. */
void pcs_symbols_destroy(struct pcs_symbols *s);

/** Path of the module holding the interpreter. Borrowed. */
const char *pcs_symbols_python_path(const struct pcs_symbols *s);

/**
 * Find the symbol @p name (defined, any binding, including LOCAL ones from
 * .symtab) in the interpreter's module. Returns false if absent; otherwise
 * sets *@p addr (load address in the target) and, if not NULL, *@p size.
 */
bool pcs_symbols_lookup(struct pcs_symbols *s, const char *name,
			pcs_addr_t *addr, uint64_t *size);

/**
 * Look up the @p n symbols @p names in the interpreter's module in one pass
 * over its symbol table; addrs[i] is set to each one's address, or 0 when
 * absent.
 */
void pcs_symbols_lookup_many(struct pcs_symbols *s, const char *const names[],
			     pcs_addr_t addrs[], size_t n);

/**
 * Find the ELF section @p name of the interpreter's module; its load address
 * and size. False if absent (or stripped of section headers).
 */
bool pcs_symbols_section(struct pcs_symbols *s, const char *name,
			 pcs_addr_t *addr, uint64_t *size);

/**
 * Like pcs_symbols_section(), in any module of the target (extension
 * modules carry their own sections, e.g. _asyncio's .AsyncioDebug).
 */
bool pcs_symbols_any_section(struct pcs_symbols *s, const char *name,
			     pcs_addr_t *addr, uint64_t *size);

/**
 * Like pcs_symbols_lookup(), in the first module whose file name contains
 * @p name_part (e.g. a static of the _asyncio extension).
 */
bool pcs_symbols_module_lookup(struct pcs_symbols *s, const char *name_part,
			       const char *name, pcs_addr_t *addr);

/**
 * The DWARF of the first module whose file name contains @p name_part
 * (e.g. "_asyncio" for the extension module), or NULL.
 * @return borrowed; valid until pcs_symbols_destroy().
 */
Dwarf *pcs_symbols_module_dwarf(struct pcs_symbols *s, const char *name_part);

/** A module's DWARF opened for its types alone (pcs_symbols_open_types()). */
struct pcs_types_dwarf;

/**
 * The files the types of the interpreter's module (@p name_part NULL), or
 * of the first module whose file name contains @p name_part, are read from
 * (pcs_symbols_python_dwarf(), pcs_symbols_module_dwarf()): its own file
 * and the debug file found for it, as copies to free (NULL when none).
 * False when there is no such module.
 */
bool pcs_symbols_types_files(struct pcs_symbols *s, const char *name_part,
			     char **main_file, char **debug_file);

/**
 * Open the types found in those files as pcs_symbols_python_dwarf() does:
 * only .debug_info and what its DIEs refer to. NULL when that cannot be
 * done so (no DWARF; DWARF only libdwfl's own opening reads: ask
 * pcs_symbols_python_dwarf()). Uses no symbol session: any thread may.
 */
struct pcs_types_dwarf *pcs_symbols_open_types(const char *main_file, const char *debug_file);

/**
 * Whether pcs_symbols_open_types() finds types to read in those files,
 * told from their section headers alone (cheap). Any thread may.
 */
bool pcs_symbols_probe_types(const char *main_file, const char *debug_file);

/** Its DWARF; borrowed, valid until pcs_types_dwarf_close(). */
Dwarf *pcs_types_dwarf_get(const struct pcs_types_dwarf *td);

/** Free everything. NULL is a no-op. */
void pcs_types_dwarf_close(struct pcs_types_dwarf *td);

/**
 * The address of CPython's `_PyRuntime` (3.7+): its dynamic or static
 * symbol, else the `.PyRuntime` section GCC builds of 3.10+ put it in,
 * which survives full stripping. False if neither exists.
 */
bool pcs_symbols_python_runtime(struct pcs_symbols *s, pcs_addr_t *addr);

/**
 * The DWARF of the interpreter's module, found in the module itself or
 * through the standard debuginfo lookup (/usr/lib/debug, .build-id).
 * NULL when there is none.
 * @return borrowed; valid until pcs_symbols_destroy().
 */
Dwarf *pcs_symbols_python_dwarf(struct pcs_symbols *s);

/** One frame of a thread's C stack, as the unwinder found it. */
struct pcs_native_frame {
	/**
	 * Its program counter: where the thread stopped for the innermost
	 * frame (and a frame a signal interrupted), else the return address
	 * into it.
	 */
	pcs_addr_t pc;
	/** Its stack pointer; 0 when the unwinder could not tell. */
	pcs_addr_t sp;
	/**
	 * @c pc is where the frame was stopped, not a return address: the
	 * instruction at @c pc itself is the frame's, not the one before it.
	 */
	bool exact;
};

typedef struct pcs_error *pcs_native_frame_fn(void *arg,
					      const struct pcs_native_frame *frame);

/**
 * Unwind the C stack of @p thread from the registers the target saved for
 * it (NT_PRSTATUS of a core, PTRACE_GETREGS of a thread we stopped),
 * reading its stack through pcs_target_read(): libdwfl's unwinder on the
 * modules' CFI (.eh_frame, and .debug_frame where there is DWARF), so
 * stripped modules unwind too. Nothing is ptraced here.
 *
 * Calls @p fn for each frame, innermost first, at most @p max. Returns NULL
 * when the unwind reached the thread's outermost frame. Otherwise an error
 * after the frames already reported: PCS_ERROR_UNSUPPORTED when the thread
 * has no registers (a process a debugger holds), PCS_ERROR_LIMIT past
 * @p max frames or when a caller's frame is not above its callee's on the
 * stack (a corrupt stack), PCS_ERROR_FAULT when the stack
 * is unreadable, PCS_ERROR_ELFUTILS when libdwfl cannot go on (a pc in no
 * module, no CFI for it); or what @p fn returned.
 */
struct pcs_error *pcs_symbols_unwind(struct pcs_symbols *s,
				     const struct pcs_target_thread *thread,
				     size_t max, pcs_native_frame_fn *fn,
				     void *arg);

/**
 * A C stack a stack switcher set aside (a suspended greenlet's: its
 * greenlet::StackState). Untrusted: pcs_symbols_switch_frame() and
 * pcs_symbols_unwind_switched() check what they use.
 */
struct pcs_switched_stack {
	/** Its stack pointer when it switched out: its lowest byte. */
	pcs_addr_t start;
	/**
	 * Where its frames end (exclusive): a frame whose caller's stack
	 * pointer is above it is another stack's. UINT64_MAX: none (the
	 * stack goes on to its thread's outermost frame).
	 */
	pcs_addr_t stop;
	/**
	 * Its lowest @c saved bytes, overwritten in place since, are at
	 * @c copy in the target; the rest is still in place.
	 */
	pcs_addr_t copy;
	uint64_t saved;
};

/**
 * The innermost frame of @p st: the switch function it is suspended in
 * (greenlet's slp_switch(), in the module whose file name contains
 * @p module_part), right after the call that saved its stack pointer as
 * st->start. Found without symbols: above st->start the switch function
 * left the return address into its caller; the call before that return
 * address names the switch function, whose first direct call is the one
 * that saved the stack pointer. Its pc is after that call, and its CFI
 * there must put the return address exactly where it was found.
 * @p ret gets that pc (exact) and sp = st->start. What is learnt is kept
 * for the stacks switched by the same code.
 * Errors: PCS_ERROR_LOOKUP when no module is named so; PCS_ERROR_BAD_DATA
 * when no return address fits (not a stack switched by that module, or
 * corrupt); PCS_ERROR_UNSUPPORTED when the switch function's frame is not
 * addressed from the stack pointer (a frame-pointer build);
 * PCS_ERROR_FAULT when the stack cannot be read.
 */
struct pcs_error *pcs_symbols_switch_frame(struct pcs_symbols *s, const char *module_part,
					   const struct pcs_switched_stack *st,
					   struct pcs_native_frame *ret);

/**
 * Like pcs_symbols_unwind(), for the stack @p st from its innermost frame
 * @p top (pcs_symbols_switch_frame()); the registers other than pc and sp
 * are unknown (the callee-saved ones are recovered from the stack where
 * the CFI says). Its memory is read through its copy. Stricter than a
 * thread's: every caller is unwound through CFI (never guessed from frame
 * pointers), is above its callee on the stack, and only frames whose
 * caller's stack pointer is at most st->stop are reported. Returns NULL
 * when the unwind reached st->stop (or the outermost frame, for a stack
 * without one); otherwise the errors of pcs_symbols_unwind(), and
 * PCS_ERROR_BAD_DATA when a stack with a stop ends below it.
 */
struct pcs_error *pcs_symbols_unwind_switched(struct pcs_symbols *s,
					      const struct pcs_switched_stack *st,
					      const struct pcs_native_frame *top, size_t max,
					      pcs_native_frame_fn *fn, void *arg);

/**
 * Like pcs_symbols_unwind(), with only the frames whose caller's stack
 * pointer (their CFA, from their CFI) is at most @p stop: a thread running
 * a greenlet other than its main one, whose part of the stack ends there
 * (above are the frames of the greenlets it switched from, overwritten in
 * part). Returns NULL when the unwind got past @p stop; a frame without
 * CFI below it ends the unwind with PCS_ERROR_ELFUTILS. UINT64_MAX: no
 * stop.
 */
struct pcs_error *pcs_symbols_unwind_to(struct pcs_symbols *s,
					const struct pcs_target_thread *thread,
					pcs_addr_t stop, size_t max,
					pcs_native_frame_fn *fn, void *arg);

/**
 * What the target's modules say about a code address. Strings are borrowed
 * from the symbol session (valid until pcs_symbols_destroy()).
 */
struct pcs_native_location {
	/** The function's symbol (.symtab, else .dynsym); NULL if none covers it. */
	const char *symbol;
	/** The address's offset from the symbol's start. */
	uint64_t offset;
	/** The module's path, as the target mapped it; NULL if in no module. */
	const char *module;
	/** Source file and line, from DWARF line tables; NULL and -1 if none. */
	const char *file;
	int line;
};

/**
 * Find now every module's symbols, debug information and unwind tables,
 * wherever they come from (debug files, debuginfod downloads): for a live
 * target, before it is stopped, so that unwinding and naming its native
 * frames then waits on no file or server.
 */
void pcs_symbols_load_all(struct pcs_symbols *s);

/**
 * Describe @p frame's code address: its symbol, module and, where the
 * module has DWARF, its source line. A return address is looked up one
 * byte before it (the call instruction), so that a call at the very end of
 * a function (a noreturn call) is not attributed to the next function.
 */
void pcs_symbols_locate(struct pcs_symbols *s, const struct pcs_native_frame *frame,
			struct pcs_native_location *ret);

#endif
