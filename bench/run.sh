#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One command: provision, build, make or reuse the cores, measure, write
# bench/RESULTS.md and bench/results.json. Options: see bench/run.py --help
# (--quick while developing: small sizes, 3 runs, output in bench/quick/).
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/run.py "$@"
