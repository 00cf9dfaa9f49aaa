// RUN: memc-opt %s -split-input-file -memc-contractions-to-blas -cse | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-contractions-to-blas=min-flops=100000000 | FileCheck %s --check-prefix=SMALL

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// A plain GEMM after a zero fill: beta = 0 and the fill is gone.
// CHECK-LABEL: func @gemm
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[BATCH:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[NT:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[M:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[N:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[K:.*]] = arith.constant 128 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: call @memc_rt_sgemm(%[[BATCH]], %[[NT]], %[[NT]], %[[M]], %[[N]], %[[K]], %[[ONE]], %{{.*}}, %[[K]], %{{.*}}, %{{.*}}, %[[N]], %{{.*}}, %[[ZERO]], %{{.*}}, %[[N]], %{{.*}})
// CHECK-NOT: linalg.generic
// SMALL-LABEL: func @gemm
// SMALL: linalg.generic
func.func @gemm(%a: memref<64x128xf32>, %b: memref<128x32xf32>, %c: memref<64x32xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<64x32xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<64x128xf32>, memref<128x32xf32>) outs(%c : memref<64x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Batched Q.K^T: B is read transposed (transB = 1, ldb = K), batch strides
// are the matrix sizes; C accumulates (beta = 1) without a preceding fill.
#q = affine_map<(b, m, n, k) -> (b, m, k)>
#kt = affine_map<(b, m, n, k) -> (b, n, k)>
#s = affine_map<(b, m, n, k) -> (b, m, n)>
// CHECK-LABEL: func @batched_qkt
// CHECK-DAG: %[[B4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[T:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[F:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[S:.*]] = arith.constant 65536 : i64
// CHECK-DAG: %[[KS:.*]] = arith.constant 16384 : i64
// CHECK: call @memc_rt_sgemm(%[[B4]], %[[F]], %[[T]], {{.*}}, %[[KS]], {{.*}}, %[[KS]], %{{.*}}, %{{.*}}, %{{.*}}, %[[S]])
func.func @batched_qkt(%q: memref<4x256x64xf32>, %k: memref<4x256x64xf32>, %s: memref<4x256x256xf32>) {
  linalg.generic {indexing_maps = [#q, #kt, #s], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<4x256x64xf32>, memref<4x256x64xf32>) outs(%s : memref<4x256x256xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Not GEMMs: an extra op in the body, and a window (convolution) map.
#x = affine_map<(m, n, k) -> (m, k)>
#y = affine_map<(m, n, k) -> (k, n)>
#z = affine_map<(m, n, k) -> (m, n)>
#w = affine_map<(m, n, k) -> (m + k, n)>
// CHECK-LABEL: func @not_gemm
// CHECK-NOT: memc_rt_sgemm
// CHECK: linalg.generic
// CHECK: linalg.generic
func.func @not_gemm(%a: memref<64x128xf32>, %b: memref<128x32xf32>, %c: memref<64x32xf32>, %d: memref<191x32xf32>) {
  linalg.generic {indexing_maps = [#x, #y, #z], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<64x128xf32>, memref<128x32xf32>) outs(%c : memref<64x32xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %e = math.exp %u : f32
    %p = arith.mulf %e, %v : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #z], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %d : memref<64x128xf32>, memref<191x32xf32>) outs(%c : memref<64x32xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %p = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A weight gradient dW[k, n] = sum_{b, s} X[b, s, k] dY[b, s, n]: the two
// reduction ranks nest alike in both operands, so they are one K = 8 * 64
// and X is read transposed (transA = 1, lda = 32).
#x = affine_map<(k, n, b, s) -> (b, s, k)>
#dy = affine_map<(k, n, b, s) -> (b, s, n)>
#dw = affine_map<(k, n, b, s) -> (k, n)>
// CHECK-LABEL: func @weight_gradient
// CHECK-DAG: %[[T:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[K:.*]] = arith.constant 512 : i64
// CHECK: call @memc_rt_sgemm(%{{.*}}, %[[T]], %{{.*}}, %{{.*}}, %{{.*}}, %[[K]],
// CHECK-NOT: linalg.generic
func.func @weight_gradient(%x: memref<8x64x32xf32>, %dy: memref<8x64x16xf32>, %dw: memref<32x16xf32>) {
  linalg.generic {indexing_maps = [#x, #dy, #dw], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %dy : memref<8x64x32xf32>, memref<8x64x16xf32>) outs(%dw : memref<32x16xf32>) {
  ^bb0(%a: f32, %g: f32, %acc: f32):
    %p = arith.mulf %a, %g : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Reduction ranks in different orders in A and B do not collapse to one K.
#x2 = affine_map<(k, n, b, s) -> (b, s, k)>
#dy2 = affine_map<(k, n, b, s) -> (s, b, n)>
#dw2 = affine_map<(k, n, b, s) -> (k, n)>
// CHECK-LABEL: func @k_orders_differ
// CHECK-NOT: memc_rt_sgemm
// CHECK: linalg.generic
func.func @k_orders_differ(%x: memref<8x64x32xf32>, %dy: memref<64x8x16xf32>, %dw: memref<32x16xf32>) {
  linalg.generic {indexing_maps = [#x2, #dy2, #dw2], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %dy : memref<8x64x32xf32>, memref<64x8x16xf32>) outs(%dw : memref<32x16xf32>) {
  ^bb0(%a: f32, %g: f32, %acc: f32):
    %p = arith.mulf %a, %g : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// packed-weights: B is a weight of the entry (through a subview), so the
// call packs it once; with the weight on the left (a convolution's filters)
// the call packs A; f64 has no packed kernel.
// RUN: memc-opt %s -split-input-file -memc-contractions-to-blas=packed-weights=true | FileCheck %s --check-prefix=PACKED
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// PACKED-LABEL: func @main_graph
// PACKED: call @memc_rt_sgemm_packed_b(
// PACKED: call @memc_rt_sgemm_packed_a(
// PACKED: call @memc_rt_dgemm(
// CHECK-LABEL: func @main_graph
// CHECK-NOT: packed_
func.func @main_graph(%x: memref<64x128xf32> {memc.input = "x"},
                      %w: memref<128x64xf32> {memc.weight = "w"},
                      %wd: memref<128x32xf64> {memc.weight = "wd"},
                      %xd: memref<64x128xf64> {memc.input = "xd"},
                      %y: memref<64x32xf32>, %z: memref<128x128xf32>,
                      %yd: memref<64x32xf64>) {
  %ws = memref.subview %w[0, 32] [128, 32] [1, 1] : memref<128x64xf32> to memref<128x32xf32, strided<[64, 1], offset: 32>>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %ws : memref<64x128xf32>, memref<128x32xf32, strided<[64, 1], offset: 32>>) outs(%y : memref<64x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<128x64xf32>, memref<64x128xf32>) outs(%z : memref<128x128xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xd, %wd : memref<64x128xf64>, memref<128x32xf64>) outs(%yd : memref<64x32xf64>) {
  ^bb0(%p: f64, %q: f64, %acc: f64):
    %m = arith.mulf %p, %q : f64
    %s = arith.addf %acc, %m : f64
    linalg.yield %s : f64
  }
  return
}

// -----

// A train step's weights change every step: never packed.
// PACKED-LABEL: func @main_graph
// PACKED-NOT: packed_
// PACKED: call @memc_rt_sgemm(
// CHECK-LABEL: func @main_graph
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
module attributes {memc.train = {loss = "mse", optimizer = "sgd"}} {
  func.func @main_graph(%x: memref<64x128xf32> {memc.input = "x"},
                        %w: memref<128x32xf32> {memc.weight = "w", memc.trainable},
                        %y: memref<64x32xf32>) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<64x128xf32>, memref<128x32xf32>) outs(%y : memref<64x32xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

// packed-weights: a convolution kept whole by memc-conv-to-gemm (the weight
// times the input through its window, stride 2, one row of padding read
// through a constant +1) is one memc_rt_sgemm_packed_a_window call. Its
// descriptor: K ranks (c, k0, k1) in the weight's order, extents 3 and
// strides 306, 17, 1 in x; N ranks (o0, o1) in the result's order, 8
// outputs 34 and 2 elements apart; the +1 row is an offset of 17. The
// zero fill before it makes beta 0. Without packed-weights it stays loops.
// PACKED-LABEL: llvm.mlir.global internal constant @memc_window_0(dense<[3, 2, 17, 3, 306, 3, 17, 3, 1, 8, 34, 8, 2]> : tensor<13xi64>)
// PACKED-LABEL: func @main_graph
// PACKED-NOT: linalg.fill
// PACKED: %[[T:.*]] = llvm.mlir.addressof @memc_window_0
// PACKED: call @memc_rt_sgemm_packed_a_window(%c16_i64, %c64_i64, %c27_i64, %c0_i32, %{{.*}}, %c27_i64{{.*}}, %{{.*}}, %[[T]], %cst{{.*}}, %{{.*}}, %c64_i64{{.*}})
// PACKED-NOT: linalg.generic
// CHECK-LABEL: func @main_graph
// CHECK-NOT: window
// CHECK: linalg.generic
#x = affine_map<(m, c, o0, o1, k0, k1) -> (0, c, o0 * 2 + k0 + 1, o1 * 2 + k1)>
#w = affine_map<(m, c, o0, o1, k0, k1) -> (m, c, k0, k1)>
#y = affine_map<(m, c, o0, o1, k0, k1) -> (m, o0, o1)>
func.func @main_graph(%x: memref<1x3x18x17xf32> {memc.input = "x"},
                      %w: memref<16x3x3x3xf32> {memc.weight = "w"},
                      %y: memref<16x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<16x8x8xf32>)
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<1x3x18x17xf32>, memref<16x3x3x3xf32>) outs(%y : memref<16x8x8xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// What the window call refuses stays loops: the window on the weight (the
// plain operand is not one), a batch rank of extent 2, and a result laid
// out [o0, o1, m] (C would be transposed).
// PACKED-LABEL: func @main_graph
// PACKED-NOT: window
// PACKED-COUNT-3: linalg.generic
#x = affine_map<(m, c, o0, o1, k0, k1) -> (0, c, o0 + k0, o1 + k1)>
#w = affine_map<(m, c, o0, o1, k0, k1) -> (m, c, k0, k1)>
#y = affine_map<(m, c, o0, o1, k0, k1) -> (m, o0, o1)>
#yt = affine_map<(m, c, o0, o1, k0, k1) -> (o0, o1, m)>
#xb = affine_map<(n, m, c, o0, o1, k0, k1) -> (n, c, o0 + k0, o1 + k1)>
#wb = affine_map<(n, m, c, o0, o1, k0, k1) -> (m, c, k0, k1)>
#yb = affine_map<(n, m, c, o0, o1, k0, k1) -> (n, m, o0, o1)>
func.func @main_graph(%x: memref<1x3x10x10xf32> {memc.input = "x"},
                      %w: memref<16x3x3x3xf32> {memc.weight = "w"},
                      %xw: memref<1x3x10x10xf32> {memc.weight = "xw"},
                      %wi: memref<16x3x3x3xf32> {memc.input = "wi"},
                      %x2: memref<2x3x10x10xf32> {memc.input = "x2"},
                      %y: memref<16x8x8xf32>, %yt: memref<8x8x16xf32>,
                      %y2: memref<2x16x8x8xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]}
      ins(%xw, %wi : memref<1x3x10x10xf32>, memref<16x3x3x3xf32>) outs(%y : memref<16x8x8xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#xb, #wb, #yb], iterator_types = ["parallel", "parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x2, %w : memref<2x3x10x10xf32>, memref<16x3x3x3xf32>) outs(%y2 : memref<2x16x8x8xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #yt], iterator_types = ["parallel", "reduction", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<1x3x10x10xf32>, memref<16x3x3x3xf32>) outs(%yt : memref<8x8x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
