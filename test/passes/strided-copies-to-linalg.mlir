// RUN: memc-opt %s -pass-pipeline="builtin.module(func.func(memc-strided-copies-to-linalg))" | FileCheck %s

// A copy into the interior of a padded buffer is strided: it becomes
// linalg.copy (a kernel); a contiguous copy stays memref.copy (cuMemcpy).
// CHECK-LABEL: func @copies
// CHECK: %[[V:.+]] = memref.subview
// CHECK: linalg.copy ins(%{{.+}} : memref<2x2xf32>) outs(%[[V]] : memref<2x2xf32, strided<[4, 1], offset: 5>>)
// CHECK: memref.copy %{{.+}}, %{{.+}} : memref<4x4xf32> to memref<4x4xf32>
func.func @copies(%x: memref<2x2xf32>, %pad: memref<4x4xf32>, %out: memref<4x4xf32>) {
  %v = memref.subview %pad[1, 1] [2, 2] [1, 1] : memref<4x4xf32> to memref<2x2xf32, strided<[4, 1], offset: 5>>
  memref.copy %x, %v : memref<2x2xf32> to memref<2x2xf32, strided<[4, 1], offset: 5>>
  memref.copy %pad, %out : memref<4x4xf32> to memref<4x4xf32>
  return
}
