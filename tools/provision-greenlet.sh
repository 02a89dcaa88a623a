#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Provision greenlet (and gevent where there is one) for the interpreter rows
# of ../shared/spec/MATRIX.md, so that corpus scenarios can import them:
#
#   * Debian's /usr/bin/python3 (3.11): apt's python3-greenlet (2.0.2) and
#     python3-gevent (22.10.2), in /usr/lib/python3/dist-packages;
#   * every pyenv CPython (the newest X.Y.Z per X.Y): greenlet built from the
#     C++ amalgamation greenlet.cpp that Debian's python3-greenlet ships next
#     to its module, with -g -O2 (the DWARF describes greenlet's structs),
#     into $PCS_CACHE/greenlet/pyX.Y/greenlet/ (__init__.py and
#     _greenlet<EXT_SUFFIX>): put $PCS_CACHE/greenlet/pyX.Y on PYTHONPATH.
#     Sources: bookworm's 2.0.2 (apt-get download, in $PCS_CACHE/greenlet/src)
#     for 2.7 - 3.11, sid's 3.3.2 for 3.12 and later;
#   * Debian sid's 3.14 and 3.15 (tools/provision-sid.sh): sid's
#     python3-greenlet (3.3.2) and python3-gevent (25.9.1, 3.14 only) and
#     their dependencies, extracted into the sid root, where the
#     interpreters find them without any environment variable (Debian's
#     site.py adds <sid-root>/usr/lib/python3/dist-packages; the
#     executables' DT_RPATH also serves libev and libcares to gevent's
#     extension modules). Sid's modules are stripped: greenlet.cpp is also
#     built with -g -O2 against sid's headers, into
#     $PCS_CACHE/greenlet/dwarf/<greenlet version>-pyX.Y/_greenlet.so, only
#     as a DWARF source for layout tables (it imports, which is checked).
#
# Every build and every import check leaves a stamp (the sizes and mtimes of
# what it depends on): a rerun only checks them. A build that fails (compiler
# error, or no working import) is logged and its row left out; it is tried
# again on the next run. A failed import check (gevent on sid's 3.15: there
# is no gevent for 3.15) is remembered like a passed one, until what it
# depends on changes (rm -r $PCS_CACHE/greenlet/stamps to check again).
#
# Prints, one per line ("key value"):
#   greenlet-root DIR                      $PCS_CACHE/greenlet: the pyX.Y dirs
#   greenlet-system VERSION PYTHON         greenlet imports in /usr/bin/python3
#   gevent-system PYTHON                   gevent imports there
#   greenlet-pyX.Y VERSION DIR             pyenv X.Y: PYTHONPATH=DIR (one per
#                                          minor built; DIR/greenlet/ is the
#                                          package)
#   gevent-pyX.Y PYTHONPATH                pyenv X.Y (the system python's
#                                          minor only) imports Debian's gevent
#                                          with this PYTHONPATH (our greenlet
#                                          first, then /usr/lib/python3/
#                                          dist-packages)
#   greenlet-sid VERSION X.Y PYTHON        greenlet imports in sid's pythonX.Y
#   gevent-sid X.Y PYTHON                  gevent imports in sid's pythonX.Y
#   greenlet-dwarf VERSION X.Y SO          a greenlet module with DWARF, built
#                                          for CPython X.Y (the pyenv builds
#                                          themselves, and the sid builds)
set -euo pipefail
# shellcheck disable=SC2034  # used by provision-common.sh
PCS_LOG_PREFIX=provision-greenlet
# shellcheck source=tools/provision-common.sh
. "$(dirname "$0")/provision-common.sh"

GL=$PCS_CACHE/greenlet
DEBS=$GL/debs
SRC=$GL/src
STAMPS=$GL/stamps
CXXFLAGS="-g -O2 -fPIC -shared"
# What sid's gevent and greenlet need beyond what provision-sid.sh extracts
# anyway (libc6, libgcc-s1, libstdc++6): their Depends. libuv is not among
# them (Debian's gevent has no libuv loop).
SID_PACKAGES="python3-greenlet python3-gevent python3-zope.interface python3-zope.event libev4t64 libcares2"
SYSTEM_PYTHON=/usr/bin/python3
SYSTEM_SITE=/usr/lib/python3/dist-packages

