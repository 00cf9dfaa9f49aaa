#!/usr/bin/python3
"""make bench-decode: greedy decoding, memc's decode packages vs ONNX Runtime.

For each sequence length T, one byte-level GPT (d 256, 4 heads, 4 layers,
vocab 256, random weights; the architecture of the acceptance checks' LM)
is exported twice by torch.onnx.export, from the same weights:
  * plain: one full-sequence forward of length T (no past_key_values),
    which memc compiles with --decode and ONNX Runtime runs once per token
    (the full forward is all a plain export allows it);
  * cached: one token per call with past_key.i / past_value.i inputs and
    present.* outputs (what exporters for generation write), which ONNX
    Runtime runs with its caches growing by concatenation, and memc
    compiles with --decode --kv-capacity=T (its concatenations bound to
    the caches; prefill one row per call, as the export takes).
Each decodes NEW tokens after a PROMPT-token prompt (batch 1, 2 threads).
Reported per T: memc's decode time per token (memc-run --generate's mean
over the decode steps), ORT's full forward and cached step per token (the
mean over the same steps), each the best of --repeat runs, the ratios,
whether ORT's tokens and those of memc's paged, f16 and i8 caches agree
with memc's contiguous f32 ones, the KV bytes (memc contiguous at
capacity, memc paged in use, ORT's present tensors at the last step) and
the paged layout's waste over the rows actually written. A markdown table
goes to stdout and BUILD/bench-decode.md.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

D, HEADS, LAYERS, VOCAB = 256, 4, 4, 256


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.up, self.down = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def qkv_heads(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        return [z.reshape(b, t, HEADS, D // HEADS).transpose(1, 2) for z in (q, k, v)]

    def finish(self, x, y):
        b, t, _ = x.shape
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, D))
        return x + self.down(F.gelu(self.up(self.ln2(x))))

    def forward(self, x):
        q, k, v = self.qkv_heads(x)
        t = x.shape[1]
        s = q @ k.transpose(2, 3) / math.sqrt(D // HEADS)
        s = s + torch.triu(torch.full((t, t), float("-inf")), 1)
        return self.finish(x, torch.softmax(s, dim=-1) @ v)

    def step(self, x, past_k, past_v):
        q, k, v = self.qkv_heads(x)
        k, v = torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)
        s = q @ k.transpose(2, 3) / math.sqrt(D // HEADS)
        return self.finish(x, torch.softmax(s, dim=-1) @ v), k, v


class LM(nn.Module):
    def __init__(self, seq):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, D)
        self.pos = nn.Parameter(torch.randn(1, seq, D) * 0.02)
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, VOCAB, bias=False)

    def forward(self, ids):
        x = self.emb(ids) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


class CachedLM(nn.Module):
    """The same weights, one token per call over past keys and values."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, ids, position, *past):
        x = self.lm.emb(ids) + self.lm.pos[:, position]
        present = []
        for i, blk in enumerate(self.lm.blocks):
            x, k, v = blk.step(x, past[2 * i], past[2 * i + 1])
            present += [k, v]
        return (self.lm.head(self.lm.ln(x)), *present)


def save_pb(path, array):
    open(path, "wb").write(numpy_helper.from_array(array).SerializeToString())


def export(lm, seq, d):
    ids = torch.zeros(1, seq, dtype=torch.int64)
    torch.onnx.export(lm, (ids,), os.path.join(d, "plain.onnx"), opset_version=14,
                      input_names=["input_ids"], output_names=["logits"])
    hd = D // HEADS
    past = [torch.zeros(1, HEADS, 3, hd) for _ in range(2 * LAYERS)]
    names = [f"past_{kv}.{i}" for i in range(LAYERS) for kv in ("key", "value")]
    outs = ["logits"] + [n.replace("past_", "present_") for n in names]
    dyn = {n: {2: "past"} for n in names}
    dyn.update({n: {2: "total"} for n in outs[1:]})
    torch.onnx.export(CachedLM(lm), (ids[:, :1], torch.tensor([3]), *past),
                      os.path.join(d, "cached.onnx"), opset_version=14,
                      input_names=["input_ids", "position"] + names,
                      output_names=outs, dynamic_axes=dyn)


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_full(path, prompt, new, seq, threads):
    """Greedy decoding by the full forward per token: tokens, ms/token."""
    sess = ort_session(path, threads)
    ids = np.zeros((1, seq), dtype=np.int64)
    ids[0, :len(prompt)] = prompt
    n, out, times = len(prompt), [], []
    for _ in range(new):
        t0 = time.perf_counter()
        logits = sess.run(None, {"input_ids": ids})[0]
        times.append(time.perf_counter() - t0)
        tok = int(np.argmax(logits[0, n - 1]))
        out.append(tok)
        if n < seq:
            ids[0, n] = tok
        n += 1
    return out, 1000 * float(np.mean(times))


def ort_cached(path, prompt, new, threads):
    """Greedy decoding with past_key_values (the prompt fed one token at a
    time, then `new` tokens): tokens, ms per new token, KV bytes at the end."""
    sess = ort_session(path, threads)
    hd = D // HEADS
    past = {f"past_{kv}.{i}": np.zeros((1, HEADS, 0, hd), np.float32)
            for i in range(LAYERS) for kv in ("key", "value")}
    names = list(past)
    out, times, tok = [], [], prompt[0]
    for pos in range(len(prompt) + new - 1):
        feed = {"input_ids": np.array([[tok]], np.int64),
                "position": np.array([pos], np.int64), **past}
        t0 = time.perf_counter()
        res = sess.run(None, feed)
        dt = time.perf_counter() - t0
        past = dict(zip(names, res[1:]))
        nxt = int(np.argmax(res[0][0, -1]))
        if pos + 1 < len(prompt):
            tok = prompt[pos + 1]
        else:
            out.append(nxt)
            times.append(dt)
            tok = nxt
    kv = sum(a.nbytes for a in past.values())
    return out, 1000 * float(np.mean(times)), kv


