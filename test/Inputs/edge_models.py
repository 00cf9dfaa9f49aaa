#!/usr/bin/python3
"""One-op ONNX models fed the edges of the float range, with NumPy float64
references, for memc-run. Usage: edge_models.py OUTDIR

Writes OUTDIR/NAME/model.onnx and OUTDIR/NAME/test_data_set_0/{input,output}_0.pb
for every case below and prints the names, one a line.
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

inf, nan = np.inf, np.nan
out_dir = sys.argv[1]

# Inputs shared by the elementwise cases: zeros, denormals, tiny, moderate,
# exp's overflow (88.72) and underflow (-87.34 denormal, -103.97 zero)
# thresholds, saturation, infinities and NaN.
EDGES = [0.0, -0.0, 1.4e-45, -1.4e-45, 1e-40, 1.1754942e-38, 1e-30, -1e-30,
         1e-7, -1e-3, 0.5, -2.0, 7.9, -9.0, 15.0, 88.7, 88.72, 88.7229, 89.0,
         100.0, -87.5, -90.0, -100.0, -103.0, -104.0, -1000.0, 1e30, inf,
         -inf, nan]


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


SELU_ALPHA = np.float64(np.float32(1.67326319217681884765625))
SELU_GAMMA = np.float64(np.float32(1.05070102214813232421875))
ELEMENTWISE = {
    "exp": ("Exp", np.exp),
    "log": ("Log", np.log),
    "tanh": ("Tanh", np.tanh),
    "erf": ("Erf", np.vectorize(math.erf)),
    "sigmoid": ("Sigmoid", sigmoid),
    "softplus": ("Softplus", softplus),
    "elu": ("Elu", lambda x: np.where(x < 0, np.expm1(x), x)),
    "selu": ("Selu", lambda x: SELU_GAMMA * np.where(
        x <= 0, SELU_ALPHA * np.expm1(x), x)),
    "celu": ("Celu", lambda x: np.maximum(x, 0) + np.minimum(np.expm1(x), 0)),
}


def save(name, node, x, y, out_shape):
    d = os.path.join(out_dir, name, "test_data_set_0")
    os.makedirs(d, exist_ok=True)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, name, "model.onnx"))
    for kind, t in (("input", x), ("output", y)):
        with open(os.path.join(d, kind + "_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(t.astype(np.float32)).SerializeToString())
    print(name)


x32 = np.array(EDGES, np.float32)
x64 = x32.astype(np.float64)  # the exact values memc sees
with np.errstate(all="ignore"):
    for name, (op, fn) in ELEMENTWISE.items():
        save(name, helper.make_node(op, ["x"], ["y"]), x32, fn(x64),
             [len(EDGES)])

    # Rows whose maximum is infinite, or large enough that exp(x) overflows.
    rows = np.array([[-inf, -inf, -inf], [inf, 0, 0], [inf, -inf, 1],
                     [1, 2, -inf], [1000, 1000, 999], [-1000, -1000, -1003],
                     [88.7, 89, 100], [nan, 0, 1], [1.4e-45, 0, -1e-40]],
                    np.float32)
    r64 = rows.astype(np.float64)
    lse = np.log(np.sum(np.exp(r64), axis=1))  # the definition: overflows
    m = np.max(r64, axis=1)
    finite = np.isfinite(m)
    shift = np.where(finite, m, 0)
    stable = shift + np.log(np.sum(np.exp(r64 - shift[:, None]), axis=1))
    lse = np.where(finite & ~np.isnan(m), stable, lse)
    save("reduce_log_sum_exp",
         helper.make_node("ReduceLogSumExp", ["x"], ["y"], axes=[1],
                          keepdims=0), rows, lse, [rows.shape[0]])
