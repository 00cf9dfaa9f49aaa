// RUN: memc-opt %s -split-input-file -memc-activation-recompute="budget=53248" | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-activation-recompute="solver=recompute-all" | FileCheck %s --check-prefix=ALL --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-activation-recompute="budget=1000000" | FileCheck %s --check-prefix=FITS --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-activation-recompute | FileCheck %s --check-prefix=FITS --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-activation-recompute="solver=chen" | FileCheck %s --check-prefix=CHEN --enable-var-scope

// Three layers, 16 KiB activations: kept, the backward's first op holds
// h1, h2, h3 and g3 (64 KiB). Under 52 KiB one of h1 and h2 must go; h1's
// op is the cheaper to run again (K = 4 against 16) and cheaper than two
// host copies, so h1 is recomputed right before its one backward reader,
// from x, which is always there.
// CHECK: module attributes {{{.*}}memc.remat = {budget = 53248 : i64, estimated_peak_bytes = 49152 : i64, {{.*}}solver = "{{milp|greedy}}"{{.*}}unbudgeted_peak_bytes = 65536 : i64}
// CHECK-LABEL: func @three_layers
// CHECK: %[[H1:.*]] = einsum.einsum mul reduce add [m, n, k] (%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.remat_choice = "recompute", memc.unfused}
// CHECK: %[[H2:.*]] = einsum.einsum {{.*}}(%[[H1]][m, k], %arg2[k, n]) -> [m, n] {memc.remat_choice = "keep"}
// CHECK: %[[H3:.*]] = einsum.einsum {{.*}}(%[[H2]][m, k], %arg3[k, n]) -> [m, n] {memc.remat_choice = "keep"}
// CHECK: %[[G2:.*]] = einsum.einsum mul reduce add [m, k, n]
// CHECK-NEXT: %[[R1:.*]] = einsum.einsum mul reduce add [m, n, k] (%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.recomputed, memc.unfused}
// CHECK-NEXT: einsum.einsum mul reduce add [k, n, m] (%[[R1]][m, k], %[[G2]][m, n]) -> [k, n]
// CHECK-NOT: memc.recomputed

// Recomputing everything (no budget needed): h3's first backward reader
// needs h2 and h1, which are not there, so that point makes all three, once
// (as Chen's segments are recomputed once), and each stays until its own
// last reader. Each clone, and each op it copies, is memc.unfused: their
// results were materialized unbudgeted (read in both halves), so no fusion
// may move their rounding now.
// ALL: memc.remat = {budget = 0 : i64{{.*}}solver = "recompute-all"
// ALL: %[[L:.*]] = einsum.einsum copy reduce add [m, n]
// ALL-NEXT: %[[A1:.*]] = einsum.einsum {{.*}}(%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.recomputed, memc.unfused}
// ALL-NEXT: %[[A2:.*]] = einsum.einsum {{.*}}(%[[A1]][m, k], %arg2[k, n]) -> [m, n] {memc.recomputed, memc.unfused}
// ALL-NEXT: %[[A3:.*]] = einsum.einsum {{.*}}(%[[A2]][m, k], %arg3[k, n]) -> [m, n] {memc.recomputed, memc.unfused}
// ALL-NEXT: %[[G3:.*]] = einsum.einsum mul [m, n] (%[[A3]][m, n], %[[A3]][m, n])
// ALL-NEXT: einsum.einsum mul reduce add [k, n, m] (%[[A2]][m, k], %[[G3]][m, n])
// ALL-NEXT: %[[G2:.*]] = einsum.einsum mul reduce add [m, k, n]
// ALL-NEXT: einsum.einsum mul reduce add [k, n, m] (%[[A1]][m, k], %[[G2]][m, n])
// ALL-NOT: memc.recomputed
// ALL-LABEL: func @view

