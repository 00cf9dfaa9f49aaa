// RUN: memc-opt %s -split-input-file | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file | memc-opt -split-input-file | FileCheck %s --enable-var-scope

// A decode step's row into a contiguous cache, and the view of an f16 one.
// CHECK-LABEL: func.func @contiguous
// CHECK: %[[K:.*]] = kv.append %arg0 into %arg1 at %arg2 : tensor<4x1x64xf32> into tensor<4x256x64xf32>
// CHECK: kv.view %arg3 at %arg2 rows 1 : tensor<4x256x64xf16> -> tensor<4x256x64xf32>
func.func @contiguous(%rows: tensor<4x1x64xf32>, %k: tensor<4x256x64xf32>,
                      %at: index, %h: tensor<4x256x64xf16>)
    -> (tensor<4x256x64xf32>, tensor<4x256x64xf32>) {
  %k1 = kv.append %rows into %k at %at : tensor<4x1x64xf32> into tensor<4x256x64xf32>
  %v = kv.view %h at %at rows 1 : tensor<4x256x64xf16> -> tensor<4x256x64xf32>
  return %k1, %v : tensor<4x256x64xf32>, tensor<4x256x64xf32>
}

// -----

// A prefill chunk of 16 rows into a paged i8 pool (4 rows x 16 blocks of
// 16, and the spare) with its scales, and the view through the table.
// CHECK-LABEL: func.func @paged
// CHECK: %[[P:.*]] = kv.append %arg0 into %arg1 at %arg4 table %arg5 : tensor<4x16xi64> : tensor<4x16x64xi8> into tensor<65x16x64xi8>
// CHECK: %[[S:.*]] = kv.append %arg2 into %arg3 at %arg4 table %arg5 : tensor<4x16xi64> : tensor<4x16xf32> into tensor<65x16xf32>
// CHECK: kv.view %[[P]] scale %[[S]] : tensor<65x16xf32> at %arg4 rows 16 table %arg5 : tensor<4x16xi64> : tensor<65x16x64xi8> -> tensor<4x256x64xf32>
func.func @paged(%rows: tensor<4x16x64xi8>, %pool: tensor<65x16x64xi8>,
                 %scales: tensor<4x16xf32>, %spool: tensor<65x16xf32>,
                 %at: index, %table: tensor<4x16xi64>) -> tensor<4x256x64xf32> {
  %p = kv.append %rows into %pool at %at table %table : tensor<4x16xi64>
      : tensor<4x16x64xi8> into tensor<65x16x64xi8>
  %s = kv.append %scales into %spool at %at table %table : tensor<4x16xi64>
      : tensor<4x16xf32> into tensor<65x16xf32>
  %v = kv.view %p scale %s : tensor<65x16xf32> at %at rows 16 table %table : tensor<4x16xi64>
      : tensor<65x16x64xi8> -> tensor<4x256x64xf32>
  return %v : tensor<4x256x64xf32>
}
