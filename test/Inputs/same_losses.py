#!/usr/bin/python3
"""same_losses.py A B N [RTOL]: exit 0 when A and B hold N per-step losses
each that agree within RTOL relative (default 1e-4), else print both lists
and exit 1. A file is either memc-run --train's output (its 'step K loss X'
lines) or a reference with one loss per line."""
import re
import sys


def losses(path):
    text = open(path).read()
    found = re.findall(r"^step \d+ loss (\S+)", text, re.M)
    if found:
        return [float(x) for x in found]
    return [float(x) for x in text.split()]


a, b = losses(sys.argv[1]), losses(sys.argv[2])
n = int(sys.argv[3])
rtol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
ok = len(a) == n and len(b) == n and all(
    abs(x - y) <= rtol * abs(y) for x, y in zip(a, b))
if not ok:
    print(f"losses differ (want {n} each within {rtol} relative):\n< {a}\n> {b}")
sys.exit(0 if ok else 1)
