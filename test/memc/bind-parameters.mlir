// memc-bind-parameters: each parameter the entry loads becomes one weight
// argument after the existing ones, in the globals' order, bound to its
// global and carrying its facts; unloaded parameters get none.
// RUN: memc-opt %s -split-input-file -verify-diagnostics --memc-bind-parameters | FileCheck %s --enable-var-scope

// CHECK-LABEL: module attributes {memc.entry = @main_graph}
// CHECK: ml_program.global private @b(
// CHECK: ml_program.global private @unused(
// CHECK: ml_program.global private @a(
// CHECK: func.func @main_graph(%[[X:.*]]: tensor<4x4xf32> {memc.input = "x"}, %[[B:.*]]: tensor<4x4xf32> {memc.parameter = @b, memc.weight = "b"}, %[[A:.*]]: tensor<4x4xf32> {memc.parameter = @a, memc.upper_triangle = {diagonal = 1 : i64, value = -1.000000e+09 : f64}, memc.weight = "a.w"})
// CHECK-NOT: global_load_const
// CHECK: arith.addf %[[A]], %[[B]]
// CHECK: arith.addf %{{.*}}, %[[A]]
module attributes {memc.entry = @main_graph} {
  ml_program.global private @b(dense<2.0> : tensor<4x4xf32>) : tensor<4x4xf32> {memc.weight = "b"}
  ml_program.global private @unused(dense<3.0> : tensor<4x4xf32>) : tensor<4x4xf32> {memc.weight = "unused"}
  ml_program.global private @a(dense<1.0> : tensor<4x4xf32>) : tensor<4x4xf32> {memc.weight = "a.w", memc.upper_triangle = {diagonal = 1 : i64, value = -1.0e9 : f64}}
  func.func @main_graph(%x: tensor<4x4xf32> {memc.input = "x"}) -> tensor<4x4xf32> {
    %a = ml_program.global_load_const @a : tensor<4x4xf32>
    %b = ml_program.global_load_const @b : tensor<4x4xf32>
    %s = arith.addf %a, %b : tensor<4x4xf32>
    %a2 = ml_program.global_load_const @a : tensor<4x4xf32>
    %t = arith.addf %s, %a2 : tensor<4x4xf32>
    return %t : tensor<4x4xf32>
  }
}

// -----

// A parameter read outside the entry cannot be bound.
module {
  ml_program.global private @w(dense<2.0> : tensor<4xf32>) : tensor<4xf32> {memc.weight = "w"}
  func.func @main_graph() -> tensor<4xf32> {
    %0 = func.call @helper() : () -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
  func.func private @helper() -> tensor<4xf32> {
    // expected-error @+1 {{reads a parameter outside the entry function @main_graph}}
    %w = ml_program.global_load_const @w : tensor<4xf32>
    return %w : tensor<4xf32>
  }
}
