// RUN: memc-opt %s -memc-buffer-mapping=verify-plan | FileCheck %s --enable-var-scope

// Lanes of chunks (an scf.forall marked memc.micro_batch = 2) run at the
// same time, each on buffers of its own. One lane's buffers are planned
// apart: a (steps 0-1) and c (2-3) share bytes, b (1-2) sits beside them,
// a region of 128 bytes. The lanes' regions are one buffer of 256 bytes,
// lane l's at its offset plus l x 128, so a buffer of one lane never shares
// bytes with any buffer of another. %w, made before the lanes and read in
// them, lives across them.
// CHECK: module attributes {memc.arena_bytes = 320 : i64, memc.host_pool_bytes = 0 : i64}
// CHECK-LABEL: func @main_graph
// CHECK: memref.view %{{.*}} {memc.buffer = 0 : i64, memc.offset = [[OW:[0-9]+]] : i64
// CHECK: scf.forall (%[[L:.*]]) in (2)
// CHECK: scf.for
// CHECK: %[[S0:.*]] = arith.muli %[[L]], %[[C128:.*]] : index
// CHECK: %[[A:.*]] = arith.addi %{{.*}}, %[[S0]] : index
// CHECK: memref.view %{{.*}}[%[[A]]][] {memc.buffer = 1 : i64, memc.offset = [[OA:[0-9]+]] : i64
// CHECK: memref.view %{{.*}} {memc.buffer = 1 : i64, memc.offset = [[OB:[0-9]+]] : i64
// CHECK: memref.view %{{.*}} {memc.buffer = 1 : i64, memc.offset = [[OA]] : i64
// CHECK: } {memc.micro_batch = 4 : i64}
// CHECK: } {memc.micro_batch = 2 : i64}
func.func @main_graph(%in: memref<16xf32>, %out: memref<2x16xf32>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %w = memref.alloc() : memref<16xf32>
  memref.copy %in, %w : memref<16xf32> to memref<16xf32>
  scf.forall (%l) in (2) {
    %lb = arith.muli %l, %c4 : index
    %o = memref.subview %out[%l, 0] [1, 16] [1, 1] : memref<2x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    scf.for %i = %lb to %c16 step %c8 {
      %a = memref.alloc() : memref<16xf32>
      memref.copy %w, %a : memref<16xf32> to memref<16xf32>
      %b = memref.alloc() : memref<16xf32>
      memref.copy %a, %b : memref<16xf32> to memref<16xf32>
      %c = memref.alloc() : memref<16xf32>
      memref.copy %b, %c : memref<16xf32> to memref<16xf32>
      linalg.add ins(%c, %w : memref<16xf32>, memref<16xf32>) outs(%o : memref<16xf32, strided<[1], offset: ?>>)
    } {memc.micro_batch = 4 : i64}
  } {memc.micro_batch = 2 : i64}
  return
}
