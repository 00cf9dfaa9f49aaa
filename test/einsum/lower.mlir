// RUN: memc-opt %s -split-input-file -convert-einsum-to-linalg | FileCheck %s --enable-var-scope

// A contraction: one linalg.generic, reduction over k, init filled with 0.
// CHECK-DAG: #[[$A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$B:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @matmul
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[EMPTY:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<4x16xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[$A]], #[[$B]], #[[$C]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[INIT]] : tensor<4x16xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK:   %[[P:.*]] = arith.mulf %[[X]], %[[Y]] : f32
// CHECK:   %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : f32
// CHECK:   linalg.yield %[[S]] : f32
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %z = einsum.einsum mul reduce add [m, n, k] (%a[m, k], %b[k, n]) -> [m, n]
         : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %z : tensor<4x16xf32>
}

// -----

// A max reduction starts from -inf; sub_exp is exp(a - b).
// CHECK-LABEL: func @softmax_head
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: linalg.generic
// CHECK:   arith.maximumf
// CHECK: linalg.generic
// CHECK:   %[[D:.*]] = arith.subf
// CHECK:   math.exp %[[D]]
func.func @softmax_head(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %gm = einsum.einsum copy reduce max [p, m] (%x[p, m]) -> [p] : (tensor<4x8xf32>) -> tensor<4xf32>
  %sn = einsum.einsum sub_exp [p, m] (%x[p, m], %gm[p]) -> [p, m] : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return %sn : tensor<4x8xf32>
}

// -----

// Window and broadcast index expressions become the generic's maps.
// CHECK-DAG: #[[$W:.*]] = affine_map<(d0, d1) -> (d0 * 2 + d1)>
// CHECK-DAG: #[[$K:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @conv1d
// CHECK: linalg.generic {indexing_maps = [#[[$W]], #[[$K]], {{.*}}], iterator_types = ["parallel", "reduction"]}
func.func @conv1d(%x: tensor<9xf32>, %w: tensor<3xf32>) -> tensor<4xf32> {
  %y = einsum.einsum mul reduce add [o, k] (%x[o * 2 + k], %w[k]) -> [o] : (tensor<9xf32>, tensor<3xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Casts: f32 -> i64 is fptosi, i1 -> f32 is uitofp.
// CHECK-LABEL: func @casts
// CHECK: arith.fptosi %{{.*}} : f32 to i64
// CHECK: arith.uitofp %{{.*}} : i1 to f32
func.func @casts(%x: tensor<3xf32>, %b: tensor<3xi1>) -> (tensor<3xi64>, tensor<3xf32>) {
  %i = einsum.einsum copy [i] (%x[i]) -> [i] : (tensor<3xf32>) -> tensor<3xi64>
  %f = einsum.einsum copy [i] (%b[i]) -> [i] : (tensor<3xi1>) -> tensor<3xf32>
  return %i, %f : tensor<3xi64>, tensor<3xf32>
}

// -----

// An iterative rank lowers to scf.for with the same carried values.
// CHECK-LABEL: func @running_max
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[R:.*]] = scf.for %[[I:.*]] = %[[C0]] to %[[C4]] step %[[C1]] iter_args(%[[RM:.*]] = %{{.*}}) -> (tensor<8xf32>) {
// CHECK:   tensor.extract_slice
// CHECK:   linalg.generic
// CHECK:   scf.yield %{{.*}} : tensor<8xf32>
// CHECK: return %[[R]]
func.func @running_max(%x: tensor<8x16xf32>, %init: tensor<8xf32>) -> tensor<8xf32> {
  %r = einsum.iterate m1(%i) < 4 iter_args(%rm = %init) : tensor<8xf32> {
    %c4 = arith.constant 4 : index
    %off = arith.muli %i, %c4 : index
    %tile = tensor.extract_slice %x[0, %off] [8, 4] [1, 1] : tensor<8x16xf32> to tensor<8x4xf32>
    %lm = einsum.einsum copy reduce max [p, m0] (%tile[p, m0]) -> [p] : (tensor<8x4xf32>) -> tensor<8xf32>
    %next = einsum.einsum max [p] (%rm[p], %lm[p]) -> [p] : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
    einsum.yield %next : tensor<8xf32>
  }
  return %r : tensor<8xf32>
}

// -----

// Softplus in the form that cannot overflow: max(x, 0) + log1p(exp(-|x|)).
// CHECK-LABEL: func @softplus
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK:   %[[A:.*]] = math.absf %[[X]] : f32
// CHECK:   %[[N:.*]] = arith.negf %[[A]] : f32
// CHECK:   %[[E:.*]] = math.exp %[[N]] : f32
// CHECK:   %[[P:.*]] = arith.maximumf %[[X]], %{{.*}} : f32
// CHECK:   %[[L:.*]] = math.log1p %[[E]] : f32
// CHECK:   %[[S:.*]] = arith.addf %[[P]], %[[L]] : f32
// CHECK:   linalg.yield %[[S]] : f32
func.func @softplus(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = einsum.einsum softplus [i] (%x[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Sigmoid from e = exp(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e) below,
// so that large negative x give their tiny value instead of 1 / inf.
// CHECK-LABEL: func @sigmoid
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK:   %[[A:.*]] = math.absf %[[X]] : f32
// CHECK:   %[[N:.*]] = arith.negf %[[A]] : f32
// CHECK:   %[[E:.*]] = math.exp %[[N]] : f32
// CHECK:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:   %[[D:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK:   %[[R:.*]] = arith.divf %[[ONE]], %[[D]] : f32
// CHECK:   %[[NONNEG:.*]] = arith.cmpf oge, %[[X]], %{{.*}} : f32
// CHECK:   %[[ER:.*]] = arith.mulf %[[E]], %[[R]] : f32
// CHECK:   %[[S:.*]] = arith.select %[[NONNEG]], %[[R]], %[[ER]] : f32
// CHECK:   linalg.yield %[[S]] : f32
func.func @sigmoid(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = einsum.einsum sigmoid [i] (%x[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// expm1 and erfc map to their math ops (Elu/Selu/Celu and Gelu use them).
// CHECK-LABEL: func @expm1_erfc
// CHECK: math.expm1
// CHECK: math.erfc
func.func @expm1_erfc(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %a = einsum.einsum expm1 [i] (%x[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  %b = einsum.einsum erfc [i] (%x[i]) -> [i] : (tensor<4xf32>) -> tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}
