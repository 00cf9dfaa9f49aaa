// RUN: memc-opt %s -split-input-file --memc-vectorize-windows --canonicalize --cse | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file --memc-vectorize-windows="max-taps=8" | FileCheck %s --check-prefix=FEW
// RUN: not memc-opt %s -split-input-file --memc-vectorize-windows="width=0" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: memc-vectorize-windows: width, unroll and max-taps must be at least 1

// A 3x3 depthwise convolution with rows of 14: each row is one vector of
// 16 lanes of which 14 are live (masked loads and stores), and 7 rows are
// computed at once (14 = 2 x 7), each its own accumulator carried through
// the taps' loops; the weight is loaded once per tap and broadcast.
// CHECK-LABEL: func @depthwise
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : index
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %[[C7]] {
// CHECK: %[[LIVE:.*]] = vector.constant_mask [14] : vector<16xi1>
// CHECK: %[[ACC0:.*]] = vector.maskedload %arg2[%[[C]], %[[R]], %{{.*}}], %[[LIVE]], %[[ZERO]]
// CHECK-COUNT-6: vector.maskedload %arg2
// CHECK: %[[SUMS:.*]]:7 = scf.for %[[K0:.*]] = {{.*}} iter_args(%[[A0:.*]] = %[[ACC0]], {{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: scf.for %[[K1:.*]] = {{.*}} iter_args(%[[B0:.*]] = %[[A0]],
// CHECK: %[[X:.*]] = vector.maskedload %arg0[%[[C]], %{{.*}}, %[[K1]]], %[[LIVE]], %[[ZERO]]
// CHECK: %[[W:.*]] = memref.load %arg1[%[[C]], %[[K0]], %[[K1]]]
// CHECK: %[[WV:.*]] = vector.broadcast %[[W]] : f32 to vector<16xf32>
// CHECK: %[[P:.*]] = arith.mulf %[[X]], %[[WV]] : vector<16xf32>
// CHECK: arith.addf %[[B0]], %[[P]] : vector<16xf32>
// CHECK: vector.maskedstore %arg2[%[[C]], %[[R]], %{{.*}}], %[[LIVE]], %[[SUMS]]#0
// CHECK-COUNT-6: vector.maskedstore %arg2
// CHECK-NOT: linalg.generic
// With at most 8 taps per output vector, the 9-tap window stays a loop nest.
// FEW-LABEL: func @depthwise
// FEW: linalg.generic
// FEW-NOT: vector.
#x = affine_map<(c, o0, o1, k0, k1) -> (c, o0 + k0, o1 + k1)>
#w = affine_map<(c, o0, o1, k0, k1) -> (c, k0, k1)>
#y = affine_map<(c, o0, o1, k0, k1) -> (c, o0, o1)>
func.func @depthwise(%x: memref<8x16x16xf32>, %w: memref<8x3x3xf32>, %y: memref<8x14x14xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %w : memref<8x16x16xf32>, memref<8x3x3xf32>) outs(%y : memref<8x14x14xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A 2x2 max pooling of stride 2 with rows of 20: a whole vector of 16 and
// a last one of 4 live lanes. Each tap reads a run of 31 elements (the
// last one read is the 16th output's) as two loads of 16, the second
// masked to 15, and keeps every other lane of both with one shuffle; the
// tail's run is masked to the 7 elements its 4 outputs read (its second
// load reads nothing and folds away). The body's second operand (the
// pool's ones) is broadcast. The 5 rows are one block.
// CHECK-LABEL: func @max_pool_stride2
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-COUNT-5: vector.load %arg2[%[[C]], %{{.*}}, %{{.*}}] : memref<4x5x20xf32>, vector<16xf32>
// CHECK: scf.for
// CHECK: scf.for %[[K1:.*]] = %{{.*}} to
// CHECK: %[[HI:.*]] = arith.addi %[[K1]], %c16
// CHECK: %[[LO:.*]] = vector.load %arg0[%[[C]], %{{.*}}, %[[K1]]] : memref<4x10x40xf32>, vector<16xf32>
// CHECK: %[[M15:.*]] = vector.constant_mask [15] : vector<16xi1>
// CHECK: %[[UP:.*]] = vector.maskedload %arg0[%[[C]], %{{.*}}, %[[HI]]], %[[M15]], %{{.*}} : memref<4x10x40xf32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK: %[[EVEN:.*]] = vector.shuffle %[[LO]], %[[UP]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<16xf32>, vector<16xf32>
// CHECK: %[[ONE:.*]] = vector.broadcast %{{.*}} : f32 to vector<16xf32>
// CHECK: %[[M:.*]] = arith.mulf %[[EVEN]], %[[ONE]] : vector<16xf32>
// CHECK: arith.maximumf %{{.*}}, %[[M]] : vector<16xf32>
// CHECK-COUNT-5: vector.store %{{.*}}, %arg2[
// CHECK: %[[TAIL:.*]] = vector.constant_mask [4] : vector<16xi1>
// CHECK-COUNT-5: vector.maskedload %arg2[
// CHECK: %[[M7:.*]] = vector.constant_mask [7] : vector<16xi1>
// CHECK: %[[TAP:.*]] = vector.maskedload %arg0[{{.*}}], %[[M7]], %[[Z:.*]] : memref<4x10x40xf32>
// CHECK: vector.shuffle %[[TAP]], %[[Z]] [0, 2, 4
// CHECK-COUNT-5: vector.maskedstore %arg2[%[[C]], %{{.*}}, %{{.*}}], %[[TAIL]]
// Its 4 taps are within max-taps=8.
// FEW-LABEL: func @max_pool_stride2
// FEW: vector.shuffle
#px = affine_map<(c, o0, o1, k0, k1) -> (c, o0 * 2 + k0, o1 * 2 + k1)>
#pk = affine_map<(c, o0, o1, k0, k1) -> (k0, k1)>
#py = affine_map<(c, o0, o1, k0, k1) -> (c, o0, o1)>
func.func @max_pool_stride2(%x: memref<4x10x40xf32>, %ones: memref<2x2xf32>, %y: memref<4x5x20xf32>) {
  linalg.generic {indexing_maps = [#px, #pk, #py], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %ones : memref<4x10x40xf32>, memref<2x2xf32>) outs(%y : memref<4x5x20xf32>) {
  ^bb0(%a: f32, %o: f32, %acc: f32):
    %m = arith.mulf %a, %o : f32
    %s = arith.maximumf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A window with its taps unrolled (memc-unroll-window-taps): no reduction
// loops, one input per tap, read one column apart. Each row is one vector
// per tap; the output is not read (the body never uses it), only stored.
// CHECK-LABEL: func @unrolled_taps
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NOT: vector.load %arg2
// CHECK: %[[X0:.*]] = vector.load %arg0[%[[C]], %{{.*}}, %{{.*}}] : memref<8x16x16xf32, strided<[288, 18, 1]>>, vector<16xf32>
// CHECK: %[[X1:.*]] = vector.load %arg1[%[[C]], %{{.*}}, %{{.*}}] : memref<8x16x18xf32>, vector<16xf32>
// CHECK: %[[S:.*]] = arith.addf %[[X0]], %[[X1]] : vector<16xf32>
// CHECK: %[[R:.*]] = arith.maximumf %[[S]], %{{.*}} : vector<16xf32>
// CHECK: vector.store %[[R]], %arg2[%[[C]], %{{.*}}, %{{.*}}] : memref<8x16x16xf32>, vector<16xf32>
// CHECK-NOT: linalg.generic
#u0 = affine_map<(c, o0, o1) -> (c, o0, o1)>
#u1 = affine_map<(c, o0, o1) -> (c, o0, o1 + 2)>
func.func @unrolled_taps(%x0: memref<8x16x16xf32, strided<[288, 18, 1]>>, %x: memref<8x16x18xf32>, %y: memref<8x16x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#u0, #u1, #u0], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x0, %x : memref<8x16x16xf32, strided<[288, 18, 1]>>, memref<8x16x18xf32>) outs(%y : memref<8x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Left alone: an elementwise op (no window), a sum over each row (no
// parallel loop moves the output's innermost dimension... the row itself
// is reduced), an op that reads its loop indices, and a window whose row
// moves an input in a dimension other than its last.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: vector.
// CHECK-COUNT-4: linalg.generic
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#tx = affine_map<(c, o, k) -> (o + k, c)>
#tk = affine_map<(c, o, k) -> (k)>
#ty = affine_map<(c, o, k) -> (c, o)>
#ti = affine_map<(c, o, k) -> (c, o + k)>
func.func @left_alone(%a: memref<8x32xf32>, %b: memref<8x32xf32>, %s: memref<8xf32>,
                      %t: memref<34x8xf32>, %u: memref<8x32xf32>, %v: memref<8x34xf32>,
                      %k: memref<3xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : memref<8x32xf32>) outs(%b : memref<8x32xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = arith.addf %x, %x : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%a : memref<8x32xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %e = arith.addf %acc, %x : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#ti, #tk, #ty], iterator_types = ["parallel", "parallel", "reduction"]} ins(%v, %k : memref<8x34xf32>, memref<3xf32>) outs(%u : memref<8x32xf32>) {
  ^bb0(%x: f32, %kk: f32, %acc: f32):
    %i = linalg.index 2 : index
    %f = arith.index_cast %i : index to i32
    %g = arith.sitofp %f : i32 to f32
    %m = arith.mulf %x, %g : f32
    %e = arith.addf %acc, %m : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#tx, #tk, #ty], iterator_types = ["parallel", "parallel", "reduction"]} ins(%t, %k : memref<34x8xf32>, memref<3xf32>) outs(%u : memref<8x32xf32>) {
  ^bb0(%x: f32, %kk: f32, %acc: f32):
    %e = arith.addf %acc, %x : f32
    linalg.yield %e : f32
  }
  return
}
