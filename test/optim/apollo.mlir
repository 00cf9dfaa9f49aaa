// APOLLO (#optim.layout<lowrank, projection = random>): which weights keep
// projected moments, and the kernels the update lowers to.
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=apollo lr=0.001 rank=4 period=10 scale=2.0" | FileCheck %s --check-prefix=APPLY --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=apollo lr=0.001 rank=4 period=10 scale=2.0" -memc-lower-optimizer | FileCheck %s --check-prefix=LOWER --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=apollo lr=0.001 rank=1 period=10 scale=2.0" -memc-lower-optimizer | FileCheck %s --check-prefix=MINI --enable-var-scope

// Rank 1 (APOLLO-Mini) scales by the whole tensor's norms, not per channel
// (one projected value per channel can cancel to near zero).
// MINI-LABEL: func @weights
// MINI: %[[N:.*]]:2 = linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<1x64xf32>, tensor<1x64xf32>) outs({{.*}} : tensor<f32>, tensor<f32>)
// MINI: linalg.generic {{.*}} ins(%{{.*}}, %[[N]]#0, %[[N]]#1 : tensor<16x64xf32>, tensor<f32>, tensor<f32>) outs(%arg2 : tensor<16x64xf32>)

// A 2-D weight [16, 64] keeps moments of its projection on the smaller side,
// [4, 64]; a wide-and-short one [64, 8] projects its columns, [64, 4]; a
// table a gather reads, and a 1-D bias, keep AdamW's full-rank moments.
// APPLY-LABEL: func @weights
// APPLY-SAME: tensor<4x64xf32> {memc.state = "w.exp_avg", memc.state_of = "w"}
// APPLY-SAME: tensor<4x64xf32> {memc.state = "w.exp_avg_sq", memc.state_of = "w"}
// APPLY-SAME: tensor<64x4xf32> {memc.state = "tall.exp_avg", memc.state_of = "tall"}
// APPLY-SAME: tensor<10x16xf32> {memc.state = "table.exp_avg", memc.state_of = "table"}
// APPLY-SAME: tensor<64xf32> {memc.state = "bias.exp_avg", memc.state_of = "bias"}
// APPLY-DAG: optim.adamw %arg{{[0-9]+}}, %{{.*}} layout = #optim.layout<lowrank, f32, rank = 4, period = 10, scale = 2.000000e+00 : f64, projection = random>, {{.*}}seed = {{[0-9]+}}{{.*}} -> (tensor<16x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>)
// APPLY-DAG: optim.adamw {{.*}} -> (tensor<64x8xf32>, tensor<64x4xf32>, tensor<64x4xf32>)
// APPLY-DAG: optim.adamw {{.*}} -> (tensor<10x16xf32>, tensor<10x16xf32>, tensor<10x16xf32>)

// The projector P [4, 16] drawn per element (four uniforms from a hash of
// the seed, the period number (t - 1) / 10 and the indices; no libm), R =
// P g, the moments of R written into the states, per-channel norms, the
// weight.
// LOWER-LABEL: func @weights
// LOWER: %[[P:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x16xf32>)
// LOWER: arith.divsi
// LOWER-NOT: math.
// LOWER: arith.uitofp
// LOWER-NOT: math.
// LOWER: linalg.yield
// LOWER: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]], %{{.*}} : tensor<4x16xf32>, tensor<16x64xf32>)
// LOWER: %[[M:.*]]:3 = linalg.generic {{.*}} ins(%[[R]], %{{.*}}, %{{.*}} : tensor<4x64xf32>, tensor<f32>, tensor<f32>) outs(%arg{{[0-9]+}}, %arg{{[0-9]+}}, %{{.*}} : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>)
// LOWER: %[[N:.*]]:2 = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[M]]#2, %[[R]] : tensor<4x64xf32>, tensor<4x64xf32>) outs({{.*}} : tensor<64xf32>, tensor<64xf32>)
// LOWER: linalg.generic {{.*}} ins(%{{.*}}, %[[N]]#0, %[[N]]#1 : tensor<16x64xf32>, tensor<64xf32>, tensor<64xf32>) outs(%arg2 : tensor<16x64xf32>)
// LOWER: math.sqrt
module attributes {memc.entry = @weights} {
func.func @weights(%x: tensor<4x16xf32> {memc.input = "x"},
                   %ids: tensor<4xindex> {memc.input = "ids"},
                   %w: tensor<16x64xf32> {memc.weight = "w", memc.trainable},
                   %tall: tensor<64x8xf32> {memc.weight = "tall", memc.trainable},
                   %table: tensor<10x16xf32> {memc.weight = "table", memc.trainable},
                   %bias: tensor<64xf32> {memc.weight = "bias", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}, tensor<16x64xf32> {memc.gradient = "w"},
        tensor<64x8xf32> {memc.gradient = "tall"}, tensor<10x16xf32> {memc.gradient = "table"},
        tensor<64xf32> {memc.gradient = "bias"}) {
  %rows = tensor.generate {
  ^bb0(%i: index, %j: index):
    %id = tensor.extract %ids[%i] : tensor<4xindex>
    %v = tensor.extract %table[%id, %j] : tensor<10x16xf32>
    tensor.yield %v : f32
  } : tensor<4x16xf32>
  %h = einsum.einsum mul reduce add [m, n, k] (%rows[m, k], %w[k, n]) -> [m, n]
         : (tensor<4x16xf32>, tensor<16x64xf32>) -> tensor<4x64xf32>
  %y = einsum.einsum add [m, n] (%h[m, n], %bias[n]) -> [m, n]
         : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  %z = einsum.einsum mul reduce add [m, p, n] (%y[m, n], %tall[n, p]) -> [m, p]
         : (tensor<4x64xf32>, tensor<64x8xf32>) -> tensor<4x8xf32>
  %l = einsum.einsum copy reduce add [m, p] (%z[m, p]) -> [] : (tensor<4x8xf32>) -> tensor<f32>
  %gw = einsum.einsum mul reduce add [m, k, n] (%rows[m, k], %y[m, n]) -> [k, n]
          : (tensor<4x16xf32>, tensor<4x64xf32>) -> tensor<16x64xf32>
  %gt = einsum.einsum mul reduce add [m, n, p] (%y[m, n], %z[m, p]) -> [n, p]
          : (tensor<4x64xf32>, tensor<4x8xf32>) -> tensor<64x8xf32>
  %gtab = einsum.einsum copy [a, b] (%table[a, b]) -> [a, b] : (tensor<10x16xf32>) -> tensor<10x16xf32>
  %gb = einsum.einsum copy reduce add [m, n] (%y[m, n]) -> [n] : (tensor<4x64xf32>) -> tensor<64xf32>
  return %l, %gw, %gt, %gtab, %gb : tensor<f32>, tensor<16x64xf32>, tensor<64x8xf32>, tensor<10x16xf32>, tensor<64xf32>
}
}
