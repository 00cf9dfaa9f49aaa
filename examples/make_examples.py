#!/usr/bin/python3
"""Generate memc's example models, deterministically, with reference outputs.

Each example is written in the ONNX backend-test layout that memc-run reads:

    examples/NAME/model.onnx
    examples/NAME/test_data_set_0/input_0.pb ...   (graph inputs, in order)
    examples/NAME/test_data_set_0/output_0.pb ...  (graph outputs, in order)

The graphs are built with onnx.helper the way a PyTorch exporter lays them
out (MatMul+Add for Linear, Constant nodes for scalars and shapes, erf-GELU,
...). Weights and inputs come from one fixed-seed NumPy generator per example,
so a rerun writes byte-identical files. The expected outputs are computed by a
separate NumPy forward pass below (float64, written as float32) that never
reads the ONNX graph: it is an independent implementation of the same model,
so a bug in the graph builder and a bug in memc cannot cancel out.
(onnx 1.12 has no reference runtime; scripts/bench_ort.py cross-checks these
references against ONNX Runtime.)

An example is regenerated only when its files are missing or this script
changed: each example directory holds a stamp file with this script's SHA-256.

    /usr/bin/python3 examples/make_examples.py [--quiet] [--force] [NAME...]
"""

import argparse
import hashlib
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
STAMP = ".generated-by"  # holds the SHA-256 of this script
OPSET = 17  # torch.onnx's default opset; LayerNormalization needs >= 17
SEED = 20240611  # any fixed value; changing it changes every example


# --------------------------------------------------------------------------
# Small helpers shared by the builders
# --------------------------------------------------------------------------

class GraphBuilder:
    """Collects nodes/initializers with exporter-like names (/blk/Op_N)."""

    def __init__(self):
        self.nodes = []
        self.inits = []
        self.counter = {}

    def _name(self, scope, op):
        key = f"{scope}/{op}"
        n = self.counter.get(key, 0)
        self.counter[key] = n + 1
        return key if n == 0 else f"{key}_{n}"

    def op(self, op, inputs, scope="", n_out=1, **attrs):
        name = self._name(scope, op)
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, scope=""):
        """A Constant node, as exporters emit for scalars and shape vectors."""
        arr = np.asarray(value)
        name = self._name(scope, "Constant")
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node(
            "Constant", [], [out], name=name,
            value=numpy_helper.from_array(arr, name=out)))
        return out

    def init(self, name, arr):
        """A weight initializer (kept out of the graph as a parameter)."""
        self.inits.append(numpy_helper.from_array(arr, name=name))
        return name


def make_model(gb, name, inputs, outputs, doc):
    graph = helper.make_graph(gb.nodes, name, inputs, outputs,
                              initializer=gb.inits)
    model = helper.make_model(
        graph, producer_name="memc-examples", producer_version="1",
        opset_imports=[helper.make_opsetid("", OPSET)], doc_string=doc)
    # Pin the IR version to what onnx 1.12 writes for opset 17 so that any
    # ONNX reader of that era (libonnx in Debian 12) accepts the file.
    model.ir_version = 8
    # Both must hold for every example (the brief for memc requires it).
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    for out in inferred.graph.output:
        dims = [d.dim_value for d in out.type.tensor_type.shape.dim]
        assert all(d > 0 for d in dims), f"{name}: output {out.name} {dims}"
    return model


