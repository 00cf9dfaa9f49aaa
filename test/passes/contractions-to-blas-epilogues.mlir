// RUN: memc-opt %s -split-input-file -memc-contractions-to-blas="packed-weights=true fuse-epilogues=true" -cse | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-contractions-to-blas="packed-weights=true" | FileCheck %s --check-prefix=PLAIN

// A 1x1 convolution (16 filters over 16 channels of 6 x 6) whose bias and
// ReLU6 go into the interior of a zero-padded 8 x 8 buffer: the GEMM
// finishes its tiles straight into it, where the activation was: bias per
// filter, clip [0, 6], rows 64 floats apart, output rows of 6 pixels 8
// apart. It writes the border too (one row and column of zeros on each
// side: the table {1, 1, 1, 1}), so the padding's fill goes. C is only
// scratch.
// CHECK: llvm.mlir.global internal constant @memc_window_0(dense<1> : tensor<4xi64>)
// CHECK-LABEL: func @main_graph
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[SIX:.*]] = arith.constant 6.000000e+00 : f32
// CHECK-DAG: %[[PADS:.*]] = llvm.mlir.addressof @memc_window_0
// CHECK: call @memc_rt_sgemm_packed_a_ep({{.*}}, %[[ZERO]], %[[SIX]], %{{[^,]*}}, %c64_i64, %c6_i64, %c8_i64, %[[PADS]], %[[ZERO]])
// CHECK-NOT: linalg.generic
// PLAIN-LABEL: func @main_graph
// PLAIN: call @memc_rt_sgemm_packed_a(
// PLAIN: linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#bias = affine_map<(n, c, h, w) -> (c)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %bias: memref<16xf32> {memc.weight = "b"},
                      %arena: memref<65536xi8> {memc.arena}) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %c0 = arith.constant 0 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %x = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<65536xi8> to memref<16x36xf32>
  %y = memref.view %arena[%c4096][] {memc.offset = 4096 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<16x36xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  %y4 = memref.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 16, 6, 6] : memref<16x36xf32> into memref<1x16x6x6xf32>
  %p = memref.view %arena[%c8192][] {memc.offset = 8192 : i64} : memref<65536xi8> to memref<1x16x8x8xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x16x8x8xf32>)
  %inner = memref.subview %p[0, 0, 1, 1] [1, 16, 6, 6] [1, 1, 1, 1] : memref<1x16x8x8xf32> to memref<1x16x6x6xf32, strided<[1024, 64, 8, 1], offset: 9>>
  linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y4, %bias : memref<1x16x6x6xf32>, memref<16xf32>) outs(%inner : memref<1x16x6x6xf32, strided<[1024, 64, 8, 1], offset: 9>>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    %1 = arith.maximumf %0, %zero : f32
    %2 = arith.minimumf %1, %six : f32
    linalg.yield %2 : f32
  }
  return
}

// -----

