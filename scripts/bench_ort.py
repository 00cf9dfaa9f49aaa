#!/usr/bin/python3
"""memc vs ONNX Runtime (CPU) latency on the examples, plus a reference check.

Run through scripts/bench_ort.sh, which provides the .venv with onnxruntime:

    .venv/bin/python scripts/bench_ort.py --build build [--runs 50] [--ort-only]

For every example in examples/ (decoder, cnn, mlp) it
  1. runs ONNX Runtime's CPU provider on test_data_set_0's inputs and checks
     its outputs against the stored NumPy reference outputs. ORT is an
     independent implementation, so agreement shows the *references* are
     right (a memc "match" is only worth something if they are);
  2. times ORT: InferenceSession with intra_op_num_threads = nproc, median of
     --runs runs after warm-up (more for a model so fast that --runs runs
     would be under 200 ms of timed work: as many as fill it, at most 5000);
  3. compiles the example with memc and runs `memc-run --iterations N`,
     parsing its `latency_ms:` line (memc-run owns timing of its own
     program; we do not second-guess it from outside the process).
and then the same for architectures nobody on the project wrote, exported
from PyTorch/torchvision at their usual sizes (random weights, PyTorch's own
outputs as the reference; scripts/torch_models.py's export): ResNet-18,
MobileNetV2 and ViT-B/16 at 224x224, a BERT-base-sized
nn.TransformerEncoderLayer at 256 tokens (--no-torch skips them).
Every model is timed at each of --threads (memc: MEMC_NUM_THREADS, ORT:
intra_op_num_threads), in --rounds alternating rounds whose best medians
count (the machine is shared). Then prints a markdown table and writes it to
BUILD/bench.md.
--ort-only skips the memc side (to check the references without a build).
Exit status: non-zero if a reference check fails or memc fails on an example.
"""

import argparse
import gc
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

try:
    import onnxruntime as ort
except ImportError:  # give the fix, not a traceback
    sys.exit("bench_ort.py: onnxruntime is not importable; run it through "
             "scripts/bench_ort.sh, which sets up .venv")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = ["decoder", "cnn", "mlp"]
# The tolerance memc-run uses by default (DESIGN.md): the references must sit
# well inside it against another implementation.
RTOL, ATOL = 1e-3, 1e-5


def load_pbs(dirname, kind):
    """input_0.pb, input_1.pb, ... in numeric order."""
    files = glob.glob(os.path.join(dirname, f"{kind}_*.pb"))
    files.sort(key=lambda p: int(re.search(r"_(\d+)\.pb$", p).group(1)))
    out = []
    for path in files:
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        out.append(numpy_helper.to_array(t))
    return out


# Runs at least enough for this much timed work per measurement (ms), and
# at most this many.
MIN_TIMED_MS = 200.0
MAX_RUNS = 5000
# Runs of the probe that estimates a model's latency for that.
PROBE_RUNS = 5


