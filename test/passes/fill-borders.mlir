// RUN: memc-opt %s -split-input-file --memc-fill-borders | FileCheck %s --enable-var-scope

// A graph input copied into the interior of its zero-padded buffer (a
// convolution with padding 3): the fill covers the border alone, rows
// above and below the interior, then its columns left and right.
// CHECK-LABEL: func @input_pad
// CHECK-SAME: (%[[X:.*]]: memref<1x3x8x8xf32>, %[[P:.*]]: memref<1x3x14x14xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: linalg.map
// CHECK: %[[TOP:.*]] = memref.subview %[[P]][0, 0, 0, 0] [1, 3, 3, 14] [1, 1, 1, 1]
// CHECK: linalg.fill ins(%[[ZERO]] : f32) outs(%[[TOP]] :
// CHECK: %[[BOTTOM:.*]] = memref.subview %[[P]][0, 0, 11, 0] [1, 3, 3, 14] [1, 1, 1, 1]
// CHECK: linalg.fill ins(%[[ZERO]] : f32) outs(%[[BOTTOM]] :
// CHECK: %[[LEFT:.*]] = memref.subview %[[P]][0, 0, 3, 0] [1, 3, 8, 3] [1, 1, 1, 1]
// CHECK: linalg.fill ins(%[[ZERO]] : f32) outs(%[[LEFT]] :
// CHECK: %[[RIGHT:.*]] = memref.subview %[[P]][0, 0, 3, 11] [1, 3, 8, 3] [1, 1, 1, 1]
// CHECK: linalg.fill ins(%[[ZERO]] : f32) outs(%[[RIGHT]] :
// CHECK-NOT: linalg.fill
// CHECK: %[[IN:.*]] = memref.subview %[[P]][0, 0, 3, 3] [1, 3, 8, 8] [1, 1, 1, 1]
// CHECK: linalg.copy ins(%[[X]] : memref<1x3x8x8xf32>) outs(%[[IN]] :
func.func @input_pad(%x: memref<1x3x8x8xf32>, %p: memref<1x3x14x14xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.map outs(%p : memref<1x3x14x14xf32>)
    (%init: f32) {
      linalg.yield %zero : f32
    }
  %in = memref.subview %p[0, 0, 3, 3] [1, 3, 8, 8] [1, 1, 1, 1] : memref<1x3x14x14xf32> to memref<1x3x8x8xf32, strided<[588, 196, 14, 1], offset: 45>>
  linalg.copy ins(%x : memref<1x3x8x8xf32>) outs(%in : memref<1x3x8x8xf32, strided<[588, 196, 14, 1], offset: 45>>)
  return
}

// -----

// A max pool writing the next convolution's padded input, padded on the
// bottom and right only: one box below, one to the right.
// CHECK-LABEL: func @pool_into_pad
// CHECK: %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[B:.*]] = memref.subview %{{.*}}[0, 0, 4, 0] [1, 2, 1, 5] [1, 1, 1, 1]
// CHECK: linalg.fill ins(%[[NEG]] : f32) outs(%[[B]] :
// CHECK: %[[R:.*]] = memref.subview %{{.*}}[0, 0, 0, 4] [1, 2, 4, 1] [1, 1, 1, 1]
// CHECK: linalg.fill ins(%[[NEG]] : f32) outs(%[[R]] :
// CHECK-NOT: linalg.fill
// CHECK: linalg.generic
#pool = affine_map<(n, c, h, w) -> (n, c, h * 2, w * 2)>
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @pool_into_pad(%x: memref<1x2x8x8xf32>, %p: memref<1x2x5x5xf32>) {
  %neg = arith.constant 0xFF800000 : f32
  linalg.fill ins(%neg : f32) outs(%p : memref<1x2x5x5xf32>)
  %in = memref.subview %p[0, 0, 0, 0] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x5x5xf32> to memref<1x2x4x4xf32, strided<[50, 25, 5, 1]>>
  linalg.generic {indexing_maps = [#pool, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x2x8x8xf32>) outs(%in : memref<1x2x4x4xf32, strided<[50, 25, 5, 1]>>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  return
}

// -----

// Left as they are: the op after the fill reads the interior's old values
// (an accumulation); the op after the fill is not its interior's writer; a
// writer that reads the padded buffer itself; a subview with a stride of
// 2 (it leaves elements between its own unwritten).
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-4: linalg.fill ins(%{{.*}} : f32) outs(%{{[^ ]*}} : memref<1x2x6x6xf32>)
// CHECK-NOT: memref.subview %{{.*}}[0, 0, 0, 0] [1, 2, 1, 6]
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @left_alone(%x: memref<1x2x4x4xf32>, %p: memref<1x2x6x6xf32>,
                      %q: memref<1x2x6x6xf32>, %r: memref<1x2x6x6xf32>,
                      %s: memref<1x2x6x6xf32>, %y: memref<1x2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x6x6xf32>)
  %pin = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x2x4x4xf32>) outs(%pin : memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>) {
  ^bb0(%a: f32, %o: f32):
    %s0 = arith.addf %a, %o : f32
    linalg.yield %s0 : f32
  }
  linalg.fill ins(%zero : f32) outs(%q : memref<1x2x6x6xf32>)
  linalg.copy ins(%x : memref<1x2x4x4xf32>) outs(%y : memref<1x2x4x4xf32>)
  %qin = memref.subview %q[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  linalg.copy ins(%x : memref<1x2x4x4xf32>) outs(%qin : memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>)
  linalg.fill ins(%zero : f32) outs(%r : memref<1x2x6x6xf32>)
  %rin = memref.subview %r[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  %rsrc = memref.subview %r[0, 0, 0, 0] [1, 2, 4, 4] [1, 1, 1, 1] : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1]>>
  linalg.copy ins(%rsrc : memref<1x2x4x4xf32, strided<[72, 36, 6, 1]>>) outs(%rin : memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>)
  linalg.fill ins(%zero : f32) outs(%s : memref<1x2x6x6xf32>)
  %sin = memref.subview %s[0, 0, 0, 0] [1, 2, 3, 3] [1, 1, 2, 2] : memref<1x2x6x6xf32> to memref<1x2x3x3xf32, strided<[72, 36, 12, 2]>>
  %x3 = memref.subview %x[0, 0, 0, 0] [1, 2, 3, 3] [1, 1, 1, 1] : memref<1x2x4x4xf32> to memref<1x2x3x3xf32, strided<[32, 16, 4, 1]>>
  linalg.copy ins(%x3 : memref<1x2x3x3xf32, strided<[32, 16, 4, 1]>>) outs(%sin : memref<1x2x3x3xf32, strided<[72, 36, 12, 2]>>)
  return
}
