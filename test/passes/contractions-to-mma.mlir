// RUN: memc-opt %s -split-input-file -memc-contractions-to-mma -canonicalize | FileCheck %s --enable-var-scope

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// 100 x 70 x 40 after a zero fill: the fill goes, C is overwritten. Grid:
// 2 N tiles x 2 M tiles x 1; 128 threads; A tiles 64 x (32 + 4), B tiles
// 32 x (64 + 8). Two K tiles, the second with zeros past k = 40.
// CHECK-LABEL: func.func @gemm
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch blocks({{.*}}) in (%{{[a-z0-9]+}} = %c2, %{{[a-z0-9]+}} = %c2, %{{[a-z0-9]+}} = %c1) threads({{.*}}) in (%{{[a-z0-9]+}} = %c128, %{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c1)
// CHECK-SAME: workgroup(%[[AS:.*]] : memref<64x36xf32, #gpu.address_space<workgroup>>, %[[BS:.*]] : memref<32x72xf32, #gpu.address_space<workgroup>>)
// CHECK-DAG: %[[FA:.*]] = memref.reinterpret_cast %arg0 to offset: [0], sizes: [4000], strides: [1]
// CHECK-DAG: %[[FB:.*]] = memref.reinterpret_cast %arg1 to offset: [0], sizes: [2800], strides: [1]
// CHECK-DAG: %[[FC:.*]] = memref.reinterpret_cast %arg2 to offset: [0], sizes: [7000], strides: [1]
// CHECK: scf.for %{{.*}} = %c0 to %c2 step %c1 iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: gpu.barrier
// CHECK: memref.load %[[FA]]
// CHECK: %[[KA:.*]] = arith.cmpi ult, %{{.*}}, %c40 : index
// CHECK: arith.select %[[KA]]
// CHECK: memref.store %{{.*}}, %[[AS]]
// CHECK: memref.load %[[FB]]
// CHECK: memref.store %{{.*}}, %[[BS]]
// CHECK: gpu.barrier
// 4 steps of 8 x (2 x 4 tiles) x 3 mmas.
// CHECK-COUNT-96: nvgpu.mma.sync
// CHECK-NOT: nvgpu.mma.sync
// CHECK: scf.yield
// CHECK: scf.if
// CHECK-NOT: memref.load %[[FC]]
// CHECK: memref.store %{{.*}}, %[[FC]]
// CHECK-NOT: linalg.generic
func.func @gemm(%a: memref<100x40xf32>, %b: memref<40x70xf32>, %c: memref<100x70xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<100x70xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<100x40xf32>, memref<40x70xf32>) outs(%c : memref<100x70xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(b, m, n, k) -> (b, k, m)>
#b = affine_map<(b, m, n, k) -> (b, n, k)>
#c = affine_map<(b, m, n, k) -> (b, m, n)>
// Batched, both operands transposed, no fill: grid z = batch; A ([k][m])
// is copied with the threads along m and B ([n][k]) along k, its
// contiguous dimensions; C accumulates.
// CHECK-LABEL: func.func @batched_transposed
// CHECK: gpu.launch blocks(%{{[a-z0-9]+}}, %{{[a-z0-9]+}}, %[[BZ:[a-z0-9]+]]) in (%{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c1, %{{[a-z0-9]+}} = %c3)
// CHECK: %[[FC:.*]] = memref.reinterpret_cast %arg2
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %c2048 step %c128
// CHECK: %[[M:.*]] = arith.remui %[[I]], %c64 : index
// CHECK: %[[K:.*]] = arith.divui %[[I]], %c64 : index
// CHECK: arith.muli %[[BZ]], %c960 : index
// CHECK: arith.cmpi ult, %[[K]], %c24 : index
// CHECK: memref.store %{{.*}}[%[[M]], %[[K]]]
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %c2048 step %c128
// CHECK: %[[KB:.*]] = arith.remui %[[J]], %c32 : index
// CHECK: %[[N:.*]] = arith.divui %[[J]], %c32 : index
// CHECK: arith.muli %[[BZ]], %c384 : index
// CHECK: memref.store %{{.*}}[%[[KB]], %[[N]]]
// CHECK: nvgpu.mma.sync
// CHECK: scf.if
// CHECK: %[[OLD:.*]] = memref.load %[[FC]]
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %{{.*}} : f32
// CHECK: memref.store %[[NEW]], %[[FC]]
func.func @batched_transposed(%a: memref<3x24x40xf32>, %b: memref<3x16x24xf32>, %c: memref<3x40x16xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<3x24x40xf32>, memref<3x16x24xf32>) outs(%c : memref<3x40x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// f64 has no TF32 path: the GEMM stays a loop nest, as does a generic that
// is not a GEMM (a max-reduction).
// CHECK-LABEL: func.func @f64_and_not_gemm
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-NOT: gpu.launch
func.func @f64_and_not_gemm(%a: memref<16x8xf64>, %b: memref<8x16xf64>, %c: memref<16x16xf64>,
                            %x: memref<16x8xf32>, %y: memref<8x16xf32>, %z: memref<16x16xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<16x8xf64>, memref<8x16xf64>) outs(%c : memref<16x16xf64>) {
  ^bb0(%p: f64, %q: f64, %acc: f64):
    %m = arith.mulf %p, %q : f64
    %s = arith.addf %acc, %m : f64
    linalg.yield %s : f64
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %y : memref<16x8xf32>, memref<8x16xf32>) outs(%z : memref<16x16xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.maximumf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
