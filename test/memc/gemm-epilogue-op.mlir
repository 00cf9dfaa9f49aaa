// memc.gemm_epilogue: a GEMM and the op finishing its result, with the
// GEMM's result the body's argument. It prints and parses back, and the
// verifier refuses a body without that argument, with one of another kind,
// or one that ignores it.
// RUN: memc-opt %s -split-input-file | memc-opt -split-input-file | FileCheck %s --enable-var-scope

// CHECK-LABEL: func @pair
// CHECK: memc.gemm_epilogue {
// CHECK-NEXT: ^bb0(%[[C:.*]]: memref<4x8xf32>):
// CHECK-NEXT: linalg.fill ins(%{{.*}} : f32) outs(%[[C]] : memref<4x8xf32>)
// CHECK-NEXT: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x2xf32>, memref<2x8xf32>) outs(%[[C]] : memref<4x8xf32>)
// CHECK-NEXT: linalg.copy ins(%[[C]] : memref<4x8xf32>) outs(%{{.*}} : memref<4x8xf32>)
// CHECK-NEXT: }
func.func @pair(%a: memref<4x2xf32>, %b: memref<2x8xf32>, %d: memref<4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  memc.gemm_epilogue {
  ^bb0(%c: memref<4x8xf32>):
    linalg.fill ins(%zero : f32) outs(%c : memref<4x8xf32>)
    linalg.matmul ins(%a, %b : memref<4x2xf32>, memref<2x8xf32>) outs(%c : memref<4x8xf32>)
    linalg.copy ins(%c : memref<4x8xf32>) outs(%d : memref<4x8xf32>)
  }
  return
}