def write_example(dirname, model, inputs, outputs):
    """Write model + test_data_set_0 with TensorProtos named like the graph."""
    os.makedirs(os.path.join(dirname, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(dirname, "model.onnx"))
    for kind, values, infos in (("input", inputs, model.graph.input),
                                ("output", outputs, model.graph.output)):
        assert len(values) == len(infos)
        for i, (arr, info) in enumerate(zip(values, infos)):
            t = numpy_helper.from_array(arr, name=info.name)
            path = os.path.join(dirname, "test_data_set_0", f"{kind}_{i}.pb")
            with open(path, "wb") as f:
                f.write(t.SerializeToString())


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


# --------------------------------------------------------------------------
# NumPy reference ops (float64). Written from the ONNX operator definitions.
# --------------------------------------------------------------------------

_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; math.erf is exact


def ref_layernorm(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def ref_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def ref_gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def ref_conv2d(x, w, b=None, pad=1):
    """NCHW conv, stride 1, square kernel, symmetric zero padding (im2col)."""
    n, c, h, wd = x.shape
    oc, ic, kh, kw = w.shape
    assert ic == c
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + oh, j:j + ow]
    y = np.einsum("nckls,ockl->nos", cols.reshape(n, c, kh, kw, oh * ow), w)
    y = y.reshape(n, oc, oh, ow)
    if b is not None:
        y = y + b.reshape(1, oc, 1, 1)
    return y


def ref_batchnorm(x, scale, bias, mean, var, eps=1e-5):
    s = lambda v: v.reshape(1, -1, 1, 1)
    return (x - s(mean)) / np.sqrt(s(var) + eps) * s(scale) + s(bias)


def ref_maxpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


# --------------------------------------------------------------------------
# a. decoder: GPT-style causal decoder, as torch.onnx.export (opset 17) writes
# --------------------------------------------------------------------------

DEC = dict(vocab=512, seq=256, d=256, heads=4, layers=4, ffn=1024)


def decoder_weights(rng):
    v, t, d, f = DEC["vocab"], DEC["seq"], DEC["d"], DEC["ffn"]
    g = lambda *s: rng.normal(0.0, 0.02, size=s)  # GPT-2 init scale

    def ln():
        # Not exactly 1/0 (a trained model's are not): catches a swapped
        # scale/bias or a dropped affine part.
        return 1.0 + 0.1 * rng.normal(size=d), 0.02 * rng.normal(size=d)

    w = {"wte": g(v, d), "wpe": g(t, d), "blocks": []}
    for _ in range(DEC["layers"]):
        blk = {}
        blk["ln1"] = ln()
        for p in ("q", "k", "v", "o"):
            blk[p] = (g(d, d), g(d))  # [in, out] as the exporter stores Linear
        blk["ln2"] = ln()
        blk["fc"] = (g(d, f), g(f))
        blk["proj"] = (g(f, d), g(d))
        w["blocks"].append(blk)
    w["lnf"] = ln()
    w["head"] = g(d, v)  # untied LM head, no bias (like GPT-2's lm_head)
    # Round once to float32 so the reference sees exactly the model's values.
    return _to_f32_tree(w)


def _to_f32_tree(x):
    if isinstance(x, dict):
        return {k: _to_f32_tree(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_f32_tree(v) for v in x)
    return f32(x)


def build_decoder(w):
    v, t, d, h = DEC["vocab"], DEC["seq"], DEC["d"], DEC["heads"]
    hd = d // h
    gb = GraphBuilder()

    # Embeddings: token Gather + positional Gather with constant position ids.
    tok = gb.op("Gather", [gb.init("transformer.wte.weight", w["wte"]), "input_ids"],
                scope="/transformer/wte")
    pos_ids = gb.const(np.arange(t, dtype=np.int64).reshape(1, t), "/transformer")
    pos = gb.op("Gather", [gb.init("transformer.wpe.weight", w["wpe"]), pos_ids],
                scope="/transformer/wpe")
    x = gb.op("Add", [tok, pos], scope="/transformer")

    def linear(inp, name, wb, scope):
        mm = gb.op("MatMul", [inp, gb.init(f"{name}.weight", wb[0])], scope=scope)
        return gb.op("Add", [gb.init(f"{name}.bias", wb[1]), mm], scope=scope)

    def layernorm(inp, name, gb_pair, scope):
        return gb.op("LayerNormalization",
                     [inp, gb.init(f"{name}.weight", gb_pair[0]),
                      gb.init(f"{name}.bias", gb_pair[1])],
                     scope=scope, axis=-1, epsilon=1e-5)

    # The causal mask, as `torch.tril(torch.ones(T, T, dtype=torch.bool))` in
    # forward() exports: a constant ones matrix fed to Trilu (upper=0).
    ones = gb.const(np.ones((t, t), dtype=np.bool_), "/transformer")
    causal = gb.op("Trilu", [ones], scope="/transformer", upper=0)
    # torch.finfo(float32).min, what HF GPT-2 fills masked scores with.
    neg = gb.const(np.array(np.finfo(np.float32).min, dtype=np.float32),
                   "/transformer")

    for i, blk in enumerate(w["blocks"]):
        p = f"transformer.h.{i}"
        s = f"/transformer/h.{i}"
        a = layernorm(x, f"{p}.ln_1", blk["ln1"], f"{s}/ln_1")

        def heads(lin, perm):
            r = gb.op("Reshape", [lin, gb.const(np.array([1, t, h, hd], np.int64), f"{s}/attn")],
                      scope=f"{s}/attn")
            return gb.op("Transpose", [r], scope=f"{s}/attn", perm=perm)

        q = heads(linear(a, f"{p}.attn.q_proj", blk["q"], f"{s}/attn/q_proj"), [0, 2, 1, 3])
        # K goes straight to [1, h, hd, T] (transpose(1,2) then transpose(-2,-1)
        # fused into one perm, as the exporter's peephole pass does).
        k = heads(linear(a, f"{p}.attn.k_proj", blk["k"], f"{s}/attn/k_proj"), [0, 2, 3, 1])
        vv = heads(linear(a, f"{p}.attn.v_proj", blk["v"], f"{s}/attn/v_proj"), [0, 2, 1, 3])

        scores = gb.op("MatMul", [q, k], scope=f"{s}/attn")
        scores = gb.op("Div", [scores, gb.const(np.array(math.sqrt(hd), np.float32), f"{s}/attn")],
                       scope=f"{s}/attn")
        scores = gb.op("Where", [causal, scores, neg], scope=f"{s}/attn")
        probs = gb.op("Softmax", [scores], scope=f"{s}/attn", axis=-1)
        ctx = gb.op("MatMul", [probs, vv], scope=f"{s}/attn")
        ctx = gb.op("Transpose", [ctx], scope=f"{s}/attn", perm=[0, 2, 1, 3])
        ctx = gb.op("Reshape", [ctx, gb.const(np.array([1, t, d], np.int64), f"{s}/attn")],
                    scope=f"{s}/attn")
        attn_out = linear(ctx, f"{p}.attn.c_proj", blk["o"], f"{s}/attn/c_proj")
        x = gb.op("Add", [x, attn_out], scope=s)

        m = layernorm(x, f"{p}.ln_2", blk["ln2"], f"{s}/ln_2")
        m = linear(m, f"{p}.mlp.c_fc", blk["fc"], f"{s}/mlp/c_fc")
        # GELU as torch.onnx's symbolic writes it: x * (1 + erf(x / sqrt 2)) * 0.5
        sc = f"{s}/mlp/act"
        e = gb.op("Erf", [gb.op("Div", [m, gb.const(np.array(1.4142135381698608, np.float32), sc)],
                                scope=sc)], scope=sc)
        e = gb.op("Add", [e, gb.const(np.array(1.0, np.float32), sc)], scope=sc)
        m = gb.op("Mul", [gb.op("Mul", [m, e], scope=sc),
                          gb.const(np.array(0.5, np.float32), sc)], scope=sc)
        m = linear(m, f"{p}.mlp.c_proj", blk["proj"], f"{s}/mlp/c_proj")
        x = gb.op("Add", [x, m], scope=s)

    x = layernorm(x, "transformer.ln_f", w["lnf"], "/transformer/ln_f")
    logits_tmp = gb.op("MatMul", [x, gb.init("lm_head.weight", w["head"])], scope="/lm_head")
    # Name the graph output like the exporter does with output_names=["logits"].
    gb.nodes[-1].output[0] = "logits"
    del logits_tmp

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, t])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, t, v])]
    doc = ("GPT-style causal decoder: vocab 512, d_model 256, 4 pre-norm blocks "
           "of 4x64 heads, MLP 1024, sequence 256. Generated by "
           "examples/make_examples.py.")
    return make_model(gb, "decoder", inputs, outputs, doc)


