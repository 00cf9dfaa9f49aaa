// RUN: memc-opt %s -split-input-file -memc-outline-kernels | FileCheck %s --enable-var-scope

// Two equal loop nests on distinct buffers share one function, called twice;
// its buffer arguments are noalias (distinct parameters and arena tenants),
// the captured scalar is an argument and the constant is cloned into it.
// CHECK-LABEL: func.func private @main_graph_kernel_0
// CHECK-SAME: (%{{.*}}: memref<16xf32> {llvm.noalias}, %{{.*}}: memref<16xf32> {llvm.noalias}, %{{.*}}: f32)
// CHECK-SAME: llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: linalg.generic
// CHECK: return
// CHECK-NOT: func.func private @main_graph_kernel_1
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[IN:.*]]: memref<16xf32>, %[[OUT:.*]]: memref<16xf32>, %[[S:.*]]: f32, %[[ARENA:.*]]: memref<128xi8> {memc.arena})
// CHECK: %[[P:.*]] = call @memc_rt_arena_view
// CHECK: %[[A:.*]] = memref.view %[[P]]
// CHECK-NOT: linalg.generic
// CHECK: call @main_graph_kernel_0(%[[IN]], %[[A]], %[[S]])
// CHECK: call @main_graph_kernel_0(%[[A]], %[[OUT]], %[[S]])
// CHECK-NOT: linalg.generic
// CHECK: return
#id = affine_map<(d0) -> (d0)>
func.func private @memc_rt_arena_view(memref<128xi8>, index) -> (memref<128xi8> {llvm.noalias})
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>, %s: f32, %arena: memref<128xi8> {memc.arena}) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %p = call @memc_rt_arena_view(%arena, %c0) : (memref<128xi8>, index) -> memref<128xi8>
  %a = memref.view %p[%c0][] : memref<128xi8> to memref<16xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%in : memref<16xf32>) outs(%a : memref<16xf32>) {
  ^bb0(%x: f32, %y: f32):
    %t = arith.addf %x, %one : f32
    %u = arith.mulf %t, %s : f32
    linalg.yield %u : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : memref<16xf32>) outs(%out : memref<16xf32>) {
  ^bb0(%x: f32, %y: f32):
    %t = arith.addf %x, %one : f32
    %u = arith.mulf %t, %s : f32
    linalg.yield %u : f32
  }
  return
}

// -----

// Not noalias where it does not hold: a copy between two views of one
// buffer gets a function without the attribute (static strided views pass
// as bare pointers), which the noalias copy does not share.
// CHECK-LABEL: func.func private @main_graph_kernel_0
// CHECK-SAME: (%{{.*}}: memref<4x4xf32> {llvm.noalias}, %{{.*}}: memref<4x4xf32> {llvm.noalias})
// CHECK: linalg.copy
// CHECK-LABEL: func.func private @main_graph_kernel_1
// CHECK-SAME: (%{{[^:]*}}: memref<4x4xf32, strided<[8, 1], offset: 32>>, %{{[^:]*}}: memref<4x4xf32, strided<[8, 1], offset: 4>>)
// CHECK-NOT: llvm.noalias
// CHECK: linalg.copy
// CHECK-LABEL: func.func @main_graph
// CHECK: call @main_graph_kernel_0
// CHECK: call @main_graph_kernel_1
func.func @main_graph(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %big: memref<8x8xf32>) {
  linalg.copy ins(%a : memref<4x4xf32>) outs(%b : memref<4x4xf32>)
  %v = memref.subview %big[0, 4] [4, 4] [1, 1] : memref<8x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 4>>
  %w = memref.subview %big[4, 0] [4, 4] [1, 1] : memref<8x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 32>>
  linalg.copy ins(%w : memref<4x4xf32, strided<[8, 1], offset: 32>>) outs(%v : memref<4x4xf32, strided<[8, 1], offset: 4>>)
  return
}

// -----

