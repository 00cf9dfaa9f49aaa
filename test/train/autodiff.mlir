// RUN: memc-opt %s -split-input-file -memc-autodiff | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-autodiff -verify-each | FileCheck %s --check-prefix=VALID

// A contraction's gradient is a contraction: for Z[m, n] = sum_k X[m, k]
// W[n, k] and L = sum Z, dW[n, k] = sum_m dZ[m, n] X[m, k].
// CHECK-LABEL: func @contraction
// CHECK-SAME: -> (tensor<f32> {memc.output = "loss"}, tensor<8x16xf32> {memc.gradient = "w"})
// CHECK: %[[Z:.*]] = einsum.einsum mul reduce add [m, n, k] (%arg0[m, k], %arg1[n, k]) -> [m, n]
// CHECK: %[[L:.*]] = einsum.einsum copy reduce add [m, n] (%[[Z]][m, n]) -> []
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DZ:.*]] = einsum.einsum copy [m, n] (%[[ONE]][]) -> [m, n]
// CHECK: %[[DW:.*]] = einsum.einsum mul reduce add [m, n, k] (%[[DZ]][m, n], %arg0[m, k]) -> [n, k]
// CHECK: return %[[L]], %[[DW]]
// VALID-LABEL: func @contraction
module attributes {memc.entry = @contraction} {
func.func @contraction(%x: tensor<4x16xf32> {memc.input = "x"},
                       %w: tensor<8x16xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  %z = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[n, k]) -> [m, n]
         : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  %l = einsum.einsum copy reduce add [m, n] (%z[m, n]) -> []
         : (tensor<4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}

// -----

// A map action's gradient is its derivative times the incoming gradient:
// relu passes the gradient where its operand is positive; the bias, read
// broadcast over rows, sums the gradient over them.
// CHECK-LABEL: func @relu_bias
// CHECK: %[[H:.*]] = einsum.einsum add [a, b] (%arg0[a, b], %arg1[b]) -> [a, b]
// CHECK: %[[GT:.*]] = einsum.einsum gt [a, b] (%[[H]][a, b], %{{.*}}[]) -> [a, b] : {{.*}} -> tensor<4x8xi1>
// CHECK: %[[SEL:.*]] = einsum.einsum select [a, b] (%[[GT]][a, b], %{{.*}}[a, b], %{{.*}}[]) -> [a, b]
// CHECK: %[[DB:.*]] = einsum.einsum copy reduce add [a, b] (%[[SEL]][a, b]) -> [b]
// CHECK: return %{{.*}}, %[[DB]]
module attributes {memc.entry = @relu_bias} {
func.func @relu_bias(%x: tensor<4x8xf32> {memc.input = "x"},
                     %bias: tensor<8xf32> {memc.weight = "bias", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  %h = einsum.einsum add [a, b] (%x[a, b], %bias[b]) -> [a, b]
         : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %r = einsum.einsum relu [a, b] (%h[a, b]) -> [a, b]
         : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %l = einsum.einsum copy reduce add [a, b] (%r[a, b]) -> []
         : (tensor<4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}

// -----

// A max-reduction sends its gradient to the elements equal to the maximum.
// CHECK-LABEL: func @max_reduce
// CHECK: %[[M:.*]] = einsum.einsum copy reduce max [a, b] (%arg0[a, b]) -> [a]
// CHECK: %[[EQ:.*]] = einsum.einsum eq [a, b] (%arg0[a, b], %[[M]][a]) -> [a, b]
// CHECK: einsum.einsum select [a, b] (%[[EQ]][a, b], %{{.*}}[a], %{{.*}}[]) -> [a, b]
module attributes {memc.entry = @max_reduce} {
func.func @max_reduce(%w: tensor<4x8xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  %m = einsum.einsum copy reduce max [a, b] (%w[a, b]) -> [a]
         : (tensor<4x8xf32>) -> tensor<4xf32>
  %l = einsum.einsum copy reduce add [a] (%m[a]) -> []
         : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}

// -----

// A gather (tensor.generate yielding one element of a table) gets a
// scatter-add: a loop nest adding the gradient into the rows it read.
// CHECK-LABEL: func @gather
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<16x4xf32>
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]])
// CHECK: scf.for
// CHECK: %[[ID:.*]] = tensor.extract %arg0
// CHECK: %[[ROW:.*]] = arith.index_cast %[[ID]]
// CHECK: %[[OLD:.*]] = tensor.extract %{{.*}}[%[[ROW]], %{{.*}}] : tensor<16x4xf32>
// CHECK: %[[G:.*]] = tensor.extract
// CHECK: %[[SUM:.*]] = arith.addf %[[OLD]], %[[G]]
// CHECK: tensor.insert %[[SUM]] into %{{.*}}[%[[ROW]], %{{.*}}]
module attributes {memc.entry = @gather} {
func.func @gather(%ids: tensor<3xi64> {memc.input = "ids"},
                  %table: tensor<16x4xf32> {memc.weight = "table", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  %g = tensor.generate {
  ^bb0(%i: index, %j: index):
    %id = tensor.extract %ids[%i] : tensor<3xi64>
    %row = arith.index_cast %id : i64 to index
    %e = tensor.extract %table[%row, %j] : tensor<16x4xf32>
    tensor.yield %e : f32
  } : tensor<3x4xf32>
  %l = einsum.einsum mul reduce add [a, b] (%g[a, b], %g[a, b]) -> []
         : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}

// -----

// A convolution's input gradient: one contraction per kernel offset, added
// into the strided slice of the input that offset reads.
// CHECK-LABEL: func @conv
// CHECK: %[[W:.*]] = tensor.extract_slice %arg1[0, 0, 0] [2, 2, 1] [1, 1, 1]
// CHECK: einsum.einsum mul reduce add [n, f, h, c] (%{{.*}}[n, f, h], %[[W]][f, c, 0]) -> [n, c, h]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0] [1, 2, 3] [1, 1, 2]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 1] [1, 2, 3] [1, 1, 2]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 2] [1, 2, 3] [1, 1, 2]
module attributes {memc.entry = @conv} {
func.func @conv(%x: tensor<1x2x7xf32> {memc.weight = "x", memc.trainable},
                %w0: tensor<2x2x3xf32> {memc.weight = "w0", memc.trainable},
                %w1: tensor<2x2x1xf32> {memc.weight = "w1", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  %h = einsum.einsum mul reduce add [n, f, h, c, k] (%x[n, c, h * 2 + k], %w0[f, c, k]) -> [n, f, h]
         : (tensor<1x2x7xf32>, tensor<2x2x3xf32>) -> tensor<1x2x3xf32>
  %y = einsum.einsum mul reduce add [n, f, h, c] (%h[n, c, h], %w1[f, c, 0]) -> [n, f, h]
         : (tensor<1x2x3xf32>, tensor<2x2x1xf32>) -> tensor<1x2x3xf32>
  %l = einsum.einsum copy reduce add [n, f, h] (%y[n, f, h]) -> []
         : (tensor<1x2x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}

// -----

// Fused attention's gradient is einsum.attention_grad: nothing of [queries,
// keys] is kept from the forward.
// CHECK-LABEL: func @attention
// CHECK: %[[O:.*]] = einsum.attention %arg0, %arg1, %arg2
// CHECK: %[[DQ:.*]], %[[DK:.*]], %[[DV:.*]] = einsum.attention_grad %arg0, %arg1, %arg2, %[[O]], %{{.*}} scale 2.500000e-01 masked_from 1
// CHECK: return %{{.*}}, %[[DQ]], %[[DK]], %[[DV]]
module attributes {memc.entry = @attention} {
func.func @attention(%q: tensor<2x8x4xf32> {memc.weight = "q", memc.trainable},
                     %k: tensor<2x8x4xf32> {memc.weight = "k", memc.trainable},
                     %v: tensor<2x8x4xf32> {memc.weight = "v", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  %init = tensor.empty() : tensor<2x8x4xf32>
  %o = einsum.attention %q, %k, %v outs(%init : tensor<2x8x4xf32>) scale 0.25 masked_from 1
         : tensor<2x8x4xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32> -> tensor<2x8x4xf32>
  %l = einsum.einsum copy reduce add [a, b, c] (%o[a, b, c]) -> []
         : (tensor<2x8x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}
