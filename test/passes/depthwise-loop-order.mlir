// RUN: memc-opt %s -split-input-file -memc-depthwise-loop-order | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-depthwise-loop-order -convert-einsum-to-linalg | FileCheck %s --check-prefix=LINALG

// A 3x3 depthwise convolution (the importer's ranks, channel multiplier 1):
// the output row o1 moves behind the taps k0, k1; every map follows.
// CHECK-LABEL: func.func @depthwise
// CHECK: einsum.einsum mul reduce add [n, g, m, c, o0, k0, k1, o1] (%arg0[n, g, c, o0 + k0, k1 + o1], %arg1[g, m, c, k0, k1]) -> [n, g, m, o0, o1]
// LINALG: iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel", "reduction", "reduction", "parallel"]
func.func @depthwise(%x: tensor<1x8x1x18x18xf32>, %w: tensor<8x1x1x3x3xf32>) -> tensor<1x8x1x16x16xf32> {
  %y = einsum.einsum mul reduce add [n, g, m, c, o0, o1, k0, k1] (%x[n, g, c, o0 + k0, o1 + k1], %w[g, m, c, k0, k1]) -> [n, g, m, o0, o1] : (tensor<1x8x1x18x18xf32>, tensor<8x1x1x3x3xf32>) -> tensor<1x8x1x16x16xf32>
  return %y : tensor<1x8x1x16x16xf32>
}

// -----

// A regular convolution (the filter's output channels m are its own): left
// as it is.
// CHECK-LABEL: func.func @regular
// CHECK: einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1]
func.func @regular(%x: tensor<1x4x18x18xf32>, %w: tensor<8x4x3x3xf32>) -> tensor<1x8x16x16xf32> {
  %y = einsum.einsum mul reduce add [n, m, c, o0, o1, k0, k1] (%x[n, c, o0 + k0, o1 + k1], %w[m, c, k0, k1]) -> [n, m, o0, o1] : (tensor<1x4x18x18xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x16x16xf32>
  return %y : tensor<1x8x16x16xf32>
}

// -----

// A depthwise weight gradient: its reductions run over the image (16x16
// per tap), so its order stays.
// CHECK-LABEL: func.func @weight_gradient
// CHECK: einsum.einsum mul reduce add [g, k0, k1, n, o0, o1]
func.func @weight_gradient(%x: tensor<1x8x18x18xf32>, %dy: tensor<1x8x16x16xf32>) -> tensor<8x3x3xf32> {
  %dw = einsum.einsum mul reduce add [g, k0, k1, n, o0, o1] (%x[n, g, o0 + k0, o1 + k1], %dy[n, g, o0, o1]) -> [g, k0, k1] : (tensor<1x8x18x18xf32>, tensor<1x8x16x16xf32>) -> tensor<8x3x3xf32>
  return %dw : tensor<8x3x3xf32>
}

// -----

// Rows of 4 outputs: too short to vectorize, left as they are.
// CHECK-LABEL: func.func @short_row
// CHECK: einsum.einsum mul reduce add [n, g, m, c, o0, o1, k0, k1]
func.func @short_row(%x: tensor<1x8x1x6x6xf32>, %w: tensor<8x1x1x3x3xf32>) -> tensor<1x8x1x4x4xf32> {
  %y = einsum.einsum mul reduce add [n, g, m, c, o0, o1, k0, k1] (%x[n, g, c, o0 + k0, o1 + k1], %w[g, m, c, k0, k1]) -> [n, g, m, o0, o1] : (tensor<1x8x1x6x6xf32>, tensor<8x1x1x3x3xf32>) -> tensor<1x8x1x4x4xf32>
  return %y : tensor<1x8x1x4x4xf32>
}
