// RUN: memc-opt %s -split-input-file -memc-parallel-kernels=min-work=1000 | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-parallel-kernels=min-work=1000 -convert-linalg-to-loops -convert-scf-to-cf -convert-arith-to-llvm -expand-strided-metadata -finalize-memref-to-llvm -convert-func-to-llvm=use-bare-ptr-memref-call-conv -reconcile-unrealized-casts -memc-parallel-calls-to-runtime | FileCheck %s --check-prefix=LLVM --enable-var-scope

// A kernel whose outer loop is batch 1 splits its first parallel loop of
// 4 or more rows instead: operands sliced to rows [lo, hi) of it,
// linalg.index of it shifted by lo; the call names the __parallel
// declaration with the loop's extent.
// CHECK: func.func private @main_graph_kernel_0__parallel(memref<1x64x32xf32>, memref<32xf32>, memref<1x64x32xf32>, index)
// CHECK-LABEL: func.func private @main_graph_kernel_0(
// CHECK-SAME: %[[X:[^:]*]]: memref<1x64x32xf32>, %[[B:[^:]*]]: memref<32xf32>, %[[Y:[^:]*]]: memref<1x64x32xf32>, %[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index)
// CHECK: %[[ROWS:.*]] = arith.subi %[[HI]], %[[LO]] : index
// CHECK: %[[XS:.*]] = memref.subview %[[X]][0, %[[LO]], 0] [1, %[[ROWS]], 32] [1, 1, 1]
// CHECK: %[[YS:.*]] = memref.subview %[[Y]][0, %[[LO]], 0] [1, %[[ROWS]], 32] [1, 1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[XS]], %[[B]] : {{.*}}) outs(%[[YS]] : {{.*}})
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: arith.addi %[[I]], %[[LO]] : index
// CHECK-LABEL: func.func @main_graph(
// CHECK: %[[E:.*]] = arith.constant 64 : index
// CHECK: call @main_graph_kernel_0__parallel(%{{.*}}, %{{.*}}, %{{.*}}, %[[E]])
// The trampoline unpacks the slots; the call stores them and calls the
// runtime with the trampoline's address.
// LLVM: llvm.func @main_graph(
// LLVM: %[[BLOCK:.*]] = llvm.alloca %{{.*}} x i64
// LLVM: llvm.store %{{.*}}, %{{.*}} : !llvm.ptr, !llvm.ptr
// LLVM: %[[FN:.*]] = llvm.mlir.addressof @main_graph_kernel_0__trampoline : !llvm.ptr
// LLVM: llvm.call @memc_rt_parallel_for(%[[FN]], %[[BLOCK]], %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64) -> ()
// LLVM-NOT: __parallel
// LLVM: llvm.func internal @main_graph_kernel_0__trampoline(%[[SLOTS:.*]]: !llvm.ptr, %[[L:.*]]: i64, %[[H:.*]]: i64)
// LLVM: llvm.getelementptr %[[SLOTS]][2] : (!llvm.ptr) -> !llvm.ptr, i64
// LLVM: llvm.call @main_graph_kernel_0({{.*}}, %[[L]], %[[H]])
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bias = affine_map<(d0, d1, d2) -> (d2)>
module {
  func.func private @main_graph_kernel_0(%x: memref<1x64x32xf32>, %b: memref<32xf32>, %y: memref<1x64x32xf32>) {
    linalg.generic {indexing_maps = [#id, #bias, #id], iterator_types = ["parallel", "parallel", "parallel"]}
        ins(%x, %b : memref<1x64x32xf32>, memref<32xf32>) outs(%y : memref<1x64x32xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %i = linalg.index 1 : index
      %ii = arith.index_cast %i : index to i64
      %f = arith.sitofp %ii : i64 to f32
      %s = arith.addf %a, %c : f32
      %t = arith.addf %s, %f : f32
      linalg.yield %t : f32
    }
    return
  }
  func.func @main_graph(%x: memref<1x64x32xf32>, %b: memref<32xf32>, %y: memref<1x64x32xf32>) {
    call @main_graph_kernel_0(%x, %b, %y) : (memref<1x64x32xf32>, memref<32xf32>, memref<1x64x32xf32>) -> ()
    return
  }
}

// -----

// What stays serial: too little work; a reduction as the only long loop;
// a window (a loop read through an expression).
// CHECK-LABEL: func.func private @small(
// CHECK-SAME: %{{[^:]*}}: memref<4x8xf32>, %{{[^:]*}}: memref<4x8xf32>)
// CHECK-LABEL: func.func private @reduce(
// CHECK-SAME: %{{[^:]*}}: memref<1x4096xf32>, %{{[^:]*}}: memref<1xf32>)
// CHECK-LABEL: func.func private @window(
// CHECK-SAME: %{{[^:]*}}: memref<4100xf32>, %{{[^:]*}}: memref<5xf32>, %{{[^:]*}}: memref<4096xf32>)
// CHECK-NOT: __parallel
#m2 = affine_map<(d0, d1) -> (d0, d1)>
#r_in = affine_map<(d0, d1) -> (d0, d1)>
#r_out = affine_map<(d0, d1) -> (d0)>
#w_in = affine_map<(d0, d1) -> (d0 + d1)>
#w_k = affine_map<(d0, d1) -> (d1)>
#w_out = affine_map<(d0, d1) -> (d0)>
module {
  func.func private @small(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
    linalg.generic {indexing_maps = [#m2, #m2], iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<4x8xf32>) outs(%y : memref<4x8xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    }
    return
  }
  func.func private @reduce(%x: memref<1x4096xf32>, %y: memref<1xf32>) {
    linalg.generic {indexing_maps = [#r_in, #r_out], iterator_types = ["parallel", "reduction"]}
        ins(%x : memref<1x4096xf32>) outs(%y : memref<1xf32>) {
    ^bb0(%a: f32, %o: f32):
      %s = arith.addf %a, %o : f32
      linalg.yield %s : f32
    }
    return
  }
  func.func private @window(%x: memref<4100xf32>, %k: memref<5xf32>, %y: memref<4096xf32>) {
    linalg.generic {indexing_maps = [#w_in, #w_k, #w_out], iterator_types = ["parallel", "reduction"]}
        ins(%x, %k : memref<4100xf32>, memref<5xf32>) outs(%y : memref<4096xf32>) {
    ^bb0(%a: f32, %c: f32, %o: f32):
      %p = arith.mulf %a, %c : f32
      %s = arith.addf %p, %o : f32
      linalg.yield %s : f32
    }
    return
  }
  func.func @main_graph(%x: memref<4x8xf32>, %y: memref<4x8xf32>, %r: memref<1x4096xf32>, %s: memref<1xf32>, %w: memref<4100xf32>, %k: memref<5xf32>, %v: memref<4096xf32>) {
    call @small(%x, %y) : (memref<4x8xf32>, memref<4x8xf32>) -> ()
    call @reduce(%r, %s) : (memref<1x4096xf32>, memref<1xf32>) -> ()
    call @window(%w, %k, %v) : (memref<4100xf32>, memref<5xf32>, memref<4096xf32>) -> ()
    return
  }
}
