// RUN: memc-opt %s -memc-merge-gpu-modules | FileCheck %s

// Two outlined kernels (same function name in different modules) end up in
// one gpu.module, named after their old modules; launches follow; the
// global both modules cloned is kept once.
// CHECK: gpu.module @memc_kernels {
// CHECK-DAG: memref.global "private" constant @g
// CHECK-DAG: gpu.func @main_graph_kernel(
// CHECK-DAG: gpu.func @main_graph_kernel_0(
// CHECK: }
// CHECK-NOT: gpu.module
// CHECK: func.func @main_graph
// CHECK: gpu.launch_func @memc_kernels::@main_graph_kernel blocks
// CHECK: gpu.launch_func @memc_kernels::@main_graph_kernel_0 blocks
module attributes {gpu.container_module} {
  gpu.module @main_graph_kernel {
    memref.global "private" constant @g : memref<2xf32> = dense<[1.0, 2.0]>
    gpu.func @main_graph_kernel(%a: memref<2xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @main_graph_kernel_0 {
    memref.global "private" constant @g : memref<2xf32> = dense<[1.0, 2.0]>
    gpu.func @main_graph_kernel(%a: memref<2xf32>) kernel {
      gpu.return
    }
  }
  func.func @main_graph(%a: memref<2xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @main_graph_kernel::@main_graph_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<2xf32>)
    gpu.launch_func @main_graph_kernel_0::@main_graph_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<2xf32>)
    return
  }
}
