#!/usr/bin/python3
"""A model whose peak of live bytes exceeds its largest single-op working
set, so a budget between the two must move a buffer to the host:
a = x@W1 lives across b = x@W2 and c = b@W3 until y = a + c.
Writes DIR/model.onnx and DIR/test_data_set_0 with NumPy's outputs.

Usage: skip_matmul_model.py DIR [N]
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 64
rng = np.random.default_rng(7)
x = rng.standard_normal((n, n)).astype(np.float32)
w = [(rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32) for _ in range(3)]
nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"]),
         helper.make_node("MatMul", ["x", "w2"], ["b"]),
         helper.make_node("MatMul", ["b", "w3"], ["c"]),
         helper.make_node("Add", ["a", "c"], ["y"])]
graph = helper.make_graph(
    nodes, "skip",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
    [numpy_helper.from_array(wi, f"w{i + 1}") for i, wi in enumerate(w)])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
os.makedirs(os.path.join(out, "test_data_set_0"), exist_ok=True)
with open(os.path.join(out, "model.onnx"), "wb") as f:
    f.write(model.SerializeToString())
y = x @ w[0] + (x @ w[1]) @ w[2]
for name, a in (("input_0", x), ("output_0", y.astype(np.float32))):
    with open(os.path.join(out, "test_data_set_0", name + ".pb"), "wb") as f:
        f.write(numpy_helper.from_array(a).SerializeToString())
