// RUN: memc-opt %s -split-input-file | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file | memc-opt -split-input-file | FileCheck %s --enable-var-scope

// CHECK-LABEL: func @matmul
// CHECK: einsum.einsum mul reduce add [m, n, k] (%{{.*}}[m, k], %{{.*}}[k, n]) -> [m, n] : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %z = einsum.einsum mul reduce add [m, n, k] (%a[m, k], %b[k, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %z : tensor<4x16xf32>
}

// -----

// The 3-pass softmax cascade.
// CHECK-LABEL: func @softmax
// CHECK: einsum.einsum copy reduce max [p, m] (%[[X:.*]][p, m]) -> [p]
// CHECK: einsum.einsum sub_exp [p, m] (%[[X]][p, m], %{{.*}}[p]) -> [p, m]
// CHECK: einsum.einsum copy reduce add [p, m]
// CHECK: einsum.einsum div [p, m]
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %gm = einsum.einsum copy reduce max [p, m] (%x[p, m]) -> [p] : (tensor<4x8xf32>) -> tensor<4xf32>
  %sn = einsum.einsum sub_exp [p, m] (%x[p, m], %gm[p]) -> [p, m] : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  %sd = einsum.einsum copy reduce add [p, m] (%sn[p, m]) -> [p] : (tensor<4x8xf32>) -> tensor<4xf32>
  %a = einsum.einsum div [p, m] (%sn[p, m], %sd[p]) -> [p, m] : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return %a : tensor<4x8xf32>
}

// -----

// Window expressions (a strided 1-D convolution) and broadcast constants.
// CHECK-LABEL: func @conv1d
// CHECK: einsum.einsum mul reduce add [o, k] (%{{.*}}[o * 2 + k], %{{.*}}[k]) -> [o]
// CHECK: einsum.einsum add [o] (%{{.*}}[o], %{{.*}}[0]) -> [o]
func.func @conv1d(%x: tensor<9xf32>, %w: tensor<3xf32>, %b: tensor<1xf32>) -> tensor<4xf32> {
  %y = einsum.einsum mul reduce add [o, k] (%x[o * 2 + k], %w[k]) -> [o] : (tensor<9xf32>, tensor<3xf32>) -> tensor<4xf32>
  %z = einsum.einsum add [o] (%y[o], %b[0]) -> [o] : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xf32>
  return %z : tensor<4xf32>
}

// -----

// Comparisons produce i1; select consumes it; copy converts types.
// CHECK-LABEL: func @select_cast
// CHECK: einsum.einsum lt [i]
// CHECK: einsum.einsum select [i]
// CHECK: einsum.einsum copy [i] {{.*}} -> tensor<3xi64>
func.func @select_cast(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xi64> {
  %c = einsum.einsum lt [i] (%x[i], %y[i]) -> [i] : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  %s = einsum.einsum select [i] (%c[i], %x[i], %y[i]) -> [i] : (tensor<3xi1>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %i = einsum.einsum copy [i] (%s[i]) -> [i] : (tensor<3xf32>) -> tensor<3xi64>
  return %i : tensor<3xi64>
}

// -----

// An iterative rank: a running maximum carried over 4 tiles.
// CHECK-LABEL: func @running_max
// CHECK: einsum.iterate m1(%[[I:.*]]) < 4 iter_args(%[[RM:.*]] = %{{.*}}) : tensor<8xf32> {
// CHECK:   tensor.extract_slice
// CHECK:   einsum.einsum copy reduce max
// CHECK:   einsum.einsum max
// CHECK:   einsum.yield %{{.*}} : tensor<8xf32>
func.func @running_max(%x: tensor<8x16xf32>, %init: tensor<8xf32>) -> tensor<8xf32> {
  %r = einsum.iterate m1(%i) < 4 iter_args(%rm = %init) : tensor<8xf32> {
    %c4 = arith.constant 4 : index
    %off = arith.muli %i, %c4 : index
    %tile = tensor.extract_slice %x[0, %off] [8, 4] [1, 1] : tensor<8x16xf32> to tensor<8x4xf32>
    %lm = einsum.einsum copy reduce max [p, m0] (%tile[p, m0]) -> [p] : (tensor<8x4xf32>) -> tensor<8xf32>
    %next = einsum.einsum max [p] (%rm[p], %lm[p]) -> [p] : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
    einsum.yield %next : tensor<8xf32>
  }
  return %r : tensor<8xf32>
}

// -----

// CHECK-LABEL: func @attention
// CHECK: %[[O:.*]] = einsum.attention %arg0, %arg1, %arg2 outs(%arg3 : tensor<8x128x64xf32>) scale 1.250000e-01 masked_from 1 : tensor<8x128x64xf32>, tensor<8x256x64xf32>, tensor<8x256x64xf32> -> tensor<8x128x64xf32>
// CHECK: einsum.attention %{{.*}}, %{{.*}}, %{{.*}} outs(%{{.*}} : memref<2x16x8xf32>) scale 1.000000e+00 : memref<2x16x8xf32>, memref<2x16x8xf32>, memref<2x16x8xf32>{{$}}
func.func @attention(%q: tensor<8x128x64xf32>, %k: tensor<8x256x64xf32>, %v: tensor<8x256x64xf32>, %o: tensor<8x128x64xf32>, %m: memref<2x16x8xf32>) -> tensor<8x128x64xf32> {
  %r = einsum.attention %q, %k, %v outs(%o : tensor<8x128x64xf32>) scale 0.125 masked_from 1 : tensor<8x128x64xf32>, tensor<8x256x64xf32>, tensor<8x256x64xf32> -> tensor<8x128x64xf32>
  einsum.attention %m, %m, %m outs(%m : memref<2x16x8xf32>) scale 1.0 : memref<2x16x8xf32>, memref<2x16x8xf32>, memref<2x16x8xf32>
  return %r : tensor<8x128x64xf32>
}

// -----

// A per-key bias (a padding mask known at run time).
// CHECK-LABEL: func @attention_bias
// CHECK: einsum.attention %arg0, %arg1, %arg2 bias %arg3 : tensor<8x256xf32> outs(%arg4 : tensor<8x128x64xf32>) scale 1.250000e-01 : tensor<8x128x64xf32>, tensor<8x256x64xf32>, tensor<8x256x64xf32> -> tensor<8x128x64xf32>
func.func @attention_bias(%q: tensor<8x128x64xf32>, %k: tensor<8x256x64xf32>, %v: tensor<8x256x64xf32>, %b: tensor<8x256xf32>, %o: tensor<8x128x64xf32>) -> tensor<8x128x64xf32> {
  %r = einsum.attention %q, %k, %v bias %b : tensor<8x256xf32> outs(%o : tensor<8x128x64xf32>) scale 0.125 : tensor<8x128x64xf32>, tensor<8x256x64xf32>, tensor<8x256x64xf32> -> tensor<8x128x64xf32>
  return %r : tensor<8x128x64xf32>
}
