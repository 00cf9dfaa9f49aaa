#!/bin/bash
# Run every GoogleTest binary BUILD/bin/*-tests and print one summary line:
#   unit: N passed, N failed
# Counts are gtest's own (tests, not binaries). A binary that dies without a
# verdict (crash, abort) or exits non-zero with no failed test listed counts
# as one failure: a crash must never read as "0 failed".
# Usage: scripts/run_unit.sh BUILD
set -uo pipefail

BUILD=${1:?usage: run_unit.sh BUILD}
passed=0
failed=0
shopt -s nullglob
bins=("$BUILD"/bin/*-tests)
if [ ${#bins[@]} -eq 0 ]; then
  echo "run_unit.sh: no $BUILD/bin/*-tests binaries found" >&2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for bin in "${bins[@]}"; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  echo "--- $name"
  # --gtest_brief=1: only failures are printed, then gtest's totals.
  "$bin" --gtest_brief=1 >"$log" 2>&1
  rc=$?
  # Show what the binary said, minus gtest_main's banner.
  grep -v '^Running main() from' "$log"

  # "[  PASSED  ] 3 tests."
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) tests\{0,1\}\..*/\1/p' "$log" | tail -1)
  # Without --gtest_brief gtest prints "[  FAILED  ] 2 tests, listed below:";
  # in brief mode only the per-test "[  FAILED  ] Suite.Name (N ms)" lines.
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$log" | tail -1)
  if [ -z "$f" ]; then
    f=$(grep -E '^\[  FAILED  \] [A-Za-z_][A-Za-z0-9_/.]*\.[A-Za-z0-9_/]+' "$log" | awk '{print $4}' | sort -u | wc -l)
  fi
  p=${p:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    if [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))"; else why="exit $rc"; fi
    echo "FAIL $name: $why without a failed test listed (crash?)"
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
done

echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
