#!/bin/bash
# What `make bench-compile` runs: memc's compile time per stage on chains of
# N Relu nodes (N = 1k .. 32k, or the sizes given), to show how each stage
# grows with the graph. Prints a markdown table (seconds per stage, from
# `memc -v`) and each stage's growth from the first size to the last, and
# keeps a copy in BUILD/bench-compile.txt.
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

/usr/bin/python3 - "$WORK" "${SIZES[@]}" <<'PY' | tee "$BUILD/bench-compile.txt"
import re, sys
work, sizes = sys.argv[1], list(map(int, sys.argv[2:]))
stages, rows = [], {}
for n in sizes:
    times = {}
    for line in open(f"{work}/log_{n}"):
        m = re.match(r"\[\d+/\d+\] (.*) \(([\d.]+) s\)$", line.strip())
        if m:
            name = m.group(1).split(": ")[0].strip()
            if name not in stages:
                stages.append(name)
            times[name] = float(m.group(2))
    rows[n] = times
print("| nodes | " + " | ".join(stages) + " | total |")
print("|---:|" + "---:|" * (len(stages) + 1))
for n in sizes:
    t = rows[n]
    print(f"| {n} | " + " | ".join(f"{t.get(s, 0):.2f}" for s in stages) + f" | {sum(t.values()):.2f} |")
a, b = sizes[0], sizes[-1]
print(f"growth {a} -> {b} nodes ({b / a:.0f}x): " + ", ".join(
    f"{s} {rows[b].get(s, 0) / max(rows[a].get(s, 0), 0.01):.1f}x" for s in stages) +
    f", total {sum(rows[b].values()) / max(sum(rows[a].values()), 0.01):.1f}x")
PY
