#!/bin/bash
# What `make bench-gpu` runs: memc --target=cuda against PyTorch (eager and
# SDPA) on the same GPU; scripts/bench_gpu.py has the details. It needs an
# NVIDIA GPU with its driver and a PyTorch built with CUDA; without them it
# says so and stops (exit 2) instead of printing numbers.
# Usage: scripts/bench_gpu.sh BUILD [bench_gpu.py args, e.g. --seqs 1024,4096]
set -euo pipefail

BUILD=${1:?usage: bench_gpu.sh BUILD}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if ! nvidia-smi >/dev/null 2>&1; then
  echo "bench-gpu: needs an NVIDIA GPU and its driver (nvidia-smi finds none);"
  echo "bench-gpu: measurements pending (docs/perf.md)"
  exit 2
fi
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "bench-gpu: $PY has no PyTorch with CUDA (set PYTHON=... to one that has);"
  echo "bench-gpu: measurements pending (docs/perf.md)"
  exit 2
fi
/usr/bin/python3 examples/make_examples.py --quiet
exec "$PY" scripts/bench_gpu.py --build "$BUILD" "$@"
