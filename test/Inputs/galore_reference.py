#!/usr/bin/python3
"""NumPy reference for memc's --optimizer=galore on the MLP example
(Gemm, Relu, Gemm, Softmax; loss mse): per-step losses of GaLore's own
AdamW written from REFERENCES.md ("GaLore step"), independently of memc.

Usage: galore_reference.py MODEL.onnx DATA_DIR STEPS lr=..,rank=..,period=..,
       scale=..,weight_decay=..   -> one loss per line
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model, data, steps, spec = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
o = {"lr": 1e-3, "rank": 128, "period": 200, "scale": 0.25, "weight_decay": 0.01,
     "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
for item in spec.split(","):
    k, v = item.split("=")
    o[k] = float(v)
w = {t.name: numpy_helper.to_array(t).astype(np.float32).copy()
     for t in onnx.load(model).graph.initializer}
batches = []
k = 0
while os.path.isdir(os.path.join(data, f"test_data_set_{k}")):
    d = os.path.join(data, f"test_data_set_{k}")
    load = lambda i: numpy_helper.to_array(onnx.load_tensor(os.path.join(d, f"input_{i}.pb")))
    batches.append((load(0), load(1)))
    k += 1


def loss_and_grads(x, y):
    h = x @ w["fc1.weight"].T + w["fc1.bias"]
    a = np.maximum(h, 0)
    z = a @ w["fc2.weight"].T + w["fc2.bias"]
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    loss = np.mean((p - y) ** 2)
    dp = 2 * (p - y) / p.size
    dz = p * (dp - (dp * p).sum(-1, keepdims=True))
    da = dz @ w["fc2.weight"]
    dh = da * (h > 0)
    return loss, {"fc2.weight": dz.T @ a, "fc2.bias": dz.sum(0),
                  "fc1.weight": dh.T @ x, "fc1.bias": dh.sum(0)}


state = {}
b1, b2, eps, lr, wd = o["beta1"], o["beta2"], o["eps"], o["lr"], o["weight_decay"]
r, period, scale = int(o["rank"]), int(o["period"]), o["scale"]
for t in range(1, steps + 1):
    x, y = batches[(t - 1) % len(batches)]
    loss, grads = loss_and_grads(x, y)
    print(f"{loss:.8g}")
    for name, g in grads.items():
        g = g.astype(np.float32)
        s = state.setdefault(name, {})
        low = g.ndim == 2
        if low:
            right = g.shape[0] >= g.shape[1]
            if "P" not in s or t % period == 0:
                u, _, vh = np.linalg.svd(g, full_matrices=False)
                s["P"] = vh[:r, :] if right else u[:, :r]
            g = g @ s["P"].T if right else s["P"].T @ g
        m = s.get("m", np.zeros_like(g)) * b1 + (1 - b1) * g
        v = s.get("v", np.zeros_like(g)) * b2 + (1 - b2) * g * g
        s["m"], s["v"] = m, v
        n = m / (np.sqrt(v) + eps)
        if low:
            n = (n @ s["P"] if right else s["P"] @ n) * scale
        step = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w[name] = (w[name] - step * n).astype(np.float32)
        w[name] = (w[name] - lr * wd * w[name]).astype(np.float32)
