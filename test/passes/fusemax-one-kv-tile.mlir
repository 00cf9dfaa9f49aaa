// RUN: memc-opt %s --memc-fusemax-attention="tile-size=64 query-tile-size=16" --memc-einsum-to-linalg=fusemax=false | FileCheck %s --check-prefix=LINALG
// RUN: memc-opt %s --memc-fusemax-attention="tile-size=64 query-tile-size=16" --memc-einsum-to-linalg=fusemax=false --memc-bufferize | FileCheck %s --check-prefix=MEMREF
// RUN: memc-opt %s --memc-fusemax-attention="tile-size=64 query-tile-size=16" --memc-einsum-to-linalg=fusemax=false --memc-bufferize --memc-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// Issue #16: causal attention whose keys fit one K/V tile (here 64 keys in a
// 64-key tile, 4 query tiles of 16; the cost model chose the same split for
// a 135M-parameter Llama's 9 heads at 128 tokens). Canonicalization folds
// the single-iteration K/V loop, so the causal tile test (an scf.if) is no
// longer carried by any loop: its branches used to yield tensors they
// computed, which bufferized to allocations returned out of the branches,
// left on the heap, freed through deallocation's dealloc_helper, which
// memc-lower-to-llvm could not lower ("'llvm.call' op 'dealloc_helper' does
// not reference a valid LLVM function or IFunc", exit 9).
//
// memc-carry-in-place gives the if destinations of its own: the live tile
// computes RD' and RNV' into them, the skipped one copies the initial values.
// LINALG-LABEL: func.func @main_graph
// LINALG: scf.for
// LINALG-NOT: scf.for
// LINALG: %[[RD:.*]] = tensor.empty() : tensor<1x9x16xf32>
// LINALG: %[[RNV:.*]] = tensor.empty() : tensor<1x9x16x8xf32>
// LINALG: scf.if
// LINALG: linalg.generic {{.*}} outs(%[[RD]] : tensor<1x9x16xf32>)
// LINALG: linalg.generic {{.*}} outs(%[[RNV]] : tensor<1x9x16x8xf32>)
// LINALG: } else {
// LINALG: linalg.copy ins(%{{.*}} : tensor<1x9x16xf32>) outs(%[[RD]] : tensor<1x9x16xf32>)
// LINALG: linalg.copy ins(%{{.*}} : tensor<1x9x16x8xf32>) outs(%[[RNV]] : tensor<1x9x16x8xf32>)

// Every temporary is in the arena: no allocation, no if results, no
// deallocation helper.
// MEMREF: module attributes {memc.arena_bytes =
// MEMREF-NOT: memref.alloc
// MEMREF-NOT: dealloc_helper
// MEMREF: scf.for
// MEMREF: scf.if %{{[a-z0-9_]+}} {
// MEMREF-NOT: memref.alloc
// MEMREF-NOT: dealloc_helper

// LLVM: llvm.func @main_graph
// LLVM-NOT: dealloc_helper
func.func @main_graph(%q: tensor<1x9x64x8xf32> {memc.input = "q"}, %kt: tensor<1x9x8x64xf32> {memc.input = "kt"}, %v: tensor<1x9x64x8xf32> {memc.input = "v"}, %mask: tensor<64x64xf32> {memc.weight = "mask", memc.upper_triangle = {below = 0.000000e+00 : f64, diagonal = 1 : i64, value = -1.000000e+09 : f64}}) -> (tensor<1x9x64x8xf32> {memc.output = "y"}) {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x9x64x8xf32>, tensor<1x9x8x64xf32>) -> tensor<1x9x64x64xf32>
    %scale = arith.constant dense<2.0> : tensor<f32>
    %sc = einsum.einsum div [a, b, c, d] (%qk[a, b, c, d], %scale[]) -> [a, b, c, d] : (tensor<1x9x64x64xf32>, tensor<f32>) -> tensor<1x9x64x64xf32>
    %s = einsum.einsum add [a, b, c, d] (%sc[a, b, c, d], %mask[c, d]) -> [a, b, c, d] : (tensor<1x9x64x64xf32>, tensor<64x64xf32>) -> tensor<1x9x64x64xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x9x64x64xf32>) -> tensor<1x9x64xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 9, 64, 1] : tensor<1x9x64xf32> into tensor<1x9x64x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x9x64x64xf32>, tensor<1x9x64x1xf32>) -> tensor<1x9x64x64xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x9x64x64xf32>) -> tensor<1x9x64xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x9x64x64xf32>, tensor<1x9x64xf32>) -> tensor<1x9x64x64xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x9x64x64xf32>, tensor<1x9x64x8xf32>) -> tensor<1x9x64x8xf32>
    return %av : tensor<1x9x64x8xf32>
}
