// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// The crash and the command line a core records, named for people.

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "collect/collect.h"
#include "target/target.h"
#include "util/error.h"

struct code_name {
	int signo;	/* 0: any signal */
	int code;
	const char *name;
};

// si_code values (asm-generic/siginfo.h): those any signal may carry,
// then each fault signal's own.
static const struct code_name code_names[] = {
	{ 0, SI_USER, "SI_USER" },
	{ 0, SI_KERNEL, "SI_KERNEL" },
	{ 0, SI_QUEUE, "SI_QUEUE" },
	{ 0, SI_TIMER, "SI_TIMER" },
	{ 0, SI_MESGQ, "SI_MESGQ" },
	{ 0, SI_ASYNCIO, "SI_ASYNCIO" },
	{ 0, SI_SIGIO, "SI_SIGIO" },
	{ 0, SI_TKILL, "SI_TKILL" },
	{ SIGSEGV, SEGV_MAPERR, "SEGV_MAPERR" },
	{ SIGSEGV, SEGV_ACCERR, "SEGV_ACCERR" },
	{ SIGSEGV, 3, "SEGV_BNDERR" },
	{ SIGSEGV, 4, "SEGV_PKUERR" },
	{ SIGBUS, BUS_ADRALN, "BUS_ADRALN" },
	{ SIGBUS, BUS_ADRERR, "BUS_ADRERR" },
	{ SIGBUS, BUS_OBJERR, "BUS_OBJERR" },
	{ SIGBUS, 4, "BUS_MCEERR_AR" },
	{ SIGBUS, 5, "BUS_MCEERR_AO" },
	{ SIGILL, ILL_ILLOPC, "ILL_ILLOPC" },
	{ SIGILL, ILL_ILLOPN, "ILL_ILLOPN" },
	{ SIGILL, ILL_ILLADR, "ILL_ILLADR" },
	{ SIGILL, ILL_ILLTRP, "ILL_ILLTRP" },
	{ SIGILL, ILL_PRVOPC, "ILL_PRVOPC" },
	{ SIGILL, ILL_PRVREG, "ILL_PRVREG" },
	{ SIGILL, ILL_COPROC, "ILL_COPROC" },
	{ SIGILL, ILL_BADSTK, "ILL_BADSTK" },
	{ SIGFPE, FPE_INTDIV, "FPE_INTDIV" },
	{ SIGFPE, FPE_INTOVF, "FPE_INTOVF" },
	{ SIGFPE, FPE_FLTDIV, "FPE_FLTDIV" },
	{ SIGFPE, FPE_FLTOVF, "FPE_FLTOVF" },
	{ SIGFPE, FPE_FLTUND, "FPE_FLTUND" },
	{ SIGFPE, FPE_FLTRES, "FPE_FLTRES" },
	{ SIGFPE, FPE_FLTINV, "FPE_FLTINV" },
	{ SIGFPE, FPE_FLTSUB, "FPE_FLTSUB" },
	{ SIGTRAP, TRAP_BRKPT, "TRAP_BRKPT" },
	{ SIGTRAP, TRAP_TRACE, "TRAP_TRACE" },
};

static const char *code_name(int signo, int code)
{
	// Codes <= 0 and SI_KERNEL mean the same for every signal; the
	// positive ones below it are each signal's own.
	bool common = code <= 0 || code == SI_KERNEL;
	for (size_t i = 0; i < sizeof(code_names) / sizeof(code_names[0]); i++) {
		const struct code_name *c = &code_names[i];
		if (c->code == code && (common ? c->signo == 0 : c->signo == signo))
			return c->name;
	}
	return NULL;
}

struct pcs_error *pcs_collect_crash(struct pcs_target *t, struct pcs_snapshot *snap)
{
	const char *args = pcs_target_args(t);
	if (args && !(snap->args = pcs_snapshot_intern(snap, args)))
		return &pcs_enomem;
	const struct pcs_target_crash *c = pcs_target_crash(t);
	if (!c)
		return NULL;
	struct pcs_crash *out = &snap->crash;
	*out = (struct pcs_crash){
		.signal = c->signo,
		.code = c->code,
		.has_address = c->has_addr,
		.address = c->addr,
		.sender_pid = c->sender_pid,
		.tid = c->tid,
	};
	const char *abbrev = sigabbrev_np(c->signo);
	if (abbrev) {
		char name[32];
		snprintf(name, sizeof(name), "SIG%s", abbrev);
		if (!(out->signal_name = pcs_snapshot_intern(snap, name)))
			return &pcs_enomem;
	}
	out->code_name = code_name(c->signo, c->code);
	return NULL;
}
