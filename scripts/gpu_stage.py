#!/usr/bin/python3
"""Stages the train packages for a GPU machine that cannot build memc
(scripts/gpu_session.sh stage): for each case, a --target=cuda train
package, its batches and the per-step losses of the same step compiled for
the CPU, which the GPU's losses are compared with there.

Cases: the MLP example with each optimizer layout (SGD momentum, AdamW,
8-bit Adam, APOLLO, GaLore) and make bench-train's decoder LM (AdamW, and
GaLore) and CNN (SGD momentum), exported from PyTorch.

A case whose GPU losses may only be close to the CPU's writes its relative
tolerance into rtol.txt: GaLore refreshing more than once in the run (the
singular vectors' signs of LAPACK and cuSOLVER differ; docs/cuda.md).

Usage: gpu_stage.py BUILD OUTDIR STEPS
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP_OPTIMIZERS = {
    "mlp-sgd": "sgd:lr=0.5,momentum=0.5",
    "mlp-adamw": "adamw:lr=0.01",
    "mlp-adam8bit": "adam8bit:lr=0.01,block=1024",
    "mlp-apollo": "apollo:lr=0.01,rank=8,period=2,scale=1",
    # One refresh in the run: the CPU's losses to rounding.
    "mlp-galore": "galore:lr=0.01,rank=4,period=10,scale=0.5",
    # A refresh every two steps.
    "mlp-galore-p2": "galore:lr=0.01,rank=4,period=2,scale=0.5",
}
# GaLore on the decoder LM, replacing its AdamW (same lr and decay).
LM_GALORE = "rank=32,period=2,scale=0.25"
CLOSE_RTOL = "2e-2"


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise SystemExit(f"gpu_stage: {' '.join(cmd)}: exit {p.returncode}\n{p.stdout[-2000:]}")
    return p.stdout


def stage(build, case_dir, model, flags, steps):
    """Compiles `model` for the CPU and CUDA, runs the CPU package for the
    reference losses, keeps the CUDA package, the batches and the losses."""
    memc = os.path.join(build, "bin", "memc")
    cpu = os.path.join(case_dir, "cpu-pkg")
    run([memc, model, *flags, "-o", cpu], cwd=case_dir)
    run([memc, model, *flags, "--target=cuda", "--cuda-arch=sm_90", "-o",
         os.path.join(case_dir, "pkg")], cwd=case_dir)
    out = run([os.path.join(build, "bin", "memc-run"), cpu, "--train", "--data", case_dir,
               "--steps", str(steps)])
    open(os.path.join(case_dir, "cpu.out"), "w").write(out)
    subprocess.run(["rm", "-rf", cpu], check=True)


def main():
    build, out, steps = os.path.abspath(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    mlp = os.path.join(ROOT, "examples", "mlp", "model.onnx")
    for name, opt in MLP_OPTIMIZERS.items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        run(["/usr/bin/python3", os.path.join(ROOT, "test", "Inputs", "train_batches.py"),
             mlp, d, "2", "like-output"])
        stage(build, d, mlp, ["--train", "--loss=mse", f"--optimizer={opt}"], steps)
        if "period=2" in opt and opt.startswith("galore"):
            open(os.path.join(d, "rtol.txt"), "w").write(CLOSE_RTOL + "\n")
        print(f"gpu_stage: {name}")
    import bench_train  # PyTorch: the exported models of make bench-train
    import train_common as tc
    for name, case in bench_train.CASES.items():
        title, module, batches, loss_kind, opt_kind, lr, wd = case()
        tc.prepare(module)
        d = os.path.join(out, name)
        tc.export(d, module, batches, loss_kind, opt_kind, lr, wd)
        flags = open(os.path.join(d, "memc_flags.txt")).read().split()
        if opt_kind == "adamw":
            g = d + "-galore"
            shutil.rmtree(g, ignore_errors=True)
            shutil.copytree(d, g)
            galore = [f.replace("--optimizer=adamw:", "--optimizer=galore:") + "," + LM_GALORE
                      if f.startswith("--optimizer=adamw:") else f for f in flags]
            stage(build, g, "model.onnx", galore, steps)
            open(os.path.join(g, "rtol.txt"), "w").write(CLOSE_RTOL + "\n")
            os.remove(os.path.join(g, "model.onnx"))
            print(f"gpu_stage: {name}-galore ({' '.join(galore)})")
        stage(build, d, "model.onnx", flags, steps)
        os.remove(os.path.join(d, "model.onnx"))
        print(f"gpu_stage: {name}")


if __name__ == "__main__":
    main()
