#!/usr/bin/python3
"""The bundled decoder's weights as an export for generation.

  decoder_pkv.py OUT.onnx [--shape-reader] [--batch B]

writes a one-token-per-call export of examples/decoder (the same weights,
regenerated from its seed): inputs input_ids [B, 1], position_ids [B, 1]
and past_key_values.L.key / .value [B, 4, past, 64] (past dynamic; B 1
unless given); outputs logits [B, 1, 512] and present.L.key / .value, each
Concat(past, new row) along the rows, as exporters for generation write
them. The attention over the present has no mask: one query row sees all
of it. With --shape-reader the first block also reads the past's length
through a Shape node (as exports that derive positions from it do), which
memc refuses.
"""
import math
import os
import sys

import onnx
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from decoder_greedy import example, ex  # noqa: E402

import numpy as np  # noqa: E402


def build(w, shape_reader, batch):
    d, h = ex.DEC["d"], ex.DEC["heads"]
    hd = d // h
    gb = ex.GraphBuilder()
    tok = gb.op("Gather", [gb.init("transformer.wte.weight", w["wte"]), "input_ids"])
    pos = gb.op("Gather", [gb.init("transformer.wpe.weight", w["wpe"]), "position_ids"])
    x = gb.op("Add", [tok, pos])

    def linear(inp, name, wb):
        mm = gb.op("MatMul", [inp, gb.init(f"{name}.weight", wb[0])])
        return gb.op("Add", [gb.init(f"{name}.bias", wb[1]), mm])

    def layernorm(inp, name, pair):
        return gb.op("LayerNormalization",
                     [inp, gb.init(f"{name}.weight", pair[0]),
                      gb.init(f"{name}.bias", pair[1])], axis=-1, epsilon=1e-5)

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [batch, 1]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, [batch, 1])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                             [batch, 1, ex.DEC["vocab"]])]
    for i, blk in enumerate(w["blocks"]):
        p = f"transformer.h.{i}"
        a = layernorm(x, f"{p}.ln_1", blk["ln1"])

        def heads(lin):
            r = gb.op("Reshape", [lin, gb.const(np.array([batch, 1, h, hd], np.int64))])
            return gb.op("Transpose", [r], perm=[0, 2, 1, 3])

        q = heads(linear(a, f"{p}.attn.q_proj", blk["q"]))
        present = []
        for kind, wb in (("key", blk["k"]), ("value", blk["v"])):
            past = f"past_key_values.{i}.{kind}"
            inputs.append(helper.make_tensor_value_info(
                past, TensorProto.FLOAT, [batch, h, "past", hd]))
            out = f"present.{i}.{kind}"
            gb.nodes.append(helper.make_node(
                "Concat", [past, heads(linear(a, f"{p}.attn.{kind[0]}_proj", wb))],
                [out], name=f"/h.{i}/attn/Concat_{kind}", axis=2))
            outputs.append(helper.make_tensor_value_info(
                out, TensorProto.FLOAT, [batch, h, "total", hd]))
            present.append(out)
        k, v = present
        if shape_reader and i == 0:
            length = gb.op("Shape", [k])
            gb.nodes[-1].name = "/h.0/attn/Shape"
            outputs.append(helper.make_tensor_value_info(length, TensorProto.INT64, [4]))
        kt = gb.op("Transpose", [k], perm=[0, 1, 3, 2])
        s = gb.op("Div", [gb.op("MatMul", [q, kt]),
                          gb.const(np.array(math.sqrt(hd), np.float32))])
        probs = gb.op("Softmax", [s], axis=-1)
        ctx = gb.op("Transpose", [gb.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        ctx = gb.op("Reshape", [ctx, gb.const(np.array([batch, 1, d], np.int64))])
        x = gb.op("Add", [x, linear(ctx, f"{p}.attn.c_proj", blk["o"])])
        m = layernorm(x, f"{p}.ln_2", blk["ln2"])
        m = linear(m, f"{p}.mlp.c_fc", blk["fc"])
        e = gb.op("Erf", [gb.op("Div", [m, gb.const(np.array(1.4142135381698608, np.float32))])])
        e = gb.op("Add", [e, gb.const(np.array(1.0, np.float32))])
        m = gb.op("Mul", [gb.op("Mul", [m, e]), gb.const(np.array(0.5, np.float32))])
        x = gb.op("Add", [x, linear(m, f"{p}.mlp.c_proj", blk["proj"])])
    x = layernorm(x, "transformer.ln_f", w["lnf"])
    gb.op("MatMul", [x, gb.init("lm_head.weight", w["head"])])
    gb.nodes[-1].output[0] = "logits"
    graph = helper.make_graph(gb.nodes, "decoder_pkv", inputs, outputs,
                              initializer=gb.inits)
    model = helper.make_model(graph, producer_name="memc-tests",
                              opset_imports=[helper.make_opsetid("", ex.OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    w, _ = example()
    args = sys.argv[2:]
    batch = int(args[args.index("--batch") + 1]) if "--batch" in args else 1
    onnx.save(build(w, "--shape-reader" in args, batch), sys.argv[1])


if __name__ == "__main__":
    main()
