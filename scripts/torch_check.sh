#!/bin/bash
# `make torch-check`: PyTorch/torchvision architectures (random weights) are
# exported to ONNX by PyTorch itself, compiled by memc and compared with
# PyTorch's outputs. Installs Debian's python3-torch/torchvision if missing.
# Usage: scripts/torch_check.sh BUILD
set -uo pipefail
BUILD=${1:?usage: torch_check.sh BUILD}
cd "$(dirname "$0")/.." || exit 1
if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  echo "[torch-check] apt-get install python3-torch python3-torchvision"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3-torch python3-torchvision >/dev/null || exit 1
fi
out=$BUILD/torch-models
rm -rf "$out"
/usr/bin/python3 scripts/torch_models.py "$out" 2>/dev/null >/dev/null || { echo "export failed"; exit 1; }
pass=0; fail=0
for d in "$out"/*/; do
  name=$(basename "$d")
  if ! msg=$("$BUILD/bin/memc" "$d/model.onnx" -o "$d/pkg" -v 2>&1); then
    echo "FAIL $name: $msg"; fail=$((fail + 1)); continue
  fi
  # Every attention block of these exports must become FuseMax's cascade.
  fused=$(sed -n 's/.*fused attention: \([0-9]*\).*/\1/p' <<<"$msg")
  case $name in
    vit_tiny|encoder_layer|mha|mha_long|causal_decoder|causal_decoder_tril)
      if [ "${fused:-0}" -lt 1 ]; then
        echo "FAIL $name: attention not fused (fused attention: ${fused:-none})"
        fail=$((fail + 1)); continue
      fi;;
  esac
  res=$("$BUILD/bin/memc-run" "$d/pkg" --data "$d/test_data_set_0" --iterations 5 2>&1)
  if grep -q '^result: match' <<<"$res"; then
    echo "PASS $name ($(grep -m1 latency_ms <<<"$res"), fused attention ${fused:-0}, $(grep -m1 '^output' <<<"$res" | sed 's/^output [^:]*: //'))"
    pass=$((pass + 1))
  else
    echo "FAIL $name: $(grep -E 'MISMATCH|result' <<<"$res" | head -2 | tr '\n' ' ')"; fail=$((fail + 1))
  fi
done
echo "torch-check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
