#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with ASan and UBSan (clang) and run each for
# SECONDS (default 30; FUZZ_TARGETS to choose): a short run in the tests, a long one by hand
# (tests/fuzz/run.sh 3600). Crashes are kept under tests/fuzz/crashes/ to
# become regression inputs; the corpus grows in $PCS_CACHE/fuzz.
# Prints one line per target and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
cache=${PCS_CACHE:-/var/cache/pycore-stacks}/fuzz
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$cache" tests/fuzz/crashes

flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc -D_GNU_SOURCE -std=gnu11"
lib_sources=$(ls src/util/*.c src/target/*.c src/layout/*.c src/interp/*.c src/cli/gdb_target.c)
pkg=$(pkg-config --cflags --libs libdw libelf)

passed=0
failed=0
for target in ${FUZZ_TARGETS:-fuzz_core fuzz_parsers}; do
	if ! clang $flags tests/fuzz/$target.c $lib_sources src/symbols/symbols.c \
		$pkg -o "$out/$target" 2> "$out/$target.build.log"; then
		echo "FAIL - fuzz $target (build)"
		tail -n 20 "$out/$target.build.log"
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
