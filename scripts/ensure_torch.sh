#!/bin/bash
# Sourced by the bench scripts that export models with PyTorch: installs
# Debian's python3-torch when /usr/bin/python3 cannot import torch and onnx.
# Usage: source scripts/ensure_torch.sh TAG   (TAG prefixes the progress line)
if ! /usr/bin/python3 -c 'import torch, onnx' 2>/dev/null; then
  echo "[${1:-bench}] apt-get install python3-torch"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3-torch >/dev/null || exit 1
fi
