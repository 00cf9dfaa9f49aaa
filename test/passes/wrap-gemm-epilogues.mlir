// RUN: memc-opt %s -split-input-file -memc-wrap-gemm-epilogues | FileCheck %s --enable-var-scope

// A 1x1 convolution (a weight times the activation %x) into a zero-filled
// C, whose bias and ReLU6 go into the interior of a padded buffer: C's
// allocation becomes the argument of one memc.gemm_epilogue holding C's
// fill, the GEMM, C's view, the padded buffer's fill and the finishing op;
// the interior's view stays outside (read after), as does the copy out.
// CHECK-LABEL: func @main_graph
// CHECK-NOT: memref.alloc() : memref<16x36xf32>
// CHECK: %[[P:.*]] = memref.alloc() : memref<1x16x8x8xf32>
// CHECK: %[[INNER:.*]] = memref.subview %[[P]]
// CHECK: memc.gemm_epilogue {
// CHECK-NEXT: ^bb0(%[[C:.*]]: memref<16x36xf32>):
// CHECK-NEXT: linalg.fill ins(%{{.*}} : f32) outs(%[[C]] : memref<16x36xf32>)
// CHECK-NEXT: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : memref<16x16xf32>, memref<16x36xf32>) outs(%[[C]] : memref<16x36xf32>)
// CHECK: %[[C4:.*]] = memref.expand_shape %[[C]]
// CHECK-NEXT: linalg.fill ins(%{{.*}} : f32) outs(%[[P]] : memref<1x16x8x8xf32>)
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[C4]], %{{.*}} : memref<1x16x6x6xf32>, memref<16xf32>) outs(%[[INNER]] :
// CHECK: }
// CHECK-NEXT: }
// CHECK-NEXT: memref.copy %[[P]]
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#bias = affine_map<(n, c, h, w) -> (c)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %bias: memref<16xf32> {memc.weight = "b"},
                      %x: memref<16x36xf32> {memc.input = "x"},
                      %out: memref<1x16x8x8xf32> {memc.output = "y"}) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %y = memref.alloc() : memref<16x36xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<16x36xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  %y4 = memref.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 16, 6, 6] : memref<16x36xf32> into memref<1x16x6x6xf32>
  %p = memref.alloc() : memref<1x16x8x8xf32>
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
  memref.copy %p, %out : memref<1x16x8x8xf32> to memref<1x16x8x8xf32>
  return
}

// -----

// Left alone: the bias and ReLU finish C in place (C is read after, and
// fuses as it is); C read again after the finishing op; C not zero-filled
// (the GEMM accumulates into its old value); A not a weight; and the same
// pair in a train step, whose weights change.
// CHECK-LABEL: func @main_graph
// CHECK-NOT: memc.gemm_epilogue
// CHECK: return
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (m)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %bias: memref<16xf32> {memc.weight = "b"},
                      %x: memref<16x36xf32> {memc.input = "x"},
                      %out: memref<16x36xf32> {memc.output = "y"},
                      %out2: memref<16x36xf32> {memc.output = "z"}) {
  %zero = arith.constant 0.0 : f32
  // In place.
  %y = memref.alloc() : memref<16x36xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<16x36xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<16x36xf32>, memref<16xf32>) outs(%y : memref<16x36xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    %1 = arith.maximumf %0, %zero : f32
    linalg.yield %1 : f32
  }
  // Read again after the finishing op.
  %z = memref.alloc() : memref<16x36xf32>
  linalg.fill ins(%zero : f32) outs(%z : memref<16x36xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %y : memref<16x16xf32>, memref<16x36xf32>) outs(%z : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%z, %bias : memref<16x36xf32>, memref<16xf32>) outs(%out : memref<16x36xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    linalg.yield %0 : f32
  }
  memref.copy %z, %out2 : memref<16x36xf32> to memref<16x36xf32>
  // Accumulating into C's old value (C copied from the input).
  %u = memref.alloc() : memref<16x36xf32>
  memref.copy %x, %u : memref<16x36xf32> to memref<16x36xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%u : memref<16x36xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%u, %bias : memref<16x36xf32>, memref<16xf32>) outs(%out2 : memref<16x36xf32>) {
  ^bb0(%v: f32, %b: f32, %o: f32):
    %0 = arith.addf %v, %b : f32
    linalg.yield %0 : f32
  }
  // A is the input, B the weight: the packed-B kernel, no epilogue.
  %t = memref.alloc() : memref<36x16xf32>
  %xt = memref.alloc() : memref<36x16xf32>
  linalg.fill ins(%zero : f32) outs(%t : memref<36x16xf32>)
  linalg.fill ins(%zero : f32) outs(%xt : memref<36x16xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xt, %w : memref<36x16xf32>, memref<16x16xf32>) outs(%t : memref<36x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  %t2 = memref.alloc() : memref<36x16xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<36x16xf32>) outs(%t2 : memref<36x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %0 = arith.maximumf %v, %zero : f32
    linalg.yield %0 : f32
  }
  memref.copy %t2, %xt : memref<36x16xf32> to memref<36x16xf32>
  return
}

// -----

// CHECK-LABEL: module attributes {memc.train
// CHECK-NOT: memc.gemm_epilogue
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (m)>
module attributes {memc.train = {loss = "mse", optimizer = "sgd"}} {
  func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                        %bias: memref<16xf32> {memc.weight = "b"},
                        %x: memref<16x36xf32> {memc.input = "x"},
                        %out: memref<16x36xf32> {memc.output = "y"}) {
    %zero = arith.constant 0.0 : f32
    %y = memref.alloc() : memref<16x36xf32>
    linalg.fill ins(%zero : f32) outs(%y : memref<16x36xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
        ins(%y, %bias : memref<16x36xf32>, memref<16xf32>) outs(%out : memref<16x36xf32>) {
    ^bb0(%v: f32, %b: f32, %o: f32):
      %0 = arith.addf %v, %b : f32
      linalg.yield %0 : f32
    }
    return
  }
}
