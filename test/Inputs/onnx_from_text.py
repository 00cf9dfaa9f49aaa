#!/usr/bin/python3
"""Builds an ONNX model from the ONNX textual syntax embedded in a lit test.

Usage: onnx_from_text.py TEST_FILE OUT.onnx [--no-check]
Every line of TEST_FILE that starts with `# ONNX: ` contributes the rest of
the line to the model text (onnx.parser syntax, ONNX >= 1.11).
"""
import sys

import onnx
import onnx.parser

src, out = sys.argv[1], sys.argv[2]
text = "\n".join(line.split("# ONNX: ", 1)[1].rstrip("\n")
                 for line in open(src) if line.startswith("# ONNX: "))
model = onnx.parser.parse_model(text)
if "--no-check" not in sys.argv:
    onnx.checker.check_model(model)
onnx.save(model, out)
