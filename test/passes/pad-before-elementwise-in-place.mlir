// RUN: memc-opt %s --memc-einsum-to-linalg | FileCheck %s --enable-var-scope

// In memc-einsum-to-linalg, memc-pad-in-place runs before
// memc-elementwise-in-place: a ReLU after a GEMM whose result then goes
// into a padded buffer writes the padded buffer's interior. Written over
// the GEMM's result (which dies there), the pad would copy it into the
// padded buffer.
// CHECK-LABEL: func @gemm_bias_pad
// CHECK: %[[G:.*]] = linalg.generic {{.*}}"reduction"
// CHECK: %[[F:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<6x10xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %[[F]][1, 1] [4, 8] [1, 1]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[G]] : tensor<4x8xf32>) outs(%[[S]] : tensor<4x8xf32>)
// CHECK: tensor.insert_slice %[[R]] into %[[F]][1, 1] [4, 8] [1, 1]
// CHECK-NOT: tensor.pad
#mk = affine_map<(m, n, k) -> (m, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
#id2 = affine_map<(a, b) -> (a, b)>
func.func @gemm_bias_pad(%w: tensor<4x3xf32>, %x: tensor<3x8xf32>) -> tensor<6x10xf32> {
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
  %e1 = tensor.empty() : tensor<4x8xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%g : tensor<4x8xf32>) outs(%e1 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.maximumf %in, %zero : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %p = tensor.pad %r low[1, 1] high[1, 1] {
  ^bb0(%i: index, %j: index):
    tensor.yield %zero : f32
  } : tensor<4x8xf32> to tensor<6x10xf32>
  return %p : tensor<6x10xf32>
}
