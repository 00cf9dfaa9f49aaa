// RUN: memc-opt %s --memc-bufferize | FileCheck %s
// RUN: memc-opt %s --memc-bufferize --memc-lower-to-llvm | FileCheck %s --check-prefix=LLVM

// What stays on the heap (here buffers of a size known only at run time)
// and may be yielded out of a region is freed by ownership-based
// deallocation, whose lowering checks at run time which of them alias in a
// helper function on memref<?x..> arguments. memc-lower-to-llvm passes
// memrefs as bare pointers, which cannot express those, so memc-bufferize
// inlines the helper into the model function: no call to a function that
// is not there ("'llvm.call' op 'dealloc_helper' does not reference a valid
// LLVM function or IFunc").
// CHECK-NOT: dealloc_helper
// CHECK-LABEL: func.func @main_graph
// CHECK: scf.if
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: memref.dealloc
// CHECK-NOT: dealloc_helper
// LLVM-NOT: dealloc_helper
// LLVM: llvm.func @main_graph
// LLVM-NOT: dealloc_helper
func.func @main_graph(%in: memref<16xf32> {memc.input = "x"}, %out: memref<16xf32> {memc.output = "y"}) {
  %c0 = arith.constant 0 : index
  %x1 = memref.load %in[%c0] : memref<16xf32>
  %n64 = arith.fptosi %x1 : f32 to i64
  %c16 = arith.index_cast %n64 : i64 to index
  %x0 = memref.load %in[%c0] : memref<16xf32>
  %zero = arith.constant 0.0 : f32
  %pos = arith.cmpf ogt, %x0, %zero : f32
  %r:2 = scf.if %pos -> (memref<?xf32>, memref<?xf32>) {
    %a = memref.alloc(%c16) : memref<?xf32>
    %b = memref.alloc(%c16) : memref<?xf32>
    memref.copy %in, %a : memref<16xf32> to memref<?xf32>
    memref.copy %in, %b : memref<16xf32> to memref<?xf32>
    scf.yield %a, %b : memref<?xf32>, memref<?xf32>
  } else {
    %a = memref.alloc(%c16) : memref<?xf32>
    memref.copy %in, %a : memref<16xf32> to memref<?xf32>
    scf.yield %a, %a : memref<?xf32>, memref<?xf32>
  }
  %y = memref.load %r#1[%c0] : memref<?xf32>
  memref.copy %r#0, %out : memref<?xf32> to memref<16xf32>
  memref.store %y, %out[%c0] : memref<16xf32>
  return
}
