#!/bin/bash
# FuseMax attention, fused vs unfused (--no-fusemax), on attention blocks
# from scripts/attention_model.py (float64 reference).
# For each configuration prints: memory (peak bytes of temporaries during a
# run, from memc-run; and from the bufferized IR, the sum and the largest of
# the memref.alloc sizes), median latency, and each compilation's largest
# error against the reference relative to the output's largest magnitude
# (their sum bounds how far fused and unfused are from each other).
# Usage: scripts/fusemax_bench.sh BUILD ["seq=1024 d=256 heads=8 causal=1" ...]
set -uo pipefail
BUILD=${1:?usage: fusemax_bench.sh BUILD [CONFIG ...]}
shift
[ $# -gt 0 ] || set -- "seq=1024 d=256 heads=8 causal=1" "seq=4096 d=256 heads=4" \
                       "seq=8192 d=256 heads=4"
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

allocs() { # IR file -> "sum largest" bytes of memref.alloc results
  sed -n 's/.*memref.alloc().*: memref<\([0-9x]*\)x\(f32\|i32\|f64\|i64\|i1\)>.*/\1 \2/p' "$1" |
    awk '{n=split($1,d,"x"); s=1; for(i=1;i<=n;i++) s*=d[i];
          b=($2=="f64"||$2=="i64")?8:($2=="i1")?1:4; s*=b; t+=s; if(s>m)m=s}
         END{printf "%.0f %.0f", t, m}'
}

for cfg in "$@"; do
  seq=$(sed -n 's/.*seq=\([0-9]*\).*/\1/p' <<<"$cfg")
  ref=$("$PY" scripts/attention_model.py "$work/m" $cfg | sed -n 's/max_abs_ref: //p')
  iters=$(( seq >= 8192 ? 2 : seq >= 4096 ? 5 : 20 ))
  echo "== $cfg"
  for mode in fused unfused; do
    flag=; [ $mode = unfused ] && flag=--no-fusemax
    "$BUILD/bin/memc" "$work/m/model.onnx" -o "$work/pkg" $flag || exit 1
    "$BUILD/bin/memc" "$work/m/model.onnx" --emit=memref -o "$work/ir.mlir" $flag || exit 1
    read -r sum largest <<<"$(allocs "$work/ir.mlir")"
    out=$("$BUILD/bin/memc-run" "$work/pkg" --data "$work/m/test_data_set_0" \
            --iterations $iters --warmup 1 --rtol 1e-3 --atol 1e-4)
    lat=$(sed -n 's/^latency_ms: //p' <<<"$out")
    peak=$(sed -n 's/^peak_arena_bytes: //p' <<<"$out")
    err=$(sed -n 's/.*max_abs_err \([^ ]*\).*/\1/p' <<<"$out")
    rel=$("$PY" -c "print(f'{$err / $ref:.2e}')")
    printf "  %-8s latency_ms %9.2f  peak_bytes %11d  allocs_sum %11d  largest_alloc %11d  rel_err %s\n" \
      $mode "$lat" "$peak" "$sum" "$largest" "$rel"
  done
done
