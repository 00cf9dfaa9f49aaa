// RUN: memc-opt %s -memc-print-pass-counts -o /dev/null | FileCheck %s

// FuseMax's pass counting (lib/Analysis/PassCount): a pass is one traversal
// of a rank's fibers; an Einsum that iterates a rank and needs a value only
// complete after a traversal of that rank starts another pass. Ranks are
// listed in order of first iteration with their pass counts.

// A 2-pass cascade: Y = sum_k A[k] * B[k], then Z = sum_k Y * A[k]; Z needs
// all of Y, so A's k-fiber is read twice.
// CHECK: @cascade1: k 2
func.func @cascade1(%a: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<f32> {
  %y = einsum.einsum mul reduce add [k] (%a[k], %b[k]) -> [] : (tensor<64xf32>, tensor<64xf32>) -> tensor<f32>
  %z = einsum.einsum mul reduce add [k] (%y[], %a[k]) -> [] : (tensor<f32>, tensor<64xf32>) -> tensor<f32>
  return %z : tensor<f32>
}

// Its 1-pass rewrite by deferring the multiplication: Y is constant over k,
// so Z = Y * sum_k A[k], and both sums share one traversal.
// CHECK: @cascade1_deferred: k 1
func.func @cascade1_deferred(%a: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<f32> {
  %y = einsum.einsum mul reduce add [k] (%a[k], %b[k]) -> [] : (tensor<64xf32>, tensor<64xf32>) -> tensor<f32>
  %x = einsum.einsum copy reduce add [k] (%a[k]) -> [] : (tensor<64xf32>) -> tensor<f32>
  %z = einsum.einsum mul [] (%y[], %x[]) -> [] : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %z : tensor<f32>
}

// Its 1-pass iterative form: k = k1 x k0, running sums carried over k1.
// Each rank is traversed once.
// CHECK: @cascade1_iterative: k1 1 k0 1
func.func @cascade1_iterative(%a: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<f32> {
  %zero = arith.constant dense<0.0> : tensor<f32>
  %ry, %rx = einsum.iterate k1(%i) < 4 iter_args(%y = %zero, %x = %zero) : tensor<f32>, tensor<f32> {
    %c16 = arith.constant 16 : index
    %off = arith.muli %i, %c16 : index
    %at = tensor.extract_slice %a[%off] [16] [1] : tensor<64xf32> to tensor<16xf32>
    %bt = tensor.extract_slice %b[%off] [16] [1] : tensor<64xf32> to tensor<16xf32>
    %ly = einsum.einsum mul reduce add [k0] (%at[k0], %bt[k0]) -> [] : (tensor<16xf32>, tensor<16xf32>) -> tensor<f32>
    %lx = einsum.einsum copy reduce add [k0] (%at[k0]) -> [] : (tensor<16xf32>) -> tensor<f32>
    %y2 = einsum.einsum add [] (%y[], %ly[]) -> [] : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %x2 = einsum.einsum add [] (%x[], %lx[]) -> [] : (tensor<f32>, tensor<f32>) -> tensor<f32>
    einsum.yield %y2, %x2 : tensor<f32>, tensor<f32>
  }
  %z = einsum.einsum mul [] (%ry[], %rx[]) -> [] : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %z : tensor<f32>
}

// 3-pass attention (PyTorch, TF, FLAT): QK, then GM = max_m QK (pass 1),
// SN = exp(QK - GM) and SD = sum_m SN (pass 2), A = SN / SD and
// AV = sum_m A * V (pass 3). p, e and f are traversed once.
// CHECK: @attention_3pass: p 1 m 3 e 1 f 1
func.func @attention_3pass(%q: tensor<32x8xf32>, %k: tensor<64x8xf32>, %v: tensor<64x8xf32>) -> tensor<32x8xf32> {
  %qk = einsum.einsum mul reduce add [p, m, e] (%q[p, e], %k[m, e]) -> [p, m] : (tensor<32x8xf32>, tensor<64x8xf32>) -> tensor<32x64xf32>
  %gm = einsum.einsum copy reduce max [p, m] (%qk[p, m]) -> [p] : (tensor<32x64xf32>) -> tensor<32xf32>
  %sn = einsum.einsum sub_exp [p, m] (%qk[p, m], %gm[p]) -> [p, m] : (tensor<32x64xf32>, tensor<32xf32>) -> tensor<32x64xf32>
  %sd = einsum.einsum copy reduce add [p, m] (%sn[p, m]) -> [p] : (tensor<32x64xf32>) -> tensor<32xf32>
  %a = einsum.einsum div [p, m] (%sn[p, m], %sd[p]) -> [p, m] : (tensor<32x64xf32>, tensor<32xf32>) -> tensor<32x64xf32>
  %av = einsum.einsum mul reduce add [p, f, m] (%a[p, m], %v[m, f]) -> [p, f] : (tensor<32x64xf32>, tensor<64x8xf32>) -> tensor<32x8xf32>
  return %av : tensor<32x8xf32>
}

// Deferring the division takes it off the m-fibers: 2 passes.
// CHECK: @attention_deferred_division: p 1 m 2 e 1 f 1
func.func @attention_deferred_division(%q: tensor<32x8xf32>, %k: tensor<64x8xf32>, %v: tensor<64x8xf32>) -> tensor<32x8xf32> {
  %qk = einsum.einsum mul reduce add [p, m, e] (%q[p, e], %k[m, e]) -> [p, m] : (tensor<32x8xf32>, tensor<64x8xf32>) -> tensor<32x64xf32>
  %gm = einsum.einsum copy reduce max [p, m] (%qk[p, m]) -> [p] : (tensor<32x64xf32>) -> tensor<32xf32>
  %sn = einsum.einsum sub_exp [p, m] (%qk[p, m], %gm[p]) -> [p, m] : (tensor<32x64xf32>, tensor<32xf32>) -> tensor<32x64xf32>
  %sd = einsum.einsum copy reduce add [p, m] (%sn[p, m]) -> [p] : (tensor<32x64xf32>) -> tensor<32xf32>
  %snv = einsum.einsum mul reduce add [p, f, m] (%sn[p, m], %v[m, f]) -> [p, f] : (tensor<32x64xf32>, tensor<64x8xf32>) -> tensor<32x8xf32>
  %av = einsum.einsum div [p, f] (%snv[p, f], %sd[p]) -> [p, f] : (tensor<32x8xf32>, tensor<32xf32>) -> tensor<32x8xf32>
  return %av : tensor<32x8xf32>
}

// 1-pass attention (FlashAttention-2's cascade, FuseMax): M = M1 x M0, the
// running maximum RM, denominator RD and numerator RNV carried over M1. M1
// is traversed once; inside a tile, M0 twice (the tile's maximum before its
// exponentials), which is what the tile buffer is for.
// CHECK: @attention_1pass: m1 1 p 1 m0 2 e 1 f 1
func.func @attention_1pass(%q: tensor<32x8xf32>, %k: tensor<64x8xf32>, %v: tensor<64x8xf32>) -> tensor<32x8xf32> {
  %ninf = arith.constant dense<0xFF800000> : tensor<32xf32>
  %zero = arith.constant dense<0.0> : tensor<32xf32>
  %zero2 = arith.constant dense<0.0> : tensor<32x8xf32>
  %r:3 = einsum.iterate m1(%i) < 4 iter_args(%rm = %ninf, %rd = %zero, %rnv = %zero2) : tensor<32xf32>, tensor<32xf32>, tensor<32x8xf32> {
    %c16 = arith.constant 16 : index
    %off = arith.muli %i, %c16 : index
    %bk = tensor.extract_slice %k[%off, 0] [16, 8] [1, 1] : tensor<64x8xf32> to tensor<16x8xf32>
    %bv = tensor.extract_slice %v[%off, 0] [16, 8] [1, 1] : tensor<64x8xf32> to tensor<16x8xf32>
    %bqk = einsum.einsum mul reduce add [p, m0, e] (%q[p, e], %bk[m0, e]) -> [p, m0] : (tensor<32x8xf32>, tensor<16x8xf32>) -> tensor<32x16xf32>
    %lm = einsum.einsum copy reduce max [p, m0] (%bqk[p, m0]) -> [p] : (tensor<32x16xf32>) -> tensor<32xf32>
    %rm2 = einsum.einsum max [p] (%rm[p], %lm[p]) -> [p] : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
    %sln = einsum.einsum sub_exp [p, m0] (%bqk[p, m0], %rm2[p]) -> [p, m0] : (tensor<32x16xf32>, tensor<32xf32>) -> tensor<32x16xf32>
    %sld = einsum.einsum copy reduce add [p, m0] (%sln[p, m0]) -> [p] : (tensor<32x16xf32>) -> tensor<32xf32>
    %slnv = einsum.einsum mul reduce add [p, f, m0] (%sln[p, m0], %bv[m0, f]) -> [p, f] : (tensor<32x16xf32>, tensor<16x8xf32>) -> tensor<32x8xf32>
    %prm = einsum.einsum sub_exp [p] (%rm[p], %rm2[p]) -> [p] : (tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
    %rd2 = einsum.einsum mul_add [p] (%rd[p], %prm[p], %sld[p]) -> [p] : (tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<32xf32>
    %rnv2 = einsum.einsum mul_add [p, f] (%rnv[p, f], %prm[p], %slnv[p, f]) -> [p, f] : (tensor<32x8xf32>, tensor<32xf32>, tensor<32x8xf32>) -> tensor<32x8xf32>
    einsum.yield %rm2, %rd2, %rnv2 : tensor<32xf32>, tensor<32xf32>, tensor<32x8xf32>
  }
  %av = einsum.einsum div [p, f] (%r#2[p, f], %r#1[p]) -> [p, f] : (tensor<32x8xf32>, tensor<32xf32>) -> tensor<32x8xf32>
  return %av : tensor<32x8xf32>
}
