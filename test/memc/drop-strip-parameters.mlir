// memc-drop-unused-parameters erases weight arguments nothing reads and the
// globals nothing references; memc-strip-parameter-data removes the bound
// globals and bindings before code generation.
// RUN: memc-opt %s --memc-drop-unused-parameters | FileCheck %s --check-prefix=DROP --enable-var-scope
// RUN: memc-opt %s --memc-strip-parameter-data | FileCheck %s --check-prefix=STRIP --enable-var-scope

// DROP-NOT: @mask(
// DROP: ml_program.global private @w(
// DROP-NOT: @mask(
// DROP: func.func @main_graph(%{{.*}}: tensor<4xf32> {memc.input = "x"}, %{{.*}}: tensor<4xf32> {memc.parameter = @w, memc.weight = "w"}) -> tensor<4xf32>
// STRIP-NOT: ml_program.global
// STRIP: func.func @main_graph(%{{.*}}: tensor<4xf32> {memc.input = "x"}, %{{.*}}: tensor<4xf32> {memc.weight = "mask"}, %{{.*}}: tensor<4xf32> {memc.weight = "w"}) -> tensor<4xf32>
module {
  ml_program.global private @mask(dense<2.0> : tensor<4xf32>) : tensor<4xf32> {memc.weight = "mask"}
  ml_program.global private @w(dense<3.0> : tensor<4xf32>) : tensor<4xf32> {memc.weight = "w"}
  func.func @main_graph(%x: tensor<4xf32> {memc.input = "x"}, %m: tensor<4xf32> {memc.weight = "mask", memc.parameter = @mask}, %w: tensor<4xf32> {memc.weight = "w", memc.parameter = @w}) -> tensor<4xf32> {
    %0 = arith.addf %x, %w : tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}

