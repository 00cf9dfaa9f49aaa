#!/bin/bash
# What `make bench-decode` runs: memc's decode packages against ONNX
# Runtime on the same GPT (scripts/bench_decode.py says what is timed), at
# sequence lengths 128 to 2048. ORT comes from PyPI into .venv (as for
# `make bench`), PyTorch (for the exports) from Debian. Prints a markdown
# table and keeps a copy in BUILD/bench-decode.md; exits non-zero when the
# tokens of memc and ORT differ or a run fails.
# Usage: scripts/bench_decode.sh BUILD [bench_decode.py options]
set -uo pipefail
BUILD=${1:?usage: bench_decode.sh BUILD [options]}
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
for t in memc memc-run; do
  [ -x "$BUILD/bin/$t" ] || { echo "bench_decode.sh: $BUILD/bin/$t is not built" >&2; exit 1; }
done
source scripts/ensure_torch.sh bench-decode
VENV=$ROOT/.venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "[bench-decode] creating $VENV (system site packages: Debian's onnx, numpy, torch)"
  /usr/bin/python3 -m venv --system-site-packages "$VENV" || exit 1
fi
if ! "$VENV/bin/python" -c 'import onnxruntime' 2>/dev/null; then
  echo "[bench-decode] pip install onnxruntime into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check onnxruntime || exit 1
fi
exec "$VENV/bin/python" -W ignore scripts/bench_decode.py "$BUILD" "$@"
