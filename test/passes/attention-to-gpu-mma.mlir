// RUN: memc-opt %s -split-input-file -memc-attention-to-gpu -canonicalize -verify-diagnostics | FileCheck %s --enable-var-scope

// The tensor-core form (the default). 100 queries: 4 warps of 16 rows, a
// 64-row tile, grid 2 x 4 (batch x heads), 128 threads. Head size 64: Q and
// K rows padded to 68 floats, V to 72, 32-key K/V tiles (35 KiB).
// CHECK-LABEL: func.func @causal
// CHECK-NOT: einsum.attention
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9]+]], %[[BY:[a-z0-9]+]], %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %c2, %{{[a-z0-9]+}} = %c4, %{{[a-z0-9]+}} = %c1) threads(%[[TX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %c128, %{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c1)
// CHECK-SAME: workgroup(%[[QS:.*]] : memref<64x68xf32, #gpu.address_space<workgroup>>, %[[KS:.*]] : memref<32x68xf32, #gpu.address_space<workgroup>>, %[[VS:.*]] : memref<32x72xf32, #gpu.address_space<workgroup>>)
// Q's tile, scaled by 0.5 * log2(e), once.
// CHECK: memref.load %arg0[%[[BY]]
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: memref.store %{{.*}}, %[[QS]]
// Causal: the K/V loop ends at the block's last visible key. Carried: two
// row maxima, two partial denominators, 8 numerator fragments.
// CHECK: arith.minsi
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args({{.*}}) -> (f32, f32, f32, f32, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[KS]]
// CHECK: memref.store %{{.*}}, %[[VS]]
// CHECK: gpu.barrier
// Scores: 8 head dimensions a step, 4 key blocks of 8 a tile.
// CHECK: scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: memref.load %[[QS]]
// The TF32 split: round at mantissa bit 13, the rest in f32.
// CHECK: %[[BITS:.*]] = arith.bitcast %[[X:.*]] : f32 to i32
// CHECK: %[[UP:.*]] = arith.addi %[[BITS]], %c4096_i32 : i32
// CHECK: %[[CUT:.*]] = arith.andi %[[UP]], %c-8192_i32 : i32
// CHECK: %[[BIG:.*]] = arith.bitcast %[[CUT]] : i32 to f32
// CHECK: arith.subf %[[X]], %[[BIG]] : f32
// CHECK: %[[ABIG:.*]] = vector.from_elements {{.*}} : vector<4x1xf32>
// CHECK: %[[ASMALL:.*]] = vector.from_elements {{.*}} : vector<4x1xf32>
// CHECK: memref.load %[[KS]]
// CHECK: %[[BBIG:.*]] = vector.from_elements {{.*}} : vector<2x1xf32>
// CHECK: %[[BSMALL:.*]] = vector.from_elements {{.*}} : vector<2x1xf32>
// Three mmas a product: small x big, big x small, then big x big.
// CHECK: %[[M1:.*]] = nvgpu.mma.sync(%[[ASMALL]], %[[BBIG]], %{{.*}}) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK: %[[M2:.*]] = nvgpu.mma.sync(%[[ABIG]], %[[BSMALL]], %[[M1]])
// CHECK: nvgpu.mma.sync(%[[ABIG]], %[[BBIG]], %[[M2]])
// CHECK-COUNT-9: nvgpu.mma.sync
// CHECK-NOT: nvgpu.mma.sync
// CHECK: scf.yield
// Row maxima across a row's 4 lanes, exp2, weights gathered into the A
// layout with index shuffles, weights . V.
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: math.exp2
// CHECK: gpu.shuffle  idx
// CHECK: memref.load %[[VS]]
// CHECK-COUNT-96: nvgpu.mma.sync
// CHECK-NOT: nvgpu.mma.sync
// CHECK: scf.yield
// The denominators summed across each group once, the division once, for
// rows that exist.
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// CHECK: arith.divf
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %arg3[%[[BY]]

func.func @causal(%q: memref<4x100x64xf32>, %k: memref<4x100x64xf32>, %v: memref<4x100x64xf32>, %o: memref<4x100x64xf32>) {
  einsum.attention %q, %k, %v outs(%o : memref<4x100x64xf32>) scale 0.5 masked_from 1 : memref<4x100x64xf32>, memref<4x100x64xf32>, memref<4x100x64xf32>
  return
}

// -----

// 16 queries: one warp. Head 8, value width 16 (V rows padded to 24):
// 64-key tiles; no mask, so no early end.
// CHECK-LABEL: func.func @encoder
// CHECK: gpu.launch blocks({{.*}}) in (%{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c2, %{{[a-z0-9]+}} = %c1) threads({{.*}}) in (%{{[a-z0-9]+}} = %c32, %{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c1)
// CHECK-SAME: workgroup(%{{.*}} : memref<16x12xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x12xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<64x24xf32, #gpu.address_space<workgroup>>)
// CHECK-NOT: arith.minsi
// CHECK: nvgpu.mma.sync

func.func @encoder(%q: memref<2x16x8xf32>, %k: memref<2x48x8xf32>, %v: memref<2x48x16xf32>, %o: memref<2x16x16xf32>) {
  einsum.attention %q, %k, %v outs(%o : memref<2x16x16xf32>) scale 1.0 : memref<2x16x8xf32>, memref<2x48x8xf32>, memref<2x48x16xf32>
  return
}

// -----

// Head sizes the mma form does not take get the CUDA-core kernel: not a
// multiple of 8 (6), or a value width past 128 (136).
// CHECK-LABEL: func.func @odd_head
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.launch
// CHECK-SAME: memref<16x33xf32, #gpu.address_space<workgroup>>
// CHECK-NOT: nvgpu.mma.sync
// CHECK-LABEL: func.func @wide_values
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.launch
// CHECK-NOT: nvgpu.mma.sync
// CHECK: return

func.func @odd_head(%q: memref<1x16x6xf32>, %o: memref<1x16x6xf32>) {
  einsum.attention %q, %q, %q outs(%o : memref<1x16x6xf32>) scale 1.0 : memref<1x16x6xf32>, memref<1x16x6xf32>, memref<1x16x6xf32>
  return
}

func.func @wide_values(%q: memref<1x16x8xf32>, %v: memref<1x16x136xf32>, %o: memref<1x16x136xf32>) {
  einsum.attention %q, %q, %v outs(%o : memref<1x16x136xf32>) scale 1.0 : memref<1x16x8xf32>, memref<1x16x8xf32>, memref<1x16x136xf32>
  return
}

// -----

// A per-key bias (a padding mask): each visible score gets bias * log2(e)
// added (the scores are in log2 units), read at the batch entry and key,
// before the row maximum.
// CHECK-LABEL: func.func @bias
// CHECK: gpu.launch blocks(%{{[a-z0-9]+}}, %[[BY:[a-z0-9]+]], %{{[a-z0-9]+}})
// CHECK: nvgpu.mma.sync
// CHECK: %[[B:.*]] = memref.load %arg3[%[[BY]], %{{.*}}] : memref<2x48xf32>
// CHECK: math.fma %[[B]], %{{.*}}, %{{.*}} : f32
// CHECK: arith.maximumf

func.func @bias(%q: memref<2x16x8xf32>, %k: memref<2x48x8xf32>, %v: memref<2x48x8xf32>, %b: memref<2x48xf32>, %o: memref<2x16x8xf32>) {
  einsum.attention %q, %k, %v bias %b : memref<2x48xf32> outs(%o : memref<2x16x8xf32>) scale 1.0 : memref<2x16x8xf32>, memref<2x48x8xf32>, memref<2x48x8xf32>
  return
}

// -----

func.func @head_too_large(%q: memref<1x16x512xf32>, %o: memref<1x16x512xf32>) {
  // expected-error @+1 {{memc-attention-to-gpu: head sizes 512 and 512 need more than 49152 bytes of shared memory for the smallest tiles}}
  einsum.attention %q, %q, %q outs(%o : memref<1x16x512xf32>) scale 1.0 : memref<1x16x512xf32>, memref<1x16x512xf32>, memref<1x16x512xf32>
  return
}
