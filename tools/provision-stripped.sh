#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Provision "the same, stripped" rows of ../shared/spec/MATRIX.md: for every
# pyenv CPython (2.7, 3.6 - 3.13 on the reference machines), a copy without
# DWARF, in $PCS_CACHE/stripped/X.Y:
#
#   bin/pythonX.Y              copy, strip -g, RUNPATH $ORIGIN/../lib
#   lib/libpythonX.Y*.so.1.0   copy, strip -g
#   lib/pythonX.Y/             the original stdlib, entry by entry (symlinks),
#                              except lib-dynload/: copies of the extension
#                              modules, stripped the same way, so that nothing
#                              in the process has DWARF (the realistic case)
#
# The copy finds its stdlib from its own location (sys.prefix is
# $PCS_CACHE/stripped/X.Y), without any environment variable.
# For 3.6 and 3.12 only, $PCS_CACHE/stripped-all/X.Y is the same with
# strip --strip-all (no .symtab either: only .dynsym is left).
#
# A stamp per copy (the source files' size and mtime): a rerun only checks it.
#
# Prints, one per line: stripped-X.Y PATH ... then stripped-all-X.Y PATH ...
set -euo pipefail
# shellcheck disable=SC2034  # used by provision-common.sh
PCS_LOG_PREFIX=provision-stripped
# shellcheck source=tools/provision-common.sh
. "$(dirname "$0")/provision-common.sh"

STRIP_ALL_VERSIONS=${PCS_STRIP_ALL_VERSIONS:-"3.6 3.12"}

pcs_need strip binutils
pcs_need readelf binutils
pcs_need patchelf patchelf
root=$(pyenv root 2>/dev/null) || root=${PYENV_ROOT:-}
if [ -z "$root" ] || [ ! -d "$root/versions" ]; then
	pcs_die "no pyenv (pyenv root) found"
fi

pcs_lock stripped

# make_copy SRC_PREFIX X.Y DEST STRIP_FLAG
make_copy() {
	local src=$1 m=$2 dest=$3 flag=$4
	local exe=$src/bin/python$m
	local libs=("$src"/lib/libpython"$m"*.so.1.0)
	[ -f "${libs[0]}" ] || { pcs_log "$src: no lib/libpython$m*.so.1.0 (not a shared build), skipped"; return 1; }
	local sig
	sig="$flag $(pcs_file_sig "$exe" "${libs[@]}" "$src/lib/python$m/lib-dynload"/*.so)"
	if pcs_stamp_ok "$dest/.stamp" "$sig" && [ -x "$dest/bin/python$m" ]; then
		return 0
	fi
	pcs_log "$dest: copying $src ($flag)"
	local tmp=$dest.tmp
	rm -rf "$tmp" && mkdir -p "$tmp/bin" "$tmp/lib/python$m/lib-dynload"
	cp -p "$exe" "$tmp/bin/"
	cp -p "${libs[@]}" "$tmp/lib/"
	# The stdlib: symlinks to the original's entries; lib-dynload copied.
	local entry
	for entry in "$src/lib/python$m"/* "$src/lib/python$m"/.[!.]*; do
		[ -e "$entry" ] || [ -L "$entry" ] || continue
		[ "$(basename "$entry")" = lib-dynload ] && continue
		ln -s "$entry" "$tmp/lib/python$m/"
	done
	cp -p "$src/lib/python$m/lib-dynload"/* "$tmp/lib/python$m/lib-dynload/" 2>/dev/null || true
	local f
	for f in "$tmp/bin/python$m" "$tmp"/lib/libpython*.so.1.0 "$tmp/lib/python$m/lib-dynload"/*.so; do
		[ -f "$f" ] || continue
		strip "$flag" "$f" || pcs_die "strip $flag $f failed"
	done
	# $ORIGIN/../lib is shorter than the original absolute RUNPATH: patchelf
	# rewrites the string in place and moves nothing.
	# shellcheck disable=SC2016  # $ORIGIN is for the loader
	patchelf --set-rpath '$ORIGIN/../lib' "$tmp/bin/python$m" || pcs_die "patchelf $tmp/bin/python$m failed"
	# Checks: no DWARF anywhere; no .symtab after --strip-all; the copy runs
	# on its own stripped libpython and stdlib.
	for f in "$tmp/bin/python$m" "$tmp"/lib/libpython*.so.1.0 "$tmp/lib/python$m/lib-dynload"/*.so; do
		[ -f "$f" ] || continue
		! pcs_has_debug_info "$f" || pcs_die "$f still has .debug_info"
		if [ "$flag" = --strip-all ]; then
			! pcs_has_section "$f" .symtab || pcs_die "$f still has .symtab"
		fi
	done
	rm -rf "$dest"
	mv "$tmp" "$dest"
	local out
	out=$(env -i PATH=/usr/bin:/bin "$dest/bin/python$m" -E -s -c '
import sys, threading
maps = open("/proc/self/maps").read()
libs = set(l.split()[-1] for l in maps.splitlines() if "libpython" in l)
assert sys.prefix == sys.argv[1], (sys.prefix, sys.argv[1])
assert libs and all(l.startswith(sys.argv[1] + "/lib/") for l in libs), libs
print("ok")
' "$dest" 2>&1) || pcs_die "$dest/bin/python$m does not run: $out"
	pcs_stamp "$dest/.stamp" "$sig"
}

# One copy per X.Y: the newest pyenv X.Y.Z.
declare -A newest=()
for v in $(ls -d "$root"/versions/[23].[0-9]* 2>/dev/null | sort -V); do
	m=$(basename "$v" | cut -d. -f1,2)
	[ -L "$v" ] && continue
	[ -x "$v/bin/python$m" ] && newest[$m]=$v
done

stripped=()
stripped_all=()
for m in "${!newest[@]}"; do
	v=${newest[$m]}
	if make_copy "$v" "$m" "$PCS_CACHE/stripped/$m" -g; then
		stripped+=("$m")
	fi
	case " $STRIP_ALL_VERSIONS " in
	*" $m "*)
		make_copy "$v" "$m" "$PCS_CACHE/stripped-all/$m" --strip-all && stripped_all+=("$m")
		;;
	esac
done
[ "${#stripped[@]}" -gt 0 ] || pcs_die "no pyenv CPython under $root/versions"

sorted() { printf '%s\n' "$@" | sort -V; }
for m in $(sorted "${stripped[@]}"); do
	echo "stripped-$m $PCS_CACHE/stripped/$m/bin/python$m"
done
for m in $(sorted "${stripped_all[@]+"${stripped_all[@]}"}"); do
	echo "stripped-all-$m $PCS_CACHE/stripped-all/$m/bin/python$m"
done