def ref_decoder(w, ids):
    d64 = lambda a: np.asarray(a, dtype=np.float64)
    t, d, h = DEC["seq"], DEC["d"], DEC["heads"]
    hd = d // h
    x = d64(w["wte"])[ids[0]] + d64(w["wpe"])[np.arange(t)]  # [T, d]
    mask = np.tril(np.ones((t, t), dtype=bool))
    lin = lambda a, wb: a @ d64(wb[0]) + d64(wb[1])
    for blk in w["blocks"]:
        a = ref_layernorm(x, d64(blk["ln1"][0]), d64(blk["ln1"][1]))
        q, k, v = (lin(a, blk[n]).reshape(t, h, hd).transpose(1, 0, 2) for n in "qkv")
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.where(mask, s, -np.inf)  # exactly zero weight after softmax
        ctx = (ref_softmax(s) @ v).transpose(1, 0, 2).reshape(t, d)
        x = x + lin(ctx, blk["o"])
        m = ref_layernorm(x, d64(blk["ln2"][0]), d64(blk["ln2"][1]))
        x = x + lin(ref_gelu(lin(m, blk["fc"])), blk["proj"])
    x = ref_layernorm(x, d64(w["lnf"][0]), d64(w["lnf"][1]))
    return (x @ d64(w["head"]))[None]  # [1, T, vocab]


