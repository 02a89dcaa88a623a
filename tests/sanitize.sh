#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build pycore-stacks with ASan, UBSan and leak checking in a scratch copy
# of the tracked sources, and run the unit tests, the bad-input table and
# the corpus on a spread of interpreters with it. Any sanitizer report fails
# the run (the tool's exit status becomes 99 / 98).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$work"
(
	cd "$work" && autoreconf -fi >/dev/null 2>&1 &&
	./configure -q CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
		LDFLAGS="-fsanitize=address,undefined" &&
	make -s -j"$(nproc)" >/dev/null 2>&1 && make -s tests/unit/unit-tests >/dev/null 2>&1
) || { echo "FAIL - sanitize build"; echo "0 passed, 1 failed"; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98

pythons=()
if root=$(pyenv root 2>/dev/null); then
	for v in 2.7 3.6 3.10 3.12 3.13; do
		p=$(ls "$root"/versions/$v.*/bin/python$v 2>/dev/null | head -n 1)
		[ -n "$p" ] && pythons+=(--python "$p")
	done
fi
[ -x /usr/bin/python3 ] && pythons+=(--python /usr/bin/python3)

passed=0
failed=0
tally() {
	local summary
	summary=$(tail -n 1 "$1")
	echo "$summary" | grep -qE '^[0-9]+ passed, [0-9]+ failed' || { failed=$((failed + 1)); return; }
	passed=$((passed + $(echo "$summary" | cut -d' ' -f1)))
	failed=$((failed + $(echo "$summary" | cut -d' ' -f3)))
}
log=$(mktemp)
"$work/tests/unit/unit-tests" > "$log" 2>&1; cat "$log"; tally "$log"
python3 tests/corpus/bad_input.py --tool "$work/src/pycore-stacks" > "$log" 2>&1; cat "$log"; tally "$log"
scenarios=()
for s in threads_blocking generators_methods deep_recursion unicode_names unnamed_threads gil_holder; do
	scenarios+=(--scenario "$s")
done
python3 tests/corpus/run.py --tool "$work/src/pycore-stacks" "${pythons[@]}" "${scenarios[@]}" \
	--layout-source dwarf --layout-source builtin > "$log" 2>&1
grep -v '^ok' "$log"; tally "$log"
py3=()
for p in "${pythons[@]}"; do
	case "$p" in --python|*python2*) ;; *) py3+=(--python "$p") ;; esac
done
python3 tests/corpus/run.py --tool "$work/src/pycore-stacks" "${py3[@]}" \
	--scenario asyncio_chains --scenario asyncio_gather_tree --scenario asyncio_waits \
	--scenario asyncio_threads --scenario asyncio_taskgroup --scenario asyncio_pytask \
	> "$log" 2>&1
grep -v '^ok' "$log"; tally "$log"
# Greenlets: the collector's lists, greenlet's structs, the trees (text and
# JSON both render in each run).
groot=$(tools/provision-greenlet.sh | awk '$1 == "greenlet-root" { print $2 }')
python3 tests/corpus/run.py --tool "$work/src/pycore-stacks" "${pythons[@]}" \
	--greenlet-root "$groot" --scenario greenlet_raw --scenario greenlet_threads \
	> "$log" 2>&1
grep -v '^ok' "$log"; tally "$log"
if [ -x /usr/bin/python3 ]; then
	python3 tests/corpus/run.py --tool "$work/src/pycore-stacks" --python /usr/bin/python3 \
		--scenario gevent_pool > "$log" 2>&1
	grep -v '^ok' "$log"; tally "$log"
fi
rm -f "$log"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
