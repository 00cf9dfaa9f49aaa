// RUN: memc-opt %s -verify-diagnostics --memc-strip-parameter-data

// Code generation cannot take a parameter the program still loads.
module {
  // expected-error @+1 {{is still read by the program: bind the entry's parameters (memc-bind-parameters) before code generation}}
  ml_program.global private @w(dense<3.0> : tensor<4xf32>) : tensor<4xf32> {memc.weight = "w"}
  func.func @main_graph() -> tensor<4xf32> {
    %w = ml_program.global_load_const @w : tensor<4xf32>
    return %w : tensor<4xf32>
  }
}