def ort_check_and_time(example_dir, runs, threads):
    model_path = os.path.join(example_dir, "model.onnx")
    data = os.path.join(example_dir, "test_data_set_0")
    inputs, refs = load_pbs(data, "input"), load_pbs(data, "output")

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    # Inputs go by order, like memc-run (the .pb names are informational).
    feed = {i.name: a for i, a in zip(sess.get_inputs(), inputs)}

    outs = sess.run(None, feed)
    checks = []
    for o, got, ref in zip(sess.get_outputs(), outs, refs):
        err = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))))
        rel = err / max(float(np.max(np.abs(ref))), 1e-30)
        ok = got.shape == ref.shape and np.allclose(got, ref, rtol=RTOL, atol=ATOL)
        checks.append((o.name, err, rel, ok))

    for _ in range(max(3, runs // 10)):  # warm-up: thread pool, caches
        sess.run(None, feed)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return checks, statistics.median(times)


def memc_compile(build, example_dir, name):
    """Compile with memc: (package, None) or (None, error)."""
    pkg = os.path.join(build, "bench", name)
    shutil.rmtree(pkg, ignore_errors=True)  # a stale package must not be timed
    log = pkg + ".memc-stderr.txt"
    if os.path.exists(log):
        os.remove(log)
    os.makedirs(os.path.dirname(pkg), exist_ok=True)
    memc = os.path.join(build, "bin", "memc")
    r = subprocess.run([memc, os.path.join(example_dir, "model.onnx"), "-o", pkg],
                       capture_output=True, text=True)
    if r.returncode != 0:
        # The whole of what memc said (a crash's stack dump is below its
        # first line) goes next to the package.
        with open(log, "w") as f:
            f.write(r.stderr)
        first = (r.stderr.strip().splitlines() or ["(no message)"])[0]
        return None, f"memc exit {r.returncode}: {first} (all of it: {log})"
    return pkg, None


def memc_time(build, pkg, example_dir, runs, threads):
    """memc-run's latency at `threads`: (latency_ms, None) or (None, error);
    the outputs are checked against the reference on the way."""
    env = dict(os.environ, MEMC_NUM_THREADS=str(threads))
    r = subprocess.run([os.path.join(build, "bin", "memc-run"), pkg, "--data",
                        os.path.join(example_dir, "test_data_set_0"),
                        "--iterations", str(runs)],
                       capture_output=True, text=True, env=env)
    m = re.search(r"^latency_ms:\s*([0-9.eE+-]+)", r.stdout, re.M)
    if r.returncode != 0 or not m:
        last = (r.stdout.strip().splitlines() or r.stderr.strip().splitlines()
                or ["(no output)"])[-1]
        return None, f"memc-run exit {r.returncode}: {last}"
    return float(m.group(1)), None


# Architectures nobody on the project wrote, at their usual sizes.
def architectures():
    import torch
    import torchvision.models as tv

    def vit_b16():
        m = tv.vit_b_16(weights=None)
        # torchvision zero-initializes the head: the output would be zeros.
        torch.nn.init.normal_(m.heads.head.weight, std=0.02)
        return m

    def encoder():
        return torch.nn.TransformerEncoderLayer(
            d_model=768, nhead=12, dim_feedforward=3072, dropout=0.0,
            batch_first=True)

    image = lambda: (torch.randn(1, 3, 224, 224),)
    return {
        "resnet18": lambda: (tv.resnet18(weights=None), image()),
        "mobilenet_v2": lambda: (tv.mobilenet_v2(weights=None), image()),
        "vit_b_16": lambda: (vit_b16(), image()),
        "encoder_layer_768": lambda: (encoder(), (torch.randn(1, 256, 768),)),
    }


def export_torch(build):
    """Exports architectures() into BUILD/bench/torch/NAME (backend-test
    layout, PyTorch's outputs as the reference): [(name, dir)]."""
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_models
    outdir = os.path.join(build, "bench", "torch")
    out = []
    for name, make in architectures().items():
        torch.manual_seed(0)
        out.append((name, torch_models.export(outdir, name, make)))
    return out


def main():
    ap = argparse.ArgumentParser(description="memc vs ONNX Runtime CPU latency")
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--torch-runs", type=int, default=20,
                    help="runs for the PyTorch architectures (slower)")
    ap.add_argument("--threads", default="1,2",
                    help="thread counts to time each model at")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating rounds per model and thread count; the "
                    "best median of each side is kept")
    ap.add_argument("--no-torch", action="store_true",
                    help="only the examples (no PyTorch exports)")
    ap.add_argument("--ort-only", action="store_true",
                    help="only check the references with ORT and time ORT")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    counts = [int(t) for t in args.threads.split(",")]

    models = []
    for name in EXAMPLES:
        d = os.path.join(ROOT, "examples", name)
        if not os.path.isfile(os.path.join(d, "model.onnx")):
            print(f"{name}: examples/{name}/model.onnx missing "
                  f"(run /usr/bin/python3 examples/make_examples.py)")
            return 1
        models.append((name, d, args.runs))
    if not args.no_torch:
        models += [(n, d, args.torch_runs) for n, d in export_torch(build)]

    rows, bad = [], 0
    print(f"ONNX Runtime {ort.__version__}, CPUExecutionProvider, "
          f"threads {args.threads}")
    for name, d, runs in models:
        pkg, why = (None, "not run (--ort-only)") if args.ort_only else \
            memc_compile(build, d, name)
        # A model of a few tens of microseconds timed over 50 runs is a
        # median of 2.5 ms of a shared machine: the CNN example's memc
        # median at 2 threads came out at 0.045 or 0.056 ms from one bench
        # to the next. Such models get as many runs as fill MIN_TIMED_MS;
        # PROBE_RUNS of ORT tell them apart (ViT-B/16's full --runs took
        # seconds before any round began).
        _, probe_ms = ort_check_and_time(d, PROBE_RUNS, counts[-1])
        runs = max(runs, min(MAX_RUNS, int(MIN_TIMED_MS / probe_ms)))
        if why and not args.ort_only:
            print(f"{name}: memc failed: {why}")
            bad += 1
        for threads in counts:
            # The machine is shared: rounds alternate the two, and each
            # keeps its best median. ORT's session (and its spinning
            # threads) is gone before memc-run starts.
            ort_ms = memc_ms = None
            for r in range(args.rounds):
                checks, ms = ort_check_and_time(d, runs, threads)
                gc.collect()
                ort_ms = ms if ort_ms is None else min(ort_ms, ms)
                for out, err, rel, ok in checks if r == 0 else []:
                    if threads == counts[0]:
                        print(f"reference check {name}/{out}: ORT vs reference "
                              f"max_abs_err {err:.3g} ({rel:.2g} of max |ref|) "
                              f"{'ok' if ok else 'MISMATCH'} (rtol {RTOL:g}, "
                              f"atol {ATOL:g})")
                    bad += not ok
                if pkg:
                    ms, why = memc_time(build, pkg, d, runs, threads)
                    if why:
                        print(f"{name}: memc-run failed at {threads} threads: {why}")
                        bad += 1
                        pkg = None
                    else:
                        memc_ms = ms if memc_ms is None else min(memc_ms, ms)
            rows.append((name, threads, memc_ms, ort_ms))
            print(f"[bench] {name} at {threads} thread(s): memc "
                  f"{memc_ms if memc_ms is not None else 'n/a'} ms, ORT {ort_ms:.3f} ms",
                  flush=True)

    head = "| model |" + "".join(f" memc ms ({t}t) | ORT ms ({t}t) | memc/ORT ({t}t) |"
                                 for t in counts)
    lines = [head, "|-------|" + "--------:|" * (3 * len(counts))]
    for name, _, _ in models:
        cells = []
        for threads in counts:
            _, _, memc_ms, ort_ms = next(r for r in rows
                                         if r[0] == name and r[1] == threads)
            m = f"{memc_ms:.3f}" if memc_ms is not None else "n/a"
            ratio = f"{memc_ms / ort_ms:.2f}x" if memc_ms is not None else "n/a"
            cells.append(f" {m} | {ort_ms:.3f} | {ratio} |")
        lines.append(f"| {name} |" + "".join(cells))
    table = "\n".join(lines)
    print()
    print(table)
    if os.path.isdir(build):
        with open(os.path.join(build, "bench.md"), "w") as f:
            f.write(f"ONNX Runtime {ort.__version__} CPU at {args.threads} threads, "
                    f"median of {args.runs} runs ({args.torch_runs} for the PyTorch "
                    f"architectures; more for a model under "
                    f"{MIN_TIMED_MS / args.runs:g} ms, to fill {MIN_TIMED_MS:g} ms); "
                    f"memc: memc-run's latency_ms over as many "
                    f"--iterations; the best of {args.rounds} alternating rounds "
                    f"each.\n\n{table}\n")
        print(f"\nwritten to {os.path.join(build, 'bench.md')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
