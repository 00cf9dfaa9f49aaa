// RUN: memc-opt %s -split-input-file -memc-buffer-mapping | FileCheck %s --enable-var-scope
// RUN: memc-opt %s -split-input-file -memc-buffer-mapping="mem-budget=128 verify-plan=1" | FileCheck %s --enable-var-scope --check-prefix=BUDGET
// RUN: memc-opt %s -split-input-file -memc-buffer-mapping="mem-budget=128" -cse | FileCheck %s --check-prefix=CSE

// A chain: a (steps 0-1), b (1-2), c (2-3). The lower bound is two buffers,
// and a and c, never live together, share bytes.
// CHECK: module attributes {memc.arena_bytes = 128 : i64, memc.host_pool_bytes = 0 : i64}
// CHECK-LABEL: func @main_graph
// CHECK-SAME: %[[ARENA:[a-z0-9]+]]: memref<128xi8> {memc.arena}
// CHECK-NOT: memref.alloc
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%{{.*}}][] {memc.buffer = 0 : i64, memc.offset = [[OA:[0-9]+]] : i64, memc.tenant = {{[0-9]+}} : i64} : memref<128xi8> to memref<16xf32>
// CHECK: memref.copy %{{.*}}, %[[A]]
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%{{.*}}][] {memc.buffer = 1 : i64, memc.offset = {{[0-9]+}} : i64, memc.tenant = {{[0-9]+}} : i64}
// CHECK: memref.copy %[[A]], %[[B]]
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%{{.*}}][] {memc.buffer = 2 : i64, memc.offset = [[OA]] : i64, memc.tenant = {{[0-9]+}} : i64}
// CHECK: memref.copy %[[B]], %[[C]]
// CHECK-NOT: memref.dealloc
// The chain fits the budget: nothing moves to the host.
// BUDGET: module attributes {memc.arena_bytes = 128 : i64, memc.host_pool_bytes = 0 : i64}
// BUDGET-NOT: memc.host_pool}
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %in, %a : memref<16xf32> to memref<16xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %a, %b : memref<16xf32> to memref<16xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %b, %c : memref<16xf32> to memref<16xf32>
  memref.copy %c, %out : memref<16xf32> to memref<16xf32>
  memref.dealloc %a : memref<16xf32>
  return
}

// -----

// a lives from step 0 to step 3 and is read through a view; at step 2 a, b
// and c are live (192 bytes), but no op touches more than two (128 bytes).
// Under a 128-byte budget a goes to the host: written in a staging slot at
// step 0 and copied out, copied back into a slot before step 3, where the
// view is rebuilt on the slot.
// CHECK: module attributes {memc.arena_bytes = 192 : i64, memc.host_pool_bytes = 0 : i64}
// CHECK-LABEL: func @main_graph
// CHECK-COUNT-3: memref.view {{.*}} : memref<192xi8> to memref<16xf32>
// BUDGET: module attributes {memc.arena_bytes = 128 : i64, memc.host_pool_bytes = 64 : i64}
// BUDGET: func @main_graph
// BUDGET-SAME: %[[ARENA:[a-z0-9]+]]: memref<128xi8> {memc.arena}, %[[POOL:[a-z0-9]+]]: memref<64xi8> {memc.host_pool}
// BUDGET: %[[HOST:.*]] = memref.view %[[POOL]][%{{.*}}][] {memc.buffer = 0 : i64, memc.host, memc.offset = 0 : i64, memc.tenant = {{[0-9]+}} : i64}
// BUDGET: %[[SLOT0:.*]] = memref.view %[[ARENA]][%{{.*}}][] {memc.buffer = 0 : i64, memc.offset = {{[0-9]+}} : i64, memc.staging, memc.tenant = {{[0-9]+}} : i64}
// BUDGET-NEXT: memref.copy %arg0, %[[SLOT0]]
// BUDGET-NEXT: memref.copy %[[SLOT0]], %[[HOST]]
// BUDGET: %[[SLOT1:.*]] = memref.view %[[ARENA]][%{{.*}}][] {memc.buffer = 0 : i64, memc.offset = {{[0-9]+}} : i64, memc.staging, memc.tenant = {{[0-9]+}} : i64}
// BUDGET-NEXT: memref.copy %[[HOST]], %[[SLOT1]]
// BUDGET-NEXT: %[[SLOTVIEW:.*]] = memref.expand_shape %[[SLOT1]]
// BUDGET-NEXT: linalg.add ins(%[[SLOTVIEW]], %{{.*}} : memref<4x4xf32>, memref<4x4xf32>)
// BUDGET-NEXT: return
// The two staging slots of a are separate tenants of their bytes (b lives
// there in between): CSE must not merge them, since memc-arena-noalias gives
// each view its own noalias pointer for its tenancy only.
// CSE: memref.view %arg2{{.*}}memc.staging
// CSE: memref.view %arg2{{.*}}memc.staging
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %in, %a : memref<16xf32> to memref<16xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %in, %b : memref<16xf32> to memref<16xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %b, %c : memref<16xf32> to memref<16xf32>
  %a2 = memref.expand_shape %a [[0, 1]] output_shape [4, 4] : memref<16xf32> into memref<4x4xf32>
  %c2 = memref.expand_shape %c [[0, 1]] output_shape [4, 4] : memref<16xf32> into memref<4x4xf32>
  %o2 = memref.expand_shape %out [[0, 1]] output_shape [4, 4] : memref<16xf32> into memref<4x4xf32>
  linalg.add ins(%a2, %c2 : memref<4x4xf32>, memref<4x4xf32>) outs(%o2 : memref<4x4xf32>)
  return
}

