#!/bin/bash
# Regenerates test/plan-corpus/*.plan: the memory-planning problems of real
# models (memc --emit=plan), for memc-mapper-train and `make bench-plan`.
# Sources: the examples, the PyTorch/torchvision exports of torch-check, and
# the acceptance attention/MLP shapes. Usage: scripts/make_plan_corpus.sh BUILD
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 scripts/torch_models.py "$tmp" >/dev/null 2>&1
for cfg in "mlp" "attention seq=256" "attention seq=512 causal=1" \
           "attention seq=768 d=192 heads=3 batch=2"; do
  name=acc_$(tr ' =' '_-' <<<"$cfg")
  # shellcheck disable=SC2086
  /usr/bin/python3 ../shared/acceptance/models.py "$tmp/$name" $cfg >/dev/null
done
mkdir -p test/plan-corpus
for d in examples/mlp examples/cnn examples/decoder "$tmp"/*; do
  "$BUILD/bin/memc" "$d/model.onnx" --emit=plan -o "test/plan-corpus/$(basename "$d").plan"
done
ls test/plan-corpus | wc -l
