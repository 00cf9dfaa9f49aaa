#!/usr/bin/python3
"""Greedy decoding with the bundled decoder example, checked in numpy.

  decoder_greedy.py prompt OUT.pb P      the first P ids of the example's
                                         input as a [1, P] int64 prompt
  decoder_greedy.py prompt OUT.pb P1 P2 ...
                                         a batch of prompts of those lengths
                                         (sequence i: P_i ids of the input
                                         from 16 i on), right-padded with -1
  decoder_greedy.py check PROMPT.pb GEN.txt
                                         checks memc-run --generate's tokens
                                         (a tokens: line per sequence):
                                         each must be the argmax of the
                                         float64 reference's logits after
                                         the prompt and the tokens before it
                                         (teacher-forced, so one near-tie
                                         cannot derail the rest), or within
                                         1e-4 of it

The reference is examples/make_examples.py's own numpy decoder, on the
example's weights (regenerated from its seed): independent of memc.
"""
import os
import sys

import numpy as np
from onnx import numpy_helper, TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples"))
import make_examples as ex  # noqa: E402


def example():
    """The decoder's weights and its input ids, as make_examples made them."""
    index = list(ex.EXAMPLES).index("decoder")
    rng = np.random.default_rng([ex.SEED, index])
    w = ex.decoder_weights(rng)
    ids = rng.integers(0, ex.DEC["vocab"], size=(1, ex.DEC["seq"]), dtype=np.int64)
    return w, ids


def main():
    if sys.argv[1] == "prompt":
        _, ids = example()
        lengths = [int(p) for p in sys.argv[3:]]
        if len(lengths) == 1:
            prompt = ids[:, :lengths[0]].copy()
        else:
            prompt = np.full((len(lengths), max(lengths)), -1, np.int64)
            for i, p in enumerate(lengths):
                prompt[i, :p] = ids[0, 16 * i:16 * i + p]
        t = numpy_helper.from_array(prompt, "prompt")
        open(sys.argv[2], "wb").write(t.SerializeToString())
        return 0
    w, _ = example()
    t = TensorProto()
    t.ParseFromString(open(sys.argv[2], "rb").read())
    prompts = numpy_helper.to_array(t)
    lines = [l for l in open(sys.argv[3]) if l.startswith("tokens:")]
    if len(lines) != len(prompts):
        print(f"expected {len(prompts)} tokens: lines, got {len(lines)}")
        return 1
    for b, (row, line) in enumerate(zip(prompts, lines)):
        got = [int(x) for x in line.split(":", 1)[1].split()]
        seq = [int(x) for x in row if x >= 0]
        for n, tok in enumerate(got):
            ids = np.zeros((1, ex.DEC["seq"]), dtype=np.int64)
            ids[0, :len(seq)] = seq
            logits = ex.ref_decoder(w, ids)[0, len(seq) - 1]
            best = int(np.argmax(logits))
            if tok != best and logits[best] - logits[tok] > 1e-4:
                print(f"sequence {b}, token {n}: memc {tok}, reference {best} "
                      f"(logits {logits[tok]:.6g} vs {logits[best]:.6g})")
                return 1
            seq.append(tok)
        print(f"sequence {b}: {len(got)} tokens are the reference's greedy choices")
    return 0


if __name__ == "__main__":
    sys.exit(main())
