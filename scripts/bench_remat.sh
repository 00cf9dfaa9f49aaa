#!/bin/bash
# What `make bench-remat` runs: a train step's time against its memory
# budget for memc's recompute/swap decision and its baselines (scripts/
# bench_remat.py says what is timed). Prints markdown tables, keeps them in
# BUILD/bench-remat.md and the curves in BUILD/bench-remat-{lm,cnn}.svg.
# Usage: scripts/bench_remat.sh BUILD [bench_remat.py options]
set -uo pipefail
BUILD=${1:?usage: bench_remat.sh BUILD [options]}
shift
cd "$(dirname "$0")/.." || exit 1
for t in memc memc-run; do
  [ -x "$BUILD/bin/$t" ] || { echo "bench_remat.sh: $BUILD/bin/$t is not built" >&2; exit 1; }
done
source scripts/ensure_torch.sh bench-remat
exec /usr/bin/python3 -W ignore scripts/bench_remat.py "$BUILD" "$@"
