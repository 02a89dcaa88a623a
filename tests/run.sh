#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set everything up, then run every test: unit tests; the layout tables
# against their generator; the corpus (each scenario under every row of the
# interpreter matrix, live and from cores, matched exactly against the
# scenario's own record; then again with each layout source forced); the gdb
# commands; the bad-input table; the sanitizer build; a short fuzz run; the
# live-safety tests. Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1

passed=0
failed=0
skipped=0
run() {
	local name=$1
	shift
	echo "== $name"
	local log
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	local status=${PIPESTATUS[0]}
	local summary
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$summary" ]; then
		echo "$name: no summary (exit $status)"
		failed=$((failed + 1))
		return
	fi
	local p f s
	p=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$summary" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$summary" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + ${s:-0}))
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exit status $status"
		failed=$((failed + 1))
	fi
}

# A single check: one pass or one fail.
check() {
	local name=$1
	shift
	echo "== $name"
	if "$@"; then
		echo "ok - $name"
		passed=$((passed + 1))
	else
		echo "FAIL - $name"
		failed=$((failed + 1))
	fi
}

# The interpreter matrix (../shared/spec/MATRIX.md), each row as a list of
# --python arguments for the corpus harness.
pyenv_pythons=()
if root=$(pyenv root 2>/dev/null); then
	for v in "$root"/versions/2.7.* "$root"/versions/3.*; do
		m=$(basename "$v" | cut -d. -f1,2)
		[ -x "$v/bin/python$m" ] && pyenv_pythons+=(--python "$v/bin/python$m")
	done
fi
# The system python3 (Debian: stripped, libpython linked in, DWARF from its
# -dbg package) and that package's debug build (Py_DEBUG: other layouts).
system_pythons=()
[ -x /usr/bin/python3 ] && system_pythons+=(--python /usr/bin/python3)
sysdebug=$(ls /usr/bin/python3.*d 2>/dev/null | head -n 1)
[ -n "$sysdebug" ] && system_pythons+=(--python "$sysdebug")
# The pyenv builds without DWARF (strip -g), and two without any symbols.
stripped_pythons=()
while read -r key value; do
	stripped_pythons+=(--python "$value")
done < <(tools/provision-stripped.sh | grep -E '^stripped')
# Debian sid's 3.14 and 3.15 (stripped, static; DWARF in their -dbg
# packages, kept out of the default search) and their debug builds.
sid_pythons=()
sid_release=()
sid_debug_dir=""
while read -r key value; do
	case "$key" in
	python3.1[0-9]) sid_pythons+=(--python "$value"); sid_release+=(--python "$value") ;;
	python3.1[0-9]d) sid_pythons+=(--python "$value") ;;
	debug-root) sid_debug_dir=$value ;;
	esac
done < <(tools/provision-sid.sh)

make -s tests/unit/unit-tests >/dev/null || exit 1
run unit tests/unit/unit-tests
check layout-tables-reproducible tools/gen-layout --check
corpus() {
	local name=$1
	shift
	run "$name" python3 tests/corpus/run.py --tool src/pycore-stacks "$@"
}
# Thread scenarios run on every row; asyncio scenarios on every 3.x row but
# the 3.6 build stripped of all symbols (its task registry is a static only
# .symtab names: the tool says so, exit 3).
threads=()
for s in threads_blocking generators_methods deep_recursion unicode_names \
	unnamed_threads main_only gil_holder; do
	threads+=(--scenario "$s")
done
asyncio=()
for s in asyncio_chains asyncio_gather_tree asyncio_waits asyncio_taskgroup asyncio_many \
	asyncio_threads asyncio_pytask; do
	asyncio+=(--scenario "$s")
done
corpus corpus "${threads[@]}" "${pyenv_pythons[@]}" "${system_pythons[@]}" \
	"${stripped_pythons[@]}"
asyncio_pythons=()
for p in "${pyenv_pythons[@]}" "${system_pythons[@]}" "${stripped_pythons[@]}"; do
	case "$p" in
	*/stripped-all/3.6/*|*/python2*|--python) ;;
	*/python3*) asyncio_pythons+=(--python "$p") ;;
	esac
done
corpus corpus-asyncio "${asyncio[@]}" "${asyncio_pythons[@]}"
# gdb 13's gcore writes zero pages at the top of thread stacks of sid's newer
# glibc: the kernel writes their cores.
corpus corpus-sid --core-writer kernel "${threads[@]}" "${asyncio[@]}" "${sid_release[@]}"
corpus corpus-sid-debug --core-writer kernel "${sid_pythons[@]}" \
	--tool-arg=--debug-dir="$sid_debug_dir" --scenario threads_blocking \
	--scenario deep_recursion --scenario unicode_names "${asyncio[@]}"
# Every layout source must give the same, exact stacks: force each one where
# the build has it.
corpus corpus-layouts "${threads[@]}" "${pyenv_pythons[@]}" --python /usr/bin/python3 \
	--layout-source dwarf --layout-source builtin
debug_offsets_pythons=()
for p in "${pyenv_pythons[@]}"; do
	case "$p" in */python3.1[3-9]) debug_offsets_pythons+=(--python "$p") ;; esac
done
corpus corpus-layouts-3.13 "${threads[@]}" "${asyncio[@]}" "${debug_offsets_pythons[@]}" \
	--layout-source debug-offsets
pyenv_asyncio=()
for p in "${pyenv_pythons[@]}"; do
	case "$p" in */python3*) pyenv_asyncio+=(--python "$p") ;; esac
