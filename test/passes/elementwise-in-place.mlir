// RUN: memc-opt %s -split-input-file --memc-elementwise-in-place | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file --memc-elementwise-in-place --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF

#id = affine_map<(d0, d1) -> (d0, d1)>

// A pointwise gradient (GELU's, say): the activation and the incoming
// gradient both die here, so the result is written over the first operand
// with the output's type and map.
// CHECK-LABEL: func @dies_here
// CHECK: %[[A:.*]] = linalg.generic
// CHECK: %[[B:.*]] = linalg.generic
// CHECK: linalg.generic {{.*}} ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<4x8xf32>) outs(%[[A]] : tensor<4x8xf32>)
// One buffer for the two: the multiply writes into the exp's buffer, with no
// copy.
// BUF-LABEL: func @dies_here
// BUF-COUNT-2: memref.alloc() {{.*}} : memref<4x8xf32>
// BUF-NOT: memref.alloc() {{.*}} : memref<4x8xf32>
// BUF-NOT: memref.copy
// BUF: return
func.func @dies_here(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4xf32> {
  %e0 = tensor.empty() : tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e0 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : tensor<4x8xf32>) outs(%e1 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.tanh %in : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %c = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%i0: f32, %i1: f32, %out: f32):
    %r = arith.mulf %i0, %i1 : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %z = arith.constant 0.0 : f32
  %e3 = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e3 : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.reduce ins(%c : tensor<4x8xf32>) outs(%f : tensor<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %r = arith.addf %in, %acc : f32
      linalg.yield %r : f32
    }
  return %s : tensor<4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// %a is read again after the op, %x is the function's argument and %b is read
// through a transposed map: none is overwritten.
// CHECK-LABEL: func @read_later_argument_transposed
// CHECK: %[[E:.*]] = tensor.empty() : tensor<4x4xf32>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<4x4xf32>)
func.func @read_later_argument_transposed(%x: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %e0 = tensor.empty() : tensor<4x4xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x4xf32>) outs(%e0 : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  %e1 = tensor.empty() : tensor<4x4xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x4xf32>) outs(%e1 : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.tanh %in : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  %e2 = tensor.empty() : tensor<4x4xf32>
  %c = linalg.generic {indexing_maps = [#id, #id, affine_map<(d0, d1) -> (d1, d0)>, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %x, %b : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) outs(%e2 : tensor<4x4xf32>) {
  ^bb0(%i0: f32, %i1: f32, %i2: f32, %out: f32):
    %m = arith.mulf %i0, %i1 : f32
    %r = arith.addf %m, %i2 : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  %e3 = tensor.empty() : tensor<4x4xf32>
  %d = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e3 : tensor<4x4xf32>) {
  ^bb0(%i0: f32, %i1: f32, %out: f32):
    %r = arith.subf %i0, %i1 : f32
    linalg.yield %r : f32
  } -> tensor<4x4xf32>
  return %c, %d : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

// A slice of %a is read after the op: %a's buffer must keep its values.
// CHECK-LABEL: func @view_read_later
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8xf32>
// CHECK-NEXT: linalg.generic {{.*}} outs(%[[E]] : tensor<8xf32>)
func.func @view_read_later(%x: tensor<8xf32>) -> tensor<4xf32> {
  %e0 = tensor.empty() : tensor<8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e0 : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %s = tensor.extract_slice %a[0] [4] [1] : tensor<8xf32> to tensor<4xf32>
  %e1 = tensor.empty() : tensor<8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<8xf32>) outs(%e1 : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.tanh %in : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %t = tensor.extract_slice %b[4] [4] [1] : tensor<8xf32> to tensor<4xf32>
  %e2 = tensor.empty() : tensor<4xf32>
  %u = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%s, %t : tensor<4xf32>, tensor<4xf32>) outs(%e2 : tensor<4xf32>) {
  ^bb0(%i0: f32, %i1: f32, %out: f32):
    %r = arith.addf %i0, %i1 : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %u : tensor<4xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

// A pooling's input gradient: slices inserted into a zero constant (copied
// when first written), each read back before the next insert. The ReLU
// gradient after it writes over that sum; inside the loop, the value made
// outside is read by every iteration and is left alone.
// CHECK-LABEL: func @into_constant_chain
// CHECK: %[[G:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[4] [4] [1]
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[G]] : tensor<8xf32>, tensor<8xf32>) outs(%[[G]] : tensor<8xf32>)
// CHECK: scf.for
// CHECK: %[[E:.*]] = tensor.empty() : tensor<8xf32>
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<8xf32>)
// The constant's copy is the one buffer the sum and the gradient share.
// BUF-LABEL: func @into_constant_chain
// BUF: %[[SUM:.*]] = memref.alloc() {{.*}} : memref<8xf32>
// BUF-NEXT: memref.copy %{{.*}}, %[[SUM]] : memref<8xf32> to memref<8xf32>
// BUF: linalg.generic {{.*}} ins(%arg0, %[[SUM]] : {{.*}}) outs(%[[SUM]] : memref<8xf32>)
// BUF: scf.for
func.func @into_constant_chain(%x: tensor<8xf32>, %p: tensor<4xf32>, %n: index) -> tensor<8xf32> {
  %zero = arith.constant dense<0.0> : tensor<8xf32>
  %g0 = tensor.insert_slice %p into %zero[0] [4] [1] : tensor<4xf32> into tensor<8xf32>
  %r0 = tensor.extract_slice %g0[4] [4] [1] : tensor<8xf32> to tensor<4xf32>
  %e0 = tensor.empty() : tensor<4xf32>
  %q = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%r0, %p : tensor<4xf32>, tensor<4xf32>) outs(%e0 : tensor<4xf32>) {
  ^bb0(%i0: f32, %i1: f32, %out: f32):
    %r = arith.addf %i0, %i1 : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %g1 = tensor.insert_slice %q into %g0[4] [4] [1] : tensor<4xf32> into tensor<8xf32>
  %e1 = tensor.empty() : tensor<8xf32>
  %d = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%x, %g1 : tensor<8xf32>, tensor<8xf32>) outs(%e1 : tensor<8xf32>) {
  ^bb0(%i0: f32, %i1: f32, %out: f32):
    %c0 = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %i0, %c0 : f32
    %r = arith.select %pos, %i1, %c0 : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %c0i = arith.constant 0 : index
  %c1i = arith.constant 1 : index
  %l = scf.for %i = %c0i to %n step %c1i iter_args(%acc = %x) -> tensor<8xf32> {
    %e2 = tensor.empty() : tensor<8xf32>
    %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%d : tensor<8xf32>) outs(%e2 : tensor<8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = math.exp %in : f32
      linalg.yield %r : f32
    } -> tensor<8xf32>
    %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%s : tensor<8xf32>) outs(%acc : tensor<8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %r = arith.addf %in, %out : f32
      linalg.yield %r : f32
    } -> tensor<8xf32>
    scf.yield %t : tensor<8xf32>
  }
  return %l : tensor<8xf32>
}

