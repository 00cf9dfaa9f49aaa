#!/bin/bash
# What `make bench-compile` runs: memc's compile time per stage on chains of
# N Relu nodes (N = 1k .. 32k, or the sizes given), to show how each stage
# grows with the graph; then a Llama-style LM of 1, 10 and 30 layers. Prints
# markdown tables (seconds per stage, from `memc -v`) and each stage's growth
# from the first row to the last, and keeps a copy in
# BUILD/bench-compile.txt.
# Usage: scripts/bench_compile.sh BUILD [N ...]
set -euo pipefail

BUILD=${1:?usage: bench_compile.sh BUILD [N ...]}
shift
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 2000 4000 8000 16000 32000)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MEMC=$BUILD/bin/memc
[ -x "$MEMC" ] || { echo "bench_compile.sh: $MEMC is not built" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

/usr/bin/python3 - "$WORK" "${SIZES[@]}" <<'PY'
import sys
from onnx import TensorProto as T, helper as h
out = sys.argv[1]
for n in map(int, sys.argv[2:]):
    nodes = [h.make_node("Relu", [f"t{i}"], [f"t{i + 1}"]) for i in range(n)]
    g = h.make_graph(nodes, "chain", [h.make_tensor_value_info("t0", T.FLOAT, [4, 4])],
                     [h.make_tensor_value_info(f"t{n}", T.FLOAT, [4, 4])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 14)])
    open(f"{out}/chain_{n}.onnx", "wb").write(m.SerializeToString())
PY

for n in "${SIZES[@]}"; do
  "$MEMC" "$WORK/chain_$n.onnx" -o "$WORK/pkg_$n" -v 2>"$WORK/log_$n" >/dev/null ||
    { echo "bench_compile.sh: memc failed on chain_$n: $(tail -n 1 "$WORK/log_$n")" >&2; exit 1; }
done

# One markdown table from `memc -v` logs: a row per log, a column per stage.
table() {
  /usr/bin/python3 - "$@" <<'PY'
import re, sys
stages, rows = [], []
for arg in sys.argv[1:]:
    label, log = arg.split("=", 1)
    times = {}
    for line in open(log):
        m = re.match(r"\[\d+/\d+\] (.*) \(([\d.]+) s\)$", line.strip())
        if m:
            name = m.group(1).split(": ")[0].strip()
            if name not in stages:
                stages.append(name)
            times[name] = float(m.group(2))
    rows.append((label, times))
print("| model | " + " | ".join(stages) + " | total |")
print("|---|" + "---:|" * (len(stages) + 1))
for label, t in rows:
    print(f"| {label} | " + " | ".join(f"{t.get(s, 0):.2f}" for s in stages) + f" | {sum(t.values()):.2f} |")
(a, ta), (b, tb) = rows[0], rows[-1]
print(f"growth {a} -> {b}: " + ", ".join(
    f"{s} {tb.get(s, 0) / max(ta.get(s, 0), 0.01):.1f}x" for s in stages) +
    f", total {sum(tb.values()) / max(sum(ta.values()), 0.01):.1f}x")
PY
}

{
  echo "Relu chains:"
  echo
  args=()
  for n in "${SIZES[@]}"; do args+=("$n nodes=$WORK/log_$n"); done
  table "${args[@]}"
} | tee "$BUILD/bench-compile.txt"

# A Llama-architecture LM of the issue's size (d 576, 9 query heads on 3
# K/V heads, FFN 1536, seq 128, vocab 49152) at 1, 10 and 30 layers:
# compile time should grow with the distinct loop nests, not with depth.
# BENCH_COMPILE_LLAMA=0 skips it (the 30-layer model is 651 MB).
[ "${BENCH_COMPILE_LLAMA:-1}" = 0 ] && exit 0
args=()
for layers in 1 10 30; do
  /usr/bin/python3 scripts/llama_model.py "$WORK/llama_$layers.onnx" layers=$layers >/dev/null
  s=$(date +%s.%N)
  "$MEMC" "$WORK/llama_$layers.onnx" -o "$WORK/llama_pkg" -v 2>"$WORK/llama_log_$layers" >/dev/null ||
    { echo "bench_compile.sh: memc failed on llama_$layers: $(tail -n 1 "$WORK/llama_log_$layers")" >&2; exit 1; }
  wall=$(/usr/bin/python3 -c "import time; print(f'{time.time() - $s:.1f}')")
  rm -rf "$WORK/llama_pkg" "$WORK/llama_$layers.onnx"
  args+=("$layers layers, ${wall} s wall=$WORK/llama_log_$layers")
done
{
  echo
  echo "Llama-style LM (scripts/llama_model.py), by depth:"
  echo
  table "${args[@]}"
} | tee -a "$BUILD/bench-compile.txt"