// A fill's scalar operand: a constant is cloned into the function, so equal
// fills of equal buffers share it; a value computed at run time is passed.
// CHECK-LABEL: func.func private @main_graph_kernel_0
// CHECK-SAME: (%[[B:.*]]: memref<4xf32> {llvm.noalias})
// CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: linalg.fill ins(%[[Z]] : f32) outs(%[[B]] : memref<4xf32>)
// CHECK-LABEL: func.func private @main_graph_kernel_1
// CHECK-SAME: (%[[B:.*]]: memref<4xf32> {llvm.noalias}, %[[X:.*]]: f32)
// CHECK: linalg.fill ins(%[[X]] : f32) outs(%[[B]] : memref<4xf32>)
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[A:[^:]*]]: memref<4xf32>, %[[B:[^:]*]]: memref<4xf32>, %[[X:[^:]*]]: f32)
// CHECK: call @main_graph_kernel_0(%[[A]])
// CHECK: call @main_graph_kernel_0(%[[B]])
// CHECK: call @main_graph_kernel_1(%[[A]], %[[X]])
func.func @main_graph(%a: memref<4xf32>, %b: memref<4xf32>, %x: f32) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%a : memref<4xf32>)
  linalg.fill ins(%z : f32) outs(%b : memref<4xf32>)
  linalg.fill ins(%x : f32) outs(%a : memref<4xf32>)
  return
}

// -----

// Not outlined: a dynamic shape (no bare pointer), a loop with results, a
// loop whose body reads a buffer of dynamic shape.
// CHECK-NOT: func.func private
// CHECK-LABEL: func.func @main_graph
// CHECK: linalg.fill
// CHECK: scf.for
// CHECK: linalg.fill
// CHECK: scf.yield
// CHECK: scf.for
// CHECK: linalg.fill
// CHECK-NOT: call
func.func @main_graph(%a: memref<?xf32>, %b: memref<4xf32>) {
  %z = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  linalg.fill ins(%z : f32) outs(%a : memref<?xf32>)
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %z) -> (f32) {
    linalg.fill ins(%acc : f32) outs(%b : memref<4xf32>)
    scf.yield %acc : f32
  }
  scf.for %i = %c0 to %c2 step %c1 {
    linalg.fill ins(%z : f32) outs(%a : memref<?xf32>)
  }
  return
}

// -----

