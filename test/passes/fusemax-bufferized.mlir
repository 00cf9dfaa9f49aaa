// RUN: memc-opt %s --memc-fusemax-attention="tile-size=16 query-tile-size=16" --memc-einsum-to-linalg=fusemax=false --memc-bufferize | FileCheck %s
// RUN: memc-opt %s --memc-einsum-to-linalg=fusemax=false --memc-bufferize | FileCheck %s --check-prefix=UNFUSED
// RUN: memc-opt %s --memc-fusemax-attention="tile-size=16 query-tile-size=16" --memc-einsum-to-linalg=fusemax=false --memc-bufferize --memc-contractions-to-blas=min-flops=1 | FileCheck %s --check-prefix=BLAS
// RUN: memc-opt %s --memc-fusemax-attention="tile-size=16 query-tile-size=16 lanes=2" --memc-einsum-to-linalg=fusemax=false --memc-bufferize | FileCheck %s --check-prefix=LANES

// After bufferization, fused attention over 64 keys (16 x 16 tiles; the cost
// model would take one tile at this size) holds no 64 x 64 score
// buffer: only [1, 2, P0, M0] tiles, allocated inside the K/V loop, and the
// carried running values (memc-carry-in-place keeps them in one buffer per
// query tile, so no allocation leaves an iteration). Unfused, the scores and
// their exponentials are two 64 x 64 buffers per head.
// CHECK-LABEL: func.func @encoder
// CHECK-NOT: memref<1x2x64x64xf32>
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: memref<1x2x64x64xf32>
// CHECK: return

// In 2 lanes, one head each: the lane's query tiles write its head's rows
// of the output in place (no buffer of the whole output, no copy of one),
// and its tiles are allocated inside the lane, where the arena planner gives
// each lane a copy of its own.
// LANES-LABEL: func.func @encoder
// LANES-SAME: %[[OUT:[a-z0-9]+]]: memref<1x2x64x4xf32>)
// LANES-NOT: memref.alloc() {{.*}}: memref<1x2x64x4xf32>
// LANES: scf.forall (%[[L:.*]]) in (2) {
// LANES: %[[MINE:.*]] = memref.subview %[[OUT]][0, %[[L]], 0, 0] [1, 1, 64, 4]
// LANES: scf.for
// LANES: memref.alloc() {{.*}}: memref<1x1x16x4xf32>
// LANES: scf.for
// LANES: memref.alloc() {{.*}}: memref<1x1x16x16xf32>
// LANES: %[[TILE:.*]] = memref.subview %[[MINE]][0, 0, %{{.*}}, 0] [1, 1, 16, 4]
// LANES: memref.copy %{{.*}}, %[[TILE]]
// LANES-NOT: memref.copy
// LANES: } {memc.micro_batch = 2 : i64}
// LANES-NOT: memref.copy
// LANES: return

// UNFUSED-LABEL: func.func @encoder
// UNFUSED: memref.alloc() {{.*}}: memref<1x2x64x64xf32>

// Both per-tile contractions, on strided subviews inside the loops, become
// GEMM calls (their offsets read at run time from the subviews).
// BLAS-LABEL: func.func @encoder
// BLAS: scf.for
// BLAS: scf.for
// BLAS-COUNT-2: call @memc_rt_sgemm
// BLAS-NOT: call @memc_rt_sgemm

func.func @encoder(%q: tensor<1x2x64x4xf32>, %kt: tensor<1x2x4x64xf32>, %v: tensor<1x2x64x4xf32>) -> tensor<1x2x64x4xf32> {
    %qk = einsum.einsum mul reduce add [b0, b1, m, n, k] (%q[b0, b1, m, k], %kt[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x64x4xf32>, tensor<1x2x4x64xf32>) -> tensor<1x2x64x64xf32>
    %scale = arith.constant dense<2.0> : tensor<f32>
    %s = einsum.einsum div [a, b, c, d] (%qk[a, b, c, d], %scale[]) -> [a, b, c, d] : (tensor<1x2x64x64xf32>, tensor<f32>) -> tensor<1x2x64x64xf32>
    %mx = einsum.einsum copy reduce max [a, b, c, d] (%s[a, b, c, d]) -> [a, b, c] : (tensor<1x2x64x64xf32>) -> tensor<1x2x64xf32>
    %mxe = tensor.expand_shape %mx [[0], [1], [2, 3]] output_shape [1, 2, 64, 1] : tensor<1x2x64xf32> into tensor<1x2x64x1xf32>
    %e = einsum.einsum sub_exp [a, b, c, d] (%s[a, b, c, d], %mxe[a, b, c, 0]) -> [a, b, c, d] : (tensor<1x2x64x64xf32>, tensor<1x2x64x1xf32>) -> tensor<1x2x64x64xf32>
    %sum = einsum.einsum copy reduce add [a, b, c, d] (%e[a, b, c, d]) -> [a, b, c] : (tensor<1x2x64x64xf32>) -> tensor<1x2x64xf32>
    %sd = einsum.einsum div [a, b, c, d] (%e[a, b, c, d], %sum[a, b, c]) -> [a, b, c, d] : (tensor<1x2x64x64xf32>, tensor<1x2x64xf32>) -> tensor<1x2x64x64xf32>
    %av = einsum.einsum mul reduce add [b0, b1, m, n, k] (%sd[b0, b1, m, k], %v[b0, b1, k, n]) -> [b0, b1, m, n] : (tensor<1x2x64x64xf32>, tensor<1x2x64x4xf32>) -> tensor<1x2x64x4xf32>
    return %av : tensor<1x2x64x4xf32>
  }
