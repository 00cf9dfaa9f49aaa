// RUN: memc-opt %s -split-input-file -memc-scalar-ops-to-kernels | FileCheck %s

// What a rank-0 generic leaves on the host becomes a one-iteration loop.
// CHECK-LABEL: func @scalar_div
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c1) step (%c1) {
// CHECK-NEXT: memref.load %arg0[]
// CHECK-NEXT: memref.load %arg1[]
// CHECK-NEXT: arith.divf
// CHECK-NEXT: memref.store
// CHECK-NEXT: scf.reduce
// CHECK: return
func.func @scalar_div(%a: memref<f32>, %b: memref<f32>, %c: memref<f32>) {
  %x = memref.load %a[] : memref<f32>
  %y = memref.load %b[] : memref<f32>
  %z = arith.divf %x, %y : f32
  memref.store %z, %c[] : memref<f32>
  return
}

// -----

// A loaded value the host still needs (a loop bound) stays where it is.
// CHECK-LABEL: func @escapes
// CHECK-NOT: scf.parallel
// CHECK: memref.load
// CHECK: scf.for
func.func @escapes(%a: memref<index>, %b: memref<f32>) {
  %n = memref.load %a[] : memref<index>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
  }
  return
}