// A loop nest (FuseMax's tile loop: views of the arena inside, a subview of
// a captured buffer per tile) is one function with the loop and its body;
// equal nests of two layers share it although their buffers live at
// different arena offsets: an offset used only by memc_rt_arena_view is an
// argument, and the plan's bookkeeping attributes are dropped inside. The
// arena is not noalias (its tenants are the distinct objects); the loop
// bounds and the tile size stay constants.
// CHECK-LABEL: func.func private @main_graph_kernel_0
// CHECK-SAME: (%[[AR:[^:]*]]: memref<256xi8>, %[[X:[^:]*]]: memref<8x4xf32> {llvm.noalias}, %[[OFF:[^:]*]]: index)
// CHECK-DAG: arith.constant 4 : index
// CHECK: scf.for %[[I:.*]] =
// CHECK: %[[P:.*]] = func.call @memc_rt_arena_view(%[[AR]], %[[OFF]])
// CHECK: %[[T:.*]] = memref.view %[[P]]
// CHECK-NOT: memc.buffer
// CHECK-SAME: to memref<4x4xf32>
// CHECK: memref.subview %[[X]]
// CHECK: linalg.copy
// CHECK: func.call @memc_rt_arena_release(%[[P]])
// CHECK-NOT: func.func private @main_graph_kernel_1
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[X0:[^:]*]]: memref<8x4xf32>, %[[X1:[^:]*]]: memref<8x4xf32>, %[[A:[^:]*]]: memref<256xi8> {memc.arena})
// CHECK-DAG: %[[O0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[O1:.*]] = arith.constant 64 : index
// CHECK: call @main_graph_kernel_0(%[[A]], %[[X0]], %[[O0]])
// CHECK: call @main_graph_kernel_0(%[[A]], %[[X1]], %[[O1]])
// CHECK-NOT: scf.for
func.func private @memc_rt_arena_view(memref<256xi8>, index) -> (memref<256xi8> {llvm.noalias})
func.func private @memc_rt_arena_release(memref<256xi8>)
func.func @main_graph(%x0: memref<8x4xf32>, %x1: memref<8x4xf32>, %arena: memref<256xi8> {memc.arena}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  scf.for %i = %c0 to %c2 step %c1 {
    %p = func.call @memc_rt_arena_view(%arena, %c0) : (memref<256xi8>, index) -> memref<256xi8>
    %t = memref.view %p[%c0][] {memc.buffer = 3 : i64, memc.offset = 0 : i64, memc.tenant = 3 : i64} : memref<256xi8> to memref<4x4xf32>
    %r = arith.muli %i, %c4 : index
    %s = memref.subview %x0[%r, 0] [4, 4] [1, 1] : memref<8x4xf32> to memref<4x4xf32, strided<[4, 1], offset: ?>>
    linalg.copy ins(%s : memref<4x4xf32, strided<[4, 1], offset: ?>>) outs(%t : memref<4x4xf32>)
    func.call @memc_rt_arena_release(%p) : (memref<256xi8>) -> ()
  }
  scf.for %i = %c0 to %c2 step %c1 {
    %p = func.call @memc_rt_arena_view(%arena, %c64) : (memref<256xi8>, index) -> memref<256xi8>
    %t = memref.view %p[%c0][] {memc.buffer = 7 : i64, memc.offset = 64 : i64, memc.tenant = 7 : i64} : memref<256xi8> to memref<4x4xf32>
    %r = arith.muli %i, %c4 : index
    %s = memref.subview %x1[%r, 0] [4, 4] [1, 1] : memref<8x4xf32> to memref<4x4xf32, strided<[4, 1], offset: ?>>
    linalg.copy ins(%s : memref<4x4xf32, strided<[4, 1], offset: ?>>) outs(%t : memref<4x4xf32>)
    func.call @memc_rt_arena_release(%p) : (memref<256xi8>) -> ()
  }
  return
}

// -----

// In a loop over a batch's chunks (memc.micro_batch) the body's ops are the
// kernels, the loop stays in the model function. A chunk's slice of an
// input has a dynamic offset, which a bare pointer cannot carry: the kernel
// takes the whole input and the offset, and slices it itself.
// CHECK-LABEL: func.func private @main_graph_kernel_0
// CHECK-SAME: (%[[X:.*]]: memref<8x4xf32> {llvm.noalias}, %[[O:.*]]: memref<2x4xf32> {llvm.noalias}, %[[I:.*]]: index)
// CHECK: %[[SV:.*]] = memref.subview %[[X]][%[[I]], 0] [2, 4] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[SV]] : memref<2x4xf32, strided<[4, 1], offset: ?>>) outs(%[[O]] : memref<2x4xf32>)
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[IN:.*]]: memref<8x4xf32>, %[[OUT:.*]]: memref<2x4xf32>)
// CHECK: scf.for %[[IV:.*]] =
// CHECK: call @main_graph_kernel_0(%[[IN]], %[[OUT]], %[[IV]])
// CHECK: } {memc.micro_batch = 2 : i64}
#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @main_graph(%in: memref<8x4xf32>, %out: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c2 {
    %x = memref.subview %in[%i, 0] [2, 4] [1, 1] : memref<8x4xf32> to memref<2x4xf32, strided<[4, 1], offset: ?>>
    linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%x : memref<2x4xf32, strided<[4, 1], offset: ?>>) outs(%out : memref<2x4xf32>) {
    ^bb0(%a: f32, %b: f32):
      %e = math.exp %a : f32
      linalg.yield %e : f32
    }
  } {memc.micro_batch = 2 : i64}
  return
}

