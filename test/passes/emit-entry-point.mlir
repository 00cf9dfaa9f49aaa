// RUN: memc-opt %s -split-input-file -memc-emit-entry-point -verify-diagnostics | FileCheck %s

// CHECK-LABEL: llvm.func @memc_entry(%{{.*}}: !llvm.ptr)
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[ARGV:.*]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[ARGV]][1]
// CHECK: %[[P1:.*]] = llvm.load %[[S1]]
// CHECK: llvm.call @main_graph(%[[P0]], %[[P1]]) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.return
llvm.func @main_graph(%in: !llvm.ptr, %out: !llvm.ptr) {
  llvm.return
}

// -----

// expected-error @+1 {{memc-emit-entry-point: no llvm.func @main_graph}}
module {
  llvm.func @other() {
    llvm.return
  }
}

// -----

// expected-error @+1 {{memc-emit-entry-point: parameter of type 'i64' is not a bare buffer pointer}}
llvm.func @main_graph(%n: i64) {
  llvm.return
}
