// RUN: memc-opt %s -split-input-file -verify-diagnostics -pass-pipeline="builtin.module(func.func(memc-map-parallel-loops-to-gpu{block-size=8}),canonicalize)" | FileCheck %s --enable-var-scope

// A 2x3x5 loop nest is one launch of 30 threads in blocks of 8 (4 blocks),
// linearized with the innermost dimension fastest, in i32.
// CHECK-LABEL: func @nest
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK: gpu.launch blocks(%[[BX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C4]], {{.+}}) threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%[[BD:.+]] = %[[C8]],
// CHECK:   %[[B:.+]] = arith.index_castui %[[BX]] : index to i32
// CHECK:   %[[T:.+]] = arith.index_castui %[[TX]] : index to i32
// CHECK:   %[[D:.+]] = arith.index_castui %[[BD]] : index to i32
// CHECK:   %[[M:.+]] = arith.muli %[[B]], %[[D]] : i32
// CHECK:   %[[L:.+]] = arith.addi %[[M]], %[[T]] : i32
// CHECK:   %[[IN:.+]] = arith.cmpi ult, %[[L]], %c30_i32 : i32
// CHECK:   scf.if %[[IN]] {
// CHECK:     %[[K:.+]] = arith.remui %[[L]], %c5_i32
// CHECK:     %[[R:.+]] = arith.divui %[[L]], %c5_i32
// CHECK:     %[[KI:.+]] = arith.index_castui %[[K]] : i32 to index
// CHECK:     %[[J:.+]] = arith.remui %[[R]], %c3_i32
// CHECK:     %[[I:.+]] = arith.divui %[[R]], %c3_i32
// CHECK:     %[[JI:.+]] = arith.index_castui %[[J]] : i32 to index
// CHECK:     %[[II:.+]] = arith.index_castui %[[I]] : i32 to index
// CHECK:     memref.load %{{.+}}[%[[II]], %[[JI]], %[[KI]]]
// CHECK:   gpu.terminator
// CHECK-NOT: scf.parallel
func.func @nest(%a: memref<2x3x5xf32>, %b: memref<2x3x5xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c3, %c5) step (%c1, %c1, %c1) {
    %v = memref.load %a[%i, %j, %k] : memref<2x3x5xf32>
    memref.store %v, %b[%i, %j, %k] : memref<2x3x5xf32>
  }
  return
}

// -----

// Steps and lower bounds are applied after delinearizing; a full reduction
// (no parallel loop) runs in a one-thread launch.
// CHECK-LABEL: func @steps_and_serial
// CHECK: gpu.launch
// CHECK:   %[[S:.+]] = arith.muli %{{.+}}, %c2 : index
// CHECK:   %[[V:.+]] = arith.addi %[[S]], %c1 : index
// CHECK:   memref.load %{{.+}}[%[[V]]]
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c1) threads({{.+}}) in (%{{.+}} = %c1,
// CHECK-NEXT: scf.for
func.func @steps_and_serial(%a: memref<9xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c9 = arith.constant 9 : index
  scf.parallel (%i) = (%c1) to (%c9) step (%c2) {
    %v = memref.load %a[%i] : memref<9xf32>
    memref.store %v, %a[%i] : memref<9xf32>
  }
  scf.for %i = %c0 to %c9 step %c1 {
    %v = memref.load %a[%i] : memref<9xf32>
    %acc = memref.load %s[] : memref<f32>
    %sum = arith.addf %v, %acc : f32
    memref.store %sum, %s[] : memref<f32>
  }
  return
}

// -----

func.func @dynamic(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  // expected-error @+1 {{loop bounds must be constants}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %a[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
  }
  return
}
