#!/usr/bin/python3
"""`make bench-train`: one training step of memc against PyTorch eager on the
same model, batches and optimizer, both on THREADS threads
(MEMC_NUM_THREADS; torch.set_num_threads).

Cases: a byte-level decoder LM (scripts/train_common.py's LM, the acceptance
train_ref.py's: d=128, 4 layers, 4 heads, seq 256, batch 8, vocab 256,
AdamW) and train_ref.py's CNN (32x32 inputs, batch 32, SGD momentum 0.9).

Time. memc: memc-run --train's train_step_ms (the median over its
WARMUP + STEPS steps). PyTorch: the median wall time over STEPS steps after
WARMUP steps of zero_grad(set_to_none=True) + forward + loss + backward +
optimizer step.
Memory. memc: memc-run's peak_arena_bytes (activations, gradients and
temporaries of the step, one arena) + param_bytes + state_bytes. PyTorch:
parameters + gradients + optimizer state + the distinct tensors autograd
saves for backward in one step (train_ref.py's count).
Each case runs twice: as memc compiles it by default (the fastest
program), and under --mem-budget set to what the memory target leaves the
arena (0.6x PyTorch's bytes, less memc's parameters and optimizer state),
where memc may run the batch in chunks (memc-micro-batch) and recompute or
swap activations; both rows are timed against the same PyTorch run.
Targets: time <= 1.0x PyTorch eager, memory <= 0.6x. A missed target is
reported, never an error: the exit status is non-zero only when something
fails to export, compile or run. memc's per-step losses are compared with
PyTorch's (the last column); a difference over 1e-3 is flagged as a warning.

Usage: bench_train.py BUILD [--steps N] [--warmup W] [--threads T] [--only lm|cnn]
                      [--no-budget]
"""
import argparse
import copy
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openblas_core  # noqa: E402

# PyTorch gets the OpenBLAS kernels memc's runtime uses (openblas_core.py).
openblas_core.use_openblas_kernels_for_this_cpu()

import torch  # noqa: E402

import train_common as tc  # noqa: E402

TIME_TARGET, MEM_TARGET = 1.0, 0.6
NBATCHES = 4


def case_lm():
    torch.manual_seed(0)
    seq, batch = 256, 8
    m = tc.LM(seq, d=128, heads=4, layers=4, vocab=256)
    return ("lm: decoder d=128 L=4 seq 256 b 8, AdamW", m,
            tc.text_batches(NBATCHES, batch, seq), "cross-entropy", "adamw", 1e-3, 0.01)


def case_cnn():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(3)
    b = [([torch.randn(32, 3, 32, 32, generator=g)], torch.randint(0, 10, (32,), generator=g))
         for _ in range(NBATCHES)]
    return ("cnn: train_ref CNN 32x32 b 32, SGD momentum", tc.CNN(), b, "cross-entropy",
            "momentum", 0.05, 0.01)


CASES = {"lm": case_lm, "cnn": case_cnn}


