// RUN: memc-opt %s -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=ROUND --enable-var-scope
// RUN: memc-opt %s -split-input-file -verify-diagnostics -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -memc-svd-projector-to-runtime | FileCheck %s --check-prefix=CALL
// RUN: not memc-opt %s -split-input-file -one-shot-bufferize="bufferize-function-boundaries" -memc-svd-projector-to-runtime 2>&1 | FileCheck %s --check-prefix=STRIDED

// On tensors the op returns the new projector; bufferized, it writes the
// projector's buffer in place, and on the CPU it becomes the runtime call
// under the refresh test t == 1 || t % period == 0.
// ROUND-LABEL: func @refresh
// ROUND: optim.svd_projector %arg0 step %arg1 into %arg2 {period = 200 : i64, rank = 8 : i64, right = true, weight_name = "head.weight"} : tensor<384x128xf32>, tensor<i64> into tensor<8x128xf32> -> tensor<8x128xf32>
// CALL: llvm.mlir.global internal constant @[[NAME:memc_svd_name_0]]("head.weight\00")
// CALL: func.func private @memc_rt_svd_projector(!llvm.ptr, i64, i64, i64, i32, !llvm.ptr, !llvm.ptr)
// CALL-LABEL: func @refresh
// CALL-SAME: (%[[G:.*]]: memref<384x128xf32>, %[[T:.*]]: memref<i64>, %[[P:.*]]: memref<8x128xf32>)
// CALL: %[[S:.*]] = memref.load %[[T]][] : memref<i64>
// CALL: %[[FIRST:.*]] = arith.cmpi eq, %[[S]], %c1_i64
// CALL: %[[REM:.*]] = arith.remsi %[[S]], %c200_i64
// CALL: %[[DUE:.*]] = arith.cmpi eq, %[[REM]], %c0_i64
// CALL: %[[ANY:.*]] = arith.ori %[[FIRST]], %[[DUE]]
// CALL: scf.if %[[ANY]] {
// CALL:   %[[N:.*]] = llvm.mlir.addressof @[[NAME]] : !llvm.ptr
// CALL:   func.call @memc_rt_svd_projector(%{{.*}}, %c384_i64, %c128_i64, %c8_i64, %c1_i32, %{{.*}}, %[[N]])
// CALL-NOT: optim.svd_projector
// Strided buffers (the default function boundary) are refused.
// STRIDED: error: 'optim.svd_projector' op needs contiguous row-major buffers for the runtime's SVD, got 'memref<384x128xf32, strided<[?, ?], offset: ?>>' 
func.func @refresh(%g: tensor<384x128xf32>, %t: tensor<i64>, %p: tensor<8x128xf32>) -> tensor<8x128xf32> {
  %q = optim.svd_projector %g step %t into %p {rank = 8 : i64, period = 200 : i64, right = true, weight_name = "head.weight"}
         : tensor<384x128xf32>, tensor<i64> into tensor<8x128xf32> -> tensor<8x128xf32>
  return %q : tensor<8x128xf32>
}

// -----

func.func @wrong_shape(%g: tensor<16x64xf32>, %t: tensor<i64>, %p: tensor<4x64xf32>) -> tensor<4x64xf32> {
  // expected-error @+1 {{writes a projector of shape 16x4xf32 (U[:, :rank]), got 'tensor<4x64xf32>'}}
  %q = optim.svd_projector %g step %t into %p {rank = 4 : i64, period = 10 : i64, right = false}
         : tensor<16x64xf32>, tensor<i64> into tensor<4x64xf32> -> tensor<4x64xf32>
  return %q : tensor<4x64xf32>
}

// -----

func.func @rank_too_large(%g: tensor<6x4xf32>, %t: tensor<i64>, %p: tensor<5x4xf32>) -> tensor<5x4xf32> {
  // expected-error @+1 {{rank must be in [1, 4] for a 6x4 gradient, got 5}}
  %q = optim.svd_projector %g step %t into %p {rank = 5 : i64, period = 10 : i64, right = true}
         : tensor<6x4xf32>, tensor<i64> into tensor<5x4xf32> -> tensor<5x4xf32>
  return %q : tensor<5x4xf32>
}

// -----

func.func @mixed(%g: tensor<6x4xf32>, %t: memref<i64>, %p: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{takes tensors or buffers, not both}}
  %q = optim.svd_projector %g step %t into %p {rank = 2 : i64, period = 10 : i64, right = true}
         : tensor<6x4xf32>, memref<i64> into tensor<2x4xf32> -> tensor<2x4xf32>
  return %q : tensor<2x4xf32>
}

// -----

func.func @buffers_return_nothing(%g: memref<6x4xf32>, %t: memref<i64>, %p: memref<2x4xf32>) {
  // expected-error @+1 {{on buffers has no result}}
  %q = optim.svd_projector %g step %t into %p {rank = 2 : i64, period = 10 : i64, right = true}
         : memref<6x4xf32>, memref<i64> into memref<2x4xf32> -> tensor<2x4xf32>
  return
}

// -----

func.func @step_type(%g: tensor<6x4xf32>, %t: tensor<i32>, %p: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{reads the step count from a 0-d i64, got 'tensor<i32>'}}
  %q = optim.svd_projector %g step %t into %p {rank = 2 : i64, period = 10 : i64, right = true}
         : tensor<6x4xf32>, tensor<i32> into tensor<2x4xf32> -> tensor<2x4xf32>
  return %q : tensor<2x4xf32>
}
