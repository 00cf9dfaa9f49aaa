#!/usr/bin/python3
"""Greedy decoding with the bundled decoder example, checked in numpy.

  decoder_greedy.py prompt OUT.pb P      the first P ids of the example's
                                         input as a [1, P] int64 prompt
  decoder_greedy.py check PROMPT.pb GEN.txt
                                         checks memc-run --generate's tokens:
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
        p = int(sys.argv[3])
        t = numpy_helper.from_array(ids[:, :p].copy(), "prompt")
        open(sys.argv[2], "wb").write(t.SerializeToString())
        return 0
    w, _ = example()
    t = TensorProto()
    t.ParseFromString(open(sys.argv[2], "rb").read())
    prompt = numpy_helper.to_array(t)[0].tolist()
    lines = [l for l in open(sys.argv[3]) if l.startswith("tokens:")]
    if len(lines) != 1:
        print(f"expected one tokens: line, got {len(lines)}")
        return 1
    got = [int(x) for x in lines[0].split(":", 1)[1].split()]
    seq = list(prompt)
    for n, tok in enumerate(got):
        ids = np.zeros((1, ex.DEC["seq"]), dtype=np.int64)
        ids[0, :len(seq)] = seq
        logits = ex.ref_decoder(w, ids)[0, len(seq) - 1]
        best = int(np.argmax(logits))
        if tok != best and logits[best] - logits[tok] > 1e-4:
            print(f"token {n}: memc {tok}, reference {best} "
                  f"(logits {logits[tok]:.6g} vs {logits[best]:.6g})")
            return 1
        seq.append(tok)
    print(f"{len(got)} tokens are the reference's greedy choices")
    return 0


if __name__ == "__main__":
    sys.exit(main())
