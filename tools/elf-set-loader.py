#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Give an x86-64 executable another program interpreter and a DT_RPATH
without moving anything it already has.

usage: tools/elf-set-loader.py [--interpreter PATH] [--rpath DIRS] [--print] FILE [OUT]

What patchelf does for the same job shifts the file and puts a new PT_LOAD
*below* the first one (0.14.3: the first PT_LOAD becomes 0x3ff000+0x1000;
0.18.0 even produces a binary that crashes).  The addresses of .text and
.data survive, but libdwfl syncs a separate debug file (found by build-id,
e.g. Debian's python3.14-dbg) with the main file through the end of the
*first* PT_LOAD: after patchelf every DWARF address and every .symtab value
of the -dbg file comes out shifted (by -0x21750 for sid's python3.14).

This tool leaves every existing byte where it was:

  * a new, page-aligned PT_LOAD (RW) is appended past the highest segment;
    it holds a copy of .dynamic (plus DT_RPATH, minus any DT_RPATH or
    DT_RUNPATH), a copy of .dynstr (plus the new string) and the interpreter
    path;
  * PT_INTERP and PT_DYNAMIC point into it; the section headers of .interp,
    .dynamic and .dynstr too (readelf -d/-l show the new values);
  * the program header slot comes from a PT_NOTE that only repeats
    PT_GNU_PROPERTY (GNU ld emits both), else from a PT_NULL, else from the
    PT_NOTE of .note.ABI-tag (unused for an executable);
  * the build-id note, the first PT_LOAD and every section address stay.

DT_RPATH (not DT_RUNPATH) on purpose: the executable's DT_RPATH is also
searched for the dependencies of libraries it dlopen()s (extension modules),
DT_RUNPATH is not.

--print shows the interpreter and the rpath/runpath of FILE and exits.
Without OUT, FILE is rewritten in place (through a temporary file).
The patched file cannot be patched again (no slot left): patch a pristine copy.
Runs on Python 3.5+.
"""

import os
import struct
import sys

PT_NULL, PT_LOAD, PT_DYNAMIC, PT_INTERP, PT_NOTE, PT_PHDR = 0, 1, 2, 3, 4, 6
PT_GNU_PROPERTY = 0x6474e553
PF_W, PF_R = 2, 4
DT_NULL, DT_STRTAB, DT_STRSZ, DT_RPATH, DT_RUNPATH = 0, 5, 10, 15, 29
PAGE = 0x1000

EHDR = struct.Struct('<16sHHIQQQIHHHHHH')
PHDR = struct.Struct('<IIQQQQQQ')
SHDR = struct.Struct('<IIQQQQIIQQ')
DYN = struct.Struct('<qQ')


class Error(Exception):
    pass


def align(value, to):
    return (value + to - 1) // to * to


class Elf(object):
    def __init__(self, data):
        self.data = data
        if data[:4] != b'\x7fELF' or data[4] != 2 or data[5] != 1:
            raise Error('not a little-endian ELF64 file')
        (_, self.e_type, self.e_machine, _, _, self.e_phoff, self.e_shoff, _,
         _, self.e_phentsize, self.e_phnum, self.e_shentsize, self.e_shnum,
         self.e_shstrndx) = EHDR.unpack_from(data, 0)
        if self.e_type not in (2, 3):
            raise Error('not an executable (e_type %d)' % self.e_type)
        self.phdrs = [list(PHDR.unpack_from(data, self.e_phoff + i * self.e_phentsize))
                      for i in range(self.e_phnum)]
        self.shdrs = [list(SHDR.unpack_from(data, self.e_shoff + i * self.e_shentsize))
                      for i in range(self.e_shnum)]

    def phdr(self, ptype):
        for p in self.phdrs:
            if p[0] == ptype:
                return p
        return None

    def loads(self):
        return [p for p in self.phdrs if p[0] == PT_LOAD]

    def offset_of(self, vaddr, size):
        for p in self.loads():
            if p[3] <= vaddr and vaddr + size <= p[3] + p[5]:
                return p[2] + vaddr - p[3]
        raise Error('address %#x not in the file' % vaddr)

    def section_name(self, sh):
        if self.e_shstrndx == 0 or self.e_shstrndx >= len(self.shdrs):
            return ''
        strtab = self.shdrs[self.e_shstrndx]
        start = strtab[4] + sh[0]
        return self.data[start:self.data.index(b'\0', start)].decode('latin-1')

    def section(self, name):
        for sh in self.shdrs:
            if self.section_name(sh) == name:
                return sh
        return None

    def dynamic(self):
        p = self.phdr(PT_DYNAMIC)
        if p is None:
            raise Error('no PT_DYNAMIC (statically linked?)')
        entries = []
        for off in range(p[2], p[2] + p[5], DYN.size):
            tag, val = DYN.unpack_from(self.data, off)
            if tag == DT_NULL:
                break
            entries.append([tag, val])
        return entries

    def dyn_value(self, entries, tag):
        for t, v in entries:
            if t == tag:
                return v
        return None

    def string(self, entries, offset):
        strtab = self.dyn_value(entries, DT_STRTAB)
        size = self.dyn_value(entries, DT_STRSZ)
        start = self.offset_of(strtab, size) + offset
        return self.data[start:self.data.index(b'\0', start)].decode('utf-8', 'replace')

    def interpreter(self):
        p = self.phdr(PT_INTERP)
        if p is None:
            return None
        return self.data[p[2]:p[2] + p[5]].rstrip(b'\0').decode('utf-8', 'replace')


def free_slot(elf):
    """Index of a program header that can become the new PT_LOAD."""
    prop = elf.phdr(PT_GNU_PROPERTY)
    if prop is not None:
        for i, p in enumerate(elf.phdrs):
            if p[0] == PT_NOTE and p[2] == prop[2] and p[5] == prop[5]:
                return i
    for i, p in enumerate(elf.phdrs):
        if p[0] == PT_NULL:
            return i
    abi = elf.section('.note.ABI-tag')
    if abi is not None:
        for i, p in enumerate(elf.phdrs):
            if p[0] == PT_NOTE and p[2] == abi[4] and p[5] == abi[5]:
                return i
    raise Error('no program header slot to reuse (already patched?)')


def patch(data, interpreter, rpath):
    elf = Elf(data)
    if elf.e_machine != 62:
        raise Error('not x86-64 (e_machine %d)' % elf.e_machine)
    slot = free_slot(elf)
    entries = elf.dynamic()
    strtab_vaddr = elf.dyn_value(entries, DT_STRTAB)
    strsz = elf.dyn_value(entries, DT_STRSZ)
    if strtab_vaddr is None or strsz is None:
        raise Error('no DT_STRTAB/DT_STRSZ')
    old_strtab = data[elf.offset_of(strtab_vaddr, strsz):][:strsz]

    # The new segment: .dynamic, .dynstr, interpreter.
    seg_off = align(len(data), PAGE)
    seg_vaddr = align(max(p[3] + p[6] for p in elf.loads()), PAGE)
    seg_vaddr += (seg_off - seg_vaddr) % PAGE        # congruent mod PAGE (no-op)

    new_strtab = bytearray(old_strtab)
    if rpath is not None:
        entries = [e for e in entries if e[0] not in (DT_RPATH, DT_RUNPATH)]
        rpath_off = len(new_strtab)
        new_strtab += rpath.encode('utf-8') + b'\0'
        entries.append([DT_RPATH, rpath_off])
    dyn_size = (len(entries) + 4) * DYN.size          # DT_NULL + spare DT_NULLs
    str_vaddr = seg_vaddr + dyn_size
    for e in entries:
        if e[0] == DT_STRTAB:
            e[1] = str_vaddr
        elif e[0] == DT_STRSZ:
            e[1] = len(new_strtab)
    blob = bytearray()
    for tag, val in entries:
        blob += DYN.pack(tag, val)
    blob += b'\0' * (dyn_size - len(blob))
    blob += new_strtab
    blob += b'\0' * (align(len(blob), 8) - len(blob))
    interp_pos = len(blob)
    if interpreter is None:
        interpreter = elf.interpreter()
    interp_bytes = interpreter.encode('utf-8') + b'\0' if interpreter else b''
    blob += interp_bytes

    out = bytearray(data)
    out += b'\0' * (seg_off - len(out))
    out += blob

    # Program headers: the slot becomes the new PT_LOAD, placed after the
    # last PT_LOAD (ascending p_vaddr); PT_INTERP and PT_DYNAMIC move into it.
    phdrs = [list(p) for p in elf.phdrs]
    del phdrs[slot]
    new_load = [PT_LOAD, PF_R | PF_W, seg_off, seg_vaddr, seg_vaddr,
                len(blob), len(blob), PAGE]
    last_load = max(i for i, p in enumerate(phdrs) if p[0] == PT_LOAD)
    phdrs.insert(last_load + 1, new_load)
    for p in phdrs:
        if p[0] == PT_DYNAMIC:
            p[2], p[3], p[4] = seg_off, seg_vaddr, seg_vaddr
            p[5] = p[6] = len(entries) * DYN.size + DYN.size
        elif p[0] == PT_INTERP and interp_bytes:
            p[2], p[3], p[4] = seg_off + interp_pos, seg_vaddr + interp_pos, seg_vaddr + interp_pos
            p[5] = p[6] = len(interp_bytes)
    for i, p in enumerate(phdrs):
        PHDR.pack_into(out, elf.e_phoff + i * elf.e_phentsize, *p)

    # Section headers, for readelf and friends.
    where = {'.dynamic': (0, len(entries) * DYN.size + DYN.size),
             '.dynstr': (dyn_size, len(new_strtab))}
    if interp_bytes:
        where['.interp'] = (interp_pos, len(interp_bytes))
    for i, sh in enumerate(elf.shdrs):
        name = elf.section_name(sh)
        if name in where:
            pos, size = where[name]
            sh = list(sh)
            sh[3], sh[4], sh[5] = seg_vaddr + pos, seg_off + pos, size
            SHDR.pack_into(out, elf.e_shoff + i * elf.e_shentsize, *sh)
    return bytes(out)


def describe(path):
    with open(path, 'rb') as f:
        elf = Elf(f.read())
    print('interpreter %s' % elf.interpreter())
    entries = elf.dynamic()
    for tag, name in ((DT_RPATH, 'rpath'), (DT_RUNPATH, 'runpath')):
        val = elf.dyn_value(entries, tag)
        if val is not None:
            print('%s %s' % (name, elf.string(entries, val)))


def main(argv):
    interpreter = rpath = None
    show = False
    args = []
    it = iter(argv)
    for a in it:
        if a == '--interpreter':
            interpreter = next(it, None)
        elif a == '--rpath':
            rpath = next(it, None)
        elif a == '--print':
            show = True
        elif a.startswith('-'):
            args = []
            break
        else:
            args.append(a)
    if not 1 <= len(args) <= 2 or (not show and interpreter is None and rpath is None):
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        return 2
    try:
        if show:
            describe(args[0])
            return 0
        with open(args[0], 'rb') as f:
            data = f.read()
        out = patch(data, interpreter, rpath)
        dest = args[1] if len(args) == 2 else args[0]
        tmp = dest + '.tmp%d' % os.getpid()
        with open(tmp, 'wb') as f:
            f.write(out)
        os.chmod(tmp, os.stat(args[0]).st_mode & 0o7777)
        os.rename(tmp, dest)
    except (Error, OSError, struct.error, ValueError) as e:
        sys.stderr.write('elf-set-loader: %s: %s\n' % (args[0], e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
