#!/bin/bash
# make python-wheel: `pip install .` into a fresh venv (VENV, default
# .venv-wheel; scikit-build-core and pybind11 come from PyPI, the build is
# this project's CMake in build/python-wheel), then, from outside the
# repository, the installed module compiles the MLP example, matches its
# reference output and trains it for two steps.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv-wheel}
rm -rf "$VENV"
/usr/bin/python3 -m venv --system-site-packages "$VENV"
echo "[python-wheel] pip install $ROOT (a Release build in build/python-wheel)"
"$VENV/bin/pip" install -q "$ROOT"
cd "$(mktemp -d)"
MEMC_EXAMPLES=$ROOT/examples "$VENV/bin/python" - <<'PY'
import os

import numpy as np
import onnx
from onnx import numpy_helper

import memc

site = os.path.dirname(os.path.dirname(memc.__file__))
assert "site-packages" in site, f"memc imported from {memc.__file__}, not the venv"
ex = os.environ["MEMC_EXAMPLES"]
pb = lambda p: numpy_helper.to_array(onnx.load_tensor(p))
x = pb(f"{ex}/mlp/test_data_set_0/input_0.pb")
want = pb(f"{ex}/mlp/test_data_set_0/output_0.pb")
sess = memc.Session(memc.compile(f"{ex}/mlp/model.onnx"))
(y,) = sess.run([x]).values()
np.testing.assert_allclose(y, want, rtol=1e-3, atol=1e-5)
train = memc.Session(memc.compile(f"{ex}/mlp/model.onnx", train=True, loss="mse",
                                  optimizer="sgd:lr=0.5"))
losses = [train.train_step([x, np.full(want.shape, 0.1, np.float32)]) for _ in range(2)]
assert losses[1] < losses[0]
print(f"[python-wheel] installed memc ({memc.__file__}): the MLP matches its reference; "
      f"2 train steps, loss {losses[0]:.4f} -> {losses[1]:.4f}")
PY
