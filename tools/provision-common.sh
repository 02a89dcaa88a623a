# shellcheck shell=bash disable=SC2034
# SPDX-License-Identifier: MIT
# Shared by tools/provision-*.sh; sourced, not run.
#
# Everything provisioned lives under $PCS_CACHE (default
# /var/cache/pycore-stacks), outside the repository, so that reruns are fast.
# Progress goes to stderr; the scripts print their results on stdout as
# "key value" lines.

PCS_CACHE=${PCS_CACHE:-/var/cache/pycore-stacks}
PCS_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PCS_LOG_PREFIX=${PCS_LOG_PREFIX:-provision}

pcs_log() {
	echo "$PCS_LOG_PREFIX: $*" >&2
}

pcs_die() {
	pcs_log "$*"
	exit 1
}

# pcs_lock NAME: hold $PCS_CACHE/NAME.lock until the script exits, so that two
# runs (parallel test jobs) do not provision the same thing at once.
pcs_lock() {
	mkdir -p "$PCS_CACHE" || pcs_die "cannot create $PCS_CACHE (set PCS_CACHE to a writable directory)"
	exec 9>"$PCS_CACHE/$1.lock" || pcs_die "cannot open $PCS_CACHE/$1.lock"
	if ! flock -n 9; then
		pcs_log "waiting for another run to finish ($PCS_CACHE/$1.lock)"
		flock 9
	fi
}

pcs_sudo() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

# pcs_apt_install PKG...: install from the system's own apt sources what is
# not installed yet (apt-get update only if the first attempt fails).
pcs_apt_install() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "ok installed" >/dev/null || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	pcs_log "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if ! pcs_sudo apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
		pcs_sudo apt-get update -q >/dev/null
		# shellcheck disable=SC2086
		pcs_sudo apt-get install -y -q --no-install-recommends $missing >/dev/null
	fi
}

# pcs_need CMD PKG: make sure CMD exists, installing PKG if needed.
pcs_need() {
	command -v "$1" >/dev/null 2>&1 || pcs_apt_install "$2"
	command -v "$1" >/dev/null 2>&1 || pcs_die "$1 not found (apt-get install $2)"
}

# pcs_build_id FILE: the hex build-id of an ELF file (empty if none).
pcs_build_id() {
	LC_ALL=C readelf -n "$1" 2>/dev/null | sed -n 's/^ *Build ID: *\([0-9a-f]*\).*/\1/p' | head -n 1
}

# pcs_has_section FILE NAME: is there a section NAME in FILE?
pcs_has_section() {
	LC_ALL=C readelf -S -W "$1" 2>/dev/null | grep -E "\] $2 " >/dev/null
}

# pcs_has_debug_info FILE: does FILE carry DWARF (.debug_info, or .zdebug_info)?
pcs_has_debug_info() {
	LC_ALL=C readelf -S -W "$1" 2>/dev/null | grep -E '\] \.z?debug_info ' >/dev/null
}

# pcs_stamp_ok NAME CONTENT: the stamp file NAME exists and holds CONTENT.
pcs_stamp_ok() {
	[ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

# pcs_stamp NAME CONTENT: write the stamp (atomically).
pcs_stamp() {
	mkdir -p "$(dirname "$1")"
	printf '%s\n' "$2" >"$1.tmp" && mv -f "$1.tmp" "$1"
}

# pcs_file_sig FILE...: size and mtime of each file, to notice a changed source.
pcs_file_sig() {
	stat -L -c '%n %s %Y' "$@" 2>/dev/null | tr '\n' ' '
}
