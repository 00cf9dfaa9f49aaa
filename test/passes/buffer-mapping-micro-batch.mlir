// RUN: memc-opt %s -memc-buffer-mapping | FileCheck %s --enable-var-scope

// A loop over a batch's chunks (memc.micro_batch): its body's ops are steps,
// so the chunk's buffers a (steps 0-1) and c (2-3) share bytes, as in a
// chain at top level; b (1-2) is between them. %w, made before the loop and
// read in it, lives across the whole body. Unmarked, the loop would be one
// step and a, b, c all live at once (256 bytes).
// CHECK: module attributes {memc.arena_bytes = 192 : i64, memc.host_pool_bytes = 0 : i64}
// CHECK-LABEL: func @main_graph
// CHECK: %[[W:.*]] = memref.view %{{.*}} {memc.buffer = 0 : i64, memc.offset = [[OW:[0-9]+]] : i64
// CHECK: scf.for
// CHECK: memref.view %{{.*}} {memc.buffer = 1 : i64, memc.offset = [[OA:[0-9]+]] : i64
// CHECK: memref.view %{{.*}} {memc.buffer = 2 : i64, memc.offset = {{[0-9]+}} : i64
// CHECK: memref.view %{{.*}} {memc.buffer = 3 : i64, memc.offset = [[OA]] : i64
// CHECK: } {memc.micro_batch = 4 : i64}
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %w = memref.alloc() : memref<16xf32>
  memref.copy %in, %w : memref<16xf32> to memref<16xf32>
  scf.for %i = %c0 to %c16 step %c4 {
    %a = memref.alloc() : memref<16xf32>
    memref.copy %w, %a : memref<16xf32> to memref<16xf32>
    %b = memref.alloc() : memref<16xf32>
    memref.copy %a, %b : memref<16xf32> to memref<16xf32>
    %c = memref.alloc() : memref<16xf32>
    memref.copy %b, %c : memref<16xf32> to memref<16xf32>
    linalg.add ins(%c, %w : memref<16xf32>, memref<16xf32>) outs(%out : memref<16xf32>)
  } {memc.micro_batch = 4 : i64}
  return
}
