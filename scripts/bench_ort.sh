#!/bin/bash
# What `make bench` runs: memc vs ONNX Runtime CPU latency on the examples
# (decoder, cnn, mlp) and on PyTorch/torchvision architectures (ResNet-18,
# MobileNetV2, ViT-B/16, a transformer encoder layer) at 1 and 2 threads,
# as a markdown table printed and written to
# BUILD/bench.md; also checks ORT's outputs against the examples' NumPy
# reference outputs. ORT comes from PyPI into .venv (gitignored), created on
# first use with Debian's python so that its onnx/numpy are visible.
# Usage: scripts/bench_ort.sh BUILD [extra bench_ort.py args, e.g. --runs 20]
set -euo pipefail

BUILD=${1:?usage: bench_ort.sh BUILD}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=$ROOT/.venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "[bench] creating $VENV (system site packages: Debian's onnx, numpy)"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
if ! "$VENV/bin/python" -c 'import onnxruntime' 2>/dev/null; then
  echo "[bench] pip install onnxruntime into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check onnxruntime
fi

# The PyTorch architectures (bench_ort.py --no-torch skips them).
if [[ " $* " != *" --no-torch "* ]] &&
   ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  echo "[bench] apt-get install python3-torch python3-torchvision"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3-torch python3-torchvision >/dev/null
fi

/usr/bin/python3 examples/make_examples.py --quiet
exec "$VENV/bin/python" scripts/bench_ort.py --build "$BUILD" "$@"
