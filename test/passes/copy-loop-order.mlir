// RUN: memc-opt %s -split-input-file -memc-copy-loop-order | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-copy-loop-order -convert-einsum-to-linalg | FileCheck %s --check-prefix=LINALG --enable-var-scope

// Attention's K^T: the ranks take the result's order, so the loops write
// the result in order and read the keys strided.
// CHECK-LABEL: func.func @key_transpose
// CHECK: einsum.einsum copy [b, c, a] (%arg0[a, b, c]) -> [b, c, a]
// LINALG-DAG: #[[$IN:.+]] = affine_map<(d0, d1, d2) -> (d2, d0, d1)>
// LINALG-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// LINALG-LABEL: func.func @key_transpose
// LINALG: linalg.generic {indexing_maps = [#[[$IN]], #[[$OUT]]]
func.func @key_transpose(%k: tensor<197x12x64xf32>) -> tensor<12x64x197xf32> {
  %t = einsum.einsum copy [a, b, c] (%k[a, b, c]) -> [b, c, a] : (tensor<197x12x64xf32>) -> tensor<12x64x197xf32>
  return %t : tensor<12x64x197xf32>
}

// -----

// A unary compute moves too, and so does a copy that converts; a broadcast
// input's constant index stays.
// CHECK-LABEL: func.func @exp_permuted
// CHECK: einsum.einsum exp [c, a, b] (%arg0[a, 0, b, c]) -> [c, a, b]
func.func @exp_permuted(%x: tensor<2x1x3x5xf32>) -> tensor<5x2x3xf32> {
  %t = einsum.einsum exp [a, b, c] (%x[a, 0, b, c]) -> [c, a, b] : (tensor<2x1x3x5xf32>) -> tensor<5x2x3xf32>
  return %t : tensor<5x2x3xf32>
}

// CHECK-LABEL: func.func @cast_permuted
// CHECK: einsum.einsum copy [b, a] (%arg0[a, b]) -> [b, a] : (tensor<4x8xf32>) -> tensor<8x4xf64>
func.func @cast_permuted(%x: tensor<4x8xf32>) -> tensor<8x4xf64> {
  %t = einsum.einsum copy [a, b] (%x[a, b]) -> [b, a] : (tensor<4x8xf32>) -> tensor<8x4xf64>
  return %t : tensor<8x4xf64>
}

// -----

// Two inputs: which operand to read in order is not clear, so nothing
// moves.
// CHECK-LABEL: func.func @add_permuted
// CHECK: einsum.einsum add [a, b] (%arg0[a, b], %arg1[a, b]) -> [b, a]
func.func @add_permuted(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %t = einsum.einsum add [a, b] (%x[a, b], %y[a, b]) -> [b, a] : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x4xf32>
  return %t : tensor<8x4xf32>
}

// -----

// A reduction keeps its order (its sums' order is its loop order).
// CHECK-LABEL: func.func @column_sums
// CHECK: einsum.einsum copy reduce add [a, b] (%arg0[a, b]) -> [b]
func.func @column_sums(%x: tensor<4x8xf32>) -> tensor<8xf32> {
  %t = einsum.einsum copy reduce add [a, b] (%x[a, b]) -> [b] : (tensor<4x8xf32>) -> tensor<8xf32>
  return %t : tensor<8xf32>
}

// -----

// Already in the result's order: unchanged.
// CHECK-LABEL: func.func @in_order
// CHECK: einsum.einsum copy [b, a] (%arg0[a, b]) -> [b, a]
func.func @in_order(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  %t = einsum.einsum copy [b, a] (%x[a, b]) -> [b, a] : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return %t : tensor<8x4xf32>
}
