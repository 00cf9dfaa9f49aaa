// RUN: memc-opt %s -split-input-file -memc-apply-optimizer="optimizer=adamw" -verify-diagnostics

// A gradient of something that is no trainable weight.
module attributes {memc.entry = @stray} {
// expected-error @+1 {{result #1 is the gradient of 'w', which is no trainable weight}}
func.func @stray(%w: tensor<4xf32> {memc.weight = "w"})
    -> (tensor<f32> {memc.output = "loss"}, tensor<4xf32> {memc.gradient = "w"}) {
  %l = einsum.einsum copy reduce add [a] (%w[a]) -> [] : (tensor<4xf32>) -> tensor<f32>
  return %l, %w : tensor<f32>, tensor<4xf32>
}
}

// -----

module attributes {memc.entry = @none} {
// expected-error @+1 {{memc-apply-optimizer: the entry returns no gradient (run memc-autodiff first)}}
func.func @none(%w: tensor<4xf32> {memc.weight = "w", memc.trainable})
    -> (tensor<f32> {memc.output = "loss"}) {
  %l = einsum.einsum copy reduce add [a] (%w[a]) -> [] : (tensor<4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
}