// A residual block's last convolution: its C plus a bias that is one
// constant (a table of 16 copies of it), plus the block's input R, written
// over R. The addend's rows are 36 apart, contiguous (addend width and
// pitch 0); the destination is R, unpadded.
// CHECK: llvm.mlir.global internal constant @memc_bias_0(dense<5.000000e-01> : tensor<16xf32>)
// CHECK-LABEL: func @main_graph
// CHECK: %[[T:.*]] = llvm.mlir.addressof @memc_bias_0
// CHECK: call @memc_rt_sgemm_packed_a_ep({{.*}}, %[[T]], %{{[^,]*}}, %[[C36:[^,]*]], %[[C0:[^,]*]], %[[C0]], %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[C36]], %[[C0]], %[[C0]], %{{[^,]*}}, %{{[^,]*}})
// CHECK-NOT: linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(c, n) -> (c, n)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %arena: memref<65536xi8> {memc.arena}) {
  %half = arith.constant 0.5 : f32
  %c0 = arith.constant 0 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %x = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<65536xi8> to memref<16x36xf32>
  %y = memref.view %arena[%c4096][] {memc.offset = 4096 : i64} : memref<65536xi8> to memref<16x36xf32>
  %r = memref.view %arena[%c8192][] {memc.offset = 8192 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %y : memref<16x36xf32>, memref<16x36xf32>) outs(%r : memref<16x36xf32>) {
  ^bb0(%res: f32, %v: f32, %o: f32):
    %0 = arith.addf %v, %half : f32
    %1 = arith.addf %res, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// The block's input R is itself the interior of a padded buffer (a 6 x 6
// image in 8 x 8 planes, which the next convolution reads whole): the
// addend is read in place, 64 floats a row, output rows of 6 pixels 8
// apart; the sum goes to a plain destination.
// CHECK-LABEL: func @main_graph
// CHECK: %[[RP:.*]] = memref.subview %{{.*}}[0, 0, 1, 1] [1, 16, 6, 6]
// CHECK: memref.extract_aligned_pointer_as_index %[[RP]]
// CHECK: call @memc_rt_sgemm_packed_a_ep({{.*}}, %{{[^,]*}}, %c64_i64, %c6_i64, %c8_i64, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %c36_i64, %c0_i64, %c0_i64, %{{[^,]*}}, %{{[^,]*}})
// CHECK-NOT: linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %arena: memref<65536xi8> {memc.arena}) {
  %c0 = arith.constant 0 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %c16384 = arith.constant 16384 : index
  %x = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<65536xi8> to memref<16x36xf32>
  %y = memref.view %arena[%c4096][] {memc.offset = 4096 : i64} : memref<65536xi8> to memref<16x36xf32>
  %p = memref.view %arena[%c8192][] {memc.offset = 8192 : i64} : memref<65536xi8> to memref<1x16x8x8xf32>
  %r = memref.subview %p[0, 0, 1, 1] [1, 16, 6, 6] [1, 1, 1, 1] : memref<1x16x8x8xf32> to memref<1x16x6x6xf32, strided<[1024, 64, 8, 1], offset: 9>>
  %out = memref.view %arena[%c16384][] {memc.offset = 16384 : i64} : memref<65536xi8> to memref<1x16x6x6xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%q: f32, %s: f32, %acc: f32):
    %m = arith.mulf %q, %s : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  %y4 = memref.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 16, 6, 6] : memref<16x36xf32> into memref<1x16x6x6xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%r, %y4 : memref<1x16x6x6xf32, strided<[1024, 64, 8, 1], offset: 9>>, memref<1x16x6x6xf32>) outs(%out : memref<1x16x6x6xf32>) {
  ^bb0(%res: f32, %v: f32, %o: f32):
    %0 = arith.addf %res, %v : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Left as they are (a plain GEMM call, then the op): C read twice; a clip
// whose minimum comes before its maximum; a product, not a sum; a
// destination that overlaps the GEMM's input (bytes 0 to 2304 and 2048
// on); and a "bias" of one element for every row (the runtime reads one
// per row).
// CHECK-LABEL: func @main_graph
// CHECK-NOT: call @memc_rt_sgemm_packed_a_ep(
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: call @memc_rt_sgemm_packed_a_ep(
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(c, n) -> (c, n)>
#one = affine_map<(c, n) -> (0)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %one: memref<1xf32> {memc.weight = "one"},
                      %arena: memref<65536xi8> {memc.arena}) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %c0 = arith.constant 0 : index
  %c2048 = arith.constant 2048 : index
  %c24576 = arith.constant 24576 : index
  %c28672 = arith.constant 28672 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %c12288 = arith.constant 12288 : index
  %c16384 = arith.constant 16384 : index
  %c20480 = arith.constant 20480 : index
  %x = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<65536xi8> to memref<16x36xf32>
  %y = memref.view %arena[%c4096][] {memc.offset = 4096 : i64} : memref<65536xi8> to memref<16x36xf32>
  %d = memref.view %arena[%c8192][] {memc.offset = 8192 : i64} : memref<65536xi8> to memref<16x36xf32>
  %e = memref.view %arena[%c12288][] {memc.offset = 12288 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<16x36xf32>) outs(%d : memref<16x36xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.maximumf %v, %zero : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<16x36xf32>) outs(%e : memref<16x36xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.minimumf %v, %six : f32
    %1 = arith.maximumf %0, %zero : f32
    linalg.yield %1 : f32
  }
  %y2 = memref.view %arena[%c16384][] {memc.offset = 16384 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y2 : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  %over = memref.view %arena[%c2048][] {memc.offset = 2048 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y2 : memref<16x36xf32>) outs(%over : memref<16x36xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.maximumf %v, %zero : f32
    linalg.yield %0 : f32
  }
  %y3 = memref.view %arena[%c20480][] {memc.offset = 20480 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y3 : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y3 : memref<16x36xf32>) outs(%d : memref<16x36xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.mulf %v, %six : f32
    linalg.yield %0 : f32
  }
  %y4 = memref.view %arena[%c24576][] {memc.offset = 24576 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y4 : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  %f = memref.view %arena[%c28672][] {memc.offset = 28672 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#id, #one, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y4, %one : memref<16x36xf32>, memref<1xf32>) outs(%f : memref<16x36xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A bias and ReLU written over C itself (a convolution's output that a
// pooling reads next): the GEMM finishes its tiles in C, so D is C (the
// same pointer, rows 36 apart, no padding) and the reader that follows
// stays as it was.
// CHECK-LABEL: func @main_graph
// CHECK: %[[Y:.*]] = memref.view %{{.*}}[%c4096]
// CHECK: memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: %[[YP:.*]] = llvm.inttoptr
// CHECK: call @memc_rt_sgemm_packed_a_ep({{.*}}, %[[YP]], %c36_i64, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[YP]], %c36_i64, %c0_i64, %c0_i64,
// CHECK-NEXT: linalg.generic
// CHECK-SAME: ins(%[[Y]] : memref<16x36xf32>)
// CHECK-NOT: linalg.generic
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(c, n) -> (c, n)>
#row = affine_map<(c, n) -> (c)>
#rowsum = affine_map<(c, n) -> (c)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %bias: memref<16xf32> {memc.weight = "b"},
                      %arena: memref<65536xi8> {memc.arena}) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %x = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<65536xi8> to memref<16x36xf32>
  %y = memref.view %arena[%c4096][] {memc.offset = 4096 : i64} : memref<65536xi8> to memref<16x36xf32>
  %s = memref.view %arena[%c8192][] {memc.offset = 8192 : i64} : memref<65536xi8> to memref<16xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<16x36xf32>, memref<16xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    %1 = arith.maximumf %0, %zero : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<16x36xf32>) outs(%s : memref<16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.addf %o, %v : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Not in place after all, left as they are: the op writes C's buffer
// through a view shifted by one row (it would overwrite elements the GEMM
// has yet to finish); C is read by another op before the in-place one.
// CHECK-LABEL: func @main_graph
// CHECK-NOT: call @memc_rt_sgemm_packed_a_ep(
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: call @memc_rt_sgemm_packed_a_ep(
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(c, n) -> (c, n)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %arena: memref<65536xi8> {memc.arena}) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c4096 = arith.constant 4096 : index
  %c8192 = arith.constant 8192 : index
  %c16384 = arith.constant 16384 : index
  %x = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<65536xi8> to memref<16x36xf32>
  %y = memref.view %arena[%c4096][] {memc.offset = 4096 : i64} : memref<65536xi8> to memref<17x36xf32>
  %top = memref.subview %y[0, 0] [16, 36] [1, 1] : memref<17x36xf32> to memref<16x36xf32, strided<[36, 1]>>
  %low = memref.subview %y[1, 0] [16, 36] [1, 1] : memref<17x36xf32> to memref<16x36xf32, strided<[36, 1], offset: 36>>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%top : memref<16x36xf32, strided<[36, 1]>>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%top : memref<16x36xf32, strided<[36, 1]>>) outs(%low : memref<16x36xf32, strided<[36, 1], offset: 36>>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.maximumf %v, %zero : f32
    linalg.yield %0 : f32
  }
  %z = memref.view %arena[%c8192][] {memc.offset = 8192 : i64} : memref<65536xi8> to memref<16x36xf32>
  %d = memref.view %arena[%c16384][] {memc.offset = 16384 : i64} : memref<65536xi8> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%z : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%z : memref<16x36xf32>) outs(%d : memref<16x36xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%z : memref<16x36xf32>) outs(%z : memref<16x36xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.maximumf %v, %zero : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A dissolved memc.gemm_epilogue: C is a heap allocation marked
// memc.scratch (freed after the pair). The fused call gets a null C, and
// the allocation and its dealloc go.
// CHECK-LABEL: func @main_graph
// CHECK-NOT: memref.alloc
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: call @memc_rt_sgemm_packed_a_ep(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NULL]],
// CHECK-NOT: memref.dealloc
// CHECK: return
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (m)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %bias: memref<16xf32> {memc.weight = "b"},
                      %x: memref<16x36xf32> {memc.input = "x"},
                      %d: memref<16x36xf32> {memc.output = "y"}) {
  %zero = arith.constant 0.0 : f32
  %y = memref.alloc() {memc.scratch} : memref<16x36xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<16x36xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<16x36xf32>, memref<16xf32>) outs(%d : memref<16x36xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    %1 = arith.maximumf %0, %zero : f32
    linalg.yield %1 : f32
  }
  memref.dealloc %y : memref<16x36xf32>
  return
}

// -----

// The same with a finishing op the runtime cannot finish (an exp): C is
// allocated after all, and the GEMM writes it.
// CHECK-LABEL: func @main_graph
// CHECK: %[[C:.*]] = memref.alloc() {memc.scratch} : memref<16x36xf32>
// CHECK-NOT: llvm.mlir.zero
// CHECK: call @memc_rt_sgemm_packed_a(
// CHECK: linalg.generic {{.*}} ins(%[[C]]
// CHECK: math.exp
// CHECK: memref.dealloc %[[C]]
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %x: memref<16x36xf32> {memc.input = "x"},
                      %d: memref<16x36xf32> {memc.output = "y"}) {
  %zero = arith.constant 0.0 : f32
  %y = memref.alloc() {memc.scratch} : memref<16x36xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<16x36xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<16x36xf32>) outs(%d : memref<16x36xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = math.exp %v : f32
    linalg.yield %0 : f32
  }
  memref.dealloc %y : memref<16x36xf32>
  return
}
