// RUN: memc-opt %s -split-input-file -verify-diagnostics

func.func @beta(%w: tensor<8xf32>, %g: tensor<8xf32>, %m: tensor<8xf32>,
                %v: tensor<8xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{beta2 must be in [0, 1), got 1}}
  %a:3 = optim.adamw %w, %g states(%m, %v) step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 1.0 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64}
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>)
        -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @states(%w: tensor<8xf32>, %g: tensor<8xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{expects 2 state(s) and as many updated states, got 0 and 0}}
  %a = optim.adamw %w, %g step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64}
      : (tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<8xf32>
  return
}

// -----

func.func @lr(%w: tensor<8xf32>, %g: tensor<8xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{lr must be positive, got -1}}
  %s = optim.sgd %w, %g step %t
      {lr = -1.0 : f64, momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64}
      : (tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<8xf32>
  return
}

// -----

func.func @shape(%w: tensor<8xf32>, %g: tensor<4xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{weight, gradient and updated weight must have one type}}
  %s = optim.sgd %w, %g step %t
      {lr = 1.0 : f64, momentum = 0.0 : f64, nesterov = false, weight_decay = 0.0 : f64}
      : (tensor<8xf32>, tensor<4xf32>, tensor<i64>) -> tensor<8xf32>
  return
}

// -----

func.func @nesterov(%w: tensor<8xf32>, %g: tensor<8xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{nesterov needs a momentum}}
  %s = optim.sgd %w, %g step %t
      {lr = 1.0 : f64, momentum = 0.0 : f64, nesterov = true, weight_decay = 0.0 : f64}
      : (tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<8xf32>
  return
}
