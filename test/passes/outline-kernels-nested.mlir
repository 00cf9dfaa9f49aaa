// RUN: memc-opt %s -memc-outline-kernels=nested-min-work=300 | FileCheck %s --check-prefix=NESTED --enable-var-scope
// RUN: memc-opt %s -memc-outline-kernels | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -memc-outline-kernels=nested-min-work=300 -memc-parallel-kernels=min-work=300 | FileCheck %s --check-prefix=PAR --enable-var-scope

// nested-min-work: the heavy op of a loop nest (128 iterations of 3 body
// ops) gets a kernel of its own, made first and called from the nest's;
// its slices at the induction variable are made inside it from the whole
// buffers and the offset. The light fill stays in the nest. By default the
// nest is one kernel with both ops.
// NESTED-LABEL: func.func private @main_graph_kernel_0
// NESTED-SAME: (%[[X:.*]]: memref<8x64xf32> {llvm.noalias}, %[[Y:.*]]: memref<8x64xf32> {llvm.noalias}, %[[I:.*]]: index)
// NESTED: memref.subview %[[X]][%[[I]], 0] [2, 64] [1, 1]
// NESTED: memref.subview %[[Y]][%[[I]], 0] [2, 64] [1, 1]
// NESTED: linalg.generic
// NESTED: math.exp
// NESTED-LABEL: func.func private @main_graph_kernel_1
// NESTED-SAME: (%[[IN:.*]]: memref<8x64xf32> {llvm.noalias}, %[[OUT:.*]]: memref<8x64xf32> {llvm.noalias}, %[[S:.*]]: memref<8xf32> {llvm.noalias})
// NESTED: scf.for %[[IV:.*]] =
// NESTED-NOT: linalg.generic
// NESTED-NOT: memref.subview %[[IN]]
// NESTED: call @main_graph_kernel_0(%[[IN]], %[[OUT]], %[[IV]])
// NESTED: linalg.fill
// NESTED-LABEL: func.func @main_graph
// NESTED: call @main_graph_kernel_1(
// NESTED-NOT: scf.for
// memc-parallel-kernels then splits the nested kernel (the 64 columns: 2
// rows are too few) where the nest calls it.
// PAR: func.func private @main_graph_kernel_0__parallel(memref<8x64xf32>, memref<8x64xf32>, index, index)
// PAR-LABEL: func.func private @main_graph_kernel_0(
// PAR-SAME: %{{.*}}: index, %[[LO:.*]]: index, %[[HI:.*]]: index)
// PAR-LABEL: func.func private @main_graph_kernel_1(
// PAR: scf.for %[[IV:.*]] =
// PAR: %[[E:.*]] = arith.constant 64 : index
// PAR: call @main_graph_kernel_0__parallel(%{{.*}}, %{{.*}}, %[[IV]], %[[E]])
// PAR: linalg.fill
// CHECK-LABEL: func.func private @main_graph_kernel_0
// CHECK: scf.for
// CHECK: linalg.generic
// CHECK: linalg.fill
// CHECK-NOT: func.func private
// CHECK-LABEL: func.func @main_graph
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @main_graph(%in: memref<8x64xf32>, %out: memref<8x64xf32>, %s: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c8 step %c2 {
    %x = memref.subview %in[%i, 0] [2, 64] [1, 1] : memref<8x64xf32> to memref<2x64xf32, strided<[64, 1], offset: ?>>
    %y = memref.subview %out[%i, 0] [2, 64] [1, 1] : memref<8x64xf32> to memref<2x64xf32, strided<[64, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<2x64xf32, strided<[64, 1], offset: ?>>) outs(%y : memref<2x64xf32, strided<[64, 1], offset: ?>>) {
    ^bb0(%a: f32, %b: f32):
      %e = math.exp %a : f32
      linalg.yield %e : f32
    }
    %t = memref.subview %s[%i] [2] [1] : memref<8xf32> to memref<2xf32, strided<[1], offset: ?>>
    linalg.fill ins(%zero : f32) outs(%t : memref<2xf32, strided<[1], offset: ?>>)
  }
  return
}
