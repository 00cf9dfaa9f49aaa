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

// -----

// blockwise8 moments are flat i8 codes and one f32 absmax per block.
func.func @blockwise8_types(%w: tensor<64x64xf32>, %g: tensor<64x64xf32>,
                            %m: tensor<4096xi8>, %ma: tensor<4xf32>,
                            %v: tensor<4096xi8>, %va: tensor<2xf32>,
                            %t: tensor<i64>) {
  // expected-error @+1 {{expects a state of type 'tensor<2xf32>' (its layout's), got 'tensor<4xf32>' -> 'tensor<4xf32>'}}
  %a:5 = optim.adamw %w, %g states(%m, %ma, %v, %va) step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64,
       layout = #optim.layout<blockwise8, i8, block = 2048>}
      : (tensor<64x64xf32>, tensor<64x64xf32>, tensor<4096xi8>, tensor<4xf32>,
         tensor<4096xi8>, tensor<2xf32>, tensor<i64>)
        -> (tensor<64x64xf32>, tensor<4096xi8>, tensor<4xf32>, tensor<4096xi8>, tensor<2xf32>)
  return
}

// -----

func.func @blockwise8_count(%w: tensor<64x64xf32>, %g: tensor<64x64xf32>,
                            %m: tensor<64x64xf32>, %v: tensor<64x64xf32>,
                            %t: tensor<i64>) {
  // expected-error @+1 {{expects 4 state(s) and as many updated states, got 2 and 2}}
  %a:3 = optim.adamw %w, %g states(%m, %v) step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64,
       layout = #optim.layout<blockwise8, i8, block = 2048>}
      : (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<i64>)
        -> (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>)
  return
}

// -----

// SGD keeps its momentum dense; low-rank layouts have no update yet.
func.func @sgd_blockwise8(%w: tensor<8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>,
                          %t: tensor<i64>) {
  // expected-error @+1 {{keeps its momentum dense (blockwise8 is adamw's)}}
  %s:2 = optim.sgd %w, %g states(%b) step %t
      {lr = 0.1 : f64, momentum = 0.9 : f64, nesterov = false, weight_decay = 0.0 : f64,
       layout = #optim.layout<blockwise8, i8, block = 4>}
      : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> (tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @lowrank(%w: tensor<8x8xf32>, %g: tensor<8x8xf32>, %m: tensor<8x8xf32>,
                   %v: tensor<8x8xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{with projection svd takes GaLore's own step (galore_form)}}
  %a:3 = optim.adamw %w, %g states(%m, %v) step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64,
       layout = #optim.layout<lowrank, f32, rank = 2, period = 10>}
      : (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<i64>)
        -> (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @projector_needs_svd(%w: tensor<8x8xf32>, %g: tensor<8x8xf32>, %m: tensor<8x8xf32>,
                               %v: tensor<8x8xf32>, %p: tensor<2x8xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{takes a projector only with the lowrank layout with projection svd}}
  %a:3 = optim.adamw %w, %g states(%m, %v) projector %p step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64}
      : (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>, tensor<i64>)
        -> (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>)
  return
}

// -----

func.func @projected_gradient_shape(%w: tensor<16x4xf32>, %g: tensor<16x4xf32>, %m: tensor<16x2xf32>,
                                    %v: tensor<16x2xf32>, %p: tensor<2x4xf32>, %t: tensor<i64>) {
  // expected-error @+1 {{with a projector takes the projected gradient of type 'tensor<16x2xf32>', got 'tensor<16x4xf32>'}}
  %a:3 = optim.adamw %w, %g states(%m, %v) projector %p step %t
      {lr = 1.0e-3 : f64, beta1 = 0.9 : f64, beta2 = 0.999 : f64,
       eps = 1.0e-8 : f64, weight_decay = 0.0 : f64, galore_form,
       layout = #optim.layout<lowrank, f32, rank = 2, period = 10>}
      : (tensor<16x4xf32>, tensor<16x4xf32>, tensor<16x2xf32>, tensor<16x2xf32>, tensor<2x4xf32>, tensor<i64>)
        -> (tensor<16x4xf32>, tensor<16x2xf32>, tensor<16x2xf32>)
  return
}