def gen_decoder(rng):
    w = decoder_weights(rng)
    ids = rng.integers(0, DEC["vocab"], size=(1, DEC["seq"]), dtype=np.int64)
    model = build_decoder(w)
    return model, [ids], [f32(ref_decoder(w, ids))]


# --------------------------------------------------------------------------
# b. cnn: small torchvision-style CNN (Conv/BN/Relu/MaxPool ... Gemm)
# --------------------------------------------------------------------------

def gen_cnn(rng):
    chans = [3, 16, 32, 64]
    classes = 10
    gb = GraphBuilder()

    def kaiming(oc, ic):  # fan-in scaled so activations stay O(1)
        return f32(rng.normal(0.0, math.sqrt(2.0 / (ic * 9)), size=(oc, ic, 3, 3)))

    def bn_params(c):  # running stats of a "trained" net, not identity
        return (f32(1.0 + 0.1 * rng.normal(size=c)), f32(0.1 * rng.normal(size=c)),
                f32(0.1 * rng.normal(size=c)), f32(rng.uniform(0.5, 1.5, size=c)))

    p = {"conv1": kaiming(16, 3), "bn1": bn_params(16),
         "conv2": kaiming(32, 16), "bn2": bn_params(32),
         "conv3": kaiming(64, 32), "conv3_b": f32(0.05 * rng.normal(size=64)),
         "fc_w": f32(rng.normal(0.0, 1.0 / math.sqrt(64), size=(classes, 64))),
         "fc_b": f32(0.05 * rng.normal(size=classes))}
    x_in = f32(rng.normal(size=(1, 3, 32, 32)))
    assert chans[1:] == [p["conv1"].shape[0], p["conv2"].shape[0], p["conv3"].shape[0]]

    # Graph. Convs followed by BN have no bias (bias=False in torchvision).
    x = "input"
    for i in (1, 2):
        s = f"/features/block{i}"
        x = gb.op("Conv", [x, gb.init(f"features.conv{i}.weight", p[f"conv{i}"])],
                  scope=s, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                  strides=[1, 1], dilations=[1, 1], group=1)
        sc, b, m, v = p[f"bn{i}"]
        x = gb.op("BatchNormalization",
                  [x, gb.init(f"features.bn{i}.weight", sc), gb.init(f"features.bn{i}.bias", b),
                   gb.init(f"features.bn{i}.running_mean", m),
                   gb.init(f"features.bn{i}.running_var", v)],
                  scope=s, epsilon=1e-5, momentum=0.9)
        x = gb.op("Relu", [x], scope=s)
        x = gb.op("MaxPool", [x], scope=s, kernel_shape=[2, 2], strides=[2, 2],
                  pads=[0, 0, 0, 0], ceil_mode=0)
    s = "/features/block3"
    x = gb.op("Conv", [x, gb.init("features.conv3.weight", p["conv3"]),
                       gb.init("features.conv3.bias", p["conv3_b"])],
              scope=s, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1],
              dilations=[1, 1], group=1)
    x = gb.op("Relu", [x], scope=s)
    x = gb.op("GlobalAveragePool", [x], scope="/avgpool")
    x = gb.op("Flatten", [x], scope="", axis=1)
    gb.op("Gemm", [x, gb.init("fc.weight", p["fc_w"]), gb.init("fc.bias", p["fc_b"])],
          scope="/fc", alpha=1.0, beta=1.0, transB=1)
    gb.nodes[-1].output[0] = "logits"

    model = make_model(
        gb, "cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        "Small CNN (16/32/64 channels) on 1x3x32x32. Generated by "
        "examples/make_examples.py.")

    # Reference.
    d64 = lambda a: np.asarray(a, dtype=np.float64)
    y = d64(x_in)
    for i in (1, 2):
        y = ref_conv2d(y, d64(p[f"conv{i}"]))
        y = ref_batchnorm(y, *(d64(a) for a in p[f"bn{i}"]))
        y = ref_maxpool2(np.maximum(y, 0.0))
    y = np.maximum(ref_conv2d(y, d64(p["conv3"]), d64(p["conv3_b"])), 0.0)
    y = y.mean(axis=(2, 3))  # GlobalAveragePool + Flatten -> [1, 64]
    y = y @ d64(p["fc_w"]).T + d64(p["fc_b"])
    return model, [x_in], [f32(y)]


