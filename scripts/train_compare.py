#!/usr/bin/python3
"""memc-run --train's per-step losses against PyTorch's.

Usage: train_compare.py DIR [TOL]   (DIR: ref_losses.txt, train.out,
memc_flags.txt, optionally ref64_losses.txt and ref_frozen_losses.txt; TOL:
relative, 1e-3 by default)
Prints one line; exits 1 when a step is missing or differs by more than
allowed. Without ref64_losses.txt each step's loss must be PyTorch's within
TOL. With it (PyTorch's same training in float64, the trajectory without
rounding) each step's loss must be the float64 one's within TOL, or within
twice PyTorch's own float32 distance from it where that is larger: after a
large update, float32 rounding alone moves a loss by more than TOL (ResNet-18
at step 4: PyTorch's float32 loss is 1.3e-3 off its float64 one), and memc,
a float32 implementation too, is held to what PyTorch's achieves.
"""
import re
import sys

d = sys.argv[1]
tol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-3
ref = [float(l) for l in open(f"{d}/ref_losses.txt")]
out = open(f"{d}/train.out").read()
got = [float(m.group(1)) for m in re.finditer(r"^\s*step\s+\d+\s+loss\s+(\S+)", out, re.M)]
worst = max((abs(a - b) / abs(b) for a, b in zip(got, ref)), default=float("inf"))
ok = worst <= tol
against64 = ""
try:
    ref64 = [float(l) for l in open(f"{d}/ref64_losses.txt")]
    own = [abs(a - b) / abs(b) for a, b in zip(ref, ref64)]   # PyTorch float32's
    ours = [abs(a - b) / abs(b) for a, b in zip(got, ref64)]
    ok = len(ref64) == len(ref) and all(o <= max(tol, 2 * p) for o, p in zip(ours, own))
    against64 = (f" (against float64: memc {max(ours, default=float('inf')):.1e}, "
                 f"PyTorch's float32 {max(own, default=float('inf')):.1e})")
except (OSError, ValueError):
    pass
flag = re.search(r"--optimizer=(\w+):?(\S*)", open(f"{d}/memc_flags.txt").read())
opt, kv = (flag.group(1), dict(x.split("=", 1) for x in flag.group(2).split(",") if x)) \
    if flag else ("?", {})
if float(kv.get("momentum", 0)):
    opt += " nesterov" if kv.get("nesterov") == "1" else " momentum"
ms = re.search(r"train_step_ms:\s*(\S+)", out)
# How much PyTorch's updates move the loss (against the untrained parameters
# on the same batches): under 10x TOL, matching losses say little about the
# gradients, and the line says so.
moved = ""
try:
    frozen = [float(l) for l in open(f"{d}/ref_frozen_losses.txt")]
    effect = max(abs(a - b) / abs(b) for a, b in zip(frozen[1:], ref[1:]))
    moved = f", updates move the loss {effect:.1e}" + (" (WEAK CHECK)" if effect < 10 * tol else "")
except (OSError, ValueError):
    pass
print(f"{opt}, {len(got)}/{len(ref)} steps, loss {got[0] if got else '?'} -> "
      f"{got[-1] if got else '?'} (PyTorch {ref[0]:.8g} -> {ref[-1]:.8g}), "
      f"worst rel diff {worst:.1e}{against64}{moved}, "
      f"train_step_ms {ms.group(1) if ms else '?'}")
sys.exit(0 if len(got) == len(ref) and ok else 1)
