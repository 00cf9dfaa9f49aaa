#!/bin/bash
# What `make demo` runs: compile the GPT-style decoder example with memc -v
# (its phases), show the package it wrote, run it with memc-run against the
# NumPy reference outputs, then the same briefly for the CNN example.
# Exit status non-zero if any step fails or an output does not match.
# Usage: scripts/demo.sh BUILD
set -uo pipefail

BUILD=${1:?usage: demo.sh BUILD}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
case $BUILD in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
MEMC=$BUILD/bin/memc
RUN=$BUILD/bin/memc-run
OUT=$BUILD/demo

if [ -t 1 ]; then B=$'\033[1m'; G=$'\033[32m'; R=$'\033[31m'; N=$'\033[0m'; else B=; G=; R=; N=; fi
header() { printf '\n%s=== %s ===%s\n' "$B" "$1" "$N"; }
die() { printf '%sdemo failed:%s %s\n' "$R" "$N" "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
human() {  # 14049118 -> "13.4 MiB"
  awk -v n="$1" 'BEGIN { split("B KiB MiB GiB TiB", u, " "); i = 1
    while (n >= 1024 && i < 5) { n /= 1024; i++ }
    if (i == 1) printf "%d B", n; else printf "%.1f %s", n, u[i] }'
}

for t in "$MEMC" "$RUN"; do [ -x "$t" ] || die "$t not built (run: make build)"; done
# The decoder is generated, not committed; this is a no-op when up to date.
/usr/bin/python3 examples/make_examples.py --quiet || die "examples/make_examples.py failed"
mkdir -p "$OUT"

# One-line description of a model: its doc string, size and ops.
describe() {
  /usr/bin/python3 - "$1" <<'PY'
import collections, os, sys, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
ops = collections.Counter(n.op_type for n in m.graph.node)
print(f"  {m.doc_string}")
print(f"  {os.path.getsize(sys.argv[1]) / 1e6:.1f} MB, opset {m.opset_import[0].version}, "
      f"{len(m.graph.node)} nodes, {len(m.graph.initializer)} weights")
print("  ops: " + ", ".join(f"{k} x{v}" for k, v in ops.most_common()))
PY
}

# run_model NAME ITER: memc-run on the example's data set 0; prints its
# report, stores the lines we summarise, fails the demo on a mismatch.
run_model() {
  local name=$1 iters=$2 out rc
  out=$("$RUN" "$OUT/$name" --data "examples/$name/test_data_set_0" --iterations "$iters" 2>&1)
  rc=$?
  printf '%s\n' "$out" | sed 's/^/  /'
  [ $rc -eq 0 ] || die "memc-run on examples/$name exited $rc"
  printf '%s\n' "$out" | grep -q '^result: match' || die "memc-run on examples/$name: no match"
  local lat arena
  lat=$(printf '%s\n' "$out" | sed -n 's/^latency_ms: *//p' | head -1)
  arena=$(printf '%s\n' "$out" | sed -n 's/^peak_arena_bytes: *//p' | head -1)
  SUMMARY+=("$(printf '%-8s latency %s ms, peak arena %s, %smatches the NumPy reference%s' \
    "$name" "${lat:-?}" "$(human "${arena:-0}")" "$G" "$N")")
}
SUMMARY=()

header "1. decoder: compile examples/decoder/model.onnx"
describe examples/decoder/model.onnx
echo "  \$ memc examples/decoder/model.onnx -o ${OUT#"$ROOT"/}/decoder -v"
rm -rf "$OUT/decoder"
t0=$(now)
"$MEMC" examples/decoder/model.onnx -o "$OUT/decoder" -v 2>&1 | sed 's/^/  /'
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || die "memc exited $rc on examples/decoder/model.onnx"
echo "  compiled in $(since "$t0") s"

header "2. the package: ${OUT#"$ROOT"/}/decoder"
for f in "$OUT/decoder"/*; do
  printf '  %-14s %12s bytes  %10s\n' "$(basename "$f")" "$(stat -c %s "$f")" "$(human "$(stat -c %s "$f")")"
done
if [ -f "$OUT/decoder/manifest.txt" ]; then
  echo "  manifest.txt (weight lines summarised):"
  grep -v '^weight ' "$OUT/decoder/manifest.txt" | sed 's/^/    /'
  awk '$1 == "weight" { n++; b += $NF } END { printf "    weight x%d (%d bytes in weights.bin)\n", n, b }' \
    "$OUT/decoder/manifest.txt"
fi

header "3. decoder: run on examples/decoder/test_data_set_0 (10 iterations)"
run_model decoder 10

header "4. cnn: compile and run examples/cnn"
describe examples/cnn/model.onnx
rm -rf "$OUT/cnn"
t0=$(now)
out=$("$MEMC" examples/cnn/model.onnx -o "$OUT/cnn" 2>&1)
rc=$?
[ $rc -eq 0 ] || { printf '%s\n' "$out" | sed 's/^/  /'; die "memc exited $rc on examples/cnn/model.onnx"; }
echo "  compiled in $(since "$t0") s"
run_model cnn 100

header "demo summary"
for s in "${SUMMARY[@]}"; do echo "  $s"; done
