// The program interface round-trips and verifies: entry, argument roles,
// bound parameters, pools, FuseMax facts and arena views.
// RUN: memc-opt %s -split-input-file | FileCheck %s --enable-var-scope

// CHECK: module attributes {memc.arena_bytes = 64 : i64, memc.entry = @step, memc.host_pool_bytes = 0 : i64}
// CHECK: ml_program.global private mutable @w(dense<1.000000e+00> : tensor<4xf32>) : tensor<4xf32> {memc.trainable, memc.weight = "w"}
// CHECK: func.func @step(%{{.*}}: memref<4xf32> {memc.input = "x"}, %{{.*}}: memref<4xf32> {memc.parameter = @w, memc.weight = "w"}, %{{.*}}: memref<4xf32> {memc.output = "y"}, %[[A:.*]]: memref<64xi8> {memc.arena})
// CHECK: memref.view %[[A]]{{.*}} {memc.buffer = 0 : i64, memc.offset = 0 : i64, memc.tenant = 0 : i64}
module attributes {memc.entry = @step, memc.arena_bytes = 64 : i64, memc.host_pool_bytes = 0 : i64} {
  ml_program.global private mutable @w(dense<1.0> : tensor<4xf32>) : tensor<4xf32> {memc.weight = "w", memc.trainable}
  func.func @step(%x: memref<4xf32> {memc.input = "x"}, %w: memref<4xf32> {memc.weight = "w", memc.parameter = @w}, %y: memref<4xf32> {memc.output = "y"}, %arena: memref<64xi8> {memc.arena}) {
    %c0 = arith.constant 0 : index
    %t = memref.view %arena[%c0][] {memc.buffer = 0 : i64, memc.offset = 0 : i64, memc.tenant = 0 : i64} : memref<64xi8> to memref<4xf32>
    return
  }
}

// -----

// CHECK: module attributes {memc.fused_attention = 1 : i64, memc.fusemax_cascades = [{causal_skip = true, form = "cascade", kv_tile = 4 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 8 : i64, rank = "m"}]}
// CHECK: func.func @main_graph(%{{.*}}: tensor<16x16xf32> {memc.upper_triangle = {below = 0.000000e+00 : f64, diagonal = 1 : i64, value = -1.000000e+09 : f64}, memc.weight = "mask"}) -> (tensor<16x16xf32> {memc.output = "y"})
module attributes {memc.fused_attention = 1 : i64, memc.fusemax_cascades = [{causal_skip = true, form = "cascade", kv_tile = 4 : i64, passes_after = 1 : i64, passes_before = 3 : i64, query_tile = 8 : i64, rank = "m"}]} {
  func.func @main_graph(%m: tensor<16x16xf32> {memc.weight = "mask", memc.upper_triangle = {diagonal = 1 : i64, value = -1.0e9 : f64, below = 0.0 : f64}}) -> (tensor<16x16xf32> {memc.output = "y"}) {
    return %m : tensor<16x16xf32>
  }
}
