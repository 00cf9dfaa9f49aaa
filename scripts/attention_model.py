#!/usr/bin/python3
"""Writes one multi-head self-attention block as exporters spell it, for
FuseMax tests and measurements: MatMul q/k/v, Reshape + Transpose into heads,
MatMul, a scale, an optional causal mask, Softmax, MatMul, Transpose,
Reshape, MatMul. The reference output is computed in float64, so that fused
and unfused compilations can both be measured against the same exact value.

Usage: attention_model.py OUTDIR [seq=256] [d=128] [heads=4] [batch=1]
         [causal=0] [mask=add|where|trilu|pad|leftpad] [scale=div|mul|q]
         [kv_heads=HEADS]
  kv_heads    grouped K/V heads (GQA, as Llama exports it): K and V are
              projected to kv_heads heads of d/heads features each, and
              each is repeated for heads/kv_heads query heads by
              Unsqueeze + Expand + Reshape (transformers' repeat_kv);
              must divide heads
  mask=add    scores + triangle of -1e9 (a constant initializer)
  mask=where  Where(triangle of bools, -inf, scores), PyTorch's masked_fill
  mask=trilu  Where(Trilu(ones), scores, float32 min): the mask computed in
              the graph, as torch.tril(torch.ones(T, T)) in forward() exports
  mask=pad    a second input `pad` [batch, seq] of 1 (key kept) / 0, added
              as BERT does: scores + (1 - pad) * -10000, broadcast over
              heads and queries (needs no causal=1); the last seq/4 keys of
              each sequence are padding
  mask=leftpad  the same input, applied as Where(pad, scores, -inf), with
              the first 3 seq/8 keys padding
  scale=div   scores / sqrt(hd);  mul: scores * 1/sqrt(hd);  q: Q * 1/sqrt(hd)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main(outdir, seq=256, d=128, heads=4, batch=1, causal=0, mask="add",
         scale="div", kv_heads=None):
    seq, d, heads, batch, causal = map(int, (seq, d, heads, batch, causal))
    kvh = heads if kv_heads is None else int(kv_heads)
    if kvh < 1 or heads % kvh:
        sys.exit(f"kv_heads={kvh} does not divide heads={heads}")
    rep = heads // kvh
    rng = np.random.default_rng(seq * 7 + d)
    hd = d // heads
    # Without grouping the weights (and so every existing model) are the
    # same as before kv_heads existed.
    w = {n: (rng.standard_normal((d, d if n in ("wq", "wo") else kvh * hd))
             / np.sqrt(d)).astype(np.float32)
         for n in ("wq", "wk", "wv", "wo")}
    f32 = lambda name, a: numpy_helper.from_array(np.asarray(a, np.float32), name)
    i64 = lambda name, a: numpy_helper.from_array(np.array(a, np.int64), name)
    inits = [f32(n, a) for n, a in w.items()]
    inits += [i64("split", [batch, seq, heads, hd]),
              i64("merge", [batch, seq, d])]
    nodes = []
    for n in "qkv":
        split = "split" if n == "q" or rep == 1 else "kvsplit"
        nodes += [helper.make_node("MatMul", ["x", "w" + n], [n + "p"]),
                  helper.make_node("Reshape", [n + "p", split], [n + "s"])]
    if rep > 1:
        # repeat_kv on [batch, kvh, seq, hd]: x[:, :, None].expand(batch,
        # kvh, rep, seq, hd).reshape(batch, heads, seq, hd).
        inits += [i64("kvsplit", [batch, seq, kvh, hd]), i64("axis2", [2]),
                  i64("grouped", [batch, kvh, rep, seq, hd]),
                  i64("ungroup", [batch, heads, seq, hd])]
        for n in "kv":
            nodes += [helper.make_node("Transpose", [n + "s"], [n + "g"], perm=[0, 2, 1, 3]),
                      helper.make_node("Unsqueeze", [n + "g", "axis2"], [n + "u"]),
                      helper.make_node("Expand", [n + "u", "grouped"], [n + "e"]),
                      helper.make_node("Reshape", [n + "e", "ungroup"], [n + "r"])]
    q = "qs"
    if scale == "q":
        inits.append(f32("inv", 1 / np.sqrt(hd)))
        nodes.append(helper.make_node("Mul", ["qs", "inv"], ["qsc"]))
        q = "qsc"
    nodes.append(helper.make_node("Transpose", [q], ["qh"], perm=[0, 2, 1, 3]))
    if rep > 1:  # K and V are already [batch, heads, seq, hd]
        nodes += [helper.make_node("Transpose", ["kr"], ["kt"], perm=[0, 1, 3, 2]),
                  helper.make_node("Identity", ["vr"], ["vh"])]
    else:
        nodes += [helper.make_node("Transpose", ["ks"], ["kt"], perm=[0, 2, 3, 1]),
                  helper.make_node("Transpose", ["vs"], ["vh"], perm=[0, 2, 1, 3])]
    nodes.append(helper.make_node("MatMul", ["qh", "kt"], ["qk"]))
    s = "qk"
    if scale == "div":
        inits.append(f32("scale", np.sqrt(hd)))
        nodes.append(helper.make_node("Div", ["qk", "scale"], ["sc"]))
        s = "sc"
    elif scale == "mul":
        inits.append(f32("inv", 1 / np.sqrt(hd)))
        nodes.append(helper.make_node("Mul", ["qk", "inv"], ["sc"]))
        s = "sc"
    upper = np.triu(np.ones((seq, seq), bool), 1)
    if causal and mask == "add":
        inits.append(f32("mask", np.where(upper, -1e9, 0)))
        nodes.append(helper.make_node("Add", [s, "mask"], ["scm"]))
        s = "scm"
    elif causal and mask == "trilu":
        inits += [numpy_helper.from_array(np.ones((seq, seq), bool), "ones"),
                  f32("fmin", np.finfo(np.float32).min)]
        nodes += [helper.make_node("Trilu", ["ones"], ["keep"], upper=0),
                  helper.make_node("Where", ["keep", s, "fmin"], ["scm"])]
        s = "scm"
    elif causal:
        inits += [numpy_helper.from_array(upper, "hide"), f32("ninf", -np.inf)]
        nodes.append(helper.make_node("Where", ["hide", "ninf", s], ["scm"]))
        s = "scm"
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, seq, d])]
    keep = np.ones((batch, seq), np.float32)
    if mask in ("pad", "leftpad"):
        if mask == "pad":
            keep[:, seq - seq // 4:] = 0
        else:
            keep[:, :3 * seq // 8] = 0
        inputs.append(helper.make_tensor_value_info("pad", TensorProto.FLOAT, [batch, seq]))
        inits.append(numpy_helper.from_array(np.array([batch, 1, 1, seq], np.int64), "bshape"))
        nodes.append(helper.make_node("Reshape", ["pad", "bshape"], ["pad4"]))
        if mask == "pad":
            inits += [f32("one", 1.0), f32("big", -10000.0)]
            nodes += [helper.make_node("Sub", ["one", "pad4"], ["inv"]),
                      helper.make_node("Mul", ["inv", "big"], ["bias"]),
                      helper.make_node("Add", [s, "bias"], ["spad"])]
        else:
            inits.append(f32("ninf2", -np.inf))
            nodes += [helper.make_node("Cast", ["pad4"], ["padb"], to=TensorProto.BOOL),
                      helper.make_node("Where", ["padb", s, "ninf2"], ["spad"])]
        s = "spad"
    nodes += [helper.make_node("Softmax", [s], ["p"], axis=-1),
              helper.make_node("MatMul", ["p", "vh"], ["ctx"]),
              helper.make_node("Transpose", ["ctx"], ["ct"], perm=[0, 2, 1, 3]),
              helper.make_node("Reshape", ["ct", "merge"], ["cm"]),
              helper.make_node("MatMul", ["cm", "wo"], ["y"])]
    g = helper.make_graph(
        nodes, "attention",
        inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, seq, d])],
        inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    x = rng.standard_normal((batch, seq, d)).astype(np.float32)

    # The reference, in float64 from the same float32 inputs and weights.
    W = {n: a.astype(np.float64) for n, a in w.items()}
    X = x.astype(np.float64)
    heads_of = lambda t, h: t.reshape(batch, seq, h, hd).transpose(0, 2, 1, 3)
    Q = heads_of(X @ W["wq"], heads)
    K, V = (np.repeat(heads_of(X @ W[n], kvh), rep, axis=1) for n in ("wk", "wv"))
    S = Q @ K.transpose(0, 1, 3, 2) / np.sqrt(hd)
    if causal:
        S = np.where(upper, -np.inf, S)
    if mask == "pad":
        S = S + ((1 - keep) * -10000.0)[:, None, None, :]
    elif mask == "leftpad":
        S = np.where(keep[:, None, None, :] > 0, S, -np.inf)
    E = np.exp(S - S.max(-1, keepdims=True))
    ctx = (E / E.sum(-1, keepdims=True)) @ V
    y = ctx.transpose(0, 2, 1, 3).reshape(batch, seq, d) @ W["wo"]

    os.makedirs(os.path.join(outdir, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(outdir, "model.onnx"))
    arrays = [("input_0", x), ("output_0", y.astype(np.float32))]
    if mask in ("pad", "leftpad"):
        arrays.append(("input_1", keep))
    for name, a in arrays:
        with open(os.path.join(outdir, "test_data_set_0", name + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(a).SerializeToString())
    print(f"max_abs_ref: {np.abs(y).max():.6g}")


if __name__ == "__main__":
    # An option is not an output directory: `--help` once left a directory
    # of that name behind.
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        print(__doc__.strip())
        sys.exit(0 if sys.argv[1:2] in (["-h"], ["--help"]) else 2)
    main(sys.argv[1], **dict(a.split("=", 1) for a in sys.argv[2:]))
