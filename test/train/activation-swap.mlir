// RUN: memc-opt %s -split-input-file -memc-activation-recompute="solver=swap-all" -memc-activation-swap | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-activation-recompute="solver=swap-all" -memc-activation-swap -memc-einsum-to-linalg -memc-bufferize | FileCheck %s --check-prefix=BUF --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-activation-recompute="budget=1000000" -memc-activation-swap | FileCheck %s --check-prefix=FITS

// Every saved activation swapped: each goes to the host right after its
// last forward reader, and comes back right before each backward reader,
// which reads the copy (h3's reader reads it twice, through one copy).
// CHECK-LABEL: func @three_layers
// CHECK: %[[H1:.*]] = einsum.einsum {{.*}}(%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.remat_choice = "swap"}
// CHECK-NEXT: %[[H2:.*]] = einsum.einsum {{.*}}(%[[H1]][m, k], %arg2[k, n]) -> [m, n] {memc.remat_choice = "swap"}
// CHECK-NEXT: %[[O1:.*]] = memc.swap_out %[[H1]] : tensor<256x16xf32>
// CHECK-NEXT: %[[H3:.*]] = einsum.einsum {{.*}}(%[[H2]][m, k], %arg3[k, n]) -> [m, n] {memc.remat_choice = "swap"}
// CHECK-NEXT: %[[O2:.*]] = memc.swap_out %[[H2]] : tensor<256x16xf32>
// CHECK-NEXT: %[[L:.*]] = einsum.einsum copy reduce add [m, n] (%[[H3]][m, n])
// CHECK-NEXT: %[[O3:.*]] = memc.swap_out %[[H3]] : tensor<256x16xf32>
// CHECK-NEXT: %[[I3:.*]] = memc.swap_in %[[O3]] : tensor<256x16xf32>
// CHECK-NEXT: %[[G3:.*]] = einsum.einsum mul [m, n] (%[[I3]][m, n], %[[I3]][m, n])
// CHECK-NEXT: %[[I2:.*]] = memc.swap_in %[[O2]] : tensor<256x16xf32>
// CHECK-NEXT: einsum.einsum mul reduce add [k, n, m] (%[[I2]][m, k], %[[G3]][m, n])
// CHECK-NEXT: %[[G2:.*]] = einsum.einsum mul reduce add [m, k, n] (%[[G3]][m, n], %arg3[k, n])
// CHECK-NEXT: %[[I1:.*]] = memc.swap_in %[[O1]] : tensor<256x16xf32>
// CHECK-NEXT: einsum.einsum mul reduce add [k, n, m] (%[[I1]][m, k], %[[G2]][m, n])
// CHECK-NOT: memc.swap

// Bufferized: each host copy is an allocation in the host pool (three of
// 16 KiB), the copies are memref.copy ops between the pools.
// BUF-LABEL: func @three_layers
// BUF-SAME: memref<{{[0-9]+}}xi8> {memc.arena}, %[[POOL:.*]]: memref<49152xi8> {memc.host_pool}
// BUF-COUNT-3: memref.view %[[POOL]]{{.*}}memc.host
// BUF-NOT: memref.alloc

// A budget the step fits: nothing is swapped.
// FITS-NOT: memc.swap
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

