#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Provision Debian sid's CPython 3.14 and 3.15 (../shared/spec/MATRIX.md),
# without touching the system's apt setup:
#
#   * a private apt configuration under $PCS_CACHE/sid/apt reaches sid in the
#     same Debian archive; its packages are downloaded (apt-get download) to
#     $PCS_CACHE/sid/debs and extracted into $PCS_CACHE/sid/root: the
#     interpreters, their stdlib, the -dbg packages (DWARF of the release
#     binaries and extension modules under usr/lib/debug/.build-id/, and the
#     debug builds python3.1Xd), the -dev headers (incl. internal/), and
#     sid's libc and the libraries the interpreters need;
#   * each executable gets sid's loader as its program interpreter and the
#     extracted lib dir as DT_RPATH (tools/elf-set-loader.py: unlike
#     patchelf it moves nothing, so the -dbg DWARF found by build-id still
#     matches; see there). The interpreters then run without any environment
#     variable: they find their stdlib from their own location
#     (sys.prefix = $PCS_CACHE/sid/root/usr), and DT_RPATH also serves the
#     extension modules' libraries (libssl, libffi, ...).
#
# Each step leaves a stamp; a rerun only checks them. PCS_SID_REFRESH=1
# starts over from a fresh package list (sid moves: new versions, and old
# .debs disappear from the archive).
#
# usage: tools/provision-sid.sh [EXTRA-SID-PACKAGE...]
#   extra packages (e.g. python3-greenlet) are extracted into the same root.
#
# Prints, one per line ("key value"):
#   python3.14 PATH, python3.15 PATH      release interpreters (stripped)
#   python3.14d PATH, python3.15d PATH    debug builds (Py_DEBUG, DWARF inside)
#   debug-root PATH                       usr/lib/debug of the extracted tree
#   include3.14 PATH, include3.15 PATH    usr/include/python3.1X (pyconfig.h
#                                         includes <x86_64-linux-gnu/python3.1X/
#                                         pyconfig.h>: also -I sid-root/usr/include)
#   version3.14 V, version3.15 V          platform.python_version()
#   sid-root PATH                         the extracted tree
set -euo pipefail
# shellcheck disable=SC2034  # used by provision-common.sh
PCS_LOG_PREFIX=provision-sid
# shellcheck source=tools/provision-common.sh
. "$(dirname "$0")/provision-common.sh"

VERSIONS="3.14 3.15"
SID=$PCS_CACHE/sid
APTDIR=$SID/apt
DEBS=$SID/debs
ROOT=$SID/root
ORIG=$SID/orig
STAMPS=$SID/stamps
LIBDIR=$ROOT/usr/lib/x86_64-linux-gnu
LOADER=$LIBDIR/ld-linux-x86-64.so.2

packages=""
for v in $VERSIONS; do
	packages="$packages python$v-minimal libpython$v-minimal libpython$v-stdlib python$v"
	packages="$packages python$v-dbg libpython$v-dbg libpython$v-dev"
done
# sid's libc and what the interpreters and their extension modules link.
packages="$packages libc6 zlib1g libexpat1 libffi8 libzstd1 liblzma5 libbz2-1.0 libmpdec4"
packages="$packages libssl3t64 libuuid1 libsqlite3-0 libcrypt1 libgcc-s1 libstdc++6"
packages="$packages libncursesw6 libtinfo6 libreadline8t64 libdb5.3t64"
# The verify stamp names only these: a run with extras and one without (as
# tests/run.sh does) must not make each other verify again. Extracting an
# extra package clears the stamp anyway.
base_packages=$packages
packages="$packages $*"

[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] ||
	pcs_die "only amd64 is supported (the extracted loader is x86-64)"
pcs_need apt-get apt
pcs_need dpkg-deb dpkg
pcs_need readelf binutils
pcs_need python3 python3-minimal

pcs_lock sid
if [ "${PCS_SID_REFRESH:-0}" = 1 ]; then
	pcs_log "PCS_SID_REFRESH=1: starting over"
	rm -rf "$APTDIR" "$DEBS" "$ROOT" "$ORIG" "$STAMPS"
fi
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$DEBS" "$ORIG" "$STAMPS"
[ -d "$ROOT" ] || rm -rf "$STAMPS"/extract-* "$STAMPS"/patch-* "$STAMPS"/verify
mkdir -p "$ROOT" "$STAMPS"

# --- private apt: sid, same archive -----------------------------------------

echo "deb http://deb.debian.org/debian sid main" >"$APTDIR/sources.list"
APT_OPTS=(-o "Dir::Etc::sourcelist=$APTDIR/sources.list" -o "Dir::Etc::sourceparts=-"
	-o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache"
	-o "APT::Sandbox::User=root" -q)

sid_update() {
	pcs_log "apt-get update (sid, private lists in $APTDIR)"
	apt-get "${APT_OPTS[@]}" update >"$APTDIR/update.log" 2>&1 ||
		{ cat "$APTDIR/update.log" >&2; pcs_die "apt-get update for sid failed"; }
	pcs_stamp "$STAMPS/apt-update" "$(date -u +%FT%TZ)"
}

deb_of() {  # the downloaded .deb of package $1 (newest if several), or nothing
	ls "$DEBS/$1"_*.deb 2>/dev/null | sort -V | tail -n 1
}

