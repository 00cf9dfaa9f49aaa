// RUN: memc-opt %s -memc-buffer-mapping | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -memc-buffer-mapping -memc-contractions-to-blas="packed-weights=true fuse-epilogues=true" | FileCheck %s --check-prefix=FUSED --enable-var-scope

// A memc.gemm_epilogue is one step of the plan: the activation %x that
// dies at its GEMM and the padded buffer its finishing op writes are live
// together (the fused call reads one while it writes the other), and the
// GEMM's result C takes no arena bytes: the arena is %x (2304 bytes) and
// the padded buffer (4096), nothing for C. After the plan C is a heap
// allocation marked memc.scratch, which the fused call does without: it
// gets a null C, and the allocation goes.
// CHECK: module attributes {memc.arena_bytes = 6400 : i64
// CHECK-LABEL: func @main_graph
// CHECK: memref.view %{{.*}} {memc.buffer = 0 : i64, memc.offset = 4096 : i64
// CHECK: memref.view %{{.*}} {memc.buffer = 1 : i64, memc.offset = 0 : i64
// CHECK: %[[C:.*]] = memref.alloc() {memc.scratch} : memref<16x36xf32>
// CHECK-NOT: memc.gemm_epilogue
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[C]] : memref<16x36xf32>)

// FUSED-LABEL: func @main_graph
// FUSED-NOT: memref.alloc
// FUSED: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// FUSED: call @memc_rt_sgemm_packed_a_ep(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NULL]],
// FUSED-NOT: linalg.generic
// FUSED-NOT: memref.alloc
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(n, c, h, w) -> (n, c, h, w)>
#bias = affine_map<(n, c, h, w) -> (c)>
func.func @main_graph(%w: memref<16x16xf32> {memc.weight = "w"},
                      %bias: memref<16xf32> {memc.weight = "b"},
                      %in: memref<16x36xf32> {memc.input = "x"},
                      %out: memref<1x16x8x8xf32> {memc.output = "y"}) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %x = memref.alloc() : memref<16x36xf32>
  memref.copy %in, %x : memref<16x36xf32> to memref<16x36xf32>
  %p = memref.alloc() : memref<1x16x8x8xf32>
  %inner = memref.subview %p[0, 0, 1, 1] [1, 16, 6, 6] [1, 1, 1, 1] : memref<1x16x8x8xf32> to memref<1x16x6x6xf32, strided<[1024, 64, 8, 1], offset: 9>>
  memc.gemm_epilogue {
  ^bb0(%y: memref<16x36xf32>):
    linalg.fill ins(%zero : f32) outs(%y : memref<16x36xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%w, %x : memref<16x16xf32>, memref<16x36xf32>) outs(%y : memref<16x36xf32>) {
    ^bb0(%u: f32, %v: f32, %acc: f32):
      %m = arith.mulf %u, %v : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    %y4 = memref.expand_shape %y [[0, 1], [2, 3]] output_shape [1, 16, 6, 6] : memref<16x36xf32> into memref<1x16x6x6xf32>
    linalg.fill ins(%zero : f32) outs(%p : memref<1x16x8x8xf32>)
    linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
        ins(%y4, %bias : memref<1x16x6x6xf32>, memref<16xf32>) outs(%inner : memref<1x16x6x6xf32, strided<[1024, 64, 8, 1], offset: 9>>) {
    ^bb0(%v: f32, %b: f32, %o: f32):
      %0 = arith.addf %v, %b : f32
      %1 = arith.maximumf %0, %zero : f32
      %2 = arith.minimumf %1, %six : f32
      linalg.yield %2 : f32
    }
  }
  memref.copy %p, %out : memref<1x16x8x8xf32> to memref<1x16x8x8xf32>
  return
}
