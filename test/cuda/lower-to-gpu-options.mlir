// memc-lower-to-gpu's options: `tensor-cores` (default true) puts fused
// attention on TF32 mma.sync where the chip has it (sm_80 on); GEMMs without
// cuBLAS (`cublas=0`) become tensor-core kernels there too. sm_75, or
// tensor-cores=0 for attention, gives CUDA-core kernels.
// RUN: memc-opt %s --memc-lower-to-gpu="chip=sm_90 cublas=0" | FileCheck %s --check-prefix=TC
// RUN: memc-opt %s --memc-lower-to-gpu="chip=sm_90 cublas=0 tensor-cores=0" | FileCheck %s --check-prefix=ATTN-SIMT
// RUN: memc-opt %s --memc-lower-to-gpu="chip=sm_75 cublas=0" | FileCheck %s --check-prefix=SM75

// TC: gpu.binary @memc_kernels
// TC-SAME: .target sm_90
// TC-SAME: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// ATTN-SIMT: gpu.binary @memc_kernels
// One mma kernel remains: the GEMM's.
// ATTN-SIMT-SAME: .visible .entry main_graph_kernel(
// ATTN-SIMT-SAME: mma.sync
// ATTN-SIMT-SAME: .visible .entry main_graph_kernel_0(
// ATTN-SIMT-NOT: mma.sync
// SM75: gpu.binary @memc_kernels
// SM75-NOT: mma.sync

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @main_graph(%q: memref<2x64x16xf32>, %o: memref<2x64x16xf32>,
                      %x: memref<32x16xf32>, %w: memref<16x32xf32>, %y: memref<32x32xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<32x16xf32>, memref<16x32xf32>) outs(%y : memref<32x32xf32>) {
  ^bb0(%p: f32, %r: f32, %acc: f32):
    %m = arith.mulf %p, %r : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  einsum.attention %q, %q, %q outs(%o : memref<2x64x16xf32>) scale 0.25 masked_from 1 : memref<2x64x16xf32>, memref<2x64x16xf32>, memref<2x64x16xf32>
  return
}
