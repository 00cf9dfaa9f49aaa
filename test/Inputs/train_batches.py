#!/usr/bin/python3
"""Writes training batches for a model's inputs: test_data_set_K/input_N.pb
with the model's inputs (uniform in [-1, 1]) and then the labels.

Usage: train_batches.py MODEL.onnx OUTDIR BATCHES LABELS
  LABELS  classes:C   int64 class ids in [0, C) of the output's shape
                      without its last axis (cross-entropy)
          like-output f32 targets of the output's shape (mse)
"""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model, out, batches, labels = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
g = onnx.load(model).graph
inits = {t.name for t in g.initializer}
inputs = [i for i in g.input if i.name not in inits]
dims = lambda vi: [d.dim_value for d in vi.type.tensor_type.shape.dim]
rng = np.random.default_rng(5)
for k in range(batches):
    d = os.path.join(out, f"test_data_set_{k}")
    os.makedirs(d, exist_ok=True)
    arrays = [rng.uniform(-1, 1, dims(i)).astype(np.float32) for i in inputs]
    shape = dims(g.output[0])
    if labels.startswith("classes:"):
        arrays.append(rng.integers(0, int(labels.split(":")[1]), shape[:-1]).astype(np.int64))
    else:
        arrays.append(rng.uniform(-1, 1, shape).astype(np.float32))
    for n, a in enumerate(arrays):
        with open(os.path.join(d, f"input_{n}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(a).SerializeToString())
