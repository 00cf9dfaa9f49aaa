#!/bin/bash
# What `make bench-train` runs: memc's train step against PyTorch eager on
# the same model, batches and optimizer, 2 threads each (scripts/
# bench_train.py says exactly what is timed and counted): a decoder LM with
# AdamW and a CNN with SGD momentum. Prints a markdown table of the time and
# memory ratios against their targets (time <= 1.0x, memory <= 0.6x) and
# keeps a copy in BUILD/bench-train.md. A missed target is reported, not a
# failure; the exit status is non-zero only when a step fails to run.
# Usage: scripts/bench_train.sh BUILD [bench_train.py options]
set -uo pipefail
BUILD=${1:?usage: bench_train.sh BUILD [options]}
shift
cd "$(dirname "$0")/.." || exit 1
for t in memc memc-run; do
  [ -x "$BUILD/bin/$t" ] || { echo "bench_train.sh: $BUILD/bin/$t is not built" >&2; exit 1; }
done
source scripts/ensure_torch.sh bench-train
exec /usr/bin/python3 -W ignore scripts/bench_train.py "$BUILD" "$@"
