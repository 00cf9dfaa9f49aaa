// RUN: memc-opt %s -split-input-file -verify-diagnostics -memc-parallel-lanes=func=main_graph

// Lanes are one normalized dimension of buffers: a two-dimensional forall
// marked as lanes is refused.
func.func @main_graph(%out: memref<2x2xf32>) {
  %c0 = arith.constant 0.0 : f32
  // expected-error @+1 {{memc-parallel-lanes: expected lanes of buffers, one normalized dimension, no results}}
  scf.forall (%i, %j) in (2, 2) {
    memref.store %c0, %out[%i, %j] : memref<2x2xf32>
  } {memc.micro_batch = 2 : i64}
  return
}

// -----

func.func @main_graph(%out: memref<2xf32>) {
  %c0 = arith.constant 0.0 : f32
  // expected-error @+1 {{'memc.micro_batch' must be a number of lanes above 1, got 1 : i64}}
  scf.forall (%i) in (2) {
    memref.store %c0, %out[%i] : memref<2xf32>
  } {memc.micro_batch = 1 : i64}
  return
}
