// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// libFuzzer target: arbitrary bytes as a core file. Opening must fail with
// an error or succeed; reads of any address must stay in bounds.

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "target/target.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("core", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct pcs_target *t = NULL;
	struct pcs_error *err = pcs_target_open_core(path, NULL, &t);
	if (!err) {
		// Read around every thread's registers and every mapping.
		unsigned char buf[256];
		for (size_t i = 0; i < pcs_target_num_threads(t); i++) {
			const struct pcs_target_thread *th = pcs_target_thread(t, i);
			pcs_error_destroy(pcs_target_read(t, th->sp, buf, sizeof(buf)));
			pcs_error_destroy(pcs_target_read(t, th->fs_base - 64, buf, sizeof(buf)));
		}
		for (size_t i = 0; i < pcs_target_num_mappings(t); i++) {
			const struct pcs_target_mapping *m = pcs_target_mapping(t, i);
			pcs_error_destroy(pcs_target_read(t, m->start, buf, sizeof(buf)));
			pcs_error_destroy(pcs_target_read(t, m->end - 8, buf, sizeof(buf)));
		}
	}
	pcs_error_destroy(err);
	pcs_target_destroy(t);
	close(fd);
	return 0;
}
