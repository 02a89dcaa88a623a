#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what pycore-stacks needs on Debian/Ubuntu (when missing) and build
# it in the source tree. Safe to run again: it only does what is not done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: compiler, autotools, elfutils' libelf/libdw.
# Tests: gdb (gcore), clang and its sanitizer/libFuzzer runtime (fuzzing),
# the system python3 and its debug info (python3.11-dbg installs the DWARF
# of /usr/bin/python3.11 under /usr/lib/debug/.build-id).
packages="gcc make autoconf automake pkg-config libelf-dev libdw-dev gdb python3 clang libclang-rt-14-dev valgrind debuginfod libzstd-dev liblz4-dev liblzma-dev zlib1g-dev libdeflate-dev zstd lz4 xz-utils gzip jq"
if [ -x /usr/bin/python3 ]; then
	sysver=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	packages="$packages python$sysver-dbg"
fi

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q >/dev/null
	$sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
	./configure -q --enable-werror ${PCS_CONFIGURE_FLAGS:-}
fi
make -s -j"$(nproc)" >/dev/null
echo "setup: built src/pycore-stacks"
