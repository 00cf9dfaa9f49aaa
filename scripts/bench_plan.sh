#!/bin/bash
# What `make bench-plan` runs: the learned memory mapper (lib/Plan/Mapper)
# against the heuristics on the real-model dumps in test/plan-corpus/*.plan
# and on generated instances (memc-mapper-bench documents the groups and the
# held-out split). Prints the table, keeps a copy in BUILD/bench-plan.txt,
# and fails unless the last line reports "worse on 0" and every plan passed
# the verifier.
# Usage: scripts/bench_plan.sh BUILD [extra memc-mapper-bench args]
set -euo pipefail

BUILD=${1:?usage: bench_plan.sh BUILD}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BENCH=$BUILD/bin/memc-mapper-bench
[ -x "$BENCH" ] || { echo "bench_plan.sh: $BENCH is not built" >&2; exit 1; }

status=0
"$BENCH" --corpus test/plan-corpus "$@" | tee "$BUILD/bench-plan.txt" || status=$?
last=$(tail -n 1 "$BUILD/bench-plan.txt")
case "$last" in
  "learned vs best heuristic: "*", worse on 0") ;;
  *) echo "bench_plan.sh: the learned mapper was worse somewhere" >&2; status=1 ;;
esac
exit "$status"
