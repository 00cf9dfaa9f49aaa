#!/usr/bin/python3
"""`make demo-train`: the bundled decoder (examples/decoder: 4 layers, d 256,
vocab 512, seq 256) trained byte by byte on the licence texts under
/usr/share/common-licenses with four optimizer-state layouts: AdamW (dense),
8-bit AdamW (blockwise), GaLore (SVD projection) and APOLLO rank 1 (random
projection). Each run is one memc train package and one memc-run --train
over the same batches (random 257-byte windows of the texts, the labels the
next bytes), with the same learning rate and weight decay.

Prints, and writes to BUILD/demo-train.md, one row per optimizer: the
loss at the start and at the end (the mean of the last 20 steps), the
median step time, parameter, optimizer-state and arena bytes, and the
state against AdamW's, then the targets of issue #8 (state <= 0.25x AdamW's
with GaLore or 8-bit, <= 0.1x with APOLLO rank 1; final loss within 2% of
AdamW's for 8-bit, within 5% for GaLore), met or missed. Writes the loss
curves (moving average of 20 steps) to BUILD/demo-train.svg.

Usage: demo_train.py BUILD [--steps N] [--lr X] [--threads N]
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = "/usr/share/common-licenses"
SEQ = 256
WINDOW = 20  # steps in the moving average and the final loss


def optimizers(lr):
    common = f"lr={lr},weight_decay=0.01"
    return [("adamw", f"adamw:{common}"),
            ("adam8bit", f"adam8bit:{common},block=2048"),
            ("galore", f"galore:{common},rank=32,period=100,scale=0.25"),
            ("apollo rank 1", f"apollo:{common},rank=1,period=100,scale=1")]


def text_bytes():
    data = b""
    for name in sorted(os.listdir(TEXTS)):
        path = os.path.join(TEXTS, name)
        if os.path.isfile(path) and not os.path.islink(path):
            data += open(path, "rb").read()
    return np.frombuffer(data, dtype=np.uint8).astype(np.int64)


def write_batches(directory, steps):
    data = text_bytes()
    rng = np.random.default_rng(7)
    for k in range(steps):
        start = int(rng.integers(0, len(data) - SEQ - 1))
        d = os.path.join(directory, f"test_data_set_{k}")
        os.makedirs(d, exist_ok=True)
        for i, a in enumerate((data[start:start + SEQ], data[start + 1:start + SEQ + 1])):
            with open(os.path.join(d, f"input_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(a.reshape(1, SEQ)).SerializeToString())
    return len(data)


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if p.returncode != 0:
        tail = "\n".join(p.stdout.strip().splitlines()[-3:])
        sys.exit(f"demo-train: {' '.join(cmd)}: exit {p.returncode}\n{tail}")
    return p.stdout


def field(text, key):
    m = re.search(rf"^{key}:\s*(\S+)", text, re.M)
    return float(m.group(1)) if m else float("nan")


def smooth(values):
    return [statistics.fmean(values[max(0, i - WINDOW + 1):i + 1]) for i in range(len(values))]


def svg(rows, path):
    width, height, left, bottom, top, right = 720, 420, 60, 40, 20, 160
    curves = [smooth(r["losses"]) for r in rows]
    lo = min(min(c) for c in curves)
    hi = max(max(c) for c in curves)
    steps = max(len(c) for c in curves)
    x = lambda i: left + (width - left - right) * i / max(1, steps - 1)
    y = lambda v: top + (height - top - bottom) * (hi - v) / max(1e-9, hi - lo)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
           f'<text x="{(left + width - right) / 2}" y="{height - 8}" text-anchor="middle">step</text>',
           f'<text x="14" y="{(top + height - bottom) / 2}" transform="rotate(-90 14 '
           f'{(top + height - bottom) / 2})" text-anchor="middle">loss ({WINDOW}-step mean)</text>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
        s = round((steps - 1) * k / 4)
        out.append(f'<text x="{x(s):.1f}" y="{height - bottom + 16}" text-anchor="middle">{s + 1}</text>')
    for i, (r, c) in enumerate(zip(rows, curves)):
        points = " ".join(f"{x(j):.1f},{y(v):.1f}" for j, v in enumerate(c))
        out.append(f'<polyline fill="none" stroke="{colors[i % 4]}" stroke-width="1.5" points="{points}"/>')
        ly = top + 18 * i + 10
        out.append(f'<line x1="{width - right + 12}" y1="{ly}" x2="{width - right + 36}" y2="{ly}" '
                   f'stroke="{colors[i % 4]}" stroke-width="2"/>')
        out.append(f'<text x="{width - right + 42}" y="{ly + 4}">{r["name"]}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    memc = os.path.join(args.build, "bin", "memc")
    memc_run = os.path.join(args.build, "bin", "memc-run")
    model = os.path.join(ROOT, "examples", "decoder", "model.onnx")
    work = tempfile.mkdtemp(prefix="memc-demo-train-")
    n = write_batches(os.path.join(work, "data"), args.steps)
    print(f"[demo-train] {n} bytes of licence texts, {args.steps} steps of one "
          f"{SEQ}-byte window each, lr {args.lr}, {args.threads} threads")
    env = dict(os.environ, MEMC_NUM_THREADS=str(args.threads))
    rows = []
    for name, flag in optimizers(args.lr):
        pkg, report = os.path.join(work, f"pkg-{len(rows)}"), os.path.join(work, f"r{len(rows)}.json")
        run([memc, model, "--train", "--loss=cross-entropy", f"--optimizer={flag}",
             "-o", pkg, f"--report={report}"])
        out = run([memc_run, pkg, "--train", "--data", os.path.join(work, "data"),
                   "--steps", str(args.steps)], env=env)
        losses = [float(v) for v in re.findall(r"^step \d+ loss (\S+)", out, re.M)]
        train = json.load(open(report))["train"]
        rows.append({"name": name, "flag": flag, "losses": losses,
                     "final": statistics.fmean(losses[-WINDOW:]),
                     "ms": field(out, "train_step_ms"), "params": train["param_bytes"],
                     "state": train["state_bytes"], "arena": field(out, "peak_arena_bytes"),
                     "numels": [math.prod(p["shape"]) for p in train["parameters"]]})
        print(f"[demo-train] {name}: loss {losses[0]:.3f} -> {rows[-1]['final']:.3f}")
    base = rows[0]
    mib = lambda b: f"{b / 2**20:.2f}"
    lines = [f"bundled decoder (examples/decoder, {mib(base['params'])} MiB of parameters), "
             f"{args.steps} steps on the licence texts, lr {args.lr}, weight decay 0.01, "
             f"{args.threads} threads; final loss = mean of the last {WINDOW} steps\n",
             "| optimizer | first loss | final loss | vs AdamW | ms/step | params MiB | state MiB | state / AdamW | arena MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['losses'][0]:.3f} | {r['final']:.3f} | "
                     f"{r['final'] / base['final']:.3f}x | {r['ms']:.1f} | {mib(r['params'])} | "
                     f"{mib(r['state'])} | {r['state'] / base['state']:.3f}x | {mib(r['arena'])} |")
    by = {r["name"]: r for r in rows}
    targets = [("adam8bit state <= 0.25x AdamW's", by["adam8bit"]["state"] <= 0.25 * base["state"]),
               ("galore state <= 0.25x AdamW's", by["galore"]["state"] <= 0.25 * base["state"]),
               ("apollo rank 1 state <= 0.1x AdamW's", by["apollo rank 1"]["state"] <= 0.1 * base["state"]),
               ("adam8bit final loss within 2% of AdamW's",
                abs(by["adam8bit"]["final"] - base["final"]) <= 0.02 * base["final"]),
               ("galore final loss within 5% of AdamW's",
                abs(by["galore"]["final"] - base["final"]) <= 0.05 * base["final"])]
    lines += [""] + [f"- {what}: {'met' if ok else 'MISSED'}" for what, ok in targets]
    # What 8-bit blocks alone cost on this model, were every tensor in them
    # (none kept in f32): 2 bytes per moment element plus one f32 absmax
    # per block and moment. Above 0.25x by construction.
    floor = sum(2 * n + 8 * math.ceil(n / 2048) for n in base["numels"])
    lines += [f"- (the 8-bit format's own floor on this model, every tensor in 2048-element "
              f"blocks: {floor / base['state']:.4f}x AdamW's state)"]
    lines += ["", "flags: " + "; ".join(f"`{r['flag']}`" for r in rows)]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.build, "demo-train.md"), "w") as f:
        f.write(text)
    svg(rows, os.path.join(args.build, "demo-train.svg"))
    print(f"[demo-train] wrote {args.build}/demo-train.md and {args.build}/demo-train.svg")


if __name__ == "__main__":
    main()