def memc_generate(build, model, d, name, prompt_pb, new, flags, repeat):
    """memc --decode and the best of `repeat` --generate runs: tokens,
    ms/token, kv_bytes, prefill ms."""
    pkg = os.path.join(d, name)
    subprocess.run([os.path.join(build, "bin", "memc"), model, "--decode", "-o", pkg,
                    *flags], check=True)
    best = None
    for _ in range(repeat):
        out = subprocess.run([os.path.join(build, "bin", "memc-run"), pkg,
                              "--generate", str(new), "--prompt", prompt_pb],
                             check=True, capture_output=True, text=True).stdout
        toks = [int(x) for x in re.search(r"tokens:(.*)", out).group(1).split()]
        field = lambda k: float(re.search(rf"^{k}: (\S+)", out, re.M).group(1))
        run = (toks, field("decode_ms_per_token"), int(field("kv_bytes")),
               field("prefill_ms"))
        if best is None or run[1] < best[1]:
            best = run
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seqs", default="128,256,512,1024,2048")
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--new", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("MEMC_NUM_THREADS", str(args.threads))
    torch.set_num_threads(args.threads)
    text = np.frombuffer(open("/usr/share/common-licenses/GPL-3", "rb").read(), np.uint8)
    prompt = [int(x) for x in text[:args.prompt]]
    rows = []
    for seq in map(int, args.seqs.split(",")):
        torch.manual_seed(0)
        lm = LM(seq).eval()
        with tempfile.TemporaryDirectory() as d, torch.no_grad():
            export(lm, seq, d)
            pb = os.path.join(d, "prompt.pb")
            save_pb(pb, np.array([prompt], np.int64))
            plain = os.path.join(d, "plain.onnx")
            rep = args.repeat
            mt, mms, mkv, mpre = memc_generate(args.build, plain, d, "c", pb, args.new,
                                               [], rep)
            pt, pms, pkv, _ = memc_generate(args.build, plain, d, "p", pb, args.new,
                                            ["--kv-layout=paged:16"], rep)
            ht, hms, hkv, _ = memc_generate(args.build, plain, d, "h", pb, args.new,
                                            ["--kv-dtype=f16"], rep)
            qt, qms, qkv, _ = memc_generate(args.build, plain, d, "q", pb, args.new,
                                            ["--kv-dtype=i8"], rep)
            # The past_key_values export, compiled by memc too: its
            # concatenations become the same in-place cache writes.
            xt, xms, _, xpre = memc_generate(args.build, os.path.join(d, "cached.onnx"),
                                             d, "x", pb, args.new,
                                             [f"--kv-capacity={seq}"], rep)
            ft, fms = min((ort_full(plain, prompt, args.new, seq, args.threads)
                           for _ in range(rep)), key=lambda r: r[1])
            ct, cms, ckv = min((ort_cached(os.path.join(d, "cached.onnx"), prompt,
                                           args.new, args.threads) for _ in range(rep)),
                               key=lambda r: r[1])
        per_token = 2 * LAYERS * D * 4  # bytes of one row in every cache
        written = (args.prompt + args.new - 1) * per_token
        agree = lambda t: sum(a == b for a, b in zip(t, mt))
        rows.append(dict(seq=seq, memc=mms, full=fms, cached=cms, prefill=mpre,
                         same=(mt == ft == ct, mt == pt, mt == xt), pkv_ms=xms,
                         pkv_prefill=xpre, kv=mkv, paged=pkv, ort_kv=ckv,
                         waste=(pkv - written) / pkv, f16=agree(ht), i8=agree(qt),
                         kv16=hkv, kv8=qkv, ms16=hms, ms8=qms))
        r = rows[-1]
        print(f"[bench-decode] T={seq}: memc {mms:.3f} ms/token, ORT full {fms:.3f}, "
              f"ORT cached {cms:.3f}, tokens same {r['same']}", file=sys.stderr)
    lines = [
        f"Greedy decoding, batch 1, {args.prompt}-token prompt, {args.new} new tokens, "
        f"{args.threads} threads; GPT d={D}, {HEADS} heads, {LAYERS} layers, vocab {VOCAB}.",
        "",
        "| T | memc ms/token | ORT full forward ms/token | ORT past_key_values ms/token "
        "| vs full | vs cached | memc from the past_key_values export: ms/token, vs ORT "
        "| tokens agree (ORT both, paged, memc from past_key_values) | memc prefill ms "
        "| KV bytes: memc contiguous / paged / ORT | paged waste "
        "| f16 cache: tokens as f32, bytes, ms/token | i8 cache: tokens as f32, bytes, ms/token |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['seq']} | {r['memc']:.3f} | {r['full']:.3f} | {r['cached']:.3f} "
            f"| {r['full'] / r['memc']:.1f}x | {r['cached'] / r['memc']:.2f}x "
            f"| {r['pkv_ms']:.3f}, {r['cached'] / r['pkv_ms']:.2f}x "
            f"| {', '.join('yes' if x else 'NO' for x in r['same'])} "
            f"| {r['prefill']:.2f} | {r['kv']} / {r['paged']} / {r['ort_kv']} "
            f"| {100 * r['waste']:.1f}% "
            f"| {r['f16']}/{args.new}, {r['kv16']}, {r['ms16']:.3f} "
            f"| {r['i8']}/{args.new}, {r['kv8']}, {r['ms8']:.3f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    open(os.path.join(args.build, "bench-decode.md"), "w").write(table)
    return 0 if all(all(r["same"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
