#!/bin/bash
# Everything `make test` runs, in order: unit (GoogleTest), lit, ONNX backend
# conformance, and the examples end to end (compile + run each examples/*/
# on its test_data_set_0, which must match the NumPy reference outputs).
# Every section runs even if an earlier one failed, prints its own summary
# line and its elapsed time; the last line sums them:
#   N passed, N failed, N skipped        (skipped: conformance skips)
# Exit status non-zero iff anything failed.
# Usage: scripts/test_all.sh BUILD JOBS
set -uo pipefail

BUILD=${1:?usage: test_all.sh BUILD JOBS}
JOBS=${2:-$(nproc)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
cd "$ROOT" || exit 1

total_p=0; total_f=0; total_s=0
rows=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The end-to-end examples section (no script of its own: it is four lines
# per example). Prints "examples: N passed, N failed".
run_examples() {
  local p=0 f=0 dir name pkg out rc
  $PY examples/make_examples.py --quiet || { echo "examples: 0 passed, 1 failed"; return 1; }
  for dir in examples/*/; do
    name=$(basename "$dir")
    if [ ! -f "$dir/model.onnx" ] || [ ! -d "$dir/test_data_set_0" ]; then continue; fi
    pkg="$BUILD/examples-e2e/$name"
    rm -rf "$pkg"; mkdir -p "$(dirname "$pkg")"
    out=$("$BUILD/bin/memc" "$dir/model.onnx" -o "$pkg" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
      echo "FAIL examples/$name: memc exit $rc: $(printf '%s\n' "$out" | head -1)"
      f=$((f + 1)); continue
    fi
    out=$("$BUILD/bin/memc-run" "$pkg" --data "$dir/test_data_set_0" --iterations 1 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^result: match'; then
      echo "PASS examples/$name ($(printf '%s\n' "$out" | grep -m1 '^latency_ms:'))"
      p=$((p + 1))
    else
      echo "FAIL examples/$name: memc-run exit $rc: $(printf '%s\n' "$out" | grep -E 'MISMATCH|^result:' | head -2 | tr '\n' ' ')"
      printf '%s\n' "$out" | sed 's/^/    /'
      f=$((f + 1))
    fi
  done
  echo "examples: $p passed, $f failed"
  [ $f -eq 0 ]
}

# section NAME COMMAND...: run it with output live, then take its own
# "NAME: N passed, N failed[, N skipped]" line. No such line means the
# section itself broke: that is one failure, not zero.
section() {
  local name=$1; shift
  echo
  echo "==================== $name ===================="
  local t0=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local dt=$((SECONDS - t0))
  local line p f s
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
  if [ -n "$line" ]; then
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    s=$(sed -nE 's/.* ([0-9]+) skipped.*/\1/p' <<<"$line"); s=${s:-0}
  else
    echo "test_all.sh: $name printed no summary line (exit $rc): counted as 1 failure"
    p=0; f=1; s=0
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "test_all.sh: $name exited $rc with 0 failed: counted as 1 failure"
    f=1
  fi
  echo "---- $name: ${p} passed, ${f} failed, ${s} skipped in ${dt}s"
  total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
  rows+=("$(printf '%-12s %7s %7s %8s %7ss' "$name" "$p" "$f" "$s" "$dt")")
}

section unit bash scripts/run_unit.sh "$BUILD"
section lit bash scripts/run_lit.sh "$BUILD"
section conformance $PY test/conformance/run.py --build "$BUILD" --jobs "$JOBS"
section examples run_examples

echo
echo "==================== summary ===================="
printf '%-12s %7s %7s %8s %8s\n' section passed failed skipped time
for r in "${rows[@]}"; do echo "$r"; done
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