done
corpus corpus-layouts-asyncio "${asyncio[@]}" "${pyenv_asyncio[@]}" --python /usr/bin/python3 \
	--layout-source dwarf --layout-source builtin
corpus corpus-layouts-sid --core-writer kernel "${threads[@]}" "${asyncio[@]}" \
	"${sid_release[@]}" --tool-arg=--debug-dir="$sid_debug_dir" \
	--layout-source debug-offsets --layout-source dwarf --layout-source builtin
# Greenlet and gevent scenarios: greenlet built for every pyenv Python into
# the root tools/provision-greenlet.sh prints, Debian's greenlet 2.0.2 for
# /usr/bin/python3, sid's greenlet 3.3.2 in the sid root; gevent where the
# script found one that imports (Debian's 22.10.2 for /usr/bin/python3 and
# pyenv 3.11, sid's 25.9 for 3.14).
greenlet_root=""
gevent_pythons=()
while read -r key value rest; do
	case "$key" in
	greenlet-root) greenlet_root=$value ;;
	gevent-system) gevent_pythons+=(--python "$value") ;;
	gevent-py3.*)
		p=$(ls "$(pyenv root)"/versions/"${key#gevent-py}".*/bin/python"${key#gevent-py}" | head -n 1)
		gevent_pythons+=(--python "$p") ;;
	gevent-sid) gevent_pythons+=(--python "$rest") ;;
	esac
done < <(tools/provision-greenlet.sh)
if [ -z "$greenlet_root" ]; then
	echo "FAIL - corpus-greenlet: tools/provision-greenlet.sh printed no greenlet-root"
	failed=$((failed + 1))
else
	greenlet=(--scenario greenlet_raw --scenario greenlet_threads)
	greenlet_pythons=("${pyenv_pythons[@]}")
	[ -x /usr/bin/python3 ] && greenlet_pythons+=(--python /usr/bin/python3)
	corpus corpus-greenlet --greenlet-root "$greenlet_root" "${greenlet[@]}" \
		"${greenlet_pythons[@]}"
	# Every layout source must give the same greenlets: the built-in tables
	# too (Debian's and sid's greenlet have no DWARF: tables already).
	corpus corpus-layouts-greenlet --greenlet-root "$greenlet_root" "${greenlet[@]}" \
		"${pyenv_pythons[@]}" --layout-source builtin
	corpus corpus-greenlet-sid --core-writer kernel "${greenlet[@]}" "${sid_release[@]}"
	gevent_sid=()
	gevent_other=()
	for p in "${gevent_pythons[@]}"; do
		case "$p" in
		--python) ;;
		*/sid/root/*) gevent_sid+=(--python "$p") ;;
		*) gevent_other+=(--python "$p") ;;
		esac
	done
	corpus corpus-gevent --greenlet-root "$greenlet_root" --scenario gevent_pool --scenario gevent_server \
		"${gevent_other[@]}"
	corpus corpus-layouts-gevent --greenlet-root "$greenlet_root" --scenario gevent_pool \
		"${gevent_other[@]}" --layout-source builtin
	[ ${#gevent_sid[@]} -gt 0 ] &&
		corpus corpus-gevent-sid --core-writer kernel --scenario gevent_pool --scenario gevent_server "${gevent_sid[@]}"
fi
# --locals: every supported type's repr as Python's own f_locals has it.
corpus corpus-locals --tool-arg=--locals --scenario locals_types "${pyenv_pythons[@]}" \
	"${system_pythons[@]}" "${stripped_pythons[@]}"
corpus corpus-locals-sid --core-writer kernel --tool-arg=--locals --scenario locals_types \
	"${sid_pythons[@]}" --tool-arg=--debug-dir="$sid_debug_dir"
# Valgrind-clean on the corpus: each kind of unit, from cores, on the system
# python (DWARF from its -dbg package, greenlet and gevent from Debian).
corpus corpus-valgrind --tool tests/valgrind.sh --mode core --python /usr/bin/python3 \
	--scenario threads_blocking --scenario deep_recursion --scenario unicode_names \
	--scenario asyncio_gather_tree --scenario asyncio_waits --scenario greenlet_raw \
	--scenario gevent_pool
run debuginfod python3 tests/debuginfod/run.py --tool src/pycore-stacks
# Crash context, --sysroot/--lib-path, /proc/PID/root, --batch.
run triage python3 tests/triage/run.py --tool src/pycore-stacks
run sentry python3 tests/sentry/run.py --tool src/pycore-stacks
run compressed python3 tests/compressed/run.py --tool src/pycore-stacks
run man python3 tests/man/check.py --tool src/pycore-stacks
# Native frames merged with the Python ones: pyenv 3.12 (DWARF), Debian's
# 3.11 with and without its DWARF, live and from cores.
run native python3 tests/native/run.py --tool src/pycore-stacks
run gdb python3 tests/gdb/run.py
run bad-input python3 tests/corpus/bad_input.py --tool src/pycore-stacks
run sanitizers tests/sanitize.sh
# A short fuzz run (ASan, UBSan) over the core reader and the decoders, after
# every input that ever crashed them; tests/fuzz/run.sh 3600 for a long one.
if command -v clang >/dev/null; then
	run fuzz tests/fuzz/run.sh 20
else
	echo "FAIL - fuzz: clang not installed"
	failed=$((failed + 1))
fi
run live-safety python3 tests/live/safety.py --tool src/pycore-stacks

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
