// What the swap ops refuse.
// RUN: memc-opt %s -split-input-file -verify-diagnostics

func.func @in_of_device_value(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'memc.swap_in' op operand must be the result of a memc.swap_out}}
  %a = memc.swap_in %x : tensor<4xf32>
  return %a : tensor<4xf32>
}

// -----

func.func @host_value_read(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'memc.swap_out' op result may only be read by memc.swap_in, not by func.return}}
  %h = memc.swap_out %x : tensor<4xf32>
  return %h : tensor<4xf32>
}

// -----

func.func @types_differ(%x: tensor<4xf32>) {
  // expected-error @+1 {{'memc.swap_out' op failed to verify that all of {source, result} have same type}}
  %h = "memc.swap_out"(%x) : (tensor<4xf32>) -> tensor<8xf32>
  return
}
