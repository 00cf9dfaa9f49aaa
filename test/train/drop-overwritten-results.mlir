// RUN: memc-opt %s -split-input-file -memc-drop-overwritten-results -verify-diagnostics | FileCheck %s

// A result that is its argument's own buffer (the update was in place)
// goes; the loss stays.
// CHECK-LABEL: func @in_place
// CHECK-SAME: -> (memref<f32> {memc.output = "loss"})
// CHECK: return %{{.*}} : memref<f32>
module attributes {memc.entry = @in_place} {
func.func @in_place(%w: memref<4xf32> {memc.weight = "w", memc.trainable},
                    %l: memref<f32>)
    -> (memref<f32> {memc.output = "loss"}, memref<4xf32> {memc.overwrites = "w"}) {
  return %l, %w : memref<f32>, memref<4xf32>
}
}

// -----

// A copy instead: bufferization could not update in place.
module attributes {memc.entry = @copied} {
// expected-error @+1 {{the update of argument #0 ('w') was not written in place}}
func.func @copied(%w: memref<4xf32> {memc.weight = "w", memc.trainable},
                  %l: memref<f32>, %other: memref<4xf32>)
    -> (memref<f32> {memc.output = "loss"}, memref<4xf32> {memc.overwrites = "w"}) {
  return %l, %other : memref<f32>, memref<4xf32>
}
}
