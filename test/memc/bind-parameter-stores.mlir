// memc-bind-parameter-stores: a store into a bound, non-trainable parameter
// (a BatchNormalization running statistic of a train step) becomes a result
// after the existing ones, written into the argument's buffer
// (materialize_in_destination before the return) and marked to overwrite it.
// RUN: memc-opt %s -split-input-file -verify-diagnostics --memc-bind-parameter-stores | FileCheck %s --enable-var-scope

// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[X:[^:]*]]: tensor<3xf32> {memc.input = "x"}, %[[M:[^:]*]]: tensor<3xf32> {memc.parameter = @rm, memc.weight = "bn.running_mean"})
// CHECK-SAME: -> (tensor<f32> {memc.output = "loss"}, tensor<3xf32> {memc.overwrites = "bn.running_mean"})
// CHECK-NOT: ml_program.global_store
// CHECK: %[[NEW:.*]] = arith.addf %[[M]], %[[X]]
// CHECK: %[[L:.*]] = tensor.extract_slice
// CHECK: %[[W:.*]] = bufferization.materialize_in_destination %[[NEW]] in %[[M]]
// CHECK: return %{{.*}}, %[[W]]
module attributes {memc.entry = @main_graph} {
  ml_program.global private mutable @rm(dense<0.0> : tensor<3xf32>) : tensor<3xf32> {memc.weight = "bn.running_mean"}
  func.func @main_graph(%x: tensor<3xf32> {memc.input = "x"}, %m: tensor<3xf32> {memc.parameter = @rm, memc.weight = "bn.running_mean"}) -> (tensor<f32> {memc.output = "loss"}) {
    %new = arith.addf %m, %x : tensor<3xf32>
    ml_program.global_store @rm = %new : tensor<3xf32>
    %s = tensor.extract_slice %m[0] [1] [1] : tensor<3xf32> to tensor<1xf32>
    %l = tensor.collapse_shape %s [] : tensor<1xf32> into tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// Refused: a store to a global that no argument is bound to.
module attributes {memc.entry = @main_graph} {
  ml_program.global private mutable @rm(dense<0.0> : tensor<3xf32>) : tensor<3xf32> {memc.weight = "rm"}
  func.func @main_graph(%x: tensor<3xf32> {memc.input = "x"}) -> tensor<3xf32> {
    // expected-error @+1 {{stores @rm, which no weight argument of the entry is bound to}}
    ml_program.global_store @rm = %x : tensor<3xf32>
    return %x : tensor<3xf32>
  }
}

// -----

// Refused: a store to a trainable weight (its update is the optimizer's).
module attributes {memc.entry = @main_graph} {
  ml_program.global private mutable @w(dense<0.0> : tensor<3xf32>) : tensor<3xf32> {memc.weight = "w", memc.trainable}
  func.func @main_graph(%x: tensor<3xf32> {memc.input = "x"}, %w: tensor<3xf32> {memc.parameter = @w, memc.weight = "w", memc.trainable}) -> tensor<3xf32> {
    // expected-error @+1 {{stores the trainable weight 'w', which the optimizer updates}}
    ml_program.global_store @w = %x : tensor<3xf32>
    return %x : tensor<3xf32>
  }
}

// -----

// Refused: two stores into one parameter.
module attributes {memc.entry = @main_graph} {
  ml_program.global private mutable @rm(dense<0.0> : tensor<3xf32>) : tensor<3xf32> {memc.weight = "rm"}
  func.func @main_graph(%x: tensor<3xf32> {memc.input = "x"}, %m: tensor<3xf32> {memc.parameter = @rm, memc.weight = "rm"}) -> tensor<3xf32> {
    ml_program.global_store @rm = %x : tensor<3xf32>
    // expected-error @+1 {{stores 'rm' a second time}}
    ml_program.global_store @rm = %m : tensor<3xf32>
    return %x : tensor<3xf32>
  }
}