pcs_need g++ g++
pcs_need readelf binutils
pcs_need apt-get apt
pcs_need dpkg-deb dpkg
pcs_apt_install python3-greenlet python3-gevent

pcs_lock greenlet
mkdir -p "$DEBS" "$SRC" "$STAMPS"

# has_dwarf FILE: like pcs_has_debug_info, but reads all of readelf's output
# (grep -q in a pipe can kill readelf with SIGPIPE: a false "no" with pipefail).
has_dwarf() {
	local sections
	sections=$(LC_ALL=C readelf -S -W "$1" 2>/dev/null) || return 1
	grep -qE '\] \.z?debug_info ' <<<"$sections"
}

# version_of DIR: greenlet's __version__ in DIR/__init__.py.
version_of() {
	sed -n "s/^__version__ = ['\"]\([^'\"]*\)['\"].*/\1/p" "$1/__init__.py" | head -n 1
}

# sig_of FILE...: pcs_file_sig, without failing on a missing file (left out).
sig_of() {
	pcs_file_sig "$@" || true
}

# source_sig DIR: what a build from the greenlet sources in DIR depends on.
source_sig() {
	sig_of "$1"/*.py "$1"/*.cpp "$1"/*.hpp "$1"/*.h "$1"/platform/*.h
}

# cached_check NAME SIG CMD...: run CMD (an import check) unless the stamp
# NAME still holds SIG; either way, print CMD's output and return its
# status as remembered (failures are remembered too, until SIG changes).
cached_check() {
	local name=$1 sig=$2 out status=0
	shift 2
	if pcs_stamp_ok "$STAMPS/$name" "$sig" && [ -f "$STAMPS/$name.out" ]; then
		status=$(head -n 1 "$STAMPS/$name.out")
		tail -n +2 "$STAMPS/$name.out"
		return "$status"
	fi
	out=$("$@" 2>&1) || status=$?
	{ echo "$status"; printf '%s\n' "$out"; } >"$STAMPS/$name.out"
	pcs_stamp "$STAMPS/$name" "$sig"
	printf '%s\n' "$out"
	return "$status"
}

# The import check: PYTHON PYTHONPATH (PYTHONPATH may be empty). Prints
# greenlet's version and the directory of its package.
GREENLET_CHECK='
import greenlet, os
g = greenlet.greenlet(lambda: greenlet.getcurrent().parent.switch(1))
assert g.switch() == 1
print(greenlet.__version__ + " " + os.path.dirname(os.path.dirname(os.path.abspath(greenlet.__file__))))
'
check_greenlet() {
	env -i PATH=/usr/bin:/bin PYTHONPATH="$2" "$1" -s -B -c "$GREENLET_CHECK"
}

# The gevent check: PYTHON PYTHONPATH [DIR]: a pool of greenlets on the hub,
# and the c-ares resolver. With DIR, the libev and libcares it loaded must
# come from DIR (sid: the root's, through DT_RPATH, no LD_LIBRARY_PATH).
GEVENT_CHECK='
import sys, gevent, gevent.pool, greenlet
from gevent.resolver.ares import Resolver
Resolver()
def work(i):
    gevent.sleep(0.001)
    return i * 2
assert gevent.pool.Pool(4).map(work, range(8)) == [i * 2 for i in range(8)]
libs = set(l.split()[-1] for l in open("/proc/self/maps") if "/libev.so" in l or "/libcares.so" in l)
assert len(libs) == 2, libs
if sys.argv[1:]:
    assert all(l.startswith(sys.argv[1] + "/") for l in libs), (sys.argv[1], libs)
print(gevent.__version__ + " " + greenlet.__version__)
'
check_gevent() {
	env -i PATH=/usr/bin:/bin PYTHONPATH="$2" "$1" -s -B -c "$GEVENT_CHECK" "${@:3}"
}

# first_of_last TEXT: the first word of the last line (a check's output).
first_of_last() {
	tail -n 1 <<<"$1" | cut -d' ' -f1
}

# compile SRC OUT INCLUDE-DIR...: greenlet.cpp from SRC into OUT, with DWARF.
compile() {
	local src=$1 out=$2 inc
	shift 2
	local incs=()
	for inc in "$@"; do
		incs+=(-I "$inc")
	done
	# shellcheck disable=SC2086  # CXXFLAGS is a list of options
	if ! g++ $CXXFLAGS "${incs[@]}" -I "$src" "$src/greenlet.cpp" -o "$out" >"$out.log" 2>&1; then
		pcs_log "$out: g++ failed:"
		grep -m 5 -E 'error|Error' "$out.log" >&2 || tail -n 5 "$out.log" >&2
		return 1
	fi
	rm -f "$out.log"
	has_dwarf "$out" || { pcs_log "$out has no .debug_info"; return 1; }
}

# --- sources: bookworm's greenlet (2.0.2) -------------------------------------

deb_of() {  # the downloaded .deb of package $1 (newest if several), or nothing
	ls "$DEBS/$1"_*.deb 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(deb_of python3-greenlet)" ]; then
	pcs_log "downloading bookworm's python3-greenlet"
	part=$DEBS/partial
	rm -rf "$part" && mkdir -p "$part"
	# The system's own apt sources; update the lists only if that fails.
	if ! (cd "$part" && apt-get -q -o APT::Sandbox::User=root download python3-greenlet >"$DEBS/download.log" 2>&1); then
		pcs_sudo apt-get update -q >/dev/null
		(cd "$part" && apt-get -q -o APT::Sandbox::User=root download python3-greenlet >"$DEBS/download.log" 2>&1) ||
			{ cat "$DEBS/download.log" >&2; pcs_die "apt-get download python3-greenlet failed"; }
	fi
	mv -f "$part"/*.deb "$DEBS"/
	rm -rf "$part"
fi
deb=$(deb_of python3-greenlet)
bookworm_src=$SRC/$(basename "$deb" .deb)
if ! pcs_stamp_ok "$bookworm_src.stamp" "$(pcs_file_sig "$deb")"; then
	pcs_log "extracting $(basename "$deb")"
	rm -rf "$bookworm_src" "$bookworm_src.tmp"
	dpkg-deb -x "$deb" "$bookworm_src.tmp" || pcs_die "dpkg-deb -x $deb failed"
	mv "$bookworm_src.tmp" "$bookworm_src"
	pcs_stamp "$bookworm_src.stamp" "$(pcs_file_sig "$deb")"
fi
bookworm_src=$bookworm_src$SYSTEM_SITE/greenlet
[ -f "$bookworm_src/greenlet.cpp" ] || pcs_die "$bookworm_src/greenlet.cpp missing from $deb"

# --- sid: the interpreters, with greenlet and gevent in their root ------------

# shellcheck disable=SC2086  # a list of package names
sid_out=$("$PCS_TOOLS/provision-sid.sh" $SID_PACKAGES) || pcs_die "tools/provision-sid.sh failed"
sid_get() {
	awk -v k="$1" '$1 == k { print $2 }' <<<"$sid_out"
}
sid_root=$(sid_get sid-root)
sid_versions=$(awk '$1 ~ /^python3\.[0-9]+$/ { sub("python", "", $1); print $1 }' <<<"$sid_out")
if [ -z "$sid_root" ] || [ -z "$sid_versions" ]; then
	pcs_die "unexpected output from tools/provision-sid.sh"
fi
sid_src=$sid_root$SYSTEM_SITE/greenlet
[ -f "$sid_src/greenlet.cpp" ] || pcs_die "$sid_src/greenlet.cpp missing (sid's python3-greenlet)"
sid_version=$(version_of "$sid_src")

# --- builds -------------------------------------------------------------------

cxx_sig="$CXXFLAGS $(g++ -dumpfullversion 2>/dev/null)"

# build_pyenv X.Y PYTHON SRC: $GL/pyX.Y/greenlet/ (checked, then stamped).
build_pyenv() {
	local m=$1 py=$2 src=$3
	local dest=$GL/py$m tmp=$GL/py$m.tmp suffix include out
	pcs_log "py$m: building greenlet $(version_of "$src") for $py"
	if ! suffix=$("$py" -E -s -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX') or '.so')") ||
		! include=$("$py" -E -s -c "import sysconfig; print(sysconfig.get_paths()['include'])"); then
		pcs_log "py$m: $py does not run"
		return 1
	fi
	rm -rf "$tmp" && mkdir -p "$tmp/greenlet"
	cp -p "$src"/*.py "$tmp/greenlet/"
	compile "$src" "$tmp/greenlet/_greenlet$suffix" "$include" || return 1
	out=$(check_greenlet "$py" "$tmp" 2>&1) || true
	if [ "$(tail -n 1 <<<"$out")" != "$(version_of "$src") $tmp" ]; then
		pcs_log "py$m: the build does not import: $out"
		return 1
	fi
	rm -rf "$dest"
	mv "$tmp" "$dest"
	pcs_stamp "$dest/.stamp" "$4"
}

# build_dwarf X.Y PYTHON INCLUDE-DIR... : $GL/dwarf/<version>-pyX.Y/_greenlet.so
# from sid's sources, checked by importing it in a scratch package.
build_dwarf() {
	local m=$1 py=$2 sig=$3
	shift 3
	local dest=$GL/dwarf/$sid_version-py$m tmp out
	tmp=$dest.tmp
	pcs_log "dwarf: building greenlet $sid_version for sid's python$m"
	rm -rf "$tmp" && mkdir -p "$tmp/check/greenlet"
	compile "$sid_src" "$tmp/_greenlet.so" "$@" || return 1
	cp -p "$sid_src/__init__.py" "$tmp/check/greenlet/"
	ln "$tmp/_greenlet.so" "$tmp/check/greenlet/_greenlet.so"
	out=$(check_greenlet "$py" "$tmp/check" 2>&1) || true
	if [ "$(tail -n 1 <<<"$out")" != "$sid_version $tmp/check" ]; then
		pcs_log "dwarf $m: the build does not import: $out"
		return 1
	fi
	rm -rf "$tmp/check" "$dest"
	mv "$tmp" "$dest"
	pcs_stamp "$dest/.stamp" "$sig"
}

# At most nproc builds at once (about 2 s each).
run_job() {
	while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do
		wait -n || true
	done
	"$@" &
}

# One build per X.Y: the newest pyenv X.Y.Z (as tools/provision-stripped.sh).
declare -A newest=() pyenv_sig=()
pyroot=$(pyenv root 2>/dev/null) || pyroot=${PYENV_ROOT:-}
if [ -n "$pyroot" ] && [ -d "$pyroot/versions" ]; then
	for v in $(ls -d "$pyroot"/versions/[23].[0-9]* 2>/dev/null | sort -V); do
		m=$(basename "$v" | cut -d. -f1,2)
		[ -L "$v" ] && continue
		[ -x "$v/bin/python$m" ] && newest[$m]=$v/bin/python$m
	done
else
	pcs_log "no pyenv (pyenv root) found: no pyenv rows"
fi
src_for() {  # greenlet 2.0.2 does not support 3.12
	case $1 in
	2.* | 3.[0-9] | 3.1[01]) echo "$bookworm_src" ;;
	*) echo "$sid_src" ;;
	esac
}
for m in "${!newest[@]}"; do
	py=${newest[$m]}
	src=$(src_for "$m")
	pyenv_sig[$m]="$cxx_sig $(sig_of "$py") $(source_sig "$src")"
	pcs_stamp_ok "$GL/py$m/.stamp" "${pyenv_sig[$m]}" && continue
	run_job build_pyenv "$m" "$py" "$src" "${pyenv_sig[$m]}"
done
declare -A sid_exe=() sid_sig=()
for m in $sid_versions; do
	sid_exe[$m]=$(sid_get "python$m")
	include=$(sid_get "include$m")
	sid_sig[$m]="$cxx_sig $(sig_of "${sid_exe[$m]}" "$include/Python.h" "$include/patchlevel.h") $(source_sig "$sid_src")"
	pcs_stamp_ok "$GL/dwarf/$sid_version-py$m/.stamp" "${sid_sig[$m]}" && continue
	run_job build_dwarf "$m" "${sid_exe[$m]}" "${sid_sig[$m]}" "$include" "$sid_root/usr/include"
done
wait

# --- import checks ------------------------------------------------------------

results=()
dwarf=()
sysm=""
if [ -x "$SYSTEM_PYTHON" ]; then
	sysm=$("$SYSTEM_PYTHON" -E -s -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	sig=$(sig_of "$SYSTEM_PYTHON" "$SYSTEM_SITE"/greenlet/*.so "$SYSTEM_SITE/gevent/__init__.py" "$SYSTEM_SITE"/gevent/_gevent_cgreenlet*.so)
	if out=$(cached_check system-greenlet "$sig" check_greenlet "$SYSTEM_PYTHON" ""); then
		results+=("greenlet-system $(first_of_last "$out") $SYSTEM_PYTHON")
	else
		pcs_log "greenlet does not import in $SYSTEM_PYTHON: $out"
	fi
	if out=$(cached_check system-gevent "$sig" check_gevent "$SYSTEM_PYTHON" ""); then
		results+=("gevent-system $SYSTEM_PYTHON")
	else
		pcs_log "gevent does not import in $SYSTEM_PYTHON: $out"
	fi
fi

for m in $(printf '%s\n' "${!newest[@]}" | sort -V); do
	dest=$GL/py$m
	if ! pcs_stamp_ok "$dest/.stamp" "${pyenv_sig[$m]}"; then
		pcs_log "py$m: no greenlet (see above), skipped"
		continue
	fi
	version=$(version_of "$dest/greenlet")
	results+=("greenlet-py$m $version $dest")
	so=$(ls "$dest"/greenlet/_greenlet*.so)
	dwarf+=("greenlet-dwarf $version $m $so")
	# Debian's gevent was built for the system python: try it with ours.
	if [ "$m" = "$sysm" ]; then
		path=$dest:$SYSTEM_SITE
		sig="${pyenv_sig[$m]} $(sig_of "$SYSTEM_SITE/gevent/__init__.py" "$SYSTEM_SITE"/gevent/_gevent_cgreenlet*.so)"
		if out=$(cached_check "py$m-gevent" "$sig" check_gevent "${newest[$m]}" "$path"); then
			results+=("gevent-py$m $path")
		else
			pcs_log "py$m: Debian's gevent does not import: $out"
		fi
	fi
done

for m in $(printf '%s\n' "${!sid_exe[@]}" | sort -V); do
	exe=${sid_exe[$m]}
	site=$sid_root$SYSTEM_SITE
	sig=$(sig_of "$exe" "$site"/greenlet/_greenlet*.so "$site/gevent/__init__.py" "$site"/gevent/_gevent_cgreenlet*.so)
	if out=$(cached_check "sid$m-greenlet" "$sig" check_greenlet "$exe" ""); then
		results+=("greenlet-sid $(first_of_last "$out") $m $exe")
	else
		pcs_log "sid $m: greenlet does not import: $out"
	fi
	if out=$(cached_check "sid$m-gevent" "$sig" check_gevent "$exe" "" "$sid_root"); then
		results+=("gevent-sid $m $exe")
	else
		pcs_log "sid $m: no gevent ($(tail -n 1 <<<"$out"))"
	fi
	dest=$GL/dwarf/$sid_version-py$m
	if pcs_stamp_ok "$dest/.stamp" "${sid_sig[$m]}"; then
		dwarf+=("greenlet-dwarf $sid_version $m $dest/_greenlet.so")
	else
		pcs_log "dwarf $m: no build (see above), skipped"
	fi
done

# --- results ------------------------------------------------------------------

echo "greenlet-root $GL"
printf '%s\n' "${results[@]}" "${dwarf[@]}"
