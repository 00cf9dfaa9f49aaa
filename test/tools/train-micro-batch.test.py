#!/usr/bin/python3
"""train-micro-batch.test.py OUT.onnx TRAINING_MODE: a small CNN train
graph, batch 8: conv 3->4 (pad 1), BatchNormalization (training_mode 0 or
1), ReLU, max-pool 2, conv 4->4, ReLU, mean over H and W: [8, 4]."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(5)
training = int(sys.argv[2])


def init(name, *shape):
    return numpy_helper.from_array(
        (rng.standard_normal(shape) * 0.3).astype(np.float32), name)


inits = [init("w1", 4, 3, 3, 3), init("b1", 4), init("w2", 4, 4, 3, 3),
         init("b2", 4),
         numpy_helper.from_array(np.ones(4, np.float32), "s"),
         numpy_helper.from_array(np.zeros(4, np.float32), "bb"),
         numpy_helper.from_array(np.zeros(4, np.float32), "rm"),
         numpy_helper.from_array(np.ones(4, np.float32), "rv")]
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c1", "s", "bb", "rm", "rv"],
                     ["n1", "m1", "v1"][:1 + 2 * training], training_mode=training,
                     momentum=0.9),
    helper.make_node("Relu", ["n1"], ["r1"]),
    helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2],
                     strides=[2, 2]),
    helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2"], ["r2"]),
    helper.make_node("ReduceMean", ["r2"], ["y"], axes=[2, 3], keepdims=0),
]
graph = helper.make_graph(
    nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                 [8, 3, 8, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 4])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
