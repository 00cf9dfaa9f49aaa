#!/usr/bin/python3
"""PyTorch eager's train step on the GPU for make bench-train's two models
(the decoder LM with AdamW, the CNN with SGD momentum), for comparison with
memc-run --train --device cuda on the same machine (scripts/gpu_session.sh
run prints both). Median step time (CUDA-synchronized by loss.item()) over
STEPS steps after WARMUP, the first losses, and the peak device memory.

Usage: bench_train_gpu.py [STEPS] [WARMUP]
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_train  # noqa: E402
import train_common as tc  # noqa: E402


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 like memc
    torch.backends.cudnn.allow_tf32 = False
    for name, case in bench_train.CASES.items():
        title, module, batches, loss_kind, opt_kind, lr, wd = case()
        tc.prepare(module)
        module = module.cuda()
        opt, _ = tc.optimizer(opt_kind, module, lr, wd)
        batches = [([x.cuda() for x in ins], labels.cuda()) for ins, labels in batches]
        # The models build constants (the causal mask) in forward().
        torch.set_default_device("cuda")
        torch.cuda.reset_peak_memory_stats()
        times, losses = [], []
        for k in range(warmup + steps):
            ins, labels = batches[k % len(batches)]
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = tc.loss_fn(loss_kind, module(*ins), labels)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if k >= warmup:
                times.append((time.perf_counter() - t0) * 1e3)
        print(f"torch-gpu {name}: train_step_ms {statistics.median(times):.3f}, "
              f"first losses {', '.join(f'{x:.7g}' for x in losses[:3])}, "
              f"peak {torch.cuda.max_memory_allocated() / 2**20:.1f} MiB ({title})")
        torch.set_default_device("cpu")


if __name__ == "__main__":
    main()
