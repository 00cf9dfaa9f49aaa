// RUN: memc-opt %s -split-input-file -memc-parallel-lanes=func=main_graph | FileCheck %s --enable-var-scope

// Lanes of chunks (an scf.forall marked memc.micro_batch, after
// memc-outline-kernels): the body moves into a function over lanes
// [lo, hi), and the forall becomes a call of its __parallel declaration
// with the number of lanes, for memc-parallel-calls-to-runtime.
// CHECK-LABEL: func.func private @main_graph_lanes
// CHECK-SAME: (%[[OUT:.*]]: memref<2x16xf32>, %[[IN:.*]]: memref<16xf32>, %[[LO:.*]]: index, %[[HI:.*]]: index)
// CHECK: scf.for %[[L:.*]] = %[[LO]] to %[[HI]] step %{{.*}} {
// CHECK: %[[LB:.*]] = arith.muli %[[L]], %{{.*}} : index
// CHECK: scf.for %[[I:.*]] = %[[LB]] to
// CHECK: memref.subview %[[OUT]][%[[L]], 0] [1, 16] [1, 1]
// CHECK: call @kernel(%[[IN]], %{{.*}}, %[[I]])
// CHECK: } {memc.micro_batch = 4 : i64}
// CHECK: return
// CHECK: func.func private @main_graph_lanes__parallel(memref<2x16xf32>, memref<16xf32>, index)
// CHECK-LABEL: func.func @main_graph
// CHECK: %[[N:.*]] = arith.constant 2 : index
// CHECK: call @main_graph_lanes__parallel(%{{.*}}, %{{.*}}, %[[N]])
// CHECK-NOT: scf.forall
func.func private @kernel(%a: memref<16xf32>, %b: memref<16xf32, strided<[1], offset: ?>>, %i: index) {
  return
}
func.func @main_graph(%in: memref<16xf32>, %out: memref<2x16xf32>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.forall (%l) in (2) {
    %lb = arith.muli %l, %c4 : index
    scf.for %i = %lb to %c16 step %c8 {
      %o = memref.subview %out[%l, 0] [1, 16] [1, 1] : memref<2x16xf32> to memref<16xf32, strided<[1], offset: ?>>
      func.call @kernel(%in, %o, %i) : (memref<16xf32>, memref<16xf32, strided<[1], offset: ?>>, index) -> ()
    } {memc.micro_batch = 4 : i64}
  } {memc.micro_batch = 2 : i64}
  return
}

// -----

// A body that reads a view no bare pointer can carry (made outside the
// lanes, with a dynamic offset) runs its lanes one after another in place.
// CHECK-LABEL: func.func @main_graph
// CHECK-NOT: __parallel
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: scf.for
// CHECK: } {memc.micro_batch = 4 : i64}
// CHECK-NOT: scf.forall
func.func private @kernel(%b: memref<16xf32, strided<[1], offset: ?>>, %i: index) {
  return
}
func.func @main_graph(%out: memref<2x16xf32>, %k: index) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %o = memref.subview %out[%k, 0] [1, 16] [1, 1] : memref<2x16xf32> to memref<16xf32, strided<[1], offset: ?>>
  scf.forall (%l) in (2) {
    %lb = arith.muli %l, %c4 : index
    scf.for %i = %lb to %c16 step %c8 {
      func.call @kernel(%o, %i) : (memref<16xf32, strided<[1], offset: ?>>, index) -> ()
    } {memc.micro_batch = 4 : i64}
  } {memc.micro_batch = 2 : i64}
  return
}
