#!/usr/bin/env bash
# The benchmarks in quick mode (a few minutes of data), as CI runs them.
set -euo pipefail
py="${1:-python}"
out="${KNEEEMG_TEST_ARTIFACTS:-test-artifacts}/benchmarks"
mkdir -p "$out"
"$py" benchmarks/speed.py --quick --json "$out/speed.json"
if [ -f benchmarks/accuracy.py ]; then
  "$py" benchmarks/accuracy.py --quick --json "$out/accuracy.json"
fi
