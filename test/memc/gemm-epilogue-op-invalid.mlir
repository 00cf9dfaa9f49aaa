// memc.gemm_epilogue's body has exactly one argument, the GEMM's result: a
// statically shaped memref with the identity layout, which the body uses.
// RUN: memc-opt %s -split-input-file -verify-diagnostics

func.func @no_argument(%d: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{'memc.gemm_epilogue' op body must have one argument, the GEMM's result: a statically shaped memref with the identity layout}}
  memc.gemm_epilogue {
    linalg.fill ins(%zero : f32) outs(%d : memref<4xf32>)
  }
  return
}

// -----

func.func @dynamic(%d: memref<?xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{body must have one argument, the GEMM's result}}
  memc.gemm_epilogue {
  ^bb0(%c: memref<?xf32>):
    linalg.fill ins(%zero : f32) outs(%c : memref<?xf32>)
  }
  return
}

// -----

func.func @strided(%d: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{body must have one argument, the GEMM's result}}
  memc.gemm_epilogue {
  ^bb0(%c: memref<4xf32, strided<[2]>>):
    linalg.fill ins(%zero : f32) outs(%c : memref<4xf32, strided<[2]>>)
  }
  return
}

// -----

func.func @unused(%d: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{'memc.gemm_epilogue' op body does not use its argument}}
  memc.gemm_epilogue {
  ^bb0(%c: memref<4xf32>):
    linalg.fill ins(%zero : f32) outs(%d : memref<4xf32>)
  }
  return
}
