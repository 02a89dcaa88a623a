// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

struct pcs_error pcs_enomem = {
	.code = PCS_ERROR_NO_MEMORY,
	.message = (char *)"out of memory",
};

struct pcs_error *pcs_error_createv(enum pcs_error_code code, const char *fmt,
				    va_list ap)
{
	struct pcs_error *err = calloc(1, sizeof(*err));
	if (!err)
		return &pcs_enomem;
	if (vasprintf(&err->message, fmt, ap) < 0) {
		free(err);
		return &pcs_enomem;
	}
	err->code = code;
	return err;
}

struct pcs_error *pcs_error_create(enum pcs_error_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct pcs_error *err = pcs_error_createv(code, fmt, ap);
	va_end(ap);
	return err;
}

struct pcs_error *pcs_error_os(int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct pcs_error *err = pcs_error_createv(PCS_ERROR_OS, fmt, ap);
	va_end(ap);
	if (err == &pcs_enomem)
		return err;
	err->errnum = errnum;
	char *msg;
	if (asprintf(&msg, "%s: %s", err->message, strerror(errnum)) < 0) {
		pcs_error_destroy(err);
		return &pcs_enomem;
	}
	free(err->message);
	err->message = msg;
	return err;
}

struct pcs_error *pcs_error_fault(uint64_t address, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct pcs_error *err = pcs_error_createv(PCS_ERROR_FAULT, fmt, ap);
	va_end(ap);
	if (err != &pcs_enomem)
		err->address = address;
	return err;
}

struct pcs_error *pcs_error_prefix(struct pcs_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err = pcs_error_prefixv(err, fmt, ap);
	va_end(ap);
	return err;
}

struct pcs_error *pcs_error_prefixv(struct pcs_error *err, const char *fmt, va_list ap)
{
	if (err == &pcs_enomem)
		return err;
	char *prefix;
	int r = vasprintf(&prefix, fmt, ap);
	if (r < 0)
		goto oom;
	char *msg;
	r = asprintf(&msg, "%s: %s", prefix, err->message);
	free(prefix);
	if (r < 0)
		goto oom;
	free(err->message);
	err->message = msg;
	return err;
oom:
	pcs_error_destroy(err);
	return &pcs_enomem;
}

void pcs_error_destroy(struct pcs_error *err)
{
	if (!err || err == &pcs_enomem)
		return;
	free(err->message);
	free(err);
}

bool pcs_error_catch(struct pcs_error **errp, enum pcs_error_code code)
{
	if (!*errp || (*errp)->code != code)
		return false;
	pcs_error_destroy(*errp);
	*errp = NULL;
	return true;
}