// The backward reads h1 through a view made in the forward, in three ops:
// the first two, with nothing but pointwise work between them (they are to
// be one fused loop), share a copy back with the view rebuilt on it; the
// third, after a contraction, gets a copy of its own. The old view, now
// unread, is gone. h1's forward reader (h2) comes last, so h1 goes to the
// host after it.
// CHECK-LABEL: func @view
// CHECK: %[[H1:.*]] = einsum.einsum {{.*}}(%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.remat_choice = "swap"}
// CHECK-NOT: tensor.expand_shape
// CHECK: %[[H2:.*]] = einsum.einsum {{.*}}(%[[H1]][m, k], %arg2[k, n])
// CHECK-NEXT: %[[O1:.*]] = memc.swap_out %[[H1]]
// CHECK: %[[I1:.*]] = memc.swap_in %[[O1]] : tensor<256x16xf32>
// CHECK-NEXT: %[[V1:.*]] = tensor.expand_shape %[[I1]] {{\[\[}}0, 1], [2]] output_shape [16, 16, 16]
// CHECK-NEXT: einsum.einsum mul reduce add [k, n, a, b] (%[[V1]][a, b, k], %{{.*}}[a, b, n])
// CHECK-NEXT: einsum.einsum exp [a, b, k] (%[[V1]][a, b, k])
// CHECK-NEXT: einsum.einsum mul reduce add [m, k, n]
// CHECK-NEXT: %[[I2:.*]] = memc.swap_in %[[O1]] : tensor<256x16xf32>
// CHECK-NEXT: %[[V2:.*]] = tensor.expand_shape %[[I2]] {{\[\[}}0, 1], [2]] output_shape [16, 16, 16]
// CHECK-NEXT: einsum.einsum copy reduce add [a, b, k] (%[[V2]][a, b, k])
// CHECK-NOT: memc.swap_in
module attributes {memc.entry = @view} {
func.func @view(%x: tensor<256x4xf32> {memc.input = "x"},
                %w1: tensor<4x16xf32> {memc.weight = "w1", memc.trainable},
                %w2: tensor<16x16xf32> {memc.weight = "w2", memc.trainable})
    -> (tensor<f32>, tensor<16x16xf32>, tensor<16x16x16xf32>, tensor<256x16xf32>, tensor<f32>) {
  %h1 = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w1[k, n]) -> [m, n]
          : (tensor<256x4xf32>, tensor<4x16xf32>) -> tensor<256x16xf32>
  %v = tensor.expand_shape %h1 [[0, 1], [2]] output_shape [16, 16, 16] : tensor<256x16xf32> into tensor<16x16x16xf32>
  %h2 = einsum.einsum mul reduce add [m, n, k] (%h1[m, k], %w2[k, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %l = einsum.einsum copy reduce add [m, n] (%h2[m, n]) -> [] : (tensor<256x16xf32>) -> tensor<f32>
  // The backward.
  %g = einsum.einsum mul [m, n] (%h2[m, n], %h2[m, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<256x16xf32>
  %gv = tensor.expand_shape %g [[0, 1], [2]] output_shape [16, 16, 16] : tensor<256x16xf32> into tensor<16x16x16xf32>
  %gw2 = einsum.einsum mul reduce add [k, n, a, b] (%v[a, b, k], %gv[a, b, n]) -> [k, n]
           : (tensor<16x16x16xf32>, tensor<16x16x16xf32>) -> tensor<16x16xf32>
  %e = einsum.einsum exp [a, b, k] (%v[a, b, k]) -> [a, b, k] : (tensor<16x16x16xf32>) -> tensor<16x16x16xf32>
  %t = einsum.einsum mul reduce add [m, k, n] (%g[m, n], %w2[k, n]) -> [m, k]
         : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %s = einsum.einsum copy reduce add [a, b, k] (%v[a, b, k]) -> [] : (tensor<16x16x16xf32>) -> tensor<f32>
  return %l, %gw2, %e, %t, %s : tensor<f32>, tensor<16x16xf32>, tensor<16x16x16xf32>, tensor<256x16xf32>, tensor<f32>
}
}

// -----

// A backward reader (g) before h1's last forward reader (h2) in the
// schedule: no copy out could come before its copy back, so h1 stays where
// it is and its choice says keep.
// CHECK-LABEL: func @interleaved
// CHECK: einsum.einsum {{.*}}(%arg0[m, k], %arg1[k, n]) -> [m, n] {memc.remat_choice = "keep"}
// CHECK-NOT: memc.swap_out
// CHECK: return
module attributes {memc.entry = @interleaved} {
func.func @interleaved(%x: tensor<256x4xf32> {memc.input = "x"},
                       %w1: tensor<4x16xf32> {memc.weight = "w1", memc.trainable},
                       %w2: tensor<16x16xf32> {memc.weight = "w2", memc.trainable})
    -> (tensor<f32>, tensor<16x16xf32>) {
  %h1 = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w1[k, n]) -> [m, n]
          : (tensor<256x4xf32>, tensor<4x16xf32>) -> tensor<256x16xf32>
  %g = einsum.einsum mul reduce add [k, n, m] (%h1[m, k], %h1[m, n]) -> [k, n]
         : (tensor<256x16xf32>, tensor<256x16xf32>) -> tensor<16x16xf32>
  %h2 = einsum.einsum mul reduce add [m, n, k] (%h1[m, k], %w2[k, n]) -> [m, n]
          : (tensor<256x16xf32>, tensor<16x16xf32>) -> tensor<256x16xf32>
  %l = einsum.einsum copy reduce add [m, n] (%h2[m, n]) -> [] : (tensor<256x16xf32>) -> tensor<f32>
  return %l, %g : tensor<f32>, tensor<16x16xf32>
}
}
