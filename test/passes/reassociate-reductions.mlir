// RUN: memc-opt %s -split-input-file --memc-reassociate-reductions | FileCheck %s --enable-var-scope

// A per-channel sum of products (batch norm's backward): only the add that
// folds into the accumulator may be reassociated; the product keeps its
// exact form.
// CHECK-LABEL: func @dot_per_channel
// CHECK: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: %[[P:.*]] = arith.mulf %[[X]], %[[Y]] : f32
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[P]] fastmath<reassoc> : f32
// CHECK: linalg.yield %[[S]]
func.func @dot_per_channel(%x: memref<4x8x16xf32>, %y: memref<4x8x16xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, c, p) -> (n, c, p)>,
                                   affine_map<(n, c, p) -> (n, c, p)>,
                                   affine_map<(n, c, p) -> (c)>],
                  iterator_types = ["reduction", "parallel", "reduction"]}
      ins(%x, %y : memref<4x8x16xf32>, memref<4x8x16xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: an elementwise op (no reduction loop), a max reduction (exact
// in any order), an add that does not read the accumulator, and a product
// reduction keeps its other flags.
// CHECK-LABEL: func @left_alone
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: reassoc
// CHECK: arith.maximumf
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NOT: reassoc
// CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
func.func @left_alone(%x: memref<8x16xf32>, %y: memref<8x16xf32>, %m: memref<8xf32>, %prod: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x16xf32>) outs(%y : memref<8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %o : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%m : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %acc, %a : f32
    %t = arith.addf %r, %a : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>,
                                   affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%prod : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.mulf %acc, %a fastmath<contract> : f32
    linalg.yield %r : f32
  }
  return
}
