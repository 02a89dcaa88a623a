#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with ASan and UBSan (clang) and run each for
# SECONDS (default 30; FUZZ_TARGETS to choose): a short run in the tests, a long one by hand
# (tests/fuzz/run.sh 3600). Crashes are kept under tests/fuzz/crashes/ to
# become regression inputs; the corpus grows in $PCS_CACHE/fuzz.
# fuzz_walkers patches the memory of a real core: $PCS_FUZZ_CORE, by default
# $PCS_CACHE/fuzz/walkers.core, made when missing (or unreadable) from
# tests/fuzz/walkers_target.py run by $PCS_FUZZ_PYTHON (/usr/bin/python3,
# with greenlet and gevent; $PCS_FUZZ_PYTHONPATH for another Python's
# greenlet) and dumped with gcore. Its crashes are kept in
# their canonical form (PCS_FUZZ_CANONICAL, see tests/fuzz/fuzz_walkers.c),
# which means the same whatever src/ reads, on that core.
# Prints one line per target and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
cache=${PCS_CACHE:-/var/cache/pycore-stacks}/fuzz
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$cache" tests/fuzz/crashes

flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -Isrc -D_GNU_SOURCE -std=gnu11"
lib_sources=$(ls src/util/*.c src/target/*.c src/layout/*.c src/interp/*.c src/collect/*.c \
	src/report/*.c src/cli/gdb_target.c)
pkg=$(pkg-config --cflags --libs libdw libelf libzstd liblz4 liblzma zlib)

# fuzz_walkers records the walkers' reads and remembers symbol lookups
# (see tests/fuzz/fuzz_walkers.c) through these.
walkers_wraps=-Wl,--wrap=pcs_target_read,--wrap=pcs_symbols_lookup,--wrap=pcs_symbols_lookup_many
walkers_wraps=$walkers_wraps,--wrap=pcs_symbols_module_lookup,--wrap=pcs_symbols_python_runtime

# The core fuzz_walkers patches: everything parked, then gcore. One malloc
# arena and no ASLR: the same program makes (nearly) the same core again,
# on which the regression inputs mean what they meant.
make_walkers_core() {
	local python=${PCS_FUZZ_PYTHON:-/usr/bin/python3} dir pid
	command -v gcore >/dev/null || { echo "gcore not found (apt-get install gdb)"; return 1; }
	dir=$(mktemp -d "$cache/walkers.XXXXXX") || return 1
	local penv=(PATH=/usr/bin:/bin MALLOC_ARENA_MAX=1)
	[ -n "${PCS_FUZZ_PYTHONPATH:-}" ] && penv+=(PYTHONPATH="$PCS_FUZZ_PYTHONPATH")
	env -i "${penv[@]}" setarch "$(uname -m)" -R \
		"$python" tests/fuzz/walkers_target.py > "$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		grep -q '^ready' "$dir/out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q '^ready' "$dir/out" && gcore -o "$dir/core" "$pid" >/dev/null 2>&1; then
		mv "$dir/core.$pid" "$walkers_core"
	fi
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	local status=0
	[ -s "$walkers_core" ] || { echo "cannot make $walkers_core:"; tail -n 5 "$dir/out"; status=1; }
	rm -rf "$dir"
	return $status
}

# The core, made when missing; the default one made again if the harness
# cannot use it (a Python upgraded since).
walkers_setup() {
	local bin=$1 given=${PCS_FUZZ_CORE:-}
	export PCS_FUZZ_CORE=${PCS_FUZZ_CORE:-$cache/walkers.core}
	walkers_core=$PCS_FUZZ_CORE
	if [ ! -s "$walkers_core" ]; then
		make_walkers_core || return 1
	fi
	"$bin" -runs=0 > "$out/walkers.setup.log" 2>&1 && return 0
	grep '^fuzz_walkers:' "$out/walkers.setup.log"
	[ -z "$given" ] || return 1
	echo "fuzz_walkers cannot use $walkers_core; making it again"
	rm -f "$walkers_core"
	make_walkers_core || return 1
	"$bin" -runs=0 > "$out/walkers.setup.log" 2>&1 ||
		{ tail -n 5 "$out/walkers.setup.log"; return 1; }
}

passed=0
failed=0
for target in ${FUZZ_TARGETS:-fuzz_core fuzz_parsers fuzz_walkers}; do
	extra=
	[ "$target" = fuzz_walkers ] && extra=$walkers_wraps
	if ! clang $flags tests/fuzz/$target.c $lib_sources src/symbols/symbols.c src/symbols/types_dwarf.c \
		$pkg $extra -o "$out/$target" 2> "$out/$target.build.log"; then
		echo "FAIL - fuzz $target (build)"
		tail -n 20 "$out/$target.build.log"
		failed=$((failed + 1))
		continue
	fi
	if [ "$target" = fuzz_walkers ] && ! walkers_setup "$out/$target"; then
		echo "FAIL - fuzz $target (no core to patch)"
		failed=$((failed + 1))
		continue
	fi
	mkdir -p "$cache/$target"
	seeds=tests/fuzz/seeds/$target
	# Regression inputs first: every crash ever found must stay fixed.
	if ls tests/fuzz/crashes/$target-* >/dev/null 2>&1 &&
	   ! "$out/$target" tests/fuzz/crashes/$target-* > "$out/$target.regress.log" 2>&1; then
		echo "FAIL - fuzz $target (regression inputs)"
		tail -n 30 "$out/$target.regress.log"
		failed=$((failed + 1))
		continue
	fi
	if "$out/$target" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
		-timeout="${FUZZ_TIMEOUT:-10}" \
		-artifact_prefix="tests/fuzz/crashes/$target-" \
		"$cache/$target" $( [ -d "$seeds" ] && echo "$seeds" ) > "$out/$target.log" 2>&1; then
		execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+|#[0-9]+' "$out/$target.log" | tail -n 1)
		echo "ok - fuzz $target (${seconds}s, $execs)"
		passed=$((passed + 1))
	else
		echo "FAIL - fuzz $target"
		grep -E 'ERROR|SUMMARY|runtime error' "$out/$target.log" | head -n 10
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
