// RUN: memc-opt %s -split-input-file -verify-diagnostics -memc-arena-noalias | FileCheck %s --enable-var-scope

// Each arena view is reached through its own noalias pointer and released
// after its last use (through a view of it, here), before the next tenant of
// the same bytes is created.
// CHECK-DAG: func.func private @memc_rt_arena_view(memref<128xi8>, index) -> (memref<128xi8> {llvm.noalias})
// CHECK-DAG: func.func private @memc_rt_arena_release(memref<128xi8>)
// CHECK-LABEL: func @main_graph
// CHECK-SAME: %[[ARENA:[a-z0-9]+]]: memref<128xi8> {memc.arena}
// CHECK: %[[OFF_A:.*]] = arith.constant 0 : index
// CHECK: %[[PA:.*]] = call @memc_rt_arena_view(%[[ARENA]], %[[OFF_A]])
// CHECK: %[[A:.*]] = memref.view %[[PA]][%{{.*}}][] {memc.offset = 0 : i64}
// CHECK: memref.copy %{{.*}}, %[[A]]
// CHECK: %[[OFF_B:.*]] = arith.constant 64 : index
// CHECK: %[[PB:.*]] = call @memc_rt_arena_view(%[[ARENA]], %[[OFF_B]])
// CHECK: %[[B:.*]] = memref.view %[[PB]]
// CHECK: %[[AX:.*]] = memref.expand_shape %[[A]]
// CHECK: %[[BX:.*]] = memref.expand_shape %[[B]]
// CHECK: linalg.copy ins(%[[AX]] : {{.*}}) outs(%[[BX]] : {{.*}})
// CHECK-NEXT: call @memc_rt_arena_release(%[[PA]])
// CHECK: %[[PC:.*]] = call @memc_rt_arena_view(%[[ARENA]], %{{.*}})
// CHECK: memref.copy %[[B]], %{{.*}}
// CHECK-NEXT: call @memc_rt_arena_release(%[[PB]])
// CHECK: memref.copy
// CHECK-NEXT: call @memc_rt_arena_release(%[[PC]])
// CHECK-NEXT: return
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>, %arena: memref<128xi8> {memc.arena}) {
  %c0 = arith.constant 0 : index
  %a = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<128xi8> to memref<16xf32>
  memref.copy %in, %a : memref<16xf32> to memref<16xf32>
  %c64 = arith.constant 64 : index
  %b = memref.view %arena[%c64][] {memc.offset = 64 : i64} : memref<128xi8> to memref<16xf32>
  %ax = memref.expand_shape %a [[0, 1]] output_shape [4, 4] : memref<16xf32> into memref<4x4xf32>
  %bx = memref.expand_shape %b [[0, 1]] output_shape [4, 4] : memref<16xf32> into memref<4x4xf32>
  linalg.copy ins(%ax : memref<4x4xf32>) outs(%bx : memref<4x4xf32>)
  %c = memref.view %arena[%c0][] {memc.offset = 0 : i64} : memref<128xi8> to memref<16xf32>
  memref.copy %b, %c : memref<16xf32> to memref<16xf32>
  memref.copy %c, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// A buffer that an scf.if branch yields is used after the if: its pointer is
// taken before the if (the view moves there) and released after the last use
// of the if's result, not at the end of the branch (after its terminator).
// CHECK-LABEL: func @main_graph
// CHECK-SAME: %[[ARENA:[a-z0-9]+]]: memref<128xi8> {memc.arena}
// CHECK: %[[OFF:.*]] = arith.constant 64 : index
// CHECK: %[[P:.*]] = call @memc_rt_arena_view(%[[ARENA]], %[[OFF]])
// CHECK: %[[T:.*]] = memref.view %[[P]][%{{.*}}][] {memc.offset = 64 : i64}
// CHECK: %[[R:.*]] = scf.if
// CHECK: memref.copy %{{.*}}, %[[T]]
// CHECK-NEXT: scf.yield %[[T]]
// CHECK: } else {
// CHECK-NEXT: scf.yield %{{.*}}
// CHECK-NEXT: }
// CHECK-NEXT: memref.copy %[[R]], %{{.*}}
// CHECK-NEXT: call @memc_rt_arena_release(%[[P]])
// CHECK-NEXT: return
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>, %c: i1, %arena: memref<128xi8> {memc.arena}) {
  %r = scf.if %c -> memref<16xf32> {
    %c64 = arith.constant 64 : index
    %t = memref.view %arena[%c64][] {memc.offset = 64 : i64} : memref<128xi8> to memref<16xf32>
    memref.copy %in, %t : memref<16xf32> to memref<16xf32>
    scf.yield %t : memref<16xf32>
  } else {
    scf.yield %in : memref<16xf32>
  }
  memref.copy %r, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// No arena argument: nothing to do, no declarations.
// CHECK-LABEL: func @main_graph
// CHECK-NOT: memc_rt_arena
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  memref.copy %in, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// expected-error @+1 {{memc-arena-noalias: @memc_rt_arena_view or @memc_rt_arena_release already exists}}
module {
  func.func private @memc_rt_arena_view(memref<64xi8>, index) -> memref<64xi8>
  func.func @main_graph(%arena: memref<64xi8> {memc.arena}) {
    return
  }
}