def run(cmd, env=None, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        tail = "\n".join(p.stdout.strip().splitlines()[-3:])
        raise SystemExit(f"bench-train: {' '.join(map(shlex.quote, cmd))}: exit {p.returncode}\n{tail}")
    return p.stdout


def field(text, key):
    m = re.search(rf"^{key}:\s*(\S+)", text, re.M)
    if not m:
        raise SystemExit(f"bench-train: no '{key}:' in memc-run's output")
    return float(m.group(1))


def torch_side(module, batches, loss_kind, opt, steps, warmup):
    """-> (median step ms, bytes {params, grads, state, activations}, losses)"""
    act = tc.saved_activation_bytes(module, batches[0], loss_kind)
    times, losses = [], []
    for k in range(warmup + steps):
        ins, labels = batches[k % len(batches)]
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = tc.loss_fn(loss_kind, module(*ins), labels)
        loss.backward()
        opt.step()
        t1 = time.perf_counter()
        losses.append(loss.item())
        if k >= warmup:
            times.append((t1 - t0) * 1e3)
    pbytes = sum(p.numel() * p.element_size() for p in module.parameters())
    mem = {"params": pbytes, "grads": pbytes, "state": tc.state_bytes(opt), "activations": act}
    return statistics.median(times), mem, losses


def bench(name, args, work):
    title, module, batches, loss_kind, opt_kind, lr, wd = CASES[name]()
    tc.prepare(module)
    d = os.path.join(work, name)
    reference = copy.deepcopy(module)  # PyTorch's copy, untouched by the export
    tc.export(d, module, batches, loss_kind, opt_kind, lr, wd)
    flags = open(os.path.join(d, "memc_flags.txt")).read().split()
    memc = os.path.abspath(os.path.join(args.build, "bin", "memc"))
    memc_run = os.path.abspath(os.path.join(args.build, "bin", "memc-run"))
    run([memc, "model.onnx", "-o", "pkg", "--report=report.json"] + flags, cwd=d)
    env = dict(os.environ, MEMC_NUM_THREADS=str(args.threads))
    n = args.warmup + args.steps
    out = run([memc_run, os.path.join(d, "pkg"), "--train", "--data", d, "--steps", str(n)],
              env=env)
    open(os.path.join(d, "train.out"), "w").write(out)
    got = [float(x) for x in re.findall(r"^step \d+ loss (\S+)", out, re.M)]
    memc_ms = field(out, "train_step_ms")
    mm = {"arena": int(field(out, "peak_arena_bytes")), "params": int(field(out, "param_bytes")),
          "state": int(field(out, "state_bytes"))}

    opt, _ = tc.optimizer(opt_kind, reference, lr, wd)
    torch_ms, tm, ref = torch_side(reference, batches, loss_kind, opt, args.steps, args.warmup)
    worst = max(abs(a - b) / abs(b) for a, b in zip(got, ref)) if len(got) == len(ref) else float("inf")
    rows = [{"name": name, "title": title, "memc_ms": memc_ms, "torch_ms": torch_ms,
             "memc_bytes": sum(mm.values()), "torch_bytes": sum(tm.values()), "mm": mm, "tm": tm,
             "loss_diff": worst, "steps": len(got)}]
    if args.no_budget:
        return rows
    # The same step under the budget the memory target leaves the arena:
    # 0.6x PyTorch's bytes less memc's parameters and state.
    budget = int(MEM_TARGET * sum(tm.values())) - mm["params"] - mm["state"]
    p = subprocess.run([memc, "model.onnx", "-o", "pkg-budget", "-v",
                        f"--mem-budget={budget}"] + flags, cwd=d, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    how = re.search(r"batch (in chunks of [^(]*|not split)", p.stdout)
    btitle = f"{name} under --mem-budget={budget}" + (f" ({how.group(0).strip()})" if how else "")
    if p.returncode != 0:
        print(f"bench-train: {btitle}: memc refused it: {p.stdout.strip().splitlines()[-1]}")
        return rows
    out = run([memc_run, os.path.join(d, "pkg-budget"), "--train", "--data", d, "--steps", str(n)],
              env=env)
    got = [float(x) for x in re.findall(r"^step \d+ loss (\S+)", out, re.M)]
    bm = {"arena": int(field(out, "peak_arena_bytes")), "params": int(field(out, "param_bytes")),
          "state": int(field(out, "state_bytes"))}
    # PyTorch again, right after, so that both sides see the machine alike.
    bworst = max(abs(a - b) / abs(b) for a, b in zip(got, ref)) if len(got) == len(ref) else float("inf")
    rows.append({"name": name + "@budget", "title": btitle, "memc_ms": field(out, "train_step_ms"),
                 "torch_ms": torch_ms, "memc_bytes": sum(bm.values()),
                 "torch_bytes": sum(tm.values()), "mm": bm, "tm": tm, "loss_diff": bworst,
                 "steps": len(got)})
    return rows


def mib(b):
    return f"{b / 2**20:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=sorted(CASES), action="append")
    ap.add_argument("--no-budget", action="store_true",
                    help="skip each case's second row, compiled under --mem-budget")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    work = os.path.join(args.build, "bench-train")
    os.makedirs(work, exist_ok=True)
    rows = [r for name in (args.only or list(CASES)) for r in bench(name, args, work)]

    lines = [f"bench-train: {args.threads} threads each; time = median of {args.steps} steps "
             f"after {args.warmup} warm-up (memc: train_step_ms over all {args.steps + args.warmup}); "
             "memory = arena/activations + params (+ grads) + optimizer state",
             "",
             "| model | memc ms | torch ms | time ratio (<= 1.0) | memc MiB | torch MiB "
             "| memory ratio (<= 0.6) | loss rel diff |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    met = [0, 0]
    for r in rows:
        tr, mr = r["memc_ms"] / r["torch_ms"], r["memc_bytes"] / r["torch_bytes"]
        met[0] += tr <= TIME_TARGET
        met[1] += mr <= MEM_TARGET
        lines.append(f"| {r['title']} | {r['memc_ms']:.2f} | {r['torch_ms']:.2f} | "
                     f"{tr:.2f}x {'ok' if tr <= TIME_TARGET else 'MISSED'} | "
                     f"{mib(r['memc_bytes'])} | {mib(r['torch_bytes'])} | "
                     f"{mr:.2f}x {'ok' if mr <= MEM_TARGET else 'MISSED'} | {r['loss_diff']:.1e} |")
    lines.append("")
    for r in rows:
        mm, tm = r["mm"], r["tm"]
        lines.append(f"{r['name']}: memc arena {mib(mm['arena'])} + params {mib(mm['params'])} + "
                     f"state {mib(mm['state'])} MiB; PyTorch activations {mib(tm['activations'])} "
                     f"+ params {mib(tm['params'])} + grads {mib(tm['grads'])} + state "
                     f"{mib(tm['state'])} MiB")
    lines.append(f"bench-train: time target met {met[0]}/{len(rows)}, "
                 f"memory target met {met[1]}/{len(rows)}")
    text = "\n".join(lines)
    print(text)
    open(os.path.join(args.build, "bench-train.md"), "w").write(text + "\n")
    bad = [r["name"] for r in rows if not r["loss_diff"] <= 1e-3]
    if bad:
        print(f"bench-train: WARNING: memc's losses differ from PyTorch's on {', '.join(bad)}")


if __name__ == "__main__":
    main()
