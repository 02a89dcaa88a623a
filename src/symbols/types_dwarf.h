// SPDX-License-Identifier: MIT
// Copyright (c) 2026 pycore-stacks contributors

/**
 * @file
 * Private to symbols/: the DWARF of a file opened for reading its types
 * only (what the layout sources look up), without the sections that only
 * describe code.
 */
#ifndef PCS_SYMBOLS_TYPES_DWARF_H
#define PCS_SYMBOLS_TYPES_DWARF_H

#include <stdbool.h>

#include "symbols/symbols.h"

/**
 * Open the DWARF of the ELF file at @p path with .debug_info and what its
 * DIEs refer to (abbreviations, strings), and nothing else: no line
 * tables, location or range lists, CFI. NULL when the file has no
 * .debug_info, or holds its DWARF in a way only libdw's own opening reads
 * (supplementary files, sections compressed the old GNU way, relocatable
 * files): the caller then lets libdwfl open it whole. *@p has_dwarf (if
 * not NULL) tells whether the file has what libdw takes for DWARF (any of
 * .debug_info, .debug_line, .debug_frame), whether opened here or not;
 * it is also set when the file's DWARF is not for this reader.
 */
struct pcs_types_dwarf *pcs_types_dwarf_open(const char *path, bool *has_dwarf);

#endif
