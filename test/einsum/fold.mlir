// RUN: memc-opt %s -split-input-file -canonicalize | FileCheck %s --enable-var-scope

// An identity copy folds away.
// CHECK-LABEL: func @identity_copy
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]]
func.func @identity_copy(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = einsum.einsum copy [i] (%x[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Pointwise ops on splat constants fold to a splat.
// CHECK-LABEL: func @splat
// CHECK-NEXT: %[[C:.*]] = arith.constant dense<1.500000e+00> : tensor<4xf32>
// CHECK-NEXT: return %[[C]]
func.func @splat() -> tensor<4xf32> {
  %a = arith.constant dense<3.0> : tensor<4xf32>
  %b = arith.constant dense<2.0> : tensor<f32>
  %y = einsum.einsum div [i] (%a[i], %b[]) -> [i] : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// A transposing copy does not fold.
// CHECK-LABEL: func @transpose
// CHECK: einsum.einsum copy [i, j] (%{{.*}}[i, j]) -> [j, i]
func.func @transpose(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %y = einsum.einsum copy [i, j] (%x[i, j]) -> [j, i] : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
