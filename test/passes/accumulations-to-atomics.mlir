// RUN: memc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(memc-accumulations-to-atomics))" | FileCheck %s --enable-var-scope

// Autodiff's scatter-add (an embedding table's gradient): every iteration
// adds a row of dz into the table row its token names. The nest becomes one
// scf.parallel whose points add atomically.
// CHECK-LABEL: func @scatter_add
// CHECK-SAME: (%[[IDS:.+]]: memref<4x6xi64>, %[[DZ:.+]]: memref<4x6x8xf32>, %[[T:.+]]: memref<16x8xf32>)
// CHECK: scf.parallel (%[[B:.+]], %[[S:.+]], %[[D:.+]]) = (%c0, %c0, %c0) to (%c4, %c6, %c8) step (%c1, %c1, %c1)
// CHECK:   %[[ID:.+]] = memref.load %[[IDS]][%[[B]], %[[S]]]
// CHECK:   %[[ROW:.+]] = arith.index_cast %[[ID]] : i64 to index
// CHECK:   %[[G:.+]] = memref.load %[[DZ]][%[[B]], %[[S]], %[[D]]]
// CHECK:   memref.atomic_rmw addf %[[G]], %[[T]][%[[ROW]], %[[D]]] : (f32, memref<16x8xf32>) -> f32
// CHECK-NOT: scf.for
func.func @scatter_add(%ids: memref<4x6xi64>, %dz: memref<4x6x8xf32>, %table: memref<16x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %c8 = arith.constant 8 : index
  scf.for %b = %c0 to %c4 step %c1 {
    scf.for %s = %c0 to %c6 step %c1 {
      scf.for %d = %c0 to %c8 step %c1 {
        %id = memref.load %ids[%b, %s] : memref<4x6xi64>
        %row = arith.index_cast %id : i64 to index
        %old = memref.load %table[%row, %d] : memref<16x8xf32>
        %g = memref.load %dz[%b, %s, %d] : memref<4x6x8xf32>
        %sum = arith.addf %old, %g : f32
        memref.store %sum, %table[%row, %d] : memref<16x8xf32>
      }
    }
  }
  return
}

// -----

// Two views of one arena: different buffers (memc.buffer ids) do not alias,
// so the nest goes parallel; a load from the accumulated buffer itself
// (another view with its id) keeps it sequential.
// CHECK-LABEL: func @arena_views
// CHECK: scf.parallel
// CHECK: memref.atomic_rmw addf
// CHECK: scf.for
// CHECK-NOT: memref.atomic_rmw
func.func @arena_views(%arena: memref<1024xi8>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %acc = memref.view %arena[%c0][] {memc.buffer = 1 : i64} : memref<1024xi8> to memref<8xf32>
  %src = memref.view %arena[%c32][] {memc.buffer = 2 : i64} : memref<1024xi8> to memref<8xf32>
  %same = memref.view %arena[%c0][] {memc.buffer = 1 : i64} : memref<1024xi8> to memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %old = memref.load %acc[%i] : memref<8xf32>
    %v = memref.load %src[%i] : memref<8xf32>
    %s = arith.addf %old, %v : f32
    memref.store %s, %acc[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %old = memref.load %acc[%i] : memref<8xf32>
    %v = memref.load %same[%c0] : memref<8xf32>
    %s = arith.addf %old, %v : f32
    memref.store %s, %acc[%i] : memref<8xf32>
  }
  return
}

// -----

// Not only accumulating: a second store, a product instead of a sum, a
// loop-carried value, or an imperfect nest stay sequential.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: scf.parallel
// CHECK-NOT: memref.atomic_rmw
// CHECK: return
func.func @left_alone(%x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c8 step %c1 {
    %old = memref.load %x[%i] : memref<8xf32>
    %v = memref.load %y[%i] : memref<8xf32>
    memref.store %v, %y[%c0] : memref<8xf32>
    %s = arith.addf %old, %v : f32
    memref.store %s, %x[%i] : memref<8xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %old = memref.load %x[%i] : memref<8xf32>
    %v = memref.load %y[%i] : memref<8xf32>
    %s = arith.mulf %old, %v : f32
    memref.store %s, %x[%i] : memref<8xf32>
  }
  %r = scf.for %i = %c0 to %c8 step %c1 iter_args(%a = %zero) -> (f32) {
    %old = memref.load %x[%i] : memref<8xf32>
    %s = arith.addf %old, %a : f32
    memref.store %s, %x[%i] : memref<8xf32>
    scf.yield %s : f32
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %y[%i] : memref<8xf32>
    scf.for %j = %c0 to %c8 step %c1 {
      %old = memref.load %x[%j] : memref<8xf32>
      %s = arith.addf %old, %v : f32
      memref.store %s, %x[%j] : memref<8xf32>
    }
  }
  return
}
