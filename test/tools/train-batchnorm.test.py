#!/usr/bin/python3
"""train-batchnorm.test's check: the running statistics a trained model
holds after N steps, computed in float64 from the batches."""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model, trained, data, momentum, steps = sys.argv[1:6]
momentum, steps = float(momentum), int(steps)
init = {t.name: numpy_helper.to_array(t).astype(np.float64)
        for t in onnx.load(model).graph.initializer}
got = {t.name: numpy_helper.to_array(t) for t in onnx.load(trained).graph.initializer}
rm, rv = init["rm"], init["rv"]
for k in range(steps):
    t = onnx.TensorProto()
    with open(os.path.join(data, f"test_data_set_{k}", "input_0.pb"), "rb") as f:
        t.ParseFromString(f.read())
    x = numpy_helper.to_array(t).astype(np.float64)
    rm = rm * momentum + x.mean(axis=(0, 2, 3)) * (1 - momentum)
    rv = rv * momentum + x.var(axis=(0, 2, 3)) * (1 - momentum)
for name, want in (("rm", rm), ("rv", rv)):
    err = np.abs(got[name] - want).max()
    print(f"{name}: memc {got[name]}, NumPy {want}, max err {err:.2e}")
    if err > 1e-5:
        sys.exit(f"{name} differs from NumPy's by {err:.2e}")
# The weights trained too (the loss reached them through the statistics).
if np.allclose(got["s"], init["s"]):
    sys.exit("s did not change")
