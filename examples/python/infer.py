#!/usr/bin/python3
"""Inference: compile an ONNX model under a memory budget and run it on
NumPy arrays. Run from the repository root:
    PYTHONPATH=build/python /usr/bin/python3 examples/python/infer.py"""
import numpy as np

import memc

pkg = memc.compile("examples/cnn/model.onnx", mem_budget="1MiB")
sess = memc.Session(pkg)
name, dtype, shape = sess.inputs[0]
images = np.random.default_rng(0).random(shape, dtype=np.float32)
(logits,) = sess.run({name: images}).values()
print(f"{name} {shape} -> logits {logits.shape}, class {logits.argmax(-1)}; "
      f"arena {pkg.report['arena_bytes']} bytes within a budget of {pkg.report['mem_budget_bytes']}")