// A budget the step fits, or none: nothing changes.
// FITS-NOT: memc.recomputed
// FITS-NOT: memc.remat_choice = "recompute"
module attributes {memc.entry = @three_layers} {
func.func @three_layers(%x: tensor<256x4xf32> {memc.input = "x"},
                        %w1: tensor<4x16xf32> {memc.weight = "w1", memc.trainable},
                        %w2: tensor<16x16xf32> {memc.weight = "w2", memc.trainable},
                        %w3: tensor<16x16xf32> {memc.weight = "w3", memc.trainable})
    -> (tensor<f32>, tensor<4x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>) {
  %h1 = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w1[k, n]) -> [m, n]
          : (tensor<256x4xf32>, tensor<4x16xf32>) -> tensor<256x16xf32>
  %h2 = einsum.einsum mul reduce add [m, n, k] (%h1[m, k], %w2[k, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %h3 = einsum.einsum mul reduce add [m, n, k] (%h2[m, k], %w3[k, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %l = einsum.einsum copy reduce add [m, n] (%h3[m, n]) -> [] : (tensor<256x16xf32>) -> tensor<f32>
  // The backward.
  %g3 = einsum.einsum mul [m, n] (%h3[m, n], %h3[m, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<256x16xf32>
  %gw3 = einsum.einsum mul reduce add [k, n, m] (%h2[m, k], %g3[m, n]) -> [k, n]
           : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<16x16xf32>
  %g2 = einsum.einsum mul reduce add [m, k, n] (%g3[m, n], %w3[k, n]) -> [m, k]
          : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %gw2 = einsum.einsum mul reduce add [k, n, m] (%h1[m, k], %g2[m, n]) -> [k, n]
           : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<16x16xf32>
  %g1 = einsum.einsum mul reduce add [m, k, n] (%g2[m, n], %w2[k, n]) -> [m, k]
          : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %gw1 = einsum.einsum mul reduce add [k, n, m] (%x[m, k], %g1[m, n]) -> [k, n]
           : (tensor<256x4xf32>, tensor<256x16xf32>) -> tensor<4x16xf32>
  return %l, %gw1, %gw2, %gw3 : tensor<f32>, tensor<4x16xf32>, tensor<16x16xf32>, tensor<16x16xf32>
}
}

// -----

// The backward reads h1 through a view (a reshape the gradient's
// contraction wants): the recomputed h1 gets the same view, made after it,
// and the old view, now unread, is gone. Chen's segments (sqrt(3) -> 2)
// recompute h1 and keep h2 and h3.
// CHEN-LABEL: func @view
// CHECK-LABEL: func @view
// CHECK: {memc.recomputed, memc.unfused}
// CHECK-LABEL: func @fused
// CHEN: einsum.einsum {{.*}}(%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.remat_choice = "recompute", memc.unfused}
// CHEN-NOT: tensor.expand_shape
// CHEN: %[[G:.*]] = tensor.expand_shape
// CHEN-NEXT: %[[R:.*]] = einsum.einsum {{.*}}(%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.recomputed, memc.unfused}
// CHEN-NEXT: %[[V:.*]] = tensor.expand_shape %[[R]] {{\[\[}}0, 1], [2]] output_shape [16, 16, 16]
// CHEN-NEXT: einsum.einsum mul reduce add [k, n, a, b] (%[[V]][a, b, k], %[[G]][a, b, n])
module attributes {memc.entry = @view} {
func.func @view(%x: tensor<256x4xf32> {memc.input = "x"},
                %w1: tensor<4x16xf32> {memc.weight = "w1", memc.trainable},
                %w2: tensor<16x16xf32> {memc.weight = "w2", memc.trainable})
    -> (tensor<f32>, tensor<16x16xf32>) {
  %h1 = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w1[k, n]) -> [m, n]
          : (tensor<256x4xf32>, tensor<4x16xf32>) -> tensor<256x16xf32>
  %v = tensor.expand_shape %h1 [[0, 1], [2]] output_shape [16, 16, 16] : tensor<256x16xf32> into tensor<16x16x16xf32>
  %h2 = einsum.einsum mul reduce add [m, n, k] (%h1[m, k], %w2[k, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %h3 = einsum.einsum exp [m, n] (%h2[m, n]) -> [m, n] : (tensor<256x16xf32>) -> tensor<256x16xf32>
  %l = einsum.einsum copy reduce add [m, n] (%h3[m, n]) -> [] : (tensor<256x16xf32>) -> tensor<f32>
  // The backward.
  %g = einsum.einsum mul [m, n] (%h3[m, n], %h2[m, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<256x16xf32>
  %gv = tensor.expand_shape %g [[0, 1], [2]] output_shape [16, 16, 16] : tensor<256x16xf32> into tensor<16x16x16xf32>
  %gw2 = einsum.einsum mul reduce add [k, n, a, b] (%v[a, b, k], %gv[a, b, n]) -> [k, n]
           : (tensor<16x16x16xf32>, tensor<16x16x16xf32>) -> tensor<16x16xf32>
  return %l, %gw2 : tensor<f32>, tensor<16x16xf32>
}
}

// -----

// A value fused into its one reader (E = exp(H), read only by Y = E + 1) is
// made again inside the chain that recomputes Y, and stays fusable there,
// so the recomputed Y rounds exactly as the forward's; H (a contraction's
// result) and Y were materialized, so they and their clones are unfused.
// ALL-LABEL: func @fused
// ALL: %[[H:.*]] = einsum.einsum mul reduce add {{.*}} {memc.unfused}
// ALL-NEXT: %[[E:.*]] = einsum.einsum exp [m, n] (%[[H]][m, n]) -> [m, n] :
// ALL-NEXT: %[[Y:.*]] = einsum.einsum add {{.*}} {memc.remat_choice = "recompute", memc.unfused}
// ALL: %[[H2:.*]] = einsum.einsum mul reduce add {{.*}} {memc.recomputed, memc.unfused}
// ALL-NEXT: %[[E2:.*]] = einsum.einsum exp [m, n] (%[[H2]][m, n]) -> [m, n] {memc.recomputed} :
// ALL-NEXT: %[[Y2:.*]] = einsum.einsum add [m, n] (%[[E2]][m, n], %{{.*}}[]) -> [m, n] {memc.recomputed, memc.unfused}
// ALL-NEXT: einsum.einsum mul [m, n] (%[[Y2]][m, n], %[[Y2]][m, n])
module attributes {memc.entry = @fused} {
func.func @fused(%x: tensor<256x4xf32> {memc.input = "x"},
                 %w: tensor<4x16xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32>, tensor<4x16xf32>) {
  %one = arith.constant dense<1.0> : tensor<f32>
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[k, n]) -> [m, n]
         : (tensor<256x4xf32>, tensor<4x16xf32>) -> tensor<256x16xf32>
  %e = einsum.einsum exp [m, n] (%h[m, n]) -> [m, n] : (tensor<256x16xf32>) -> tensor<256x16xf32>
  %y = einsum.einsum add [m, n] (%e[m, n], %one[]) -> [m, n]
         : (tensor<256x16xf32>, tensor<f32>) -> tensor<256x16xf32>
  %l = einsum.einsum copy reduce add [m, n] (%y[m, n]) -> [] : (tensor<256x16xf32>) -> tensor<f32>
  // The backward.
  %g = einsum.einsum mul [m, n] (%y[m, n], %y[m, n]) -> [m, n]
         : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<256x16xf32>
  %gw = einsum.einsum mul reduce add [k, n, m] (%x[m, k], %g[m, n]) -> [k, n]
          : (tensor<256x4xf32>, tensor<256x16xf32>) -> tensor<4x16xf32>
  return %l, %gw : tensor<f32>, tensor<4x16xf32>
}
}
