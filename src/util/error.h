// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * Errors as values.
 *
 * Every fallible function returns a `struct pcs_error *`: NULL means success,
 * anything else is an owned error the caller must either pass up or destroy
 * with pcs_error_destroy(). Results go through out-parameters placed last and
 * written only on success. Low layers never print and never exit: only cli/
 * turns an error into a message and an exit status.
 */
#ifndef PCS_UTIL_ERROR_H
#define PCS_UTIL_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/** What kind of failure an error describes. */
enum pcs_error_code {
	/** Out of memory. pcs_error_destroy() is a no-op on &pcs_enomem. */
	PCS_ERROR_NO_MEMORY,
	/** A system call failed; errnum holds errno. */
	PCS_ERROR_OS,
	/** Target memory could not be read; address holds where. */
	PCS_ERROR_FAULT,
	/** Target memory was read but made no sense (corrupt, wrong layout). */
	PCS_ERROR_BAD_DATA,
	/** A symbol, struct, field or object was not found. */
	PCS_ERROR_LOOKUP,
	/** The input is well-formed but something we do not handle. */
	PCS_ERROR_UNSUPPORTED,
	/** The input file is not what it claims (not a core, truncated...). */
	PCS_ERROR_FORMAT,
	/** The target is not a Python process. */
	PCS_ERROR_NOT_PYTHON,
	/** A walk hit one of its bounds (depth, count, cycle). */
	PCS_ERROR_LIMIT,
	/** libelf, libdw or libdwfl failed. */
	PCS_ERROR_ELFUTILS,
	PCS_ERROR_OTHER,
};

/** An error. Treat as read-only outside util/error.c. */
struct pcs_error {
	enum pcs_error_code code;
	/** errno for PCS_ERROR_OS, else 0. */
	int errnum;
	/** Faulting target address for PCS_ERROR_FAULT, else 0. */
	uint64_t address;
	/** Human-readable, git style: lowercase, no full stop. Owned. */
	char *message;
};

/** The statically allocated out-of-memory error. */
extern struct pcs_error pcs_enomem;

/**
 * Create an error with a printf-style message. Never returns NULL: when the
 * message cannot be allocated, returns &pcs_enomem.
 */
struct pcs_error *pcs_error_create(enum pcs_error_code code, const char *fmt, ...)
	__attribute__((__returns_nonnull__, __format__(__printf__, 2, 3)));

/** Like pcs_error_create(), taking a va_list. */
struct pcs_error *pcs_error_createv(enum pcs_error_code code, const char *fmt,
				    va_list ap)
	__attribute__((__returns_nonnull__, __format__(__printf__, 2, 0)));

/** PCS_ERROR_OS with errnum; the message gets ": strerror(errnum)" appended. */
struct pcs_error *pcs_error_os(int errnum, const char *fmt, ...)
	__attribute__((__returns_nonnull__, __format__(__printf__, 2, 3)));

/** PCS_ERROR_FAULT at @p address. */
struct pcs_error *pcs_error_fault(uint64_t address, const char *fmt, ...)
	__attribute__((__returns_nonnull__, __format__(__printf__, 2, 3)));

/**
 * Prefix the message of @p err with "prefix: ", in place. Returns @p err (or
 * &pcs_enomem if the new message cannot be allocated, destroying @p err).
 */
struct pcs_error *pcs_error_prefix(struct pcs_error *err, const char *fmt, ...)
	__attribute__((__returns_nonnull__, __format__(__printf__, 2, 3)));

/** Like pcs_error_prefix(), taking a va_list. */
struct pcs_error *pcs_error_prefixv(struct pcs_error *err, const char *fmt, va_list ap)
	__attribute__((__returns_nonnull__, __format__(__printf__, 2, 0)));

/** Free @p err. NULL and &pcs_enomem are no-ops. */
void pcs_error_destroy(struct pcs_error *err);

/**
 * If *@p errp has code @p code, destroy it, set *@p errp to NULL and return
 * true; otherwise leave it and return false.
 */
bool pcs_error_catch(struct pcs_error **errp, enum pcs_error_code code);

#endif
