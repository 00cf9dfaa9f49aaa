// RUN: memc-opt %s -split-input-file -memc-bufferize | FileCheck %s --enable-var-scope

// einsum.attention bufferizes in destination style: its output buffer is
// only written, so a tensor.empty init needs no copy, and a returned result
// is written straight into the output parameter.
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[Q:.*]]: memref<2x16x8xf32>, %[[K:.*]]: memref<2x32x8xf32>, %[[V:.*]]: memref<2x32x4xf32>, %[[OUT:.*]]: memref<2x16x4xf32>)
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.alloc
// CHECK: einsum.attention %[[Q]], %[[K]], %[[V]] outs(%[[OUT]] : memref<2x16x4xf32>) scale 5.000000e-01 : memref<2x16x8xf32>, memref<2x32x8xf32>, memref<2x32x4xf32>{{$}}
// CHECK-NEXT: return
func.func @f(%q: tensor<2x16x8xf32>, %k: tensor<2x32x8xf32>, %v: tensor<2x32x4xf32>) -> tensor<2x16x4xf32> {
  %init = tensor.empty() : tensor<2x16x4xf32>
  %r = einsum.attention %q, %k, %v outs(%init : tensor<2x16x4xf32>) scale 0.5 : tensor<2x16x8xf32>, tensor<2x32x8xf32>, tensor<2x32x4xf32> -> tensor<2x16x4xf32>
  return %r : tensor<2x16x4xf32>
}

// -----

// The bias is read like Q, K and V: passed through as its buffer.
// CHECK-LABEL: func.func @with_bias
// CHECK-SAME: (%[[Q:.*]]: memref<2x16x8xf32>, %[[K:.*]]: memref<2x32x8xf32>, %[[V:.*]]: memref<2x32x4xf32>, %[[B:.*]]: memref<2x32xf32>, %[[OUT:.*]]: memref<2x16x4xf32>)
// CHECK-NOT: memref.copy
// CHECK: einsum.attention %[[Q]], %[[K]], %[[V]] bias %[[B]] : memref<2x32xf32> outs(%[[OUT]] : memref<2x16x4xf32>)
func.func @with_bias(%q: tensor<2x16x8xf32>, %k: tensor<2x32x8xf32>, %v: tensor<2x32x4xf32>, %b: tensor<2x32xf32>) -> tensor<2x16x4xf32> {
  %init = tensor.empty() : tensor<2x16x4xf32>
  %r = einsum.attention %q, %k, %v bias %b : tensor<2x32xf32> outs(%init : tensor<2x16x4xf32>) scale 0.5 : tensor<2x16x8xf32>, tensor<2x32x8xf32>, tensor<2x32x4xf32> -> tensor<2x16x4xf32>
  return %r : tensor<2x16x4xf32>
}
