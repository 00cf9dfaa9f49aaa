// GaLore (#optim.layout<lowrank, projection = svd>): which weights are
// projected, the kernels and the projector refresh the update lowers to,
// the refresh as a runtime call after bufferization, and what
// optim.svd_projector refuses.
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=galore lr=0.001 rank=4 period=10 scale=0.25" | FileCheck %s --check-prefix=APPLY --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=galore lr=0.001 rank=4 period=10 scale=0.25" -memc-lower-optimizer | FileCheck %s --check-prefix=LOWER --enable-var-scope
// RUN: memc-opt %s -memc-apply-optimizer="optimizer=adamw lr=0.001 layouts={galore:rank=4,period=10,scale=0.25 w;apollo:rank=2,period=5,scale=1.0 tal+}" | FileCheck %s --check-prefix=RULES --enable-var-scope

// Per-weight layouts (--optimizer-layouts) under AdamW: w takes GaLore
// (its own step form and a projector), tall APOLLO, the rest AdamW.
// RULES-LABEL: func @weights
// RULES-SAME: tensor<16x4xf32> {memc.state = "w.projector", memc.state_of = "w"}
// RULES-SAME: tensor<64x2xf32> {memc.state = "tall.exp_avg", memc.state_of = "tall"}
// RULES-DAG: optim.adamw {{.*}}galore_form, layout = #optim.layout<lowrank, f32, rank = 4, period = 10, scale = 2.500000e-01 : f64>{{.*}} -> (tensor<16x64xf32>,
// RULES-DAG: optim.adamw {{.*}}layout = #optim.layout<lowrank, f32, rank = 2, period = 5, scale = 1.000000e+00 : f64, projection = random>, {{.*}}seed = {{.*}} -> (tensor<64x8xf32>,
// RULES-DAG: optim.adamw {{.*}}weight_decay = 0.000000e+00 : f64} : {{.*}} -> (tensor<10x16xf32>, tensor<10x16xf32>, tensor<10x16xf32>)

// [16, 64] (A < B): P = U[:, :4] ([16, 4]), moments of R = P^T g ([4, 64]);
// [64, 8] (A >= B): P = Vh[:4] ([4, 8]), moments of R = g P^T ([64, 4]);
// a table a gather reads and a 1-D bias: GaLore's form at full rank. Every
// update carries galore_form.
// APPLY-LABEL: func @weights
// APPLY-SAME: tensor<4x64xf32> {memc.state = "w.exp_avg", memc.state_of = "w"}
// APPLY-SAME: tensor<4x64xf32> {memc.state = "w.exp_avg_sq", memc.state_of = "w"}
// APPLY-SAME: tensor<16x4xf32> {memc.state = "w.projector", memc.state_of = "w"}
// APPLY-SAME: tensor<64x4xf32> {memc.state = "tall.exp_avg", memc.state_of = "tall"}
// APPLY-SAME: tensor<4x8xf32> {memc.state = "tall.projector", memc.state_of = "tall"}
// APPLY-SAME: tensor<10x16xf32> {memc.state = "table.exp_avg", memc.state_of = "table"}
// APPLY-DAG: optim.adamw {{.*}}galore_form, layout = #optim.layout<lowrank, f32, rank = 4, period = 10, scale = 2.500000e-01 : f64>{{.*}} -> (tensor<16x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>, tensor<16x4xf32>)
// APPLY-DAG: optim.adamw {{.*}} -> (tensor<64x8xf32>, tensor<64x4xf32>, tensor<64x4xf32>, tensor<4x8xf32>)
// APPLY-DAG: optim.adamw {{.*}}galore_form{{.*}} -> (tensor<10x16xf32>, tensor<10x16xf32>, tensor<10x16xf32>)
// APPLY-NOT: seed

// The projector refreshed in place from the gradient, R = P^T g, the
// moments of R into the states and N = m / (sqrt(v) + eps), back = P N, the
// weight stepped by -lr sqrt(1 - b2^t) / (1 - b1^t) * 0.25 * back.
// LOWER-LABEL: func @weights
// LOWER: %[[P:.*]] = optim.svd_projector %{{.*}} step %{{.*}} into %arg{{[0-9]+}} {period = 10 : i64, rank = 4 : i64, right = false, weight_name = "w"} : tensor<16x64xf32>, tensor<i64> into tensor<16x4xf32> -> tensor<16x4xf32>
// LOWER: %[[R:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[P]], %{{.*}} : tensor<16x4xf32>, tensor<16x64xf32>)
// LOWER: %[[M:.*]]:3 = linalg.generic {{.*}} ins(%[[R]] : tensor<4x64xf32>) outs(%arg{{[0-9]+}}, %arg{{[0-9]+}}, %{{.*}} : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>)
// LOWER: math.sqrt
// LOWER: %[[B:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[M]]#2 : tensor<16x4xf32>, tensor<4x64xf32>)
// LOWER: linalg.generic {{.*}} ins(%[[B]], %{{.*}} : tensor<16x64xf32>, tensor<f32>) outs(%arg2 : tensor<16x64xf32>)
// LOWER: arith.constant 2.500000e-01 : f32
// LOWER: optim.svd_projector {{.*}} {period = 10 : i64, rank = 4 : i64, right = true, weight_name = "tall"} : tensor<64x8xf32>, tensor<i64> into tensor<4x8xf32>
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
