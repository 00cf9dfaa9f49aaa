#!/usr/bin/python3
"""Structurally invalid ONNX models (each one rule of the checker) and
hostile external-data fields, for test/import/invalid-graphs.test.

Usage: invalid_graphs.py OUTDIR   (writes OUTDIR/NAME.onnx for each case)
The models are built with onnx.helper, bypassing onnx.checker on purpose.
"""
import os
import sys

import numpy as np
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
F = T.FLOAT
vi = h.make_tensor_value_info


def save(name, nodes, inputs, outputs, inits=(), opsets=(("", 14),)):
    graph = h.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    model = h.make_model(graph, opset_imports=[h.make_opsetid(d, v) for d, v in opsets])
    with open(os.path.join(out, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())


x23, y23 = vi("x", F, [2, 3]), vi("y", F, [2, 3])
relu = h.make_node("Relu", ["x"], ["y"], name="r")

# Names and writers.
save("dup_outputs", [relu], [x23], [y23, y23])
save("dup_inputs", [h.make_node("Add", ["x", "x"], ["y"], name="a")], [x23, x23], [y23])
save("two_writers", [relu, h.make_node("Neg", ["x"], ["y"], name="n")], [x23], [y23])
save("writes_input", [h.make_node("Neg", ["x"], ["x"], name="n"), relu], [x23], [y23])
save("no_outputs", [h.make_node("ArgMin", [], [], name="am")], [x23],
     [vi("result", T.INT64, [1])])
save("undefined_output", [relu], [x23], [y23, vi("z", F, [2, 3])])
w = nh.from_array(np.ones((2, 3), np.float32), "w")
save("dup_initializers", [h.make_node("Add", ["x", "w"], ["y"], name="a")], [x23], [y23],
     [w, nh.from_array(np.ones((2, 3), np.float32), "w")])

# Outputs that alias: a second name for the same value, and an input
# passed through. These are valid and must compile and run.
save("alias_outputs", [relu, h.make_node("Identity", ["y"], ["z"], name="i")], [x23],
     [y23, vi("z", F, [2, 3])])
save("passthrough", [relu], [x23], [y23, vi("x", F, [2, 3])])
x = np.array([[-1.5, 0.0, 2.0], [3.25, -0.5, 1.0]], np.float32)
for name, outputs in (("alias_outputs", [np.maximum(x, 0), np.maximum(x, 0)]),
                      ("passthrough", [np.maximum(x, 0), x])):
    d = os.path.join(out, name + "_data")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "input_0.pb"), "wb").write(nh.from_array(x).SerializeToString())
    for i, y in enumerate(outputs):
        open(os.path.join(d, f"output_{i}.pb"), "wb").write(nh.from_array(y).SerializeToString())

# Opsets.
save("opset_zero", [relu], [x23], [y23], opsets=(("", 0),))
save("no_default_opset", [relu], [x23], [y23], opsets=(("com.example", 1),))
# An op newer than the model's opset is invalid: Trilu (opset 14) at 13.
save("op_too_new", [h.make_node("Trilu", ["x"], ["y"], name="t")], [x23], [y23],
     opsets=(("", 13),))

# Declared output types and shapes that contradict what the graph computes.
save("declared_shape", [relu], [x23], [vi("y", F, [3, 2])])
save("declared_type", [relu], [x23], [vi("y", T.INT64, [2, 3])])

# Sizes.
save("zero_dim", [h.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", F, [0, 3])],
     [vi("y", F, [0, 3])])
big = 1 << 40
save("bytes_overflow", [h.make_node("Relu", ["x"], ["y"], name="r")],
     [vi("x", F, [big, big])], [vi("y", F, [big, big])])

# External data with fields that are not numbers.
open(os.path.join(out, "w.bin"), "wb").write(np.ones(4, np.float32).tobytes())
for case, (key, value) in {"ext_offset_abc": ("offset", "abc"),
                           "ext_offset_empty": ("offset", ""),
                           "ext_offset_negative": ("offset", "-4"),
                           "ext_length_overflow": ("length", "99999999999999999999"),
                           "ext_offset_past_end": ("offset", "1000")}.items():
    t = nh.from_array(np.ones((2, 2), np.float32), "w")
    t.ClearField("raw_data")
    t.data_location = T.EXTERNAL
    fields = {"location": "w.bin", "offset": "0", "length": "16", key: value}
    for k, v in fields.items():
        e = t.external_data.add()
        e.key, e.value = k, v
    save(case, [h.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
         [vi("x", F, [2, 2])], [vi("y", F, [2, 2])], [t])