missing=""
for p in $packages; do
	[ -n "$(deb_of "$p")" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ -f "$STAMPS/apt-update" ] || sid_update
	part=$DEBS/partial
	rm -rf "$part" && mkdir -p "$part"
	pcs_log "downloading$missing"
	# shellcheck disable=SC2086
	if ! (cd "$part" && apt-get "${APT_OPTS[@]}" download $missing >"$APTDIR/download.log" 2>&1); then
		# Stale lists: sid has moved on and the old .debs are gone (404).
		sid_update
		rm -rf "$part" && mkdir -p "$part"
		# shellcheck disable=SC2086
		(cd "$part" && apt-get "${APT_OPTS[@]}" download $missing >"$APTDIR/download.log" 2>&1) ||
			{ cat "$APTDIR/download.log" >&2; pcs_die "apt-get download failed"; }
	fi
	mv -f "$part"/*.deb "$DEBS"/
	rm -rf "$part"
fi

# --- extract ----------------------------------------------------------------

# Docs, man pages and static libraries are left out (about 250 MB, unused).
extract_one() {
	set -o pipefail
	dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --no-same-owner \
		--exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' \
		--exclude='./usr/share/lintian/*' --exclude='*.a'
}

todo=()
for p in $packages; do
	deb=$(deb_of "$p")
	[ -f "$STAMPS/extract-$(basename "$deb")" ] || todo+=("$deb")
done
if [ "${#todo[@]}" -gt 0 ]; then
	pcs_log "extracting ${#todo[@]} packages into $ROOT"
	rm -f "$STAMPS"/patch-* "$STAMPS/verify"
	export -f extract_one
	printf '%s\n' "${todo[@]}" |
		xargs -P "$(nproc)" -I{} bash -c 'extract_one "$1" "$2"' _ {} "$ROOT" ||
		pcs_die "extraction failed"
	# Absolute symlinks (sitecustomize.py -> /etc/python3.1X/...) would
	# point into the system: make them point into the tree.
	find "$ROOT" -type l -lname '/*' | while read -r link; do
		target=$(readlink "$link")
		ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$ROOT$target")" "$link"
	done
	for deb in "${todo[@]}"; do
		pcs_stamp "$STAMPS/extract-$(basename "$deb")" "$(pcs_file_sig "$deb")"
	done
fi
[ -x "$LOADER" ] || pcs_die "no loader at $LOADER after extracting libc6"

# --- patch: sid's loader, DT_RPATH to the extracted libs ---------------------

rpath=$LIBDIR
[ -d "$ROOT/lib/x86_64-linux-gnu" ] && rpath="$rpath:$ROOT/lib/x86_64-linux-gnu"
want="$LOADER $rpath"
binaries=""
for v in $VERSIONS; do
	binaries="$binaries python$v python${v}d"
done
first_load() {
	LC_ALL=C readelf -l -W "$1" | grep -m1 -E '^ +LOAD '
}
for b in $binaries; do
	exe=$ROOT/usr/bin/$b
	[ -f "$exe" ] || pcs_die "$exe missing from the extracted packages"
	pcs_stamp_ok "$STAMPS/patch-$b" "$want" && continue
	current=$(python3 "$PCS_TOOLS/elf-set-loader.py" --print "$exe" | sed -n 's/^interpreter //p')
	if [ "$current" != "$LOADER" ]; then
		cp -p "$exe" "$ORIG/$b"          # pristine, as extracted
	fi
	[ -f "$ORIG/$b" ] || pcs_die "$exe is patched but its pristine copy is gone (PCS_SID_REFRESH=1)"
	python3 "$PCS_TOOLS/elf-set-loader.py" --interpreter "$LOADER" --rpath "$rpath" \
		"$ORIG/$b" "$exe" || pcs_die "cannot patch $exe"
	# What must not change: the build-id (the -dbg DWARF is found by it) and
	# the first PT_LOAD (libdwfl syncs a separate debug file through it).
	[ "$(pcs_build_id "$exe")" = "$(pcs_build_id "$ORIG/$b")" ] ||
		pcs_die "$exe: build-id changed by patching"
	[ "$(first_load "$exe")" = "$(first_load "$ORIG/$b")" ] ||
		pcs_die "$exe: first PT_LOAD changed by patching"
	rm -f "$STAMPS/verify"
	pcs_stamp "$STAMPS/patch-$b" "$want"
done

# --- verify -----------------------------------------------------------------

if ! pcs_stamp_ok "$STAMPS/verify" "$want $base_packages"; then
	for b in $binaries; do
		exe=$ROOT/usr/bin/$b
		version=$(env -i PATH=/usr/bin:/bin "$exe" -E -s -c '
import sys, threading, asyncio, json, platform
assert sys.prefix == sys.argv[1], (sys.prefix, sys.argv[1])
print(platform.python_version())
' "$ROOT/usr") || pcs_die "$exe does not run (or finds the wrong stdlib)"
		pcs_stamp "$STAMPS/version-$b" "$version"
		case $b in *d) continue ;; esac
		id=$(pcs_build_id "$exe")
		dbg=$ROOT/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
		[ -f "$dbg" ] || pcs_die "$exe: no debug file for build-id $id ($dbg)"
		pcs_has_debug_info "$dbg" || pcs_die "$dbg has no .debug_info"
	done
	pcs_stamp "$STAMPS/verify" "$want $base_packages"
fi

# --- results ----------------------------------------------------------------

for v in $VERSIONS; do
	echo "python$v $ROOT/usr/bin/python$v"
done
for v in $VERSIONS; do
	echo "python${v}d $ROOT/usr/bin/python${v}d"
done
echo "debug-root $ROOT/usr/lib/debug"
for v in $VERSIONS; do
	echo "include$v $ROOT/usr/include/python$v"
done
for v in $VERSIONS; do
	echo "version$v $(cat "$STAMPS/version-python$v")"
done
echo "sid-root $ROOT"
