#!/usr/bin/env bash
# The benchmarks in quick mode (a few minutes of data), as CI runs them.
set -euo pipefail
py="${1:-python}"
out="${KNEEEMG_TEST_ARTIFACTS:-test-artifacts}/benchmarks"
mkdir -p "$out"
# each JSON must name the command that made it
check_command() {
  "$py" -c 'import json, sys
c = json.load(open(sys.argv[1]))["command"]
sys.exit(0 if c.startswith(sys.argv[2]) else f"{sys.argv[1]}: command {c!r} does not start with {sys.argv[2]!r}")' "$1" "$2"
}
"$py" benchmarks/speed.py --quick --json "$out/speed.json"
check_command "$out/speed.json" "kneeemg bench speed --quick"
if [ -f benchmarks/accuracy.py ]; then
  "$py" benchmarks/accuracy.py --quick --json "$out/accuracy.json"
  check_command "$out/accuracy.json" "kneeemg bench accuracy --quick"
fi
