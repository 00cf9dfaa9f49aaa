// RUN: memc-opt %s -split-input-file -memc-fusemax-attention=remarks=1 -verify-diagnostics | FileCheck %s

// Attention that must not be fused says why (with remarks=1); a plain
// matmul says nothing. Nothing is rewritten.
// CHECK: memc.fused_attention = 0
// CHECK-NOT: einsum.iterate

func.func @softmax_over_queries(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%qk[a, b, c, d]) -> [a, b, d] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%qk[a, b, c, d], %mx[a, b, d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, d] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{attention not fused: softmax is not taken over the rank the second contraction sums over}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av : tensor<1x2x16x4xf32>
  }

// -----

func.func @scores_escape(%q: tensor<1x2x16x4xf32>, %kt: tensor<1x2x4x16xf32>, %v: tensor<1x2x16x4xf32>) -> (tensor<1x2x16x4xf32>, tensor<1x2x16x16xf32>) {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x16x16xf32>
    %keep = einsum.einsum copy [a, b, c, d] (%qk[a, b, c, d]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16x16xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%qk[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 16, 1] : tensor<1x2x16xf32> into tensor<1x2x16x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%qk[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16x1xf32>) -> tensor<1x2x16x16xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x16x16xf32>) -> tensor<1x2x16xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x16x16xf32>, tensor<1x2x16xf32>) -> tensor<1x2x16x16xf32>
    // expected-remark @+1 {{attention not fused: softmax intermediates have other users}}
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x16x16xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x16x4xf32>
    return %av, %keep : tensor<1x2x16x4xf32>, tensor<1x2x16x16xf32>
  }

// -----

func.func @plain_matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
    %z = einsum.einsum mul reduce add [m, n, k] (%a[m, k], %b[k, n]) -> [m, n] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
    return %z : tensor<4x16xf32>
  }
