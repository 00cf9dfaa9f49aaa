// RUN: memc-opt %s -split-input-file -memc-autodiff -verify-diagnostics

// An op on an active value without a gradient rule is an error naming it.
module attributes {memc.entry = @no_rule} {
func.func @no_rule(%w: tensor<4xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  // expected-error @+1 {{has no gradient rule for its map action 'atan'}}
  %a = einsum.einsum atan [a] (%w[a]) -> [a] : (tensor<4xf32>) -> tensor<4xf32>
  %l = einsum.einsum copy reduce add [a] (%a[a]) -> [] : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}

// -----

// The loss must be one f32 scalar.
module attributes {memc.entry = @not_scalar} {
// expected-error @+1 {{memc-autodiff differentiates an entry with one result, an f32 scalar loss}}
func.func @not_scalar(%w: tensor<4xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<4xf32> {memc.output = "y"}) {
  return %w : tensor<4xf32>
}
}

// -----

module attributes {memc.entry = @frozen} {
// expected-error @+1 {{memc-autodiff: the entry has no memc.trainable weight}}
func.func @frozen(%w: tensor<4xf32> {memc.weight = "w"})
    -> (tensor<f32> {memc.output = "loss"}) {
  %l = einsum.einsum copy reduce add [a] (%w[a]) -> [] : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}