// -----

#id = affine_map<(d0) -> (d0)>

// Not rewritten: an op whose result the function returns (it must be a buffer
// of its own), a reduction, and an input the op reads twice.
// CHECK-LABEL: func @left_alone
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<8xf32>
// CHECK: linalg.generic {{.*}} outs(%[[E1]] : tensor<8xf32>)
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<8xf32>
// CHECK: linalg.generic {{.*}} outs(%[[E2]] : tensor<8xf32>)
func.func @left_alone(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e0 = tensor.empty() : tensor<8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e0 : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.exp %in : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e1 = tensor.empty() : tensor<8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%a, %a : tensor<8xf32>, tensor<8xf32>) outs(%e1 : tensor<8xf32>) {
  ^bb0(%i0: f32, %i1: f32, %out: f32):
    %r = arith.mulf %i0, %i1 : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<8xf32>
  %c = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%b : tensor<8xf32>) outs(%e2 : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.tanh %in : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %c, %x : tensor<8xf32>, tensor<8xf32>
}

// -----

#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id4 = affine_map<(a, b, c, d) -> (a, b, c, d)>

// A 1x1 convolution's GEMM result [M, H*W], seen as [1, M, H, W] by the
// bias after it: the reshape is a view of the GEMM's buffer, which nothing
// reads after the bias, so the bias writes there.
// CHECK-LABEL: func @through_reshape
// CHECK: %[[G:.*]] = linalg.generic
// CHECK: %[[V:.*]] = tensor.expand_shape %[[G]]
// CHECK: linalg.generic {{.*}} ins(%[[V]] : tensor<1x4x2x4xf32>) outs(%[[V]] : tensor<1x4x2x4xf32>)
// BUF-LABEL: func @through_reshape
// BUF-COUNT-1: memref.alloc() {{.*}} : memref<4x8xf32>
// BUF-NOT: memref.alloc() {{.*}} : memref<1x4x2x4xf32>
// BUF-NOT: memref.copy
// BUF: return
func.func @through_reshape(%w: tensor<4x3xf32>, %x: tensor<3x8xf32>) -> tensor<1xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<4x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e0 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : tensor<4x3xf32>, tensor<3x8xf32>) outs(%f : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  %v = tensor.expand_shape %g [[0, 1], [2, 3]] output_shape [1, 4, 2, 4] : tensor<4x8xf32> into tensor<1x4x2x4xf32>
  %e1 = tensor.empty() : tensor<1x4x2x4xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%v : tensor<1x4x2x4xf32>) outs(%e1 : tensor<1x4x2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %b = arith.addf %in, %zero : f32
    linalg.yield %b : f32
  } -> tensor<1x4x2x4xf32>
  %c0 = arith.constant 0 : index
  %e = tensor.extract %r[%c0, %c0, %c0, %c0] : tensor<1x4x2x4xf32>
  %out = tensor.from_elements %e : tensor<1xf32>
  return %out : tensor<1xf32>
}
