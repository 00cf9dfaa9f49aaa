// RUN: memc-opt %s -split-input-file -memc-lower-kv-caches | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-lower-kv-caches=parallel=true | FileCheck %s --check-prefix=PAR --enable-var-scope

// A contiguous append is one insert_slice at the position (both forms).
// CHECK-LABEL: func.func @append
// CHECK: tensor.insert_slice %arg0 into %arg1[0, %arg2, 0] [4, 1, 8] [1, 1, 1] : tensor<4x1x8xf32> into tensor<4x32x8xf32>
// PAR-LABEL: func.func @append
// PAR: tensor.insert_slice %arg0 into %arg1[0, %arg2, 0] [4, 1, 8] [1, 1, 1]
func.func @append(%rows: tensor<4x1x8xf32>, %k: tensor<4x32x8xf32>, %at: index) -> tensor<4x32x8xf32> {
  %k1 = kv.append %rows into %k at %at : tensor<4x1x8xf32> into tensor<4x32x8xf32>
  return %k1 : tensor<4x32x8xf32>
}

// -----

// A paged i8 view. CPU: loops over the blocks in use, each block decoded
// by einsum ops. GPU: one parallel generic over [4, 32, 8] whose points
// read through the table (block row / 8, slot row % 8), widen the code and
// multiply by its scale only for rows below position + 1; zero elsewhere.
// CHECK-LABEL: func.func @view
// CHECK: %[[END:.*]] = arith.addi %arg3, %{{.*}} : index
// CHECK: scf.for
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step
// CHECK: tensor.extract %arg2
// CHECK: einsum.einsum copy
// CHECK: einsum.einsum mul
// CHECK-NOT: linalg.generic
// PAR-LABEL: func.func @view
// PAR: %[[END:.*]] = arith.addi %arg3, %c1 : index
// PAR: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x32x8xf32>)
// PAR: %[[R:.*]] = linalg.index 0 : index
// PAR: %[[M:.*]] = linalg.index 1 : index
// PAR: %[[IN:.*]] = arith.cmpi ult, %[[M]], %[[END]] : index
// PAR: scf.if %[[IN]] -> (f32)
// PAR: %[[J:.*]] = arith.divui %[[M]], %c8 : index
// PAR: tensor.extract %arg2[%[[R]], %[[J]]] : tensor<4x4xi64>
// PAR: %[[SLOT:.*]] = arith.remui %[[M]], %c8{{.*}} : index
// PAR: %[[CODE:.*]] = tensor.extract %arg0[%{{.*}}, %[[SLOT]], %{{.*}}] : tensor<17x8x8xi8>
// PAR: %[[X:.*]] = arith.sitofp %[[CODE]] : i8 to f32
// PAR: %[[S:.*]] = tensor.extract %arg1[%{{.*}}, %[[SLOT]]] : tensor<17x8xf32>
// PAR: arith.mulf %[[X]], %[[S]] : f32
// PAR: } else {
// PAR: scf.yield %cst : f32
func.func @view(%pool: tensor<17x8x8xi8>, %scales: tensor<17x8xf32>, %table: tensor<4x4xi64>,
                %at: index) -> tensor<4x32x8xf32> {
  %v = kv.view %pool scale %scales : tensor<17x8xf32> at %at rows 1 table %table : tensor<4x4xi64>
      : tensor<17x8x8xi8> -> tensor<4x32x8xf32>
  return %v : tensor<4x32x8xf32>
}
