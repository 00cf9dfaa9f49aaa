// RUN: memc-opt %s -split-input-file | memc-opt -split-input-file | FileCheck %s
// RUN: memc-opt %s -split-input-file -verify-diagnostics --mlir-print-op-generic > /dev/null

// The update ops round-trip.
// CHECK-LABEL: func @round_trip
// CHECK: optim.adamw %arg0, %arg1 states(%arg2, %arg3) step %arg4 {beta1 = 9.000000e-01 : f64
// CHECK: optim.sgd %arg0, %arg1 step %arg4 {lr = 1.000000e-01 : f64, momentum = 0.000000e+00 : f64, nesterov = false, weight_decay = 0.000000e+00 : f64}
func.func @round_trip(%w: tensor<8xf32>, %g: tensor<8xf32>, %m: tensor<8xf32>,
                      %v: tensor<8xf32>, %t: tensor<i64>) {
  %a:3 = optim.adamw %w, %g states(%m, %v) step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64}
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>)
        -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  %s = optim.sgd %w, %g step %t
      {lr = 0.1 : f64, momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64}
      : (tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<8xf32>
  return
}
