// 8-bit Adam (#optim.layout<blockwise8>): which weights get compact
// moments, what the update op takes, and the three kernels it lowers to.
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=adam8bit lr=0.001 weight-decay=0.01 block=2048" | FileCheck %s --check-prefix=APPLY --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=adam8bit lr=0.001 block=2048" -memc-lower-optimizer | FileCheck %s --check-prefix=LOWER --enable-var-scope

// A weight of at least 4096 elements keeps each moment as 4096 i8 codes and
// one f32 absmax per 2048 elements (2 blocks); a smaller one keeps f32
// moments.
// APPLY-LABEL: func @two_weights
// APPLY-SAME: tensor<64xf32> {memc.state = "small.exp_avg", memc.state_of = "small"}
// APPLY-SAME: tensor<64xf32> {memc.state = "small.exp_avg_sq", memc.state_of = "small"}
// APPLY-SAME: tensor<4096xi8> {memc.state = "big.exp_avg", memc.state_of = "big"}
// APPLY-SAME: tensor<2xf32> {memc.state = "big.exp_avg.absmax", memc.state_of = "big"}
// APPLY-SAME: tensor<4096xi8> {memc.state = "big.exp_avg_sq", memc.state_of = "big"}
// APPLY-SAME: tensor<2xf32> {memc.state = "big.exp_avg_sq.absmax", memc.state_of = "big"}
// APPLY: optim.adamw
// APPLY-NOT: layout
// APPLY-SAME: -> (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
// APPLY: optim.adamw {{.*}} layout = #optim.layout<blockwise8, i8, block = 2048>
// APPLY-SAME: -> (tensor<64x64xf32>, tensor<4096xi8>, tensor<2xf32>, tensor<4096xi8>, tensor<2xf32>)

// The blockwise8 update: (1) dequantize (the codes index the dynamic maps,
// times their block's absmax) and step, the weight in place; (2) each
// block's absmax of the new moments into the zeroed absmax states; (3) the
// nearest codes (binary search over the midpoints) into the code states.
// LOWER-LABEL: func @two_weights
// LOWER: linalg.generic
// LOWER: %[[UPD:.*]]:3 = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<f32>, tensor<f32>) outs(%arg2, %{{.*}}, %{{.*}} : tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>)
// LOWER: tensor.extract %arg5[%{{.*}}] : tensor<4096xi8>
// LOWER: arith.extui
// LOWER: tensor.extract %arg6[%{{.*}}] : tensor<2xf32>
// LOWER: %[[MF:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%arg6 : tensor<2xf32>)
// LOWER: %[[VF:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%arg8 : tensor<2xf32>)
// LOWER: %[[MAX:.*]]:2 = linalg.generic {{.*}} outs(%[[MF]], %[[VF]] : tensor<2xf32>, tensor<2xf32>)
// LOWER: scf.for
// LOWER: math.absf
// LOWER: arith.maximumf
// LOWER: %[[CODES:.*]]:2 = linalg.generic {{.*}} outs(%arg5, %arg7 : tensor<4096xi8>, tensor<4096xi8>)
// LOWER-COUNT-8: arith.cmpf olt
// LOWER: arith.trunci {{.*}} : i32 to i8
// LOWER: return {{.*}}, {{.*}}, {{.*}}, {{.*}}, %[[UPD]]#0, %[[CODES]]#0, %[[MAX]]#0, %[[CODES]]#1, %[[MAX]]#1
module attributes {memc.entry = @two_weights} {
func.func @two_weights(%x: tensor<4x64xf32> {memc.input = "x"},
                       %small: tensor<64xf32> {memc.weight = "small", memc.trainable},
                       %big: tensor<64x64xf32> {memc.weight = "big", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}, tensor<64xf32> {memc.gradient = "small"},
        tensor<64x64xf32> {memc.gradient = "big"}) {
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %big[n, k]) -> [m, n]
         : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %y = einsum.einsum add [m, n] (%h[m, n], %small[n]) -> [m, n]
         : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  %l = einsum.einsum copy reduce add [m, n] (%y[m, n]) -> [] : (tensor<4x64xf32>) -> tensor<f32>
  %gs = einsum.einsum copy reduce add [m, n] (%x[m, n]) -> [n] : (tensor<4x64xf32>) -> tensor<64xf32>
  %gb = einsum.einsum mul reduce add [m, n, k] (%x[m, n], %x[m, k]) -> [n, k]
          : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<64x64xf32>
  return %l, %gs, %gb : tensor<f32>, tensor<64xf32>, tensor<64x64xf32>
}
}