# --------------------------------------------------------------------------
# c. mlp: Gemm / Relu / Gemm / Softmax
# --------------------------------------------------------------------------

def gen_mlp(rng):
    batch, din, hidden, dout = 4, 64, 128, 10
    w1 = f32(rng.normal(0.0, 1.0 / math.sqrt(din), size=(hidden, din)))
    b1 = f32(0.1 * rng.normal(size=hidden))
    w2 = f32(rng.normal(0.0, 1.0 / math.sqrt(hidden), size=(dout, hidden)))
    b2 = f32(0.1 * rng.normal(size=dout))
    x_in = f32(rng.normal(size=(batch, din)))

    gb = GraphBuilder()
    h = gb.op("Gemm", ["input", gb.init("fc1.weight", w1), gb.init("fc1.bias", b1)],
              scope="/fc1", alpha=1.0, beta=1.0, transB=1)
    h = gb.op("Relu", [h], scope="/relu")
    h = gb.op("Gemm", [h, gb.init("fc2.weight", w2), gb.init("fc2.bias", b2)],
              scope="/fc2", alpha=1.0, beta=1.0, transB=1)
    gb.op("Softmax", [h], scope="/softmax", axis=-1)
    gb.nodes[-1].output[0] = "probs"
    model = make_model(
        gb, "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, din])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [batch, dout])],
        "Tiny MLP 64-128-10 with softmax. Generated by examples/make_examples.py.")

    d64 = lambda a: np.asarray(a, dtype=np.float64)
    y = np.maximum(d64(x_in) @ d64(w1).T + d64(b1), 0.0)
    y = ref_softmax(y @ d64(w2).T + d64(b2))
    return model, [x_in], [f32(y)]


# --------------------------------------------------------------------------

EXAMPLES = {"decoder": gen_decoder, "cnn": gen_cnn, "mlp": gen_mlp}


def script_hash():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def up_to_date(dirname, digest):
    needed = ["model.onnx", STAMP, "test_data_set_0/input_0.pb",
              "test_data_set_0/output_0.pb"]
    if not all(os.path.isfile(os.path.join(dirname, n)) for n in needed):
        return False
    with open(os.path.join(dirname, STAMP)) as f:
        return f.read().strip() == digest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help="examples to make: %s (default: all)" % ", ".join(EXAMPLES))
    ap.add_argument("--quiet", action="store_true",
                    help="print nothing when everything is up to date")
    ap.add_argument("--force", action="store_true", help="regenerate regardless")
    ap.add_argument("--out", default=HERE, help="where the example dirs go")
    args = ap.parse_args()

    unknown = [n for n in args.names if n not in EXAMPLES]
    if unknown:
        ap.error("unknown example(s): " + ", ".join(unknown))

    digest = script_hash()
    for i, name in enumerate(EXAMPLES):
        if args.names and name not in args.names:
            continue
        dirname = os.path.join(args.out, name)
        if not args.force and up_to_date(dirname, digest):
            if not args.quiet:
                print(f"[examples] {name}: up to date")
            continue
        # Own generator per example (seed + index): making one example never
        # shifts another's random stream.
        rng = np.random.default_rng([SEED, i])
        model, ins, outs = EXAMPLES[name](rng)
        # Drop the stamp first: an interrupted run must not look up to date.
        stamp = os.path.join(dirname, STAMP)
        if os.path.exists(stamp):
            os.remove(stamp)
        write_example(dirname, model, ins, outs)
        with open(stamp, "w") as f:
            f.write(digest + "\n")
        size = os.path.getsize(os.path.join(dirname, "model.onnx"))
        print(f"[examples] {name}: wrote {os.path.relpath(dirname)} "
              f"(model.onnx {size / 1e6:.2f} MB, {len(model.graph.node)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
