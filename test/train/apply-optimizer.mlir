// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=adamw lr=0.001 weight-decay=0.01" | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=sgd lr=0.05 momentum=0.9" | FileCheck %s --check-prefix=SGD --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=sgd lr=0.05" | FileCheck %s --check-prefix=PLAIN --enable-var-scope

// Each gradient result becomes an update placed right after the weight's
// last read and its gradient, so the first weight's update does not wait
// for the second one's gradient; states come after the weights, then the
// step count.
// CHECK-LABEL: func @two_layers
// CHECK-SAME: %[[W1:[a-z0-9]+]]: tensor<8x8xf32> {memc.trainable, memc.weight = "w1"}
// CHECK-SAME: %[[W2:[a-z0-9]+]]: tensor<8x8xf32> {memc.trainable, memc.weight = "w2"}
// CHECK-SAME: %[[M1:[a-z0-9]+]]: tensor<8x8xf32> {memc.state = "w1.exp_avg", memc.state_of = "w1"}
// CHECK-SAME: %[[V1:[a-z0-9]+]]: tensor<8x8xf32> {memc.state = "w1.exp_avg_sq", memc.state_of = "w1"}
// CHECK-SAME: %{{[a-z0-9]+}}: tensor<8x8xf32> {memc.state = "w2.exp_avg", memc.state_of = "w2"}
// CHECK-SAME: %{{[a-z0-9]+}}: tensor<8x8xf32> {memc.state = "w2.exp_avg_sq", memc.state_of = "w2"}
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<i64> {memc.step = "step"}
// CHECK-SAME: -> (tensor<f32> {memc.output = "loss"}, tensor<8x8xf32> {memc.overwrites = "w1"}, tensor<8x8xf32> {memc.overwrites = "w1.exp_avg"}, tensor<8x8xf32> {memc.overwrites = "w1.exp_avg_sq"}, tensor<8x8xf32> {memc.overwrites = "w2"}
// CHECK: %[[G2:.*]] = einsum.einsum {{.*}} -> [n, k]
// CHECK: %[[DH:.*]] = einsum.einsum mul reduce add [m, n, k] (%{{.*}}[m, n], %[[W2]][n, k]) -> [m, k]
// CHECK-NEXT: %[[W2N:.*]], %[[S2:.*]]:2 = optim.adamw %[[W2]], %[[G2]] states
// CHECK: %[[G1:.*]] = einsum.einsum {{.*}} -> [n, k]
// CHECK-NEXT: %[[W1N:.*]], %[[S1:.*]]:2 = optim.adamw %[[W1]], %[[G1]] states(%[[M1]], %[[V1]]) step %[[T]] {beta1 = 9.000000e-01 : f64, beta2 = {{.*}} : f64, eps = 1.000000e-08 : f64, lr = 1.000000e-03 : f64, weight_decay = 1.000000e-02 : f64}
// CHECK: return %{{.*}}, %[[W1N]], %[[S1]]#0, %[[S1]]#1, %[[W2N]], %[[S2]]#0, %[[S2]]#1
// SGD-LABEL: func @two_layers
// SGD-SAME: {memc.state = "w1.momentum_buffer", memc.state_of = "w1"}
// SGD: optim.sgd {{.*}} states({{.*}}) step {{.*}} {lr = 5.000000e-02 : f64, momentum = 9.000000e-01 : f64, nesterov = false, weight_decay = 0.000000e+00 : f64}
// PLAIN-LABEL: func @two_layers
// PLAIN-NOT: memc.state =
// PLAIN: optim.sgd %{{.*}}, %{{.*}} step
module attributes {memc.entry = @two_layers} {
func.func @two_layers(%x: tensor<4x8xf32> {memc.input = "x"},
                      %w1: tensor<8x8xf32> {memc.weight = "w1", memc.trainable},
                      %w2: tensor<8x8xf32> {memc.weight = "w2", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}, tensor<8x8xf32> {memc.gradient = "w1"},
        tensor<8x8xf32> {memc.gradient = "w2"}) {
  %h = einsum.einsum mul reduce add [m, n, k] (%x[m, k], %w1[n, k]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %y = einsum.einsum mul reduce add [m, n, k] (%h[m, k], %w2[n, k]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %l = einsum.einsum copy reduce add [m, n] (%y[m, n]) -> []
         : (tensor<4x8xf32>) -> tensor<f32>
  %one = arith.constant dense<1.0> : tensor<4x8xf32>
  %g2 = einsum.einsum mul reduce add [m, n, k] (%one[m, n], %h[m, k]) -> [n, k]
         : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  %dh = einsum.einsum mul reduce add [m, n, k] (%one[m, n], %w2[n, k]) -> [m, k]
         : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %g1 = einsum.einsum mul reduce add [m, n, k] (%dh[m, n], %x[m, k]) -> [n, k]
         : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<8x8xf32>
  return %l, %g1, %g2 : tensor<f32>, tensor<8x8xf32>, tensor<8x8xf32>
}
}
