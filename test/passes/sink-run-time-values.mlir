// RUN: memc-opt %s -split-input-file -memc-sink-run-time-values -verify-diagnostics | FileCheck %s --enable-var-scope

// A decode step's cache write: the row comes from the position input. The
// load, the clamp and the subview move into the kernel, which then takes
// the position's buffer and the whole cache; nothing of it stays on the
// host.
// CHECK-LABEL: func.func @cache_row
// CHECK-NOT: memref.load
// CHECK: gpu.launch
// CHECK: %[[P:.*]] = memref.load %arg1[] : memref<i64>
// CHECK: %[[I:.*]] = arith.index_cast %[[P]] : i64 to index
// CHECK: %[[R:.*]] = arith.minsi %[[I]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = memref.subview %arg2[0, %[[R]], 0] [4, 1, 8] [1, 1, 1]
// CHECK: memref.store %{{.*}}, %[[ROW]]
// CHECK: gpu.terminator
// CHECK-NOT: memref.subview
// CHECK: return
func.func @cache_row(%x: memref<4x1x8xf32> {memc.input = "ids"},
                     %pos: memref<i64> {memc.input = "position"},
                     %cache: memref<4x16x8xf32> {memc.kv_cache = "key.0"}) {
  %c1 = arith.constant 1 : index
  %c15 = arith.constant 15 : index
  %p = memref.load %pos[] : memref<i64>
  %i = arith.index_cast %p : i64 to index
  %r = arith.minsi %i, %c15 : index
  %row = memref.subview %cache[0, %r, 0] [4, 1, 8] [1, 1, 1]
      : memref<4x16x8xf32> to memref<4x1x8xf32, strided<[128, 8, 1], offset: ?>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %x[%c0, %c0, %c0] : memref<4x1x8xf32>
    memref.store %v, %row[%c0, %c0, %c0] : memref<4x1x8xf32, strided<[128, 8, 1], offset: ?>>
    gpu.terminator
  }
  return
}

// -----

// Two kernels read the same offset: each computes its own copy.
// CHECK-LABEL: func.func @two_kernels
// CHECK: gpu.launch
// CHECK: memref.load %arg0[]
// CHECK: gpu.launch
// CHECK: memref.load %arg0[]
func.func @two_kernels(%pos: memref<i64> {memc.input = "position"},
                       %buf: memref<16xf32> {memc.output = "y"}) {
  %c1 = arith.constant 1 : index
  %cst = arith.constant 1.0 : f32
  %p = memref.load %pos[] : memref<i64>
  %i = arith.index_cast %p : i64 to index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %cst, %buf[%i] : memref<16xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %buf[%i] : memref<16xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %buf[%i] : memref<16xf32>
    gpu.terminator
  }
  return
}

// -----

// A load of a buffer the program writes (here its output) is no run-time
// constant: it stays where it is, and so does the kernel's capture.
// CHECK-LABEL: func.func @written_buffer
// CHECK: %[[V:.*]] = memref.load %arg0[]
// CHECK: gpu.launch
// CHECK-NOT: memref.load %arg0
// CHECK: memref.store %[[V]]
func.func @written_buffer(%out: memref<f32> {memc.output = "y"},
                          %buf: memref<4xf32> {memc.output = "z"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %v = memref.load %out[] : memref<f32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %v, %buf[%c0] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A host op that is no kernel cannot use a run-time value: the launch plan
// could not run it.
func.func @host_use(%pos: memref<i64> {memc.input = "position"},
                    %a: memref<16xf32> {memc.input = "a"},
                    %b: memref<16xf32> {memc.output = "b"}) {
  %p = memref.load %pos[] : memref<i64>
  %i = arith.index_cast %p : i64 to index
  %src = memref.subview %a[%i] [1] [1] : memref<16xf32> to memref<1xf32, strided<[1], offset: ?>>
  %dst = memref.subview %b[0] [1] [1] : memref<16xf32> to memref<1xf32, strided<[1]>>
  // expected-error @+1 {{memc-sink-run-time-values: a value read from an input at run time is used on the host by 'memref.copy'; the CUDA launch plan takes only addresses and constants}}
  memref.copy %src, %dst : memref<1xf32, strided<[1], offset: ?>> to memref<1xf32, strided<[1]>>
  return
}
