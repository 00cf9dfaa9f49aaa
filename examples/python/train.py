#!/usr/bin/python3
"""Training: compile one AdamW train step of an ONNX model (the MLP
example, mean squared error) and run it on NumPy batches; save the trained
model. Run from the repository root:
    PYTHONPATH=build/python /usr/bin/python3 examples/python/train.py"""
import numpy as np

import memc

pkg = memc.compile("examples/mlp/model.onnx", train=True, loss="mse",
                   optimizer="adamw:lr=0.01")
sess = memc.Session(pkg)
(x_name, _, x_shape), (y_name, _, y_shape) = sess.inputs  # the input, then the labels
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, x_shape).astype(np.float32)
target = np.zeros(y_shape, np.float32)
target[:, 3] = 1  # learn to put all probability on class 3
losses = [sess.train_step({x_name: x, y_name: target}) for _ in range(20)]
print(f"loss {losses[0]:.3e} -> {losses[-1]:.3e} in {sess.steps} steps; "
      f"optimizer state {pkg.report['train']['state_bytes']} bytes")
sess.save_model("mlp-trained.onnx")
