// RUN: memc-opt %s -split-input-file -memc-attention-to-gpu=tensor-cores=false -canonicalize -verify-diagnostics | FileCheck %s --enable-var-scope

// One gpu.launch: grid x = query tiles (100 queries, two 64-row tiles),
// y = batch x heads; 64 rows x 4 lanes = 256 threads. Shared tiles: Q and K
// rows padded to 9 floats, V 32x8, weights 64x33.
// CHECK-LABEL: func.func @causal
// CHECK-NOT: einsum.attention
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9]+]], %[[BY:[a-z0-9]+]], %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %c2, %{{[a-z0-9]+}} = %c4, %{{[a-z0-9]+}} = %c1) threads(%[[TX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %c256, %{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c1)
// CHECK-SAME: workgroup(%[[QS:.*]] : memref<64x9xf32, #gpu.address_space<workgroup>>, %[[KS:.*]] : memref<32x9xf32, #gpu.address_space<workgroup>>, %[[VS:.*]] : memref<32x8xf32, #gpu.address_space<workgroup>>, %[[PS:.*]] : memref<64x33xf32, #gpu.address_space<workgroup>>)
// Q's tile, scaled by 0.5 * log2(e), once.
// CHECK: scf.for
// CHECK: memref.load %arg0[%[[BY]]
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: memref.store %{{.*}}, %[[QS]]
// Causal: the K/V loop ends at the block's last visible key.
// CHECK: arith.minsi
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c1 iter_args({{.*}}) -> (f32, f32, f32, f32)
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[KS]]
// CHECK: memref.store %{{.*}}, %[[VS]]
// CHECK: gpu.barrier
// CHECK: math.fma
// Row statistics across a row's 4 lanes: xor 2, then 1.
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32, %c32_i32 : f32
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK: math.exp2
// CHECK: memref.store %{{.*}}, %[[PS]]
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: memref.load %[[PS]]
// CHECK: memref.load %[[VS]]
// CHECK: scf.yield
// The division by the denominator, once, for rows that exist.
// CHECK: scf.if
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %arg3[%[[BY]]

func.func @causal(%q: memref<4x100x8xf32>, %k: memref<4x100x8xf32>, %v: memref<4x100x8xf32>, %o: memref<4x100x8xf32>) {
  einsum.attention %q, %k, %v outs(%o : memref<4x100x8xf32>) scale 0.5 masked_from 1 : memref<4x100x8xf32>, memref<4x100x8xf32>, memref<4x100x8xf32>
  return
}

// -----

// Without a mask every K/V tile is visited (48 keys: 2 tiles of 32, the
// second half masked by the key bound). Odd value width 6: 2 lanes a row.
// CHECK-LABEL: func.func @encoder
// CHECK: threads(%{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %c32,
// CHECK-NOT: arith.minsi
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32, %c32_i32 : f32
// CHECK-NOT: %c2_i32

func.func @encoder(%q: memref<2x16x8xf32>, %k: memref<2x48x8xf32>, %v: memref<2x48x6xf32>, %o: memref<2x16x6xf32>) {
  einsum.attention %q, %k, %v outs(%o : memref<2x16x6xf32>) scale 1.0 : memref<2x16x8xf32>, memref<2x48x8xf32>, memref<2x48x6xf32>
  return
}

// -----

// A per-key bias, on CUDA cores: added to each visible score, in log2 units.
// CHECK-LABEL: func.func @bias
// CHECK: gpu.launch blocks(%{{[a-z0-9]+}}, %[[BY:[a-z0-9]+]], %{{[a-z0-9]+}})
// CHECK: math.fma
// CHECK: %[[B:.*]] = memref.load %arg3[%[[BY]], %{{.*}}] : memref<2x48xf32>
// CHECK: math.fma %[[B]], %cst{{.*}}, %{{.*}} : f32
// CHECK: gpu.shuffle  xor

func.func @bias(%q: memref<2x16x8xf32>, %k: memref<2x48x8xf32>, %v: memref<2x48x8xf32>, %b: memref<2x48xf32>, %o: memref<2x16x8xf32>) {
  einsum.attention %q, %k, %v bias %b : memref<2x48xf32> outs(%o : memref<2x16x8xf32>) scale 1.0 : memref<2x16x8xf32>, memref<2x48x8xf32>, memref<2x48x8xf32>
  return
}

// -----

func.func @on_tensors(%q: tensor<1x16x8xf32>, %o: tensor<1x16x8xf32>) -> tensor<1x16x8xf32> {
  // expected-error @+1 {{memc-attention-to-gpu: runs after bufferization (einsum.attention on memrefs)}}
  %r = einsum.attention %q, %q, %q outs(%o : tensor<1x16x8xf32>) scale 1.0 : tensor<1x16x8xf32>, tensor<1x16x8xf32>, tensor<1x16x8xf32> -> tensor<1x16x8xf32>
  return %r : tensor<1x16x8xf32>
}

// -----

func.func @head_too_large(%q: memref<1x16x512xf32>, %o: memref<1x16x512xf32>) {
  // expected-error @+1 {{memc-attention-to-gpu: head sizes 512 and 512 need more than 49152 bytes of shared memory for the smallest tiles}}
  einsum.attention %q, %q, %q outs(%o : memref<1x16x512xf32>) scale 1.0 : memref<1x16x512xf32>, memref<1x16x512xf32>, memref<1x16x512xf32>
  return
}

// -----

// A decode step's attention (memc-derive-decode): query row 0 is sequence
// row %at. The K/V loop stops at the tile holding key %at, the last one the
// row sees (ceil((%at + 1) / 32) tiles of 32 keys: the cache's rows past it
// are never read), and a key is visible while key - (p + %at) < 1.
// CHECK-LABEL: func.func @decode_step
// CHECK: gpu.launch
// CHECK: %[[END:.*]] = arith.addi %arg4, %c1 : index
// CHECK: %[[KEYS:.*]] = arith.minsi %[[END]], %c64 : index
// CHECK: %[[UP:.*]] = arith.addi %[[KEYS]], %c31 : index
// CHECK: %[[TILES:.*]] = arith.divui %[[UP]], %c32 : index
// CHECK: scf.for %{{.*}} = %c0 to %[[TILES]] step %c1
// CHECK: %[[ROW:.*]] = arith.addi %{{.*}}, %arg4 : index
// CHECK: %[[D:.*]] = arith.subi %{{.*}}, %[[ROW]] : index
// CHECK: arith.cmpi slt, %[[D]], %c1 : index
func.func @decode_step(%q: memref<4x1x16xf32>, %k: memref<4x64x16xf32>,
                       %v: memref<4x64x16xf32>, %o: memref<4x1x16xf32>,
                       %at: index) {
  einsum.attention %q, %k, %v outs(%o : memref<4x1x16xf32>) scale 0.25
      masked_from 1 query_offset %at
      : memref<4x1x16xf32>, memref<4x64x16xf32>, memref<4x64x16xf32>
  return
}
