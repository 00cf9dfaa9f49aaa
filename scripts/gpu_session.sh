#!/bin/bash
# The standing GPU checks for a machine that has a GPU but no LLVM/MLIR to
# build memc with (docs/cuda.md, "On a GPU machine"). Two halves:
#
#   scripts/gpu_session.sh stage BUILD   (here) compiles everything the
#       checks run into .devrun/bundle.tar.xz: memc-run and the libraries
#       it links that a CUDA machine may lack, the acceptance models'
#       packages (gpu.sh's mlp and causal attention), make bench-gpu's
#       packages (scripts/bench_gpu.py --stage), and the train packages with
#       their CPU losses (scripts/gpu_stage.py).
#   scripts/gpu_session.sh run OUT       (on the GPU machine, from the
#       tree's root, .devrun carried) runs them all with --device cuda and
#       writes OUT/{gpu.txt,train.txt,bench-gpu.md,log.txt}.
#   scripts/gpu_session.sh profile OUT   (there too) memc-run --profile of
#       the train packages and the decoder: OUT/profile.txt.
#
# Each check is bounded by a timeout and reported on its own line, so a
# failing one does not hide the others.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DEVRUN=.devrun
STEPS=6

stage() {
  local build=${1:?usage: gpu_session.sh stage BUILD}
  local acc=${ACCEPTANCE:-../shared/acceptance}
  local s  # (global STAGE_TMP for the EXIT trap)
  STAGE_TMP=$(mktemp -d); s=$STAGE_TMP
  trap 'rm -rf "$STAGE_TMP"' EXIT
  mkdir -p "$s/bin" "$s/lib" "$s/lib-std" "$s/acc" "$DEVRUN"
  cp "$build/bin/memc-run" "$s/bin/memc-run.real"
  # memc-run's libraries except the C library's own; the C++ runtime goes
  # apart (lib-std), used only where the machine's own is older.
  ldd "$build/bin/memc-run" | awk '/=> \//{print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so.*|libm.so.*|ld-linux*) ;;
      libstdc++.so.*|libgcc_s.so.*) cp -L "$lib" "$s/lib-std/" ;;
      *) cp -L "$lib" "$s/lib/" ;;
    esac
  done
  cat >"$s/bin/memc-run" <<'EOF'
#!/bin/bash
# memc-run with the libraries staged beside it (only for this process, so
# that the machine's Python and PyTorch keep their own).
here=$(cd "$(dirname "$0")/.." && pwd)
path=$here/lib
[ -n "${MEMC_DEVRUN_STD:-}" ] && path=$path:$here/lib-std
LD_LIBRARY_PATH=$path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} exec "$here/bin/memc-run.real" "$@"
EOF
  chmod +x "$s/bin/memc-run"
  for m in mlp attn; do
    case $m in
      mlp) /usr/bin/python3 "$acc/models.py" "$s/acc/$m" mlp >/dev/null ;;
      attn) /usr/bin/python3 "$acc/models.py" "$s/acc/$m" attention seq=1024 d=256 heads=4 causal=1 >/dev/null ;;
    esac || { echo "gpu_session: $acc/models.py $m failed"; exit 1; }
    "$build/bin/memc" "$s/acc/$m/model.onnx" --target=cuda --cuda-arch=sm_90 -o "$s/acc/$m.pkg" \
      || { echo "gpu_session: memc $m failed"; exit 1; }
    rm -f "$s/acc/$m/model.onnx"
  done
  /usr/bin/python3 examples/make_examples.py --quiet
  /usr/bin/python3 scripts/bench_gpu.py --build "$build" --stage "$s/bench" || exit 1
  /usr/bin/python3 scripts/gpu_stage.py "$build" "$s/train" "$STEPS" || exit 1
  # Identical files (the decoder's weights in two packages) once, as hard links.
  find "$s" -type f -size +1M -exec md5sum {} + | sort | awk '
    $1 == prev { print first "\t" $2; next } { prev = $1; first = $2 }' |
    while IFS=$'\t' read -r keep dup; do ln -f "$keep" "$dup"; done
  tar -C "$s" -cJf "$DEVRUN/bundle.tar.xz" .
  echo "gpu_session: $DEVRUN/bundle.tar.xz, $(du -h "$DEVRUN/bundle.tar.xz" | cut -f1)"
}

# losses FILE -> the 'step K loss X' values, one per line
losses() { sed -n 's/^step [0-9]* loss \([^ ]*\).*/\1/p' "$1"; }
field() { sed -n "s/^$2:[[:space:]]*\([^[:space:]]*\).*/\1/p" "$1" | head -n 1; }

# cuSOLVER (GaLore's SVD steps) where neither the loader nor the toolkit
# has it: the one PyTorch's wheels bring.
find_cusolver() {
  if [ -z "${MEMC_LIBCUSOLVER:-}" ] && ! ldconfig -p | grep -q 'libcusolver\.so\.1[12]' &&
     ! ls /usr/local/cuda/lib64/libcusolver.so.1[12] >/dev/null 2>&1; then
    MEMC_LIBCUSOLVER=$(python3 -c "import glob, site; print((sorted(glob.glob(site.getsitepackages()[0] + '/nvidia/**/libcusolver.so.1[12]', recursive=True)) or [''])[-1])")
    [ -n "$MEMC_LIBCUSOLVER" ] && export MEMC_LIBCUSOLVER && echo "cuSOLVER: $MEMC_LIBCUSOLVER"
  fi
}

