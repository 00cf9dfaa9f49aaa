#!/usr/bin/python3
"""memc --target=cuda against PyTorch on the same GPU (what `make bench-gpu`
runs; see scripts/bench_gpu.sh).

Measures latency and peak device memory of
  * the causal decoder example (examples/decoder): memc vs PyTorch eager
    (the ONNX graph executed op by op with torch on the GPU), and
  * one causal multi-head attention block (d=256, 4 heads, the acceptance
    model's form) at seq 1k..16k: memc vs PyTorch eager (explicit softmax)
    and PyTorch SDPA (F.scaled_dot_product_attention, is_causal=True).
PyTorch's output is also the reference memc-run compares against, so every
memc figure comes from a run whose outputs matched.

Latency: memc-run's median `latency_ms` (inputs up, program, outputs down)
and `device_ms` (CUDA events around the program alone); PyTorch: median of
CUDA-event times of the forward pass with inputs already on the GPU, which
compares with device_ms. Peak memory: memc's `device_bytes` (everything it
allocates: arena + weights + I/O + cuBLAS workspace); PyTorch's
torch.cuda.max_memory_allocated() over one forward pass, weights included.

A GPU machine may have no LLVM/MLIR to build memc with, so the work splits:
  --stage DIR    compiles every package into DIR (no GPU, no PyTorch);
  --staged DIR   measures with those packages (needs only memc-run, found
                 under --build/bin, and PyTorch with CUDA).
Without either, both halves run here.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def need_gpu():
    try:
        import torch
    except ImportError:
        sys.exit("bench-gpu: PyTorch is not installed; the comparison needs "
                 "PyTorch with CUDA (measurements pending)")
    if not torch.cuda.is_available():
        sys.exit("bench-gpu: needs an NVIDIA GPU with a driver and PyTorch "
                 "built with CUDA; none here (measurements pending)")
    return torch


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def field(text, key):
    m = re.search(r"^%s:\s*(\S+)" % key, text, re.M)
    return m.group(1) if m else None


class Packages:
    """Where each measured package comes from: compiled now (--stage, or
    both halves here) or found where --stage put it (--staged)."""

    def __init__(self, build, arch, stage_dir, compile_now):
        self.build, self.arch = build, arch
        self.dir, self.compile_now = stage_dir, compile_now

    def get(self, key, model, flags=()):
        """-> (package directory, None) or (None, error)"""
        pkg = os.path.join(self.dir, key)
        if not self.compile_now:
            ok = os.path.isfile(os.path.join(pkg, "manifest.txt"))
            return (pkg, None) if ok else (None, f"no staged package {pkg}")
        rc, out = run([f"{self.build}/bin/memc", model, "--target=cuda",
                       f"--cuda-arch={self.arch}", *flags, "-o", pkg])
        if rc != 0:
            return None, "memc: " + out.strip().splitlines()[-1]
        return pkg, None


def memc(packages, key, model, data, runs, flags=()):
    pkg, error = packages.get(key, model, flags)
    if error:
        return {"error": error}
    if data is None:  # staging: nothing is run
        return {}
    rc, out = run([f"{packages.build}/bin/memc-run", pkg, "--device", "cuda",
                   "--data", data, "--iterations", str(runs), "--warmup", "3",
                   "--atol", "1e-4"])
    if rc != 0:
        lines = out.strip().splitlines() or ["(no output)"]
        return {"error": f"memc-run exit {rc}: " + lines[-1]}
    return {"ms": float(field(out, "latency_ms")),
            "device_ms": float(field(out, "device_ms")),
            "bytes": int(field(out, "device_bytes"))}


def time_torch(torch, fn, runs):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(runs):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        out = fn()
        stop.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(stop))
    return out, float(np.median(times)), torch.cuda.max_memory_allocated()


def write_pb(path, array):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array).SerializeToString())


# --- the decoder: its ONNX graph run op by op on torch --------------------

def onnx_eager(torch, model):
    """A callable running `model` with torch ops on the GPU (the ops the
    decoder example uses)."""
    F = torch.nn.functional
    g = model.graph
    consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()).cuda()
              for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = torch.from_numpy(
                numpy_helper.to_array(n.attribute[0].t).copy()).cuda()

    def attr(n, name, default=None):
        for a in n.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def forward(inputs):
        env = dict(consts)
        env.update(inputs)
        for n in g.node:
            x = [env[i] for i in n.input if i]
            t = n.op_type
            if t == "Constant":
                continue
            elif t == "Add":
                y = x[0] + x[1]
            elif t == "Mul":
                y = x[0] * x[1]
            elif t == "Div":
                y = x[0] / x[1]
            elif t == "MatMul":
                y = torch.matmul(x[0], x[1])
            elif t == "Erf":
                y = torch.erf(x[0])
            elif t == "Softmax":
                y = torch.softmax(x[0], dim=attr(n, "axis", -1))
            elif t == "Reshape":
                y = x[0].reshape([int(v) for v in x[1].tolist()])
            elif t == "Transpose":
                y = x[0].permute(*attr(n, "perm")).contiguous()
            elif t == "Where":
                y = torch.where(x[0].bool(), x[1], x[2])
            elif t == "Gather":
                y = torch.index_select(x[0], attr(n, "axis", 0),
                                       x[1].reshape(-1).long()).reshape(
                    *x[1].shape, *x[0].shape[1:])
            elif t == "Trilu":
                k = int(x[1].item()) if len(x) > 1 else 0
                y = torch.triu(x[0], k) if attr(n, "upper", 1) else torch.tril(x[0], k)
            elif t == "LayerNormalization":
                axis = attr(n, "axis", -1)
                shape = x[0].shape[axis:]
                y = F.layer_norm(x[0], shape, x[1], x[2] if len(x) > 2 else None,
                                 attr(n, "epsilon", 1e-5))
            else:
                raise NotImplementedError(t)
            env[n.output[0]] = y
        return [env[o.name] for o in g.output]
    return forward


def bench_decoder(torch, args, packages, rows):
    """The decoder example; staged, its test data travels with the packages
    (memc-run compares with that output) and the model is rebuilt where it
    runs by examples/make_examples.py for PyTorch."""
    model_path = "examples/decoder/model.onnx"
    data = os.path.join(packages.dir, "decoder-data")
    if packages.compile_now:
        shutil.copytree("examples/decoder/test_data_set_0", data, dirs_exist_ok=True)
    staging = torch is None
    theirs = []
    if not staging:
        model = onnx.load(model_path)
        ids = numpy_helper.to_array(onnx.load_tensor(f"{data}/input_0.pb"))
        fwd = onnx_eager(torch, model)
        inputs = {model.graph.input[0].name: torch.from_numpy(ids).cuda()}
        with torch.no_grad():
            _, ms, peak = time_torch(torch, lambda: fwd(inputs), args.runs)
        theirs = [("eager", ms, peak)]
    run_data = None if staging else data
    rows.append(("decoder (4 layers, d=256, seq 256)",
                 memc(packages, "decoder", model_path, run_data, args.runs), theirs))
    # GEMMs as memc's tensor-core kernels instead of cuBLAS: the GEMM
    # decision's measurement.
    rows.append(("decoder, --cuda-gemm=kernels",
                 memc(packages, "decoder-gemm-kernels", model_path, run_data, args.runs,
                      ["--cuda-gemm=kernels"]), []))


# --- attention at growing sequence lengths --------------------------------

def attention_weights(seq, d):
    rng = np.random.default_rng(seq)
    return [(rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32)
            for _ in range(4)]


def attention_model(path, seq, d, heads):
    hd = d // heads
    w = attention_weights(seq, d)
    mask = np.triu(np.full((seq, seq), -1e9, np.float32), 1)
    inits = [numpy_helper.from_array(a, n) for a, n in zip(w, ["wq", "wk", "wv", "wo"])]
    inits += [numpy_helper.from_array(np.array([1, seq, heads, hd], np.int64), "split"),
              numpy_helper.from_array(np.array([1, seq, d], np.int64), "merge"),
              numpy_helper.from_array(np.array(np.sqrt(hd), np.float32), "scale"),
              numpy_helper.from_array(mask, "mask")]
    mk = helper.make_node
    nodes = []
    for n in "qkv":
        nodes += [mk("MatMul", ["x", "w" + n], [n + "p"]),
                  mk("Reshape", [n + "p", "split"], [n + "s"])]
    nodes += [mk("Transpose", ["qs"], ["qh"], perm=[0, 2, 1, 3]),
              mk("Transpose", ["ks"], ["kt"], perm=[0, 2, 3, 1]),
              mk("Transpose", ["vs"], ["vh"], perm=[0, 2, 1, 3]),
              mk("MatMul", ["qh", "kt"], ["qk"]), mk("Div", ["qk", "scale"], ["sc"]),
              mk("Add", ["sc", "mask"], ["scm"]), mk("Softmax", ["scm"], ["p"], axis=-1),
              mk("MatMul", ["p", "vh"], ["ctx"]),
              mk("Transpose", ["ctx"], ["ct"], perm=[0, 2, 1, 3]),
              mk("Reshape", ["ct", "merge"], ["cm"]), mk("MatMul", ["cm", "wo"], ["y"])]
    g = helper.make_graph(nodes, "attention",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, seq, d])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, d])],
                          inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]), path)


def bench_attention(torch, args, packages, rows, seq, d=256, heads=4):
    name = f"attention causal seq {seq} (d=256, 4 heads)"
    # Both attention kernels: the tensor-core one (the default) and the
    # CUDA-core one, so that the choice rests on a measurement.
    variants = [(f"attn{seq}", name + ", tensor cores", []),
                (f"attn{seq}-cuda-cores", name + ", CUDA cores",
                 ["--cuda-attention=cuda-cores"])]
    if torch is None:  # staging: compile only (the model holds an N x N mask)
        work = tempfile.mkdtemp(prefix=f"memc-bench-attn{seq}-")
        model = f"{work}/model.onnx"
        attention_model(model, seq, d, heads)
        for key, title, flags in variants:
            rows.append((title, memc(packages, key, model, None, args.runs, flags), []))
        shutil.rmtree(work)
        return
    F = torch.nn.functional
    hd = d // heads
    work = tempfile.mkdtemp(prefix=f"memc-bench-attn{seq}-")
    model = f"{work}/model.onnx"
    if packages.compile_now:
        attention_model(model, seq, d, heads)
    wq, wk, wv, wo = (torch.from_numpy(w).cuda() for w in attention_weights(seq, d))
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, seq, d)).astype(np.float32)).cuda()
    mask = torch.triu(torch.full((seq, seq), -1e9, device="cuda"), 1)

    def split(t):
        return t.reshape(1, seq, heads, hd).transpose(1, 2)

    def eager():
        q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
        p = torch.softmax(q @ k.transpose(-1, -2) / np.sqrt(hd) + mask, dim=-1)
        return (p @ v).transpose(1, 2).reshape(1, seq, d) @ wo

    def sdpa():
        q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(1, seq, d) @ wo

    results, reference = [], None
    with torch.no_grad():
        for tname, fn in (("eager", eager), ("sdpa", sdpa)):
            try:
                out, ms, peak = time_torch(torch, fn, args.runs)
                results.append((tname, ms, peak))
                if tname == "sdpa":
                    reference = out
            except RuntimeError as e:  # out of memory at long sequences
                results.append((tname, None, str(e).splitlines()[0]))
                torch.cuda.empty_cache()
    data = f"{work}/test_data_set_0"
    os.makedirs(data)
    write_pb(f"{data}/input_0.pb", x.cpu().numpy())
    if reference is not None:
        write_pb(f"{data}/output_0.pb", reference.cpu().numpy())
    for i, (key, title, flags) in enumerate(variants):
        rows.append((title, memc(packages, key, model, data, args.runs, flags),
                     results if i == 0 else []))
    shutil.rmtree(work)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--arch", default="sm_90")
    ap.add_argument("--seqs", default="1024,2048,4096,8192,16384")
    ap.add_argument("--stage", metavar="DIR",
                    help="only compile the packages into DIR (no GPU needed)")
    ap.add_argument("--staged", metavar="DIR",
                    help="measure with the packages --stage put in DIR")
    args = ap.parse_args()
    if args.stage and args.staged:
        sys.exit("bench-gpu: --stage and --staged exclude each other")
    stage_dir = args.stage or args.staged or tempfile.mkdtemp(prefix="memc-bench-gpu-")
    os.makedirs(stage_dir, exist_ok=True)
    packages = Packages(args.build, args.arch, stage_dir, not args.staged)
    torch = None if args.stage else need_gpu()
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 like memc
    rows = []
    bench_decoder(torch, args, packages, rows)
    for seq in (int(s) for s in args.seqs.split(",")):
        bench_attention(torch, args, packages, rows, seq)
    if torch is None:
        failed = [(name, m["error"]) for name, m, _ in rows if "error" in m]
        for name, error in failed:
            print(f"bench-gpu: {name}: {error}")
        print(f"bench-gpu: {len(rows) - len(failed)} packages staged in {stage_dir}")
        sys.exit(1 if failed else 0)

    mib = lambda b: f"{b / 2**20:.0f}"
    lines = [f"GPU: {torch.cuda.get_device_name(0)}, PyTorch {torch.__version__}, "
             f"median of {args.runs} runs, float32\n",
             "| model | memc ms (device) | memc MiB | PyTorch | ms | MiB |",
             "|---|---:|---:|---|---:|---:|"]
    for name, m, theirs in rows:
        mine = (f"{m['ms']:.3f} ({m['device_ms']:.3f})", mib(m["bytes"])) \
            if "error" not in m else (m["error"], "-")
        if not theirs:
            lines.append("| " + " | ".join((name,) + mine + ("", "", "")) + " |")
        for i, (tname, ms, peak) in enumerate(theirs):
            left = (name,) + mine if i == 0 else ("", "", "")
            right = (tname, f"{ms:.3f}", mib(peak)) if ms is not None else (tname, "failed", peak)
            lines.append("| " + " | ".join(left + right) + " |")
    # The target: memc's attention at least half of SDPA's
    # throughput (device time against SDPA's, both per forward pass).
    lines += ["", "| attention | SDPA ms / memc device ms |", "|---|---:|"]
    sdpa = None  # the CUDA-core row follows its tensor-core row
    for name, m, theirs in rows:
        if theirs:
            sdpa = next((ms for tname, ms, _ in theirs if tname == "sdpa"), None)
        if name.startswith("attention") and sdpa and "error" not in m:
            lines.append(f"| {name} | {sdpa / m['device_ms']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(args.build, "bench-gpu.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
