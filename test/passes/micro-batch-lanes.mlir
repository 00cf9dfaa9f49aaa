// RUN: memc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(memc-micro-batch{chunk=2 lanes=2}))' | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(memc-micro-batch{chunk=4 lanes=4}))' | FileCheck %s --check-prefix=FEW

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// Chunks side by side: lane l runs chunks l, l + 2, ... of 2 rows in its
// own scf.for, summing into row l of a [2, 4] tensor of partial sums. Row 0
// starts from the reduction's init, row 1 from the combiner's identity (0
// for addf); the rows are combined in lane order after the lanes.
// CHECK-LABEL: func @grad_sum
// CHECK-SAME: memc.micro_batch = {chunk = 2 : i64, lanes = 2 : i64, loops = 1 : i64}
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[STACK:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: %[[ROW0:.*]] = tensor.insert_slice %[[INIT]] into %[[STACK]][0, 0] [1, 4] [1, 1]
// CHECK: %[[P:.*]] = scf.forall (%[[L:.*]]) in (2) shared_outs(%[[O:.*]] = %[[ROW0]]) -> (tensor<2x4xf32>)
// CHECK: %[[LB:.*]] = arith.muli %[[L]], %{{.*}}
// CHECK: %[[ACC:.*]] = tensor.extract_slice %[[O]][%[[L]], 0] [1, 4] [1, 1] : tensor<2x4xf32> to tensor<4xf32>
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %[[LB]] to %[[C8]] step %[[C4]] iter_args(%[[G:.*]] = %[[ACC]]) -> (tensor<4xf32>)
// CHECK: tensor.extract_slice %{{.*}}[%[[I]], 0] [2, 4] [1, 1] : tensor<8x4xf32> to tensor<2x4xf32>
// CHECK: linalg.generic {{.*}} outs(%[[G]] : tensor<4xf32>)
// CHECK: } {memc.micro_batch = 2 : i64}
// CHECK: scf.forall.in_parallel
// CHECK: tensor.parallel_insert_slice %[[R]] into %[[O]][%[[L]], 0] [1, 4] [1, 1]
// CHECK: } {memc.micro_batch = 2 : i64}
// CHECK: %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[P]] : tensor<2x4xf32>) outs(%[[Z]] : tensor<4xf32>)
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: return %[[SUM]]
// Four lanes of 4 rows would be more lanes than the 2 chunks: 2 lanes.
// FEW-LABEL: func @grad_sum
// FEW-SAME: memc.micro_batch = {chunk = 4 : i64, lanes = 2 : i64, loops = 1 : i64}
// FEW: scf.forall (%{{.*}}) in (2)
func.func @grad_sum(%x: tensor<8x4xf32> {memc.input = "x"}) -> tensor<4xf32> {
  %c0 = arith.constant 0.0 : f32
  %ge = tensor.empty() : tensor<4xf32>
  %gz = linalg.fill ins(%c0 : f32) outs(%ge : tensor<4xf32>) -> tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<8x4xf32>) outs(%gz : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    %s = arith.addf %out, %e : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// A max over the batch: the other lanes start from -inf.
// CHECK-LABEL: func @batch_max
// CHECK-SAME: lanes = 2 : i64
// CHECK: %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NEG]] : f32) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: scf.forall
// CHECK: arith.maximumf
func.func @batch_max(%x: tensor<8x4xf32> {memc.input = "x"}) -> tensor<4xf32> {
  %c0 = arith.constant 0.0 : f32
  %ge = tensor.empty() : tensor<4xf32>
  %gz = linalg.fill ins(%c0 : f32) outs(%ge : tensor<4xf32>) -> tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<8x4xf32>) outs(%gz : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.maximumf %out, %in : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// A reduction whose body reads its accumulator twice has no combiner the
// lanes could use: one lane, an scf.for as without lanes.
// CHECK-LABEL: func @no_combiner
// CHECK-SAME: memc.micro_batch = {chunk = 2 : i64, loops = 1 : i64}
// CHECK-NOT: scf.forall
// CHECK: scf.for
func.func @no_combiner(%x: tensor<8x4xf32> {memc.input = "x"}) -> tensor<4xf32> {
  %c0 = arith.constant 0.0 : f32
  %ge = tensor.empty() : tensor<4xf32>
  %gz = linalg.fill ins(%c0 : f32) outs(%ge : tensor<4xf32>) -> tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<8x4xf32>) outs(%gz : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %out, %in : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %g : tensor<4xf32>
}

// -----

// A batched value the function returns would be written by all lanes into
// one carried tensor: one lane.
// CHECK-LABEL: func @returns_batched
// CHECK-SAME: memc.micro_batch = {chunk = 2 : i64, loops = 1 : i64}
// CHECK-NOT: scf.forall
func.func @returns_batched(%x: tensor<4x3xf32> {memc.input = "x"}) -> tensor<4x3xf32> {
  %e = tensor.empty() : tensor<4x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