// -----

// Scratch inside a loop body lives within the loop's step and is planned; a
// buffer the body yields to the next iteration would share one offset
// across iterations, so it stays on the heap.
// CHECK-LABEL: func @main_graph
// CHECK-SAME: memref<64xi8> {memc.arena}
// CHECK: scf.for
// CHECK: memref.view %{{.*}} {memc.buffer = 0 : i64, memc.offset = 0 : i64, memc.tenant = {{[0-9]+}} : i64}
// CHECK: %[[NEXT:.*]] = memref.alloc() : memref<16xf32>
// CHECK: scf.yield %[[NEXT]]
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %in) -> (memref<16xf32>) {
    %tmp = memref.alloc() : memref<16xf32>
    memref.copy %acc, %tmp : memref<16xf32> to memref<16xf32>
    %next = memref.alloc() : memref<16xf32>
    memref.copy %tmp, %next : memref<16xf32> to memref<16xf32>
    scf.yield %next : memref<16xf32>
  }
  memref.copy %r, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// Buffers that an scf.if yields do not leave the iteration: one allocated in
// a branch (%t), or in the loop body before the if (%d), is planned; its
// live range covers the loop's step, through the if's results.
// CHECK-LABEL: func @main_graph
// CHECK-SAME: memref<128xi8> {memc.arena}
// CHECK-NOT: memref.alloc
// CHECK: scf.for
// CHECK: %[[D:.*]] = memref.view %{{.*}} {memc.buffer = 0 : i64
// CHECK: scf.if
// CHECK: %[[T:.*]] = memref.view %{{.*}} {memc.buffer = 1 : i64
// CHECK: scf.yield %[[T]], %[[D]]
// CHECK: } else {
// CHECK: scf.yield %[[D]], %[[D]]
// CHECK-NOT: memref.alloc
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>, %c: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %d = memref.alloc() : memref<16xf32>
    memref.copy %in, %d : memref<16xf32> to memref<16xf32>
    %r:2 = scf.if %c -> (memref<16xf32>, memref<16xf32>) {
      %t = memref.alloc() : memref<16xf32>
      memref.copy %d, %t : memref<16xf32> to memref<16xf32>
      scf.yield %t, %d : memref<16xf32>, memref<16xf32>
    } else {
      scf.yield %d, %d : memref<16xf32>, memref<16xf32>
    }
    linalg.add ins(%r#0, %r#1 : memref<16xf32>, memref<16xf32>) outs(%out : memref<16xf32>)
  }
  return
}

// -----

// Nothing to plan: no arena argument, no attributes.
// CHECK-LABEL: func @main_graph(%{{[a-z0-9]+}}: memref<16xf32>, %{{[a-z0-9]+}}: memref<16xf32>) {
// CHECK-NEXT: memref.copy
func.func @main_graph(%in: memref<16xf32>, %out: memref<16xf32>) {
  memref.copy %in, %out : memref<16xf32> to memref<16xf32>
  return
}
