// RUN: memc-opt %s -split-input-file | memc-opt -split-input-file | FileCheck %s --enable-var-scope

// The swap ops round-trip: the copy to the host pool and one copy back per
// reader.
// CHECK-LABEL: func @round_trip
// CHECK-NEXT: %[[H:.*]] = memc.swap_out %arg0 : tensor<4x8xf32>
// CHECK-NEXT: %[[A:.*]] = memc.swap_in %[[H]] : tensor<4x8xf32>
// CHECK-NEXT: %[[B:.*]] = memc.swap_in %[[H]] : tensor<4x8xf32>
// CHECK-NEXT: return %[[A]], %[[B]]
func.func @round_trip(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %h = memc.swap_out %x : tensor<4x8xf32>
  %a = memc.swap_in %h : tensor<4x8xf32>
  %b = memc.swap_in %h : tensor<4x8xf32>
  return %a, %b : tensor<4x8xf32>, tensor<4x8xf32>
}
