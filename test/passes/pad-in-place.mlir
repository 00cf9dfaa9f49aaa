// RUN: memc-opt %s -split-input-file --memc-pad-in-place | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file --memc-pad-in-place --memc-bufferize | FileCheck %s --check-prefix=BUF
// RUN: memc-opt %s -split-input-file --memc-pad-in-place=shared=1 | FileCheck %s --check-prefix=SHARED --enable-var-scope
// RUN: memc-opt %s -split-input-file --memc-pad-in-place=shared=1 --memc-bufferize | FileCheck %s --check-prefix=SHAREDBUF

// The ReLU before a padded convolution writes into the padded tensor's
// interior: the fill of the padded shape comes first, the generic's init is
// its slice at the low padding, and the pad is the insertion of the result
// into that slice.
// CHECK-LABEL: func @relu_then_pad
// CHECK: arith.constant 0.000000e+00 : f32
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<1x4x10x10xf32>
// CHECK: %[[F:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<1x4x10x10xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %[[F]][0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<1x4x8x8xf32>) outs(%[[S]] : tensor<1x4x8x8xf32>)
// CHECK: %[[P:.*]] = tensor.insert_slice %[[R]] into %[[F]][0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// CHECK-NOT: tensor.pad
// CHECK: return %[[P]]
// Bufferized, the ReLU writes a subview of the padded buffer and nothing is
// copied.
// BUF-LABEL: func @relu_then_pad
// BUF: linalg.fill
// BUF: %[[SV:.*]] = memref.subview %{{.*}}[0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// BUF: linalg.generic {{.*}} outs(%[[SV]] :
// BUF-NOT: memref.copy
// BUF-LABEL: func @left_alone
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @relu_then_pad(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x4x8x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x4x8x8xf32>) outs(%e : tensor<1x4x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x4x8x8xf32>
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  return %p : tensor<1x4x10x10xf32>
}

// -----

// Left as they are: a pad of an argument (no producer), of a value that is
// also read elsewhere (its own buffer must stay), and with a padding value
// that is not a constant.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-3: tensor.pad
// CHECK-NOT: tensor.insert_slice
#id2 = affine_map<(i, j) -> (i, j)>
func.func @left_alone(%x: tensor<4x4xf32>, %v: f32)
    -> (tensor<6x6xf32>, tensor<6x6xf32>, tensor<4x4xf32>, tensor<6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %a = tensor.pad %x low[1, 1] high[1, 1] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<4x4xf32> to tensor<6x6xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %m = arith.addf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %b = tensor.pad %r low[1, 1] high[1, 1] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<4x4xf32> to tensor<6x6xf32>
  %e2 = tensor.empty() : tensor<4x4xf32>
  %r2 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x4xf32>) outs(%e2 : tensor<4x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<4x4xf32>
  %c = tensor.pad %r2 low[1, 1] high[1, 1] {
  ^bb0(%i: index, %j: index):
    tensor.yield %v : f32
  } : tensor<4x4xf32> to tensor<6x6xf32>
  return %a, %b, %r, %c : tensor<6x6xf32>, tensor<6x6xf32>, tensor<4x4xf32>, tensor<6x6xf32>
}

// -----

// With shared=1, a producer whose result is also read elsewhere (a residual
// block's output: the next convolution pads it, the residual sum reads it)
// writes the padded buffer's interior too; the other reader reads that
// result, the interior. Bufferized: one buffer, the sum reads a subview of
// it, nothing is copied. Without shared, the pad stays.
// CHECK-LABEL: func @residual
// CHECK: tensor.pad
// SHARED-LABEL: func @residual
// SHARED: %[[F:.*]] = linalg.fill {{.*}} -> tensor<1x2x6x6xf32>
// SHARED: %[[S:.*]] = tensor.extract_slice %[[F]][0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1]
// SHARED: %[[R:.*]] = linalg.generic {{.*}} outs(%[[S]] : tensor<1x2x4x4xf32>)
// SHARED: %[[P:.*]] = tensor.insert_slice %[[R]] into %[[F]][0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1]
// SHARED: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[R]], %arg1 :
// SHARED-NOT: tensor.pad
// SHARED: return %[[P]], %[[SUM]]
// SHAREDBUF-LABEL: func @residual
// SHAREDBUF: linalg.fill
// SHAREDBUF: %[[SV:.*]] = memref.subview %{{.*}}[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1]
// SHAREDBUF: linalg.generic {{.*}} outs(%[[SV]] :
// SHAREDBUF-NOT: memref.copy
// SHAREDBUF: linalg.generic {{.*}} ins(%[[SV]], %{{.*}} :
// SHAREDBUF-NOT: memref.copy
// SHAREDBUF: return
#id4 = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @residual(%x: tensor<1x2x4x4xf32>, %y: tensor<1x2x4x4xf32>)
    -> (tensor<1x2x6x6xf32>, tensor<1x2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : tensor<1x2x4x4xf32>) outs(%e : tensor<1x2x4x4xf32>) {
  ^bb0(%in: f32, %o: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x2x4x4xf32>
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index, %l: index):
    tensor.yield %zero : f32
  } : tensor<1x2x4x4xf32> to tensor<1x2x6x6xf32>
  %e2 = tensor.empty() : tensor<1x2x4x4xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%r, %y : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) outs(%e2 : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x2x4x4xf32>
  return %p, %sum : tensor<1x2x6x6xf32>, tensor<1x2x4x4xf32>
}
