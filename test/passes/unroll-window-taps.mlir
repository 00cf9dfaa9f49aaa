// RUN: memc-opt %s -split-input-file --memc-unroll-window-taps | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file --memc-unroll-window-taps --memc-fuse-elementwise --canonicalize | FileCheck %s --check-prefix=FUSED --enable-var-scope
// RUN: memc-opt %s -split-input-file --memc-unroll-window-taps="max-taps=8" | FileCheck %s --check-prefix=FEW
// RUN: not memc-opt %s -split-input-file --memc-unroll-window-taps="max-taps=0" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: memc-unroll-window-taps: max-taps must be at least 1

// A 3x3 depthwise convolution (the importer's ranks after
// memc-depthwise-loop-order) into a zero fill, whose result is collapsed
// to drop its unit group rank: one parallel op over the collapsed result,
// 9 taps of the input and the weight in the loop nest's order (k0, then
// k1), summed from the fill's 0. The input at tap (0, 0) names the rows
// and columns plainly, so it is the image's leading 16 x 16 slice. The
// fill goes; the ReLU after it fuses in (FUSED).
// CHECK-DAG: #[[$X00:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d2, d3)>
// CHECK-DAG: #[[$W00:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0, 0, 0)>
// CHECK-DAG: #[[$X01:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d2, d3 + 1)>
// CHECK-DAG: #[[$X22:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d2 + 2, d3 + 2)>
// CHECK-DAG: #[[$W22:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0, 2, 2)>
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @depthwise
// CHECK-SAME: (%[[X:.*]]: tensor<1x8x1x18x18xf32>, %[[W:.*]]: tensor<8x1x1x3x3xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: linalg.fill
// CHECK: %[[FIRST:.*]] = tensor.extract_slice %[[X]][0, 0, 0, 0, 0] [1, 8, 1, 16, 16] [1, 1, 1, 1, 1]
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<1x8x16x16xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$X00]], #[[$W00]], #[[$X01]], {{.*}}, #[[$X22]], #[[$W22]], #[[$ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[FIRST]], %[[W]], %{{.*}}, %[[W]],
// CHECK-SAME: outs(%[[EMPTY]] : tensor<1x8x16x16xf32>)
// CHECK: ^bb0(%[[A0:[^:]*]]: f32, %[[B0:[^:]*]]: f32, %[[A1:[^:]*]]: f32, %[[B1:[^:]*]]: f32,
// CHECK: %[[P0:.*]] = arith.mulf %[[A0]], %[[B0]] : f32
// CHECK: %[[S0:.*]] = arith.addf %[[ZERO]], %[[P0]] : f32
// CHECK: %[[P1:.*]] = arith.mulf %[[A1]], %[[B1]] : f32
// CHECK: %[[S1:.*]] = arith.addf %[[S0]], %[[P1]] : f32
// CHECK-COUNT-7: arith.addf
// CHECK: linalg.yield
// CHECK-NOT: tensor.collapse_shape
// FUSED-LABEL: func.func @depthwise
// FUSED-NOT: linalg.fill
// FUSED: linalg.generic
// FUSED-COUNT-9: arith.mulf
// FUSED: arith.maximumf
// FUSED-NEXT: linalg.yield
// FUSED-NEXT: } -> tensor<1x8x16x16xf32>
// FUSED-NEXT: return
// With at most 8 taps, the 9-tap window stays a reduction.
// FEW-LABEL: func.func @depthwise
// FEW: linalg.fill
// FEW: iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel", "reduction", "reduction", "parallel"]
#x = affine_map<(n, g, m, c, o0, k0, k1, o1) -> (n, g, c, o0 + k0, k1 + o1)>
#w = affine_map<(n, g, m, c, o0, k0, k1, o1) -> (g, m, c, k0, k1)>
#y = affine_map<(n, g, m, c, o0, k0, k1, o1) -> (n, g, m, o0, o1)>
#id = affine_map<(a, b, c, d) -> (a, b, c, d)>
func.func @depthwise(%x: tensor<1x8x1x18x18xf32>, %w: tensor<8x1x1x3x3xf32>) -> tensor<1x8x16x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x1x16x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x1x16x16xf32>) -> tensor<1x8x1x16x16xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel", "reduction", "reduction", "parallel"]} ins(%x, %w : tensor<1x8x1x18x18xf32>, tensor<8x1x1x3x3xf32>) outs(%f : tensor<1x8x1x16x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x8x1x16x16xf32>
  %c = tensor.collapse_shape %y [[0], [1], [2, 3], [4]] : tensor<1x8x1x16x16xf32> into tensor<1x8x16x16xf32>
  %e2 = tensor.empty() : tensor<1x8x16x16xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c : tensor<1x8x16x16xf32>) outs(%e2 : tensor<1x8x16x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x16x16xf32>
  return %r : tensor<1x8x16x16xf32>
}

// -----

