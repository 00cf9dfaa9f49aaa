// RUN: memc-opt %s -split-input-file -memc-recompute-pointwise | FileCheck %s --enable-var-scope

// The backward reads B = exp(H) * exp(H), made by pointwise ops from H,
// which it keeps anyway: B is recomputed from H right before its first
// backward reader (clones marked memc.recomputed), so only H lives from the
// forward to the backward. The forward is unchanged.
// CHECK-LABEL: func @pointwise_chain
// CHECK: %[[H:.*]] = einsum.einsum mul reduce add [m, n, k] (%arg0[m, k], %arg1[k, n]) -> [m, n]
// CHECK: %[[A:.*]] = einsum.einsum exp [m, n] (%[[H]][m, n]) -> [m, n]
// CHECK-NOT: memc.recomputed
// CHECK: %[[B:.*]] = einsum.einsum mul [m, n] (%[[A]][m, n], %[[A]][m, n]) -> [m, n] {memc.remat_choice = "recompute"}
// CHECK: %[[L:.*]] = einsum.einsum copy reduce add [m, n] (%[[B]][m, n]) -> []
// CHECK: %[[A2:.*]] = einsum.einsum exp [m, n] (%[[H]][m, n]) -> [m, n] {memc.recomputed}
// CHECK: %[[B2:.*]] = einsum.einsum mul [m, n] (%[[A2]][m, n], %[[A2]][m, n]) -> [m, n] {memc.recomputed}
// CHECK: %[[G:.*]] = einsum.einsum mul [m, n] (%[[B2]][m, n], %[[H]][m, n]) -> [m, n]
// CHECK: return %[[L]], %{{.*}}
module attributes {memc.entry = @pointwise_chain} {
func.func @pointwise_chain(%x: tensor<4x8xf32> {memc.input = "x"},
                           %w: tensor<8x8xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32>, tensor<8x8xf32>) {
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[k, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = einsum.einsum exp [m, n] (%h[m, n]) -> [m, n] : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %b = einsum.einsum mul [m, n] (%a[m, n], %a[m, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %l = einsum.einsum copy reduce add [m, n] (%b[m, n]) -> [] : (tensor<4x8xf32>) -> tensor<f32>
  // The backward.
  %g = einsum.einsum mul [m, n] (%b[m, n], %h[m, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %gw = einsum.einsum mul reduce add [k, n, m] (%x[m, k], %g[m, n]) -> [k, n]
          : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  return %l, %gw : tensor<f32>, tensor<8x8xf32>
}
}

// -----

// Not recomputed: A = exp(H) where H, a contraction's result as large as A,
// is not kept (recomputing A would keep H instead: no gain); a value made by
// a reduction.
// CHECK-LABEL: func @no_gain
// CHECK-NOT: memc.recomputed
module attributes {memc.entry = @no_gain} {
func.func @no_gain(%x: tensor<4x8xf32> {memc.input = "x"},
                   %w: tensor<8x8xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32>, tensor<8x8xf32>) {
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[k, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %a = einsum.einsum exp [m, n] (%h[m, n]) -> [m, n] : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %s = einsum.einsum copy reduce add [m, n] (%a[m, n]) -> [m] : (tensor<4x8xf32>) -> tensor<4xf32>
  %l = einsum.einsum copy reduce add [m] (%s[m]) -> [] : (tensor<4xf32>) -> tensor<f32>
  // The backward.
  %g = einsum.einsum mul [m, n] (%a[m, n], %s[m]) -> [m, n]
         : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  %gw = einsum.einsum mul reduce add [k, n, m] (%x[m, k], %g[m, n]) -> [k, n]
          : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  return %l, %gw : tensor<f32>, tensor<8x8xf32>
}
}

// -----

// A small value the cone reaches (a row mean, 1/8 of the size) becomes kept
// instead of the large difference D = H - mean, which the backward reads.
// CHECK-LABEL: func @small_leaf
// CHECK: %[[H:.*]] = einsum.einsum mul reduce add
// CHECK: %[[M:.*]] = einsum.einsum copy reduce add [m, n] (%[[H]][m, n]) -> [m]
// CHECK: einsum.einsum sub [m, n] (%[[H]][m, n], %[[M]][m]) -> [m, n] {memc.remat_choice = "recompute"} :
// CHECK: %[[D2:.*]] = einsum.einsum sub [m, n] (%[[H]][m, n], %[[M]][m]) -> [m, n] {memc.recomputed}
// CHECK: einsum.einsum mul [m, n] (%[[D2]][m, n], %[[H]][m, n]) -> [m, n]
module attributes {memc.entry = @small_leaf} {
func.func @small_leaf(%x: tensor<4x8xf32> {memc.input = "x"},
                      %w: tensor<8x8xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32>, tensor<8x8xf32>) {
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[k, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %mean = einsum.einsum copy reduce add [m, n] (%h[m, n]) -> [m] : (tensor<4x8xf32>) -> tensor<4xf32>
  %d = einsum.einsum sub [m, n] (%h[m, n], %mean[m]) -> [m, n]
         : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  %l = einsum.einsum copy reduce add [m, n] (%d[m, n]) -> [] : (tensor<4x8xf32>) -> tensor<f32>
  // The backward.
  %g = einsum.einsum mul [m, n] (%d[m, n], %h[m, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %gw = einsum.einsum mul reduce add [k, n, m] (%x[m, k], %g[m, n]) -> [k, n]
          : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  return %l, %gw : tensor<f32>, tensor<8x8xf32>
}
}
