// RUN: memc-opt %s -split-input-file -memc-append-loss=kind=output -verify-diagnostics | FileCheck %s --enable-var-scope

// --loss=output: the graph's scalar output is the loss; no labels input.
// CHECK-LABEL: func @scalar_loss
// CHECK-SAME: (%{{.*}}: tensor<4xf32> {memc.input = "x"}) -> (tensor<f32> {memc.output = "loss"})
// CHECK: %[[L:.*]] = tensor.collapse_shape %{{.*}} [] : tensor<1xf32> into tensor<f32>
// CHECK: return %[[L]]
module attributes {memc.entry = @scalar_loss} {
func.func @scalar_loss(%x: tensor<4xf32> {memc.input = "x"})
    -> (tensor<1xf32> {memc.output = "l"}) {
  %s = einsum.einsum copy reduce add [a, b] (%x[a]) -> [b]
         : (tensor<4xf32>) -> tensor<1xf32>
  return %s : tensor<1xf32>
}
}

// -----

module attributes {memc.entry = @not_scalar} {
// expected-error @+1 {{--loss=output: output 'y' is 'tensor<4xf32>', not a scalar}}
func.func @not_scalar(%x: tensor<4xf32> {memc.input = "x"})
    -> (tensor<4xf32> {memc.output = "y"}) {
  return %x : tensor<4xf32>
}
}
