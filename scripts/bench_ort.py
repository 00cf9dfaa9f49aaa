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
     --runs runs after warm-up;
  3. compiles the example with memc and runs `memc-run --iterations N`,
     parsing its `latency_ms:` line (memc-run owns timing of its own
     program; we do not second-guess it from outside the process).
Then prints a markdown table and writes it to BUILD/bench.md.
--ort-only skips the memc side (to check the references without a build).
Exit status: non-zero if a reference check fails or memc fails on an example.
"""

import argparse
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


def memc_time(build, example_dir, name, runs):
    """Compile with memc and return (latency_ms, None) or (None, error)."""
    pkg = os.path.join(build, "bench", name)
    shutil.rmtree(pkg, ignore_errors=True)  # a stale package must not be timed
    os.makedirs(os.path.dirname(pkg), exist_ok=True)
    memc = os.path.join(build, "bin", "memc")
    r = subprocess.run([memc, os.path.join(example_dir, "model.onnx"), "-o", pkg],
                       capture_output=True, text=True)
    if r.returncode != 0:
        first = (r.stderr.strip().splitlines() or ["(no message)"])[0]
        return None, f"memc exit {r.returncode}: {first}"
    r = subprocess.run([os.path.join(build, "bin", "memc-run"), pkg, "--data",
                        os.path.join(example_dir, "test_data_set_0"),
                        "--iterations", str(runs)],
                       capture_output=True, text=True)
    m = re.search(r"^latency_ms:\s*([0-9.eE+-]+)", r.stdout, re.M)
    if r.returncode != 0 or not m:
        last = (r.stdout.strip().splitlines() or r.stderr.strip().splitlines()
                or ["(no output)"])[-1]
        return None, f"memc-run exit {r.returncode}: {last}"
    return float(m.group(1)), None


def main():
    ap = argparse.ArgumentParser(description="memc vs ONNX Runtime CPU latency")
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--ort-only", action="store_true",
                    help="only check the references with ORT and time ORT")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    threads = os.cpu_count() or 1

    rows, bad = [], 0
    print(f"ONNX Runtime {ort.__version__}, CPUExecutionProvider, "
          f"{threads} threads, median of {args.runs} runs")
    for name in EXAMPLES:
        d = os.path.join(ROOT, "examples", name)
        if not os.path.isfile(os.path.join(d, "model.onnx")):
            print(f"{name}: examples/{name}/model.onnx missing "
                  f"(run /usr/bin/python3 examples/make_examples.py)")
            bad += 1
            continue
        checks, ort_ms = ort_check_and_time(d, args.runs, threads)
        for out, err, rel, ok in checks:
            print(f"reference check {name}/{out}: ORT vs NumPy max_abs_err {err:.3g} "
                  f"({rel:.2g} of max |ref|) "
                  f"{'ok' if ok else 'MISMATCH'} (rtol {RTOL:g}, atol {ATOL:g})")
            bad += not ok
        memc_ms, why = (None, "not run (--ort-only)") if args.ort_only else \
            memc_time(build, d, name, args.runs)
        if why and not args.ort_only:
            print(f"{name}: memc failed: {why}")
            bad += 1
        rows.append((name, memc_ms, ort_ms, why))

    lines = ["| model | memc ms | ORT ms | memc/ORT ratio |",
             "|-------|--------:|-------:|---------------:|"]
    for name, memc_ms, ort_ms, why in rows:
        m = f"{memc_ms:.3f}" if memc_ms is not None else "n/a"
        ratio = f"{memc_ms / ort_ms:.2f}x" if memc_ms is not None else "n/a"
        lines.append(f"| {name} | {m} | {ort_ms:.3f} | {ratio} |")
    table = "\n".join(lines)
    print()
    print(table)
    if os.path.isdir(build):
        with open(os.path.join(build, "bench.md"), "w") as f:
            f.write(f"ONNX Runtime {ort.__version__} CPU, {threads} threads, median of "
                    f"{args.runs} runs; memc: memc-run's latency_ms over "
                    f"--iterations {args.runs}.\n\n{table}\n")
        print(f"\nwritten to {os.path.join(build, 'bench.md')}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
