// RUN: memc-opt %s -split-input-file -verify-diagnostics -memc-buffer-mapping="mem-budget=64"

// One op needs a and b (128 bytes) at once: a 64-byte budget cannot work.
// expected-error @+1 {{memory budget of 64 bytes is below the smallest feasible budget, 128 bytes: memref.copy at step 1 needs its operands and results (128 bytes) in memory at once}}
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %in, %a : memref<16xf32> to memref<16xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %a, %b : memref<16xf32> to memref<16xf32>
  memref.copy %b, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// expected-error @+1 {{buffer liveness: the function has 2 blocks; memory planning needs structured control flow}}
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  cf.br ^bb1
^bb1:
  memref.copy %in, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// expected-error @+1 {{memc-buffer-mapping: @main_graph already has an arena}}
func.func @main_graph(%in: memref<16xf32>, %arena: memref<64xi8> {memc.arena}) {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %in, %a : memref<16xf32> to memref<16xf32>
  return
}
