// RUN: memc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(memc-micro-batch{chunk=2}))' | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(memc-micro-batch{chunk-bytes=64}))' | FileCheck %s --check-prefix=BYTES

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#sum = affine_map<(d0, d1) -> ()>

// A linear layer's step: the activation is made a chunk of rows at a time,
// the weight gradient and the loss sum over the batch carry their partial
// sums through the loop, and the update (a function of the sum) follows it.
// CHECK-LABEL: func @linear_step
// CHECK-SAME: memc.micro_batch = {chunk = 2 : i64, loops = 1 : i64}
// CHECK: %[[ZERO:.*]] = linalg.fill {{.*}} -> tensor<4xf32>
// CHECK: %[[LZERO:.*]] = linalg.fill {{.*}} -> tensor<f32>
// CHECK: %[[R:.*]]:2 = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[G:.*]] = %[[ZERO]], %[[L:.*]] = %[[LZERO]]) -> (tensor<4xf32>, tensor<f32>)
// CHECK: %[[X:.*]] = tensor.extract_slice %{{.*}}[%[[I]], 0] [2, 4] [1, 1] : tensor<8x4xf32> to tensor<2x4xf32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x4xf32>
// CHECK: %[[A:.*]] = linalg.generic {{.*}} ins(%[[X]], %{{.*}} : tensor<2x4xf32>, tensor<4xf32>) outs(%[[E]] : tensor<2x4xf32>)
// CHECK: %[[G2:.*]] = linalg.generic {{.*}} ins(%[[A]] : tensor<2x4xf32>) outs(%[[G]] : tensor<4xf32>)
// CHECK: %[[L2:.*]] = linalg.generic {{.*}} ins(%[[A]] : tensor<2x4xf32>) outs(%[[L]] : tensor<f32>)
// CHECK: scf.yield %[[G2]], %[[L2]] : tensor<4xf32>, tensor<f32>
// CHECK: } {memc.micro_batch = 2 : i64}
// CHECK: %[[W:.*]] = linalg.generic {{.*}} ins(%[[R]]#0, %{{.*}} : tensor<4xf32>, tensor<4xf32>)
// CHECK: return %[[R]]#1, %[[W]]
// BYTES-LABEL: func @linear_step
// BYTES-SAME: memc.micro_batch = {chunk = 4 : i64, loops = 1 : i64}
// BYTES: tensor.extract_slice {{.*}} [4, 4] [1, 1] : tensor<8x4xf32> to tensor<4x4xf32>
func.func @linear_step(%x: tensor<8x4xf32> {memc.input = "x"}, %w: tensor<4xf32>) -> (tensor<f32>, tensor<4xf32>) {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x4xf32>
  %a = linalg.generic {indexing_maps = [#id2, #row, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : tensor<8x4xf32>, tensor<4xf32>) outs(%e : tensor<8x4xf32>) {
  ^bb0(%in: f32, %wi: f32, %out: f32):
    %m = arith.mulf %in, %wi : f32
    %r = arith.maximumf %m, %c0 : f32
    linalg.yield %r : f32
  } -> tensor<8x4xf32>
  %ge = tensor.empty() : tensor<4xf32>
  %gz = linalg.fill ins(%c0 : f32) outs(%ge : tensor<4xf32>) -> tensor<4xf32>
  %g = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["reduction", "parallel"]}
      ins(%a : tensor<8x4xf32>) outs(%gz : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %le = tensor.empty() : tensor<f32>
  %lz = linalg.fill ins(%c0 : f32) outs(%le : tensor<f32>) -> tensor<f32>
  %l = linalg.generic {indexing_maps = [#id2, #sum], iterator_types = ["reduction", "reduction"]}
      ins(%a : tensor<8x4xf32>) outs(%lz : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %we = tensor.empty() : tensor<4xf32>
  %w2 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%g, %w : tensor<4xf32>, tensor<4xf32>) outs(%we : tensor<4xf32>) {
  ^bb0(%gi: f32, %wi: f32, %out: f32):
    %s = arith.subf %wi, %gi : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %l, %w2 : tensor<f32>, tensor<4xf32>
}

// -----

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>

// A batched op that reads a sum over the batch (a loss normalized by its
// count of labels) runs in a second loop; the count is final after the
// first, and the division between the two.
// CHECK-LABEL: func @normalized
// CHECK-SAME: memc.micro_batch = {chunk = 2 : i64, loops = 2 : i64}
// CHECK: %[[N:.*]] = scf.for
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK: } {memc.micro_batch = 2 : i64}
// CHECK: %[[INV:.*]] = linalg.generic {{.*}} ins(%[[N]] : tensor<f32>)
// CHECK: %[[S:.*]] = scf.for
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[INV]] : tensor<2xf32>, tensor<f32>) outs(%{{.*}} : tensor<2xf32>)
// CHECK: } {memc.micro_batch = 2 : i64}
// CHECK: return %[[S]]
func.func @normalized(%x: tensor<6xf32> {memc.input = "x"}) -> tensor<f32> {
  %c0 = arith.constant 0.0 : f32
  %ne = tensor.empty() : tensor<f32>
  %nz = linalg.fill ins(%c0 : f32) outs(%ne : tensor<f32>) -> tensor<f32>
  %n = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<6xf32>) outs(%nz : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  %ie = tensor.empty() : tensor<f32>
  %inv = linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%n : tensor<f32>) outs(%ie : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.divf %one, %in : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %se = tensor.empty() : tensor<6xf32>
  %scaled = linalg.generic {indexing_maps = [#id1, #all, #id1], iterator_types = ["parallel"]}
      ins(%x, %inv : tensor<6xf32>, tensor<f32>) outs(%se : tensor<6xf32>) {
  ^bb0(%in: f32, %i: f32, %out: f32):
    %r = arith.mulf %in, %i : f32
    linalg.yield %r : f32
  } -> tensor<6xf32>
  %sz = linalg.fill ins(%c0 : f32) outs(%ne : tensor<f32>) -> tensor<f32>
  %sum = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%scaled : tensor<6xf32>) outs(%sz : tensor<f32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %out, %in : f32
    linalg.yield %s : f32
  } -> tensor<f32>
  return %sum : tensor<f32>
}

// -----

// A reshape that merges the batch into another dimension: left as it is,
// and the function says why.
// CHECK-LABEL: func @merges_batch
// CHECK-SAME: memc.micro_batch = "not split: a reshape that merges the batch"
// CHECK-NOT: scf.for
func.func @merges_batch(%x: tensor<4x2xf32> {memc.input = "x"}) -> tensor<8xf32> {
  %r = tensor.collapse_shape %x [[0, 1]] : tensor<4x2xf32> into tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// A batched value the function returns is carried whole and each chunk
// inserted into it.
// CHECK-LABEL: func @returns_batched
// CHECK: %[[WHOLE:.*]] = tensor.empty() : tensor<4x3xf32>
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[WHOLE]]) -> (tensor<4x3xf32>)
// CHECK: %[[C:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xf32>)
// CHECK: %[[INS:.*]] = tensor.insert_slice %[[C]] into %[[ACC]][%[[I]], 0] [2, 3] [1, 1]
// CHECK: scf.yield %[[INS]]
// CHECK: return %[[R]]
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

