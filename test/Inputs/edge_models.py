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
        node if isinstance(node, list) else [node], name,
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

    # Maximum as IEEE 754 has it (arith.maximumf): NaN when any operand is
    # NaN, and +0 above -0. Reciprocal after it turns a zero's sign into
    # that of an infinity, which the comparison sees.
    def ieee_max(values):
        if any(math.isnan(v) for v in values):
            return nan
        top = max(values)
        if top == 0:
            return 0.0 if any(v == 0 and math.copysign(1, v) > 0
                              for v in values) else -0.0
        return top

    def recip(v):
        return math.copysign(inf, v) if v == 0 else 1.0 / v

    # A 3 x 3 stride-2 max pool (ResNet's), rows of 17 outputs (a vector
    # of 16 and one more), over signed zeros, NaN, infinities, denormals.
    rng = np.random.default_rng(7)
    picks = np.array([0.0, -0.0, -1.0, -inf, inf, nan, 1e-40, -1e-40, -2.5],
                     np.float32)
    pool_in = rng.choice(picks, size=(1, 2, 5, 34),
                         p=[.25, .3, .1, .1, .02, .05, .06, .06, .06])
    pool_in = pool_in.astype(np.float32)
    p64 = pool_in.astype(np.float64)
    pooled = np.empty((1, 2, 3, 17))
    for ch in range(2):
        for oy in range(3):
            for ox in range(17):
                window = [p64[0, ch, y, x]
                          for y in range(2 * oy - 1, 2 * oy + 2)
                          for x in range(2 * ox - 1, 2 * ox + 2)
                          if 0 <= y < 5 and 0 <= x < 34]
                pooled[0, ch, oy, ox] = recip(ieee_max(window))
    save("max_pool",
         [helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3],
                           strides=[2, 2], pads=[1, 1, 1, 1]),
          helper.make_node("Reciprocal", ["m"], ["y"])],
         pool_in, pooled, list(pooled.shape))

    # ReLU, max(x, +0): -0 becomes +0, NaN stays NaN; 40 elements (vectors
    # of 16 and a remainder).
    relu_in = np.array((EDGES + [-0.0, 0.0, nan, -0.0, -1.0]) * 2,
                       np.float32)[:40]
    relu_ref = np.array([recip(ieee_max([v, 0.0]))
                         for v in relu_in.astype(np.float64)])
    save("relu",
         [helper.make_node("Relu", ["x"], ["m"]),
          helper.make_node("Reciprocal", ["m"], ["y"])],
         relu_in, relu_ref, [40])
