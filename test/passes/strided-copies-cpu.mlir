// RUN: memc-opt %s -memc-lower-to-llvm | FileCheck %s --enable-var-scope

// On the CPU a strided memref.copy (here every second column) becomes a
// loop nest of its own (memc-strided-copies-to-linalg in
// memc-lower-to-llvm), outlined like the other kernels, not a call to the
// runtime's element-by-element memrefCopy.
// CHECK: llvm.func internal @main_graph_kernel_0(
// CHECK-NOT: memrefCopy
// CHECK: llvm.func @main_graph(
// CHECK: llvm.call @main_graph_kernel_0(
// CHECK-NOT: memrefCopy
func.func @main_graph(%in: memref<4x8xf32>, %out: memref<4x4xf32>) {
  %s = memref.subview %in[0, 0] [4, 4] [1, 2] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 2]>>
  memref.copy %s, %out : memref<4x4xf32, strided<[8, 2]>> to memref<4x4xf32>
  return
}
