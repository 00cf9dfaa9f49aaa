// RUN: memc-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(memc-reductions-to-gpu))" | FileCheck %s --enable-var-scope

// A bias gradient: 8 outputs of 64 terms each (few outputs, a sum): one
// block of 64 threads per output. Each thread strides over the terms from
// its id, the warps combine by xor shuffles, the two warps' partials meet in
// shared memory, and thread 0 adds the total to the output's initial value.
#rows = affine_map<(i, j) -> (j, i)>
#col = affine_map<(i, j) -> (i)>
// CHECK-LABEL: func @bias_gradient
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK: gpu.launch blocks(%[[BX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C8]], {{.+}}) threads(%[[TX:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %[[C64]], {{.+}}) workgroup(%[[SMEM:.+]] : memref<1x2xf32, #gpu.address_space<workgroup>>)
// CHECK:   %[[ACC:.+]] = scf.for %[[R:.+]] = %[[TX]] to %c64{{.*}} step %c64{{.*}} iter_args(%[[A:.+]] = %{{.+}}) -> (f32)
// CHECK:     %[[X:.+]] = memref.load %{{.+}}[%[[R]], %[[BX]]] : memref<64x8xf32>
// CHECK:     %[[S:.+]] = arith.addf %[[A]], %[[X]] : f32
// CHECK:     scf.yield %[[S]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.+}}, %[[SMEM]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SMEM]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: scf.if
// CHECK:   %[[OLD:.+]] = memref.load %{{.+}}[%[[BX]]] : memref<8xf32>
// CHECK:   %[[NEW:.+]] = arith.addf %[[OLD]], %{{.+}} : f32
// CHECK:   memref.store %[[NEW]], %{{.+}}[%[[BX]]] : memref<8xf32>
// CHECK-NOT: linalg.generic
func.func @bias_gradient(%dy: memref<64x8xf32>, %db: memref<8xf32>) {
  linalg.generic {indexing_maps = [#rows, #col], iterator_types = ["parallel", "reduction"]}
      ins(%dy : memref<64x8xf32>) outs(%db : memref<8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A maximum over 32 terms of a product of two inputs and the iteration
// index: one warp (32 threads, the fewest) and no shared memory; the
// identity is -inf and the body is cloned per term.
#a = affine_map<(i, k) -> (i, k)>
#o = affine_map<(i, k) -> (i)>
// CHECK-LABEL: func @max_of_products
// CHECK: gpu.launch blocks({{.+}}) in (%{{.+}} = %c4, {{.+}}) threads({{.+}}) in (%{{.+}} = %c32, {{.+}}) workgroup(%{{.+}} : memref<1x1xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[NINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: scf.for {{.+}} iter_args(%{{.+}} = %[[NINF]]) -> (f32)
// CHECK:   arith.index_cast
// CHECK:   arith.mulf
// CHECK:   arith.maximumf
// CHECK-NOT: gpu.barrier
// CHECK: arith.maximumf
func.func @max_of_products(%x: memref<4x32xf32>, %y: memref<4x32xf32>, %m: memref<4xf32>) {
  %sub = memref.subview %x[0, 0] [4, 32] [1, 1] : memref<4x32xf32> to memref<4x32xf32>
  linalg.generic {indexing_maps = [#a, #a, #o], iterator_types = ["parallel", "reduction"]}
      ins(%sub, %y : memref<4x32xf32>, memref<4x32xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i32
    %kf = arith.sitofp %ki : i32 to f32
    %p = arith.mulf %u, %v : f32
    %q = arith.mulf %p, %kf : f32
    %r = arith.maximumf %q, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Many outputs (one thread each fills the GPU), or a body that is not one
// combiner of the output: the parallel loops go first, the op stays. The
// conv-filter-gradient order (batch first) becomes (co, kh, n, oh).
#in = affine_map<(n, co, oh, kh) -> (n, oh, kh)>
#out = affine_map<(n, co, oh, kh) -> (co, kh)>
// CHECK-LABEL: func @interchanged
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-NOT: gpu.launch
func.func @interchanged(%x: memref<2x30x5xf32>, %w: memref<20000x5xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["reduction", "parallel", "reduction", "parallel"]}
      ins(%x : memref<2x30x5xf32>) outs(%w : memref<20000x5xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The output read by the body beyond the combiner (a running mean): left
// to the default mapping, parallel loop first.
#x = affine_map<(k, i) -> (k, i)>
#y = affine_map<(k, i) -> (i)>
// CHECK-LABEL: func @not_a_combiner
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
// CHECK-NOT: gpu.launch
func.func @not_a_combiner(%x: memref<64x8xf32>, %y: memref<8xf32>) {
  linalg.generic {indexing_maps = [#x, #y], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<64x8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %h = arith.mulf %acc, %acc : f32
    %s = arith.addf %h, %v : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Already parallel-first with one thread per output: unchanged.
#p = affine_map<(i, k) -> (i, k)>
#q = affine_map<(i, k) -> (i)>
// CHECK-LABEL: func @unchanged
// CHECK: linalg.generic {{.+}} iterator_types = ["parallel", "reduction"]
func.func @unchanged(%x: memref<20000x4xf32>, %y: memref<20000xf32>) {
  linalg.generic {indexing_maps = [#p, #q], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<20000x4xf32>) outs(%y : memref<20000xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  }
  return
}
