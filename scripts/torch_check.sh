#!/bin/bash
# `make torch-check`: PyTorch/torchvision architectures (random weights) are
# exported to ONNX by PyTorch itself, compiled by memc and compared with
# PyTorch's outputs. Installs Debian's python3-torch/torchvision if missing.
# Then the same architectures are trained: exported for --train
# (torch_models.py --train: no constant folding, TrainingMode.PRESERVE), a
# loss on the output (cross-entropy for the classifiers, mse against random
# targets for the rest), SGD with momentum or AdamW; memc-run --train's loss
# at every step must be that of PyTorch's same training in float64 within
# a relative 1e-3, or within twice PyTorch's own float32 distance from it
# where that is larger (train_compare.py).
# A model whose train step memc refuses for an op without a gradient rule
# (exit 5) is listed with memc's message as NOT-TRAINABLE, not failed.
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

# Training: a few steps of each model against PyTorch's per-step losses.
tout=$BUILD/torch-train
rm -rf "$tout"
/usr/bin/python3 scripts/torch_models.py --train "$tout" 2>/dev/null >/dev/null ||
  { echo "train export failed"; exit 1; }
memc=$(cd "$BUILD/bin" && pwd)/memc
tpass=0; tfail=0; tnograd=0
for d in "$tout"/*/; do
  d=${d%/}; name=$(basename "$d")
  # shellcheck disable=SC2046
  msg=$(cd "$d" && "$memc" model.onnx -o pkg $(cat memc_flags.txt) 2>&1); rc=$?
  if [ $rc -eq 5 ] && grep -q "gradient rule" <<<"$msg"; then
    echo "NOT-TRAINABLE $name: $(grep -m2 "gradient rule" <<<"$msg" | tr '\n' ' ')"
    tnograd=$((tnograd + 1)); continue
  elif [ $rc -ne 0 ]; then
    echo "FAIL train $name: memc exit $rc: $(tail -n 2 <<<"$msg" | tr '\n' ' ')"; tfail=$((tfail + 1)); continue
  fi
  steps=$(wc -l <"$d/ref_losses.txt")
  if ! "$BUILD/bin/memc-run" "$d/pkg" --train --data "$d" --steps "$steps" >"$d/train.out" 2>&1; then
    echo "FAIL train $name: memc-run --train: $(tail -n 2 "$d/train.out" | tr '\n' ' ')"; tfail=$((tfail + 1)); continue
  fi
  if res=$(/usr/bin/python3 scripts/train_compare.py "$d" 1e-3); then
    echo "PASS train $name ($res)"; tpass=$((tpass + 1))
  else
    echo "FAIL train $name: losses differ from PyTorch: $res"; tfail=$((tfail + 1))
  fi
done
echo "torch-check train: $((tpass + tfail + tnograd)) models, $tpass passed, $tfail failed, $tnograd not trainable (no gradient rule)"
[ "$fail" -eq 0 ] && [ "$tfail" -eq 0 ]
