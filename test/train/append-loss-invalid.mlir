// RUN: memc-opt %s -split-input-file -memc-append-loss -verify-diagnostics

// Several outputs: the loss must name one.
module attributes {memc.entry = @two} {
// expected-error @+1 {{the model has 2 outputs: name the one the loss reads (--loss=cross-entropy:NAME)}}
func.func @two(%x: tensor<4x8xf32> {memc.input = "x"})
    -> (tensor<4x8xf32> {memc.output = "y"}, tensor<4x8xf32> {memc.output = "z"}) {
  return %x, %x : tensor<4x8xf32>, tensor<4x8xf32>
}
}

// -----

// Class scores must be f32.
module attributes {memc.entry = @ints} {
// expected-error @+1 {{the loss reads output 'y' of element type 'i64'; it must be f32}}
func.func @ints(%x: tensor<4x8xi64> {memc.input = "x"})
    -> (tensor<4x8xi64> {memc.output = "y"}) {
  return %x : tensor<4x8xi64>
}
}

// -----

// Cross-entropy needs a class axis.
module attributes {memc.entry = @scalar} {
// expected-error @+1 {{--loss=cross-entropy: output 'y' is a scalar; it needs a class axis (last)}}
func.func @scalar(%x: tensor<f32> {memc.input = "x"})
    -> (tensor<f32> {memc.output = "y"}) {
  return %x : tensor<f32>
}
}
