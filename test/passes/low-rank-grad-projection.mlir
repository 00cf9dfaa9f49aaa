// RUN: memc-opt %s -memc-apply-optimizer="optimizer=galore lr=0.001 rank=4 period=10 scale=0.25" -memc-low-rank-grad-projection | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -memc-apply-optimizer="optimizer=galore lr=0.001 rank=4 period=10 scale=0.25" -memc-low-rank-grad-projection -memc-lower-optimizer | FileCheck %s --check-prefix=LOWER
// RUN: memc-opt %s -memc-apply-optimizer="optimizer=apollo lr=0.001 rank=4 period=10 scale=1.0" -memc-low-rank-grad-projection | FileCheck %s --check-prefix=APOLLO

// w's gradient %gw is final before a later op reads w (%late), so its
// update must wait; the projection does not: the projector refresh and
// R = P^T gw ([4, 64]) come right after %gw, before %late, and the update
// after %late takes R and the projector. The projector state's result is
// the refreshed projector.
// CHECK-LABEL: func @late_read
// CHECK-SAME: %[[W:[a-z0-9]+]]: tensor<16x64xf32> {memc.trainable, memc.weight = "w"}
// CHECK-SAME: %[[P0:[a-z0-9]+]]: tensor<16x4xf32> {memc.state = "w.projector"
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<i64> {memc.step
// CHECK: %[[GW:.*]] = einsum.einsum mul reduce add [m, k, n]
// CHECK-NEXT: %[[P:.*]] = optim.svd_projector %[[GW]] step %[[T]] into %[[P0]] {period = 10 : i64, rank = 4 : i64, right = false, weight_name = "w"}
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[GW]] : tensor<16x4xf32>, tensor<16x64xf32>) {{.*}} attrs = {optim.grad_projection}
// CHECK: %[[LATE:.*]] = einsum.einsum copy reduce add [k, n] (%[[W]][k, n])
// CHECK: %[[NW:.*]], %[[NS:.*]]:2 = optim.adamw %[[W]], %[[R]] states(%{{.*}}, %{{.*}}) projector %[[P]] step %[[T]]
// CHECK-SAME: -> (tensor<16x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>)
// CHECK: return %{{.*}}, %[[NW]], %[[NS]]#0, %[[NS]]#1, %[[P]]

// Lowered, the update uses R and P as they are: one SVD, one projection.
// LOWER-LABEL: func @late_read
// LOWER-COUNT-1: optim.svd_projector
// LOWER-NOT: optim.svd_projector
// LOWER-COUNT-1: optim.grad_projection
// LOWER-NOT: optim.grad_projection

// APOLLO's update scales the raw gradient itself: left as it is.
// APOLLO-LABEL: func @late_read
// APOLLO-NOT: optim.grad_projection
// APOLLO-NOT: projector
// APOLLO: optim.adamw
module attributes {memc.entry = @late_read} {
func.func @late_read(%x: tensor<4x16xf32> {memc.input = "x"},
                     %w: tensor<16x64xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}, tensor<16x64xf32> {memc.gradient = "w"}) {
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w[k, n]) -> [m, n]
         : (tensor<4x16xf32>, tensor<16x64xf32>) -> tensor<4x64xf32>
  %l0 = einsum.einsum copy reduce add [m, n] (%h[m, n]) -> [] : (tensor<4x64xf32>) -> tensor<f32>
  %gw = einsum.einsum mul reduce add [m, k, n] (%x[m, k], %h[m, n]) -> [k, n]
          : (tensor<4x16xf32>, tensor<4x64xf32>) -> tensor<16x64xf32>
  %late = einsum.einsum copy reduce add [k, n] (%w[k, n]) -> [] : (tensor<16x64xf32>) -> tensor<f32>
  %l = einsum.einsum add [] (%l0[], %late[]) -> [] : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return %l, %gw : tensor<f32>, tensor<16x64xf32>
}
}
