// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

// libFuzzer target: the pure decoders that see target bytes — the three
// line-table formats, _Py_DebugOffsets validation — and gdb's text.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/gdb_target.h"
#include "interp/linetable.h"
#include "layout/layout.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int64_t addrq = (int64_t)(data[0] | data[1] << 8) - 4;
	const uint8_t *table = data + 2;
	size_t len = size - 2;
	(void)pcs_linetable_lnotab(table, len, 1, addrq, true);
	(void)pcs_linetable_lnotab(table, len, 1, addrq, false);
	(void)pcs_linetable_310(table, len, 1, addrq);
	(void)pcs_linetable_locations(table, len, 1, addrq);

	static struct pcs_layout layout;
	unsigned char block[1024] = { 0 };
	memcpy(block, "xdebugpy", 8);
	memcpy(block + 8, table, len < sizeof(block) - 8 ? len : sizeof(block) - 8);
	static const uint32_t versions[] = { 0x030d00f0, 0x030e0af0, 0x030f02f0 };
	for (size_t i = 0; i < 3; i++) {
		memset(&layout, 0, sizeof(layout));
		layout.version_hex = versions[i];
		memcpy(block + 8, &versions[i], 4);
		pcs_error_destroy(pcs_debug_offsets_apply(block, sizeof(block), &layout));
	}

	char *text = malloc(len + 1);
	if (text) {
		memcpy(text, table, len);
		text[len] = '\0';
		struct pcs_gdb_target g;
		(void)pcs_gdb_target_parse(text, &g);
		free(text);
	}
	return 0;
}
