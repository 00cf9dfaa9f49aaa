// RUN: memc-opt %s -split-input-file -memc-fuse-elementwise="max-body-ops=2" | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-fuse-elementwise="max-body-ops=0" | FileCheck %s --check-prefix=NOLIMIT --enable-var-scope
// RUN: not memc-opt %s -memc-fuse-elementwise="max-body-ops=-1" 2>&1 | FileCheck %s --check-prefix=BAD

// A chain of four one-op bodies with max-body-ops=2 fuses in pairs: the
// fused bodies stop growing at two payload ops (what keeps the pass linear
// in the length of a chain). With no limit it becomes one loop nest.
#id = affine_map<(i) -> (i)>
// CHECK-LABEL: func @chain4
// CHECK:       %[[A:.+]] = linalg.generic
// CHECK:         arith.negf
// CHECK-NEXT:    math.exp
// CHECK-NEXT:    linalg.yield
// CHECK:       linalg.generic
// CHECK-SAME:    ins(%[[A]] :
// CHECK:         arith.negf
// CHECK-NEXT:    math.exp
// CHECK-NEXT:    linalg.yield
// CHECK-NOT:   linalg.generic
// NOLIMIT-LABEL: func @chain4
// NOLIMIT:       linalg.generic
// NOLIMIT-COUNT-2: arith.negf
// NOLIMIT-NOT:   linalg.generic
func.func @chain4(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%u: f32, %o: f32):
    %s = arith.negf %u : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%0 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%u: f32, %o: f32):
    %s = math.exp %u : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%1 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%u: f32, %o: f32):
    %s = arith.negf %u : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %3 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%2 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%u: f32, %o: f32):
    %s = math.exp %u : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %3 : tensor<8xf32>
}

// BAD: max-body-ops
