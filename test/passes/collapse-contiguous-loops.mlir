// RUN: memc-opt %s -split-input-file --memc-collapse-contiguous-loops | FileCheck %s --enable-var-scope

// A per-channel sum over [N, C, H, W]: H and W are contiguous in the input
// and absent from the output, so they become one reduction loop over 1024
// elements; N stays apart (C is between it and H in the input).
// CHECK-LABEL: func @channel_sum
// CHECK: %[[X:.*]] = memref.collapse_shape %arg0 {{\[}}[0], [1], [2, 3]] : memref<4x8x32x32xf32> into memref<4x8x1024xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["reduction", "parallel", "reduction"]} ins(%[[X]] : memref<4x8x1024xf32>) outs(%arg1 : memref<8xf32>)
func.func @channel_sum(%x: memref<4x8x32x32xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (n, c, h, w)>,
                                   affine_map<(n, c, h, w) -> (c)>],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : memref<4x8x32x32xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Elementwise over a row range of a kernel (memc-parallel-kernels' subview
// of rows [lo, hi) of dimension 1): the strided view's C, H, W are still
// contiguous, so the three loops are one.
// CHECK-LABEL: func @rows_of_elementwise
// CHECK: memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]]
// CHECK: memref.collapse_shape %{{.*}} {{\[}}[0], [1, 2, 3]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
func.func @rows_of_elementwise(%x: memref<4x8x32x32xf32>, %y: memref<4x8x32x32xf32>, %lo: index, %n: index) {
  %xs = memref.subview %x[0, %lo, 0, 0] [4, %n, 32, 32] [1, 1, 1, 1] : memref<4x8x32x32xf32> to memref<4x?x32x32xf32, strided<[8192, 1024, 32, 1], offset: ?>>
  %ys = memref.subview %y[0, %lo, 0, 0] [4, %n, 32, 32] [1, 1, 1, 1] : memref<4x8x32x32xf32> to memref<4x?x32x32xf32, strided<[8192, 1024, 32, 1], offset: ?>>
  linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (n, c, h, w)>,
                                   affine_map<(n, c, h, w) -> (n, c, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%xs : memref<4x?x32x32xf32, strided<[8192, 1024, 32, 1], offset: ?>>)
      outs(%ys : memref<4x?x32x32xf32, strided<[8192, 1024, 32, 1], offset: ?>>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Left alone: a window (h + kh) and a broadcast through a constant index.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: memref.collapse_shape
// CHECK: return
func.func @left_alone(%x: memref<8x34x34xf32>, %w: memref<3x3xf32>, %y: memref<8x32x32xf32>,
                      %s: memref<8x1x1xf32>, %t: memref<8x4x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(c, h, w, kh, kw) -> (c, h + kh, w + kw)>,
                                   affine_map<(c, h, w, kh, kw) -> (kh, kw)>,
                                   affine_map<(c, h, w, kh, kw) -> (c, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<8x34x34xf32>, memref<3x3xf32>) outs(%y : memref<8x32x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s2 = arith.addf %acc, %m : f32
    linalg.yield %s2 : f32
  }
  linalg.generic {indexing_maps = [affine_map<(c, h, w) -> (c, 0, 0)>,
                                   affine_map<(c, h, w) -> (c, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : memref<8x1x1xf32>) outs(%t : memref<8x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

// Partly collapsed: padded rows (stride 34 for 32 columns) keep W apart but
// channels and rows are contiguous (1088 = 32 x 34); a reduction over W
// keeps W apart from the parallel C and H.
// CHECK-LABEL: func @partly
// CHECK: memref.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : memref<8x32x32xf32, strided<[1088, 34, 1]>> into memref<256x32xf32, strided<[34, 1]>>
// CHECK: memref.collapse_shape %arg1 {{\[}}[0, 1], [2]] : memref<8x32x32xf32> into memref<256x32xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: memref.collapse_shape %arg2 {{\[}}[0, 1], [2]] : memref<8x4x4xf32> into memref<32x4xf32>
// CHECK: memref.collapse_shape %arg3 {{\[}}[0, 1]] : memref<8x4xf32> into memref<32xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
func.func @partly(%p: memref<8x32x34xf32>, %q: memref<8x32x32xf32>,
                  %t: memref<8x4x4xf32>, %r: memref<8x4xf32>) {
  %pv = memref.subview %p[0, 0, 0] [8, 32, 32] [1, 1, 1] : memref<8x32x34xf32> to memref<8x32x32xf32, strided<[1088, 34, 1]>>
  linalg.generic {indexing_maps = [affine_map<(c, h, w) -> (c, h, w)>,
                                   affine_map<(c, h, w) -> (c, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%pv : memref<8x32x32xf32, strided<[1088, 34, 1]>>) outs(%q : memref<8x32x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [affine_map<(c, h, w) -> (c, h, w)>,
                                   affine_map<(c, h, w) -> (c, h)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%t : memref<8x4x4xf32>) outs(%r : memref<8x4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s3 = arith.addf %acc, %a : f32
    linalg.yield %s3 : f32
  }
  return
}