run_checks() {
  local out=${1:?usage: gpu_session.sh run OUT}
  local r=/tmp/memc-devrun
  mkdir -p "$out" "$r"
  exec > >(tee -a "$out/log.txt") 2>&1
  tar -C "$r" -xJf "$DEVRUN/bundle.tar.xz" || exit 1
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  if ! "$r/bin/memc-run" --help >/dev/null 2>&1; then
    export MEMC_DEVRUN_STD=1
    "$r/bin/memc-run" --help >/dev/null 2>&1 || { "$r/bin/memc-run" --help; exit 1; }
    echo "memc-run: with the staged C++ runtime"
  fi

  find_cusolver
  echo "== gpu.sh --on-device (mlp, causal attention seq 1024)" | tee "$out/gpu.txt"
  for m in mlp attn; do
    if timeout 120 "$r/bin/memc-run" "$r/acc/$m.pkg" --device cuda --data "$r/acc/$m/test_data_set_0" >"$r/$m.run" 2>&1; then
      echo "  ok   $m on GPU: latency_ms $(field "$r/$m.run" latency_ms) device_ms $(field "$r/$m.run" device_ms)"
    else
      echo "  FAIL $m on GPU: $(tail -n 3 "$r/$m.run" | tr '\n' ' ')"
    fi | tee -a "$out/gpu.txt"
  done

  echo "== train steps on the GPU against the CPU package ($STEPS steps)" | tee "$out/train.txt"
  for d in "$r"/train/*/; do
    local name
    name=$(basename "$d")
    # The package's program, and its nocublas/ program (what memc-run runs
    # where cuBLAS does not load).
    for variant in cublas nocublas; do
      local cublas=${MEMC_LIBCUBLAS:-}
      [ $variant = nocublas ] && cublas=/nonexistent/libcublas.so
      if MEMC_LIBCUBLAS=$cublas timeout 120 "$r/bin/memc-run" "$d/pkg" --device cuda --train --data "$d" --steps "$STEPS" >"$d/gpu.out" 2>&1; then
        python3 - "$d/gpu.out" "$d/cpu.out" "$name ($variant)" "$(cat "$d/rtol.txt" 2>/dev/null || echo 1e-3)" <<'EOF'
import re, sys
f = lambda p: [float(x) for x in re.findall(r"^step \d+ loss (\S+)", open(p).read(), re.M)]
g = lambda p, k: (re.findall(rf"^{k}:\s*(\S+)", open(p).read(), re.M) or ["?"])[0]
a, b = f(sys.argv[1]), f(sys.argv[2])
worst = max(abs(x - y) / abs(y) for x, y in zip(a, b)) if a and len(a) == len(b) else float("inf")
verdict = "ok  " if worst <= float(sys.argv[4]) else "FAIL"
print(f"  {verdict} {sys.argv[3]}: {len(a)} steps, worst relative loss difference {worst:.2e} (tolerance {sys.argv[4]}), "
      f"last loss {a[-1] if a else '?'} (CPU {b[-1] if b else '?'}), "
      f"train_step_ms {g(sys.argv[1], 'train_step_ms')} (CPU {g(sys.argv[2], 'train_step_ms')}), "
      f"peak_arena_bytes {g(sys.argv[1], 'peak_arena_bytes')}")
EOF
      else
        echo "  FAIL $name ($variant): $(tail -n 3 "$d/gpu.out" | tr '\n' ' ')"
      fi | tee -a "$out/train.txt"
    done
  done

  echo "== PyTorch eager train steps on the GPU (scripts/bench_train_gpu.py)" | tee -a "$out/train.txt"
  timeout 120 python3 scripts/bench_train_gpu.py 2>&1 | grep -v Warning | tee -a "$out/train.txt"

  echo "== make bench-gpu (staged packages)"
  python3 examples/make_examples.py --quiet
  PYTHONUNBUFFERED=1 timeout 300 python3 scripts/bench_gpu.py --build "$r" --staged "$r/bench" \
    && cp "$r/bench-gpu.md" "$out/bench-gpu.md"
}

# Where the device time of the staged programs goes: memc-run --profile on
# each train package (3 steps) and the decoder example, into OUT/profile.txt.
profile() {
  local out=${1:?usage: gpu_session.sh profile OUT}
  local r=/tmp/memc-devrun
  mkdir -p "$out" "$r"
  [ -x "$r/bin/memc-run" ] || tar -C "$r" -xJf "$DEVRUN/bundle.tar.xz" || exit 1
  "$r/bin/memc-run" --help >/dev/null 2>&1 || export MEMC_DEVRUN_STD=1
  find_cusolver >/dev/null
  for d in "$r"/train/*/; do
    echo "== $(basename "$d") train step"
    timeout 120 "$r/bin/memc-run" "$d/pkg" --device cuda --train --data "$d" --steps 3 --profile -q 2>&1
  done >"$out/profile.txt"
  echo "== decoder inference" >>"$out/profile.txt"
  timeout 120 "$r/bin/memc-run" "$r/bench/decoder" --device cuda --data "$r/bench/decoder-data" \
    --iterations 5 --profile >>"$out/profile.txt" 2>&1
  cat "$out/profile.txt"
}

case "${1:-}" in
  stage) shift; stage "$@" ;;
  run) shift; run_checks "$@" ;;
  profile) shift; profile "$@" ;;
  *) echo "usage: gpu_session.sh stage BUILD | run OUT | profile OUT"; exit 2 ;;
esac
