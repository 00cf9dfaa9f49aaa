// RUN: memc-opt %s -split-input-file -memc-lower-optimizer | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-lower-optimizer -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=BUF

// AdamW is one elementwise kernel whose outputs are the weight and its two
// moments; the bias corrections come from the step count in f64, once, in a
// rank-0 generic (a one-thread kernel on a GPU).
// CHECK-LABEL: func @adamw
// CHECK: %[[C:.*]]:2 = linalg.generic {{.*}} iterator_types = []} ins(%arg4 : tensor<i64>)
// beta^t by binary exponentiation (no pow: GPU kernels have no libdevice).
// CHECK-NOT: math.powf
// CHECK: arith.shrui
// CHECK: arith.select
// CHECK: %[[R:.*]]:3 = linalg.generic {{.*}} ins(%arg1, %[[C]]#0, %[[C]]#1 : tensor<16xf32>, tensor<f32>, tensor<f32>) outs(%arg0, %arg2, %arg3 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// CHECK: math.sqrt
// CHECK: linalg.yield
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2
// Bufferized, the update writes the arguments' buffers: nothing allocated
// but the two coefficients.
// BUF-LABEL: func @adamw
// BUF-COUNT-2: memref.alloc() {{.*}} : memref<f32>
// BUF-NOT: memref.alloc
// BUF: linalg.generic {{.*}} outs(%arg0, %arg2, %arg3 : memref<16xf32>, memref<16xf32>, memref<16xf32>)
// BUF: return %arg0, %arg2, %arg3
func.func @adamw(%w: tensor<16xf32>, %g: tensor<16xf32>, %m: tensor<16xf32>,
                 %v: tensor<16xf32>, %t: tensor<i64>)
    -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %w2, %m2, %v2 = optim.adamw %w, %g states(%m, %v) step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.01 : f64}
      : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>,
         tensor<i64>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
  return %w2, %m2, %v2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

// SGD with Nesterov momentum: one state, the momentum buffer.
// CHECK-LABEL: func @sgd
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} ins(%arg1 : tensor<4x4xf32>) outs(%arg0, %arg2 : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK: ^bb0(%[[G:.*]]: f32, %[[W:.*]]: f32, %[[B:.*]]: f32):
// CHECK: %[[BM:.*]] = arith.mulf %[[B]], %{{.*}} : f32
// CHECK: %[[B2:.*]] = arith.addf %[[BM]], %{{.*}} : f32
// CHECK: linalg.yield %{{.*}}, %[[B2]] : f32, f32
func.func @sgd(%w: tensor<4x4xf32>, %g: tensor<4x4xf32>, %b: tensor<4x4xf32>,
               %t: tensor<i64>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %w2, %b2 = optim.sgd %w, %g states(%b) step %t
      {lr = 0.05 : f64, momentum = 0.9 : f64, nesterov = true,
       weight_decay = 0.0001 : f64}
      : (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<i64>)
        -> (tensor<4x4xf32>, tensor<4x4xf32>)
  return %w2, %b2 : tensor<4x4xf32>, tensor<4x4xf32>
}
