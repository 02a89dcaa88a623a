#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Set everything up, start the bundled demo (corpus/demo.py) under the
# system's python3, and show what pycore-stacks sees: live, then from a core.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

python=${PYTHON:-/usr/bin/python3}
workdir=$(mktemp -d)
demo_pid=""
cleanup() {
	if [ -n "$demo_pid" ]; then
		kill -9 "$demo_pid" 2>/dev/null
		wait "$demo_pid" 2>/dev/null
	fi
	rm -rf "$workdir"
}
trap cleanup EXIT

"$python" corpus/demo.py "$workdir/truth.json" > "$workdir/demo.out" 2>&1 &
demo_pid=$!
# The demo writes its own record once every thread is parked.
for _ in $(seq 1 100); do
	[ -s "$workdir/truth.json" ] && break
	sleep 0.1
done
sleep 0.2

echo
echo "\$ pycore-stacks --pid $demo_pid"
src/pycore-stacks --pid "$demo_pid"

gcore -o "$workdir/core" "$demo_pid" >/dev/null 2>&1
echo
echo "\$ pycore-stacks core.$demo_pid        # from a core written by gcore"
src/pycore-stacks "$workdir/core.$demo_pid" | head -n 12
echo "..."
