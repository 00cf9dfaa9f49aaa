// RUN: memc-opt %s -split-input-file -memc-carry-in-place | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-carry-in-place -one-shot-bufferize -canonicalize | FileCheck %s --check-prefix=BUF

// An scf.if that no loop carries (FuseMax's causal tile test once its
// single-tile K/V loop is folded away) gets a destination of its own before
// it: the computing branch writes into it, the other copies its value in.
// Bufferized, neither branch allocates: no buffer leaves a region.
// CHECK-LABEL: func @if_fresh
// CHECK: %[[DEST:.*]] = tensor.empty() : tensor<16xf32>
// CHECK: scf.if
// CHECK: %[[G:.*]] = linalg.generic {{.*}} outs(%[[DEST]] : tensor<16xf32>)
// CHECK: scf.yield %[[G]]
// CHECK: } else {
// CHECK: %[[C:.*]] = linalg.copy ins(%{{.*}} : tensor<16xf32>) outs(%[[DEST]] : tensor<16xf32>)
// CHECK: scf.yield %[[C]]
// BUF-LABEL: func @if_fresh
// BUF: memref.alloc
// BUF-NOT: memref.alloc
// BUF: scf.if %{{[a-z0-9]+}} {
// BUF-NOT: memref.alloc
// BUF: return
#id = affine_map<(d0) -> (d0)>
func.func @if_fresh(%c: i1, %x: tensor<16xf32>) -> tensor<16xf32> {
  %zero = arith.constant dense<0.0> : tensor<16xf32>
  %r = scf.if %c -> tensor<16xf32> {
    %e = tensor.empty() : tensor<16xf32>
    %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%a: f32, %o: f32):
      %y = math.exp %a : f32
      linalg.yield %y : f32
    } -> tensor<16xf32>
    scf.yield %g : tensor<16xf32>
  } else {
    scf.yield %zero : tensor<16xf32>
  }
  return %r : tensor<16xf32>
}

// -----

// Inside a loop that carries the if's result, the branches write into the
// iteration value instead (as before): no new destination.
// CHECK-LABEL: func @if_carried
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}})
// CHECK-NOT: tensor.empty
// CHECK: scf.if
// CHECK: linalg.generic {{.*}} outs(%[[ACC]] : tensor<16xf32>)
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[ACC]]
#id = affine_map<(d0) -> (d0)>
func.func @if_carried(%x: tensor<16xf32>) -> tensor<16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %x) -> (tensor<16xf32>) {
    %live = arith.cmpi ult, %i, %c1 : index
    %n = scf.if %live -> tensor<16xf32> {
      %e = tensor.empty() : tensor<16xf32>
      %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
          ins(%acc : tensor<16xf32>) outs(%e : tensor<16xf32>) {
      ^bb0(%a: f32, %o: f32):
        %y = math.exp %a : f32
        linalg.yield %y : f32
      } -> tensor<16xf32>
      scf.yield %g : tensor<16xf32>
    } else {
      scf.yield %acc : tensor<16xf32>
    }
    scf.yield %n : tensor<16xf32>
  }
  return %r : tensor<16xf32>
}

// -----

// Nested ifs: the inner one gets its destination first, then the outer one
// re-targets what the inner branches write to its own.
// CHECK-LABEL: func @if_nested
// CHECK: %[[OUTER:.*]] = tensor.empty() : tensor<16xf32>
// CHECK: scf.if
// CHECK: scf.if
// CHECK: linalg.generic {{.*}} outs(%[[OUTER]] : tensor<16xf32>)
// CHECK: } else {
// CHECK: linalg.copy ins(%{{.*}} : tensor<16xf32>) outs(%[[OUTER]] : tensor<16xf32>)
// CHECK: } else {
// CHECK: linalg.copy ins(%{{.*}} : tensor<16xf32>) outs(%[[OUTER]] : tensor<16xf32>)
// BUF-LABEL: func @if_nested
// BUF: memref.alloc
// BUF-NOT: memref.alloc
// BUF: return
#id = affine_map<(d0) -> (d0)>
func.func @if_nested(%c: i1, %d: i1, %x: tensor<16xf32>) -> tensor<16xf32> {
  %zero = arith.constant dense<0.0> : tensor<16xf32>
  %one = arith.constant dense<1.0> : tensor<16xf32>
  %r = scf.if %c -> tensor<16xf32> {
    %s = scf.if %d -> tensor<16xf32> {
      %e = tensor.empty() : tensor<16xf32>
      %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
          ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
      ^bb0(%a: f32, %o: f32):
        %y = math.exp %a : f32
        linalg.yield %y : f32
      } -> tensor<16xf32>
      scf.yield %g : tensor<16xf32>
    } else {
      scf.yield %one : tensor<16xf32>
    }
    scf.yield %s : tensor<16xf32>
  } else {
    scf.yield %zero : tensor<16xf32>
  }
  return %r : tensor<16xf32>
}

// -----

// Branches that yield tensors from outside (nothing is allocated in them),
// and results of dynamic shape (no destination can be made before the if),
// are left alone.
// CHECK-LABEL: func @if_left_alone
// CHECK-NEXT: scf.if
// CHECK-NEXT: scf.yield %{{.*}} : tensor<16xf32>
// CHECK-NOT: linalg.copy
// CHECK: scf.if
// CHECK-NEXT: tensor.empty(%{{.*}}) : tensor<?xf32>
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @if_left_alone(%c: i1, %x: tensor<16xf32>, %y: tensor<16xf32>, %n: index) -> (tensor<16xf32>, tensor<?xf32>) {
  %r = scf.if %c -> tensor<16xf32> {
    scf.yield %x : tensor<16xf32>
  } else {
    scf.yield %y : tensor<16xf32>
  }
  %s = scf.if %c -> tensor<?xf32> {
    %e = tensor.empty(%n) : tensor<?xf32>
    scf.yield %e : tensor<?xf32>
  } else {
    %e = tensor.empty(%n) : tensor<?xf32>
    scf.yield %e : tensor<?xf32>
  }
  return %r, %s : tensor<16xf32>, tensor<?xf32>
}

// -----

// A scatter-add (autodiff's gradient of a gather): the innermost loop
// inserts into its iter_arg and the outer loops carry the inner loop's
// result, which already lives in their iter_arg: no copy at any level.
// CHECK-LABEL: func @scatter_add_nest
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @scatter_add_nest(%ids: tensor<4xindex>, %dz: tensor<4x8xf32>, %init: tensor<16x8xf32>) -> tensor<16x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %r = scf.for %t = %c0 to %c4 step %c1 iter_args(%a = %init) -> (tensor<16x8xf32>) {
    %s = scf.for %d = %c0 to %c8 step %c1 iter_args(%b = %a) -> (tensor<16x8xf32>) {
      %row = tensor.extract %ids[%t] : tensor<4xindex>
      %old = tensor.extract %b[%row, %d] : tensor<16x8xf32>
      %g = tensor.extract %dz[%t, %d] : tensor<4x8xf32>
      %sum = arith.addf %old, %g : f32
      %new = tensor.insert %sum into %b[%row, %d] : tensor<16x8xf32>
      scf.yield %new : tensor<16x8xf32>
    }
    scf.yield %s : tensor<16x8xf32>
  }
  return %r : tensor<16x8xf32>
}
