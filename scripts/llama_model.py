#!/usr/bin/python3
"""Writes a Llama-architecture causal LM as transformers' ONNX export spells
it, with random weights, for compile-time and end-to-end measurements at
real scale: token embedding (Gather), per layer RMSNorm, Q/K/V projections,
rotary position embedding (rotate_half with Slice + Neg + Concat), grouped
K/V heads repeated by Unsqueeze + Expand + Reshape, causal attention
(MatMul, scale, additive mask, Softmax, MatMul), output projection, residual,
RMSNorm and a SiLU-gated MLP; a final RMSNorm and the LM head.

Usage: llama_model.py OUT.onnx [layers=30] [d=576] [heads=9] [kv_heads=3]
         [ffn=1536] [seq=128] [vocab=49152] [batch=1] [external=0] [data=DIR]
The defaults are SmolLM-135M's shapes with an untied LM head (163M
parameters, 651 MB of f32 weights; inline, or beside OUT.onnx with
`external=1`). `data=DIR` also writes DIR/input_0.pb (random token ids) and
DIR/output_0.pb, the logits computed in float64 by NumPy from the same
weights (an independent reference for memc-run --data).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(layers=30, d=576, heads=9, kv_heads=3, ffn=1536, seq=128,
          vocab=49152, batch=1):
    if d % heads or heads % kv_heads:
        sys.exit("heads must divide d and kv_heads must divide heads")
    hd, rep = d // heads, heads // kv_heads
    rng = np.random.default_rng(135)
    inits, nodes = [], []

    def f32(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a, np.float32), name))
        return name

    def i64(name, a):
        inits.append(numpy_helper.from_array(np.array(a, np.int64), name))
        return name

    def weight(name, rows, cols):
        return f32(name, rng.standard_normal((rows, cols)) / np.sqrt(rows))

    def node(op, ins, name, **attrs):
        nodes.append(helper.make_node(op, ins, [name], name=name, **attrs))
        return name

    # Shared constants.
    f32("eps", 1e-5)
    f32("inv_sqrt_hd", 1 / np.sqrt(hd))
    i64("axis_last", [-1])
    i64("axis2", [2])
    i64("q_split", [batch, seq, heads, hd])
    i64("kv_split", [batch, seq, kv_heads, hd])
    i64("grouped", [batch, kv_heads, rep, seq, hd])
    i64("ungroup", [batch, heads, seq, hd])
    i64("merge", [batch, seq, d])
    i64("half0", [0]), i64("half1", [hd // 2]), i64("halfend", [hd])
    i64("axis3", [3])
    f32("mask", np.triu(np.full((seq, seq), -1e9, np.float32), 1))
    inv_freq = 1.0 / (10000 ** (np.arange(0, hd, 2) / hd))
    angles = np.outer(np.arange(seq), inv_freq)
    angles = np.concatenate([angles, angles], axis=-1)
    f32("cos", np.cos(angles))
    f32("sin", np.sin(angles))

    def rmsnorm(x, p):
        sq = node("Mul", [x, x], p + "_sq")
        mean = node("ReduceMean", [sq], p + "_mean", axes=[-1], keepdims=1)
        var = node("Add", [mean, "eps"], p + "_var")
        rms = node("Sqrt", [var], p + "_rms")
        inv = node("Reciprocal", [rms], p + "_inv")
        norm = node("Mul", [x, inv], p + "_norm")
        g = f32(p + ".weight", 1 + 0.1 * rng.standard_normal(d))
        return node("Mul", [norm, g], p + "_out")

    def rope(x, p):  # x: [batch, heads, seq, hd]
        lo = node("Slice", [x, "half0", "half1", "axis3"], p + "_lo")
        hi = node("Slice", [x, "half1", "halfend", "axis3"], p + "_hi")
        neg = node("Neg", [hi], p + "_neg")
        rot = node("Concat", [neg, lo], p + "_rot", axis=-1)
        a = node("Mul", [x, "cos"], p + "_xcos")
        b = node("Mul", [rot, "sin"], p + "_rsin")
        return node("Add", [a, b], p + "_rope")

    f32("embed.weight", rng.standard_normal((vocab, d)) * 0.02)
    h = node("Gather", ["embed.weight", "input_ids"], "embed")
    for l in range(layers):
        p = f"layers.{l}"
        x = rmsnorm(h, p + ".input_norm")
        q = node("MatMul", [x, weight(p + ".q_proj", d, d)], p + ".q")
        k = node("MatMul", [x, weight(p + ".k_proj", d, kv_heads * hd)], p + ".k")
        v = node("MatMul", [x, weight(p + ".v_proj", d, kv_heads * hd)], p + ".v")
        q = node("Reshape", [q, "q_split"], p + ".q_heads")
        q = rope(node("Transpose", [q], p + ".q_t", perm=[0, 2, 1, 3]), p + ".q")
        kv = []
        for name, t in (("k", k), ("v", v)):
            t = node("Reshape", [t, "kv_split"], f"{p}.{name}_heads")
            t = node("Transpose", [t], f"{p}.{name}_t", perm=[0, 2, 1, 3])
            if name == "k":
                t = rope(t, p + ".k")
            if rep > 1:
                t = node("Unsqueeze", [t, "axis2"], f"{p}.{name}_u")
                t = node("Expand", [t, "grouped"], f"{p}.{name}_e")
                t = node("Reshape", [t, "ungroup"], f"{p}.{name}_rep")
            kv.append(t)
        kt = node("Transpose", [kv[0]], p + ".k_tt", perm=[0, 1, 3, 2])
        s = node("MatMul", [q, kt], p + ".scores")
        s = node("Mul", [s, "inv_sqrt_hd"], p + ".scaled")
        s = node("Add", [s, "mask"], p + ".masked")
        a = node("Softmax", [s], p + ".probs", axis=-1)
        o = node("MatMul", [a, kv[1]], p + ".ctx")
        o = node("Transpose", [o], p + ".ctx_t", perm=[0, 2, 1, 3])
        o = node("Reshape", [o, "merge"], p + ".ctx_m")
        o = node("MatMul", [o, weight(p + ".o_proj", d, d)], p + ".o")
        h = node("Add", [h, o], p + ".resid1")
        x = rmsnorm(h, p + ".post_norm")
        g = node("MatMul", [x, weight(p + ".gate_proj", d, ffn)], p + ".gate")
        g = node("Mul", [g, node("Sigmoid", [g], p + ".gate_sig")], p + ".silu")
        u = node("MatMul", [x, weight(p + ".up_proj", d, ffn)], p + ".up")
        m = node("Mul", [g, u], p + ".gated")
        m = node("MatMul", [m, weight(p + ".down_proj", ffn, d)], p + ".down")
        h = node("Add", [h, m], p + ".resid2")
    h = rmsnorm(h, "norm")
    node("MatMul", [h, weight("lm_head", d, vocab)], "logits")
    graph = helper.make_graph(
        nodes, "llama",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [batch, seq])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, seq, vocab])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def reference(model, ids, layers=30, d=576, heads=9, kv_heads=3, ffn=1536,
              seq=128, vocab=49152, batch=1):
    """The model's logits in float64, written from the architecture (not
    by interpreting the graph)."""
    w = {t.name: numpy_helper.to_array(t).astype(np.float64)
         for t in model.graph.initializer}
    hd, rep = d // heads, heads // kv_heads

    def rmsnorm(x, p):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * w[p + ".weight"]

    def rope(x):
        rot = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
        return x * w["cos"] + rot * w["sin"]

    def heads_of(x, n):
        return x.reshape(batch, seq, n, hd).transpose(0, 2, 1, 3)

    h = w["embed.weight"][ids]
    for l in range(layers):
        p = f"layers.{l}"
        x = rmsnorm(h, p + ".input_norm")
        q = rope(heads_of(x @ w[p + ".q_proj"], heads))
        k = np.repeat(rope(heads_of(x @ w[p + ".k_proj"], kv_heads)), rep, axis=1)
        v = np.repeat(heads_of(x @ w[p + ".v_proj"], kv_heads), rep, axis=1)
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd) + w["mask"]
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        o = (a @ v).transpose(0, 2, 1, 3).reshape(batch, seq, d)
        h = h + o @ w[p + ".o_proj"]
        x = rmsnorm(h, p + ".post_norm")
        g = x @ w[p + ".gate_proj"]
        h = h + (g / (1 + np.exp(-g)) * (x @ w[p + ".up_proj"])) @ w[p + ".down_proj"]
    return rmsnorm(h, "norm") @ w["lm_head"]


def main(out, external="0", data=None, **kw):
    kw = {k: int(v) for k, v in kw.items()}
    model = build(**kw)
    if data:
        size = {"vocab": 49152, "batch": 1, "seq": 128} | kw
        ids = np.random.default_rng(7).integers(
            0, size["vocab"], (size["batch"], size["seq"])).astype(np.int64)
        os.makedirs(data, exist_ok=True)
        logits = reference(model, ids, **kw).astype(np.float32)
        for name, t in (("input_0", numpy_helper.from_array(ids, "input_ids")),
                        ("output_0", numpy_helper.from_array(logits, "logits"))):
            with open(os.path.join(data, name + ".pb"), "wb") as f:
                f.write(t.SerializeToString())
    if int(external):
        onnx.save_model(model, out, save_as_external_data=True,
                        location=os.path.basename(out) + ".data")
    else:
        onnx.save_model(model, out)
    n = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"{out}: {len(model.graph.node)} nodes, {n / 1e6:.1f}M parameters")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    main(sys.argv[1], **dict(a.split("=", 1) for a in sys.argv[2:]))