// A 2x2 max pooling of stride 2 into a fill of -inf (the window's extents
// come from a tensor of its shape, as the importer writes poolings): the
// taps read every other column, so no input names a loop plainly and none
// is sliced.
// CHECK-LABEL: func.func @max_pool
// CHECK-SAME: (%[[X:.*]]: tensor<4x8x8xf32>, %[[K:.*]]: tensor<2x2xf32>)
// CHECK: %[[LOW:.*]] = arith.constant 0xFF800000 : f32
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[X]], %[[K]], %[[X]], %[[K]], %[[X]], %[[K]], %[[X]], %[[K]] :
// CHECK: ^bb0(%[[T0:[^:]*]]: f32,
// CHECK: %[[M0:.*]] = arith.maximumf %[[LOW]], %[[T0]] : f32
// CHECK-COUNT-3: arith.maximumf
// CHECK: linalg.yield
#px = affine_map<(c, i, j, k0, k1) -> (c, i * 2 + k0, j * 2 + k1)>
#pk = affine_map<(c, i, j, k0, k1) -> (k0, k1)>
#py = affine_map<(c, i, j, k0, k1) -> (c, i, j)>
func.func @max_pool(%x: tensor<4x8x8xf32>, %k: tensor<2x2xf32>) -> tensor<4x4x4xf32> {
  %low = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<4x4x4xf32>
  %f = linalg.fill ins(%low : f32) outs(%e : tensor<4x4x4xf32>) -> tensor<4x4x4xf32>
  %y = linalg.generic {indexing_maps = [#px, #pk, #py], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%x, %k : tensor<4x8x8xf32>, tensor<2x2xf32>) outs(%f : tensor<4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.maximumf %o, %a : f32
    linalg.yield %m : f32
  } -> tensor<4x4x4xf32>
  return %y : tensor<4x4x4xf32>
}

// -----

// A reshape that merges two ranks of extent > 1 (rows and columns into
// pixels) is not the op's to absorb: the op is unrolled in its own shape
// and the reshape stays.
// CHECK-LABEL: func.func @merging_reshape
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: tensor.collapse_shape %[[Y]] {{\[}}[0], [1, 2]] : tensor<4x6x6xf32> into tensor<4x36xf32>
#mx = affine_map<(c, i, j, k) -> (c, i, j + k)>
#mk = affine_map<(c, i, j, k) -> (k)>
#my = affine_map<(c, i, j, k) -> (c, i, j)>
func.func @merging_reshape(%x: tensor<4x6x8xf32>, %k: tensor<3xf32>) -> tensor<4x36xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x6x6xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x6x6xf32>) -> tensor<4x6x6xf32>
  %y = linalg.generic {indexing_maps = [#mx, #mk, #my], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %k : tensor<4x6x8xf32>, tensor<3xf32>) outs(%f : tensor<4x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x6x6xf32>
  %c = tensor.collapse_shape %y [[0], [1, 2]] : tensor<4x6x6xf32> into tensor<4x36xf32>
  return %c : tensor<4x36xf32>
}

// -----

// An output that is not a fill (a sum into a value computed earlier): it
// is read as one more input, the first term of the fold.
// CHECK-LABEL: func.func @into_value
// CHECK-SAME: (%[[X:.*]]: tensor<4x10xf32>, %[[K:.*]]: tensor<3xf32>, %[[ACC:.*]]: tensor<4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %{{.*}}, %[[K]], %[[X]], %[[K]], %[[X]], %[[K]] :
// CHECK: ^bb0(%[[IN:[^:]*]]: f32, %[[X0:[^:]*]]: f32, %[[K0:[^:]*]]: f32,
// CHECK: %[[P0:.*]] = arith.mulf %[[X0]], %[[K0]] : f32
// CHECK: arith.addf %[[IN]], %[[P0]] : f32
#sx = affine_map<(c, o, k) -> (c, o + k)>
#sk = affine_map<(c, o, k) -> (k)>
#sy = affine_map<(c, o, k) -> (c, o)>
func.func @into_value(%x: tensor<4x10xf32>, %k: tensor<3xf32>, %acc: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = linalg.generic {indexing_maps = [#sx, #sk, #sy], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %k : tensor<4x10xf32>, tensor<3xf32>) outs(%acc : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Left alone: a matrix product (no window: no input is moved by both a
// reduction and a parallel loop), an op that reads its indices, and a
// window whose reduction is not short (a weight gradient summing over the
// image).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tensor.extract_slice
// CHECK-COUNT-3: iterator_types = [{{.*}}"reduction"
#ma = affine_map<(i, j, k) -> (i, k)>
#mb = affine_map<(i, j, k) -> (k, j)>
#mc = affine_map<(i, j, k) -> (i, j)>
#gx = affine_map<(k, o) -> (o + k)>
#gd = affine_map<(k, o) -> (o)>
#gw = affine_map<(k, o) -> (k)>
func.func @left_alone(%a: tensor<4x3xf32>, %b: tensor<3x4xf32>, %c: tensor<4x4xf32>,
                      %x: tensor<66xf32>, %dy: tensor<64xf32>, %dw: tensor<3xf32>)
    -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<3xf32>) {
  %p = linalg.generic {indexing_maps = [#ma, #mb, #mc], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : tensor<4x3xf32>, tensor<3x4xf32>) outs(%c : tensor<4x4xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %q = linalg.generic {indexing_maps = [#ma, #mc], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a : tensor<4x3xf32>) outs(%c : tensor<4x4xf32>) {
  ^bb0(%u: f32, %o: f32):
    %i = linalg.index 2 : index
    %f = arith.index_cast %i : index to i32
    %g = arith.sitofp %f : i32 to f32
    %m = arith.mulf %u, %g : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [#gx, #gd, #gw], iterator_types = ["parallel", "reduction"]} ins(%x, %dy : tensor<66xf32>, tensor<64xf32>) outs(%dw : tensor<3xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<3xf32>
  return %p, %q, %r : tensor<4x4xf32>, tensor<4x4xf32>, tensor<3xf32>
}
