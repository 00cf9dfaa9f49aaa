// RUN: memc-opt %s -memc-libdevice-to-intrinsics | FileCheck %s

// Exact PTX instructions replace the libdevice calls and their
// declarations; a call without one (sinf) stays.
// CHECK-NOT: llvm.func @__nv_sqrtf
// CHECK-NOT: llvm.func @__nv_fmaf
// CHECK: llvm.func @__nv_sinf
// CHECK-LABEL: llvm.func @k
// CHECK: %[[S:.+]] = llvm.intr.sqrt(%arg0) : (f32) -> f32
// CHECK: %[[F:.+]] = llvm.intr.fma(%[[S]], %arg0, %arg0) : (f32, f32, f32) -> f32
// CHECK: llvm.intr.floor(%{{.+}}) : (f64) -> f64
// CHECK: llvm.call @__nv_sinf(%[[F]])
gpu.module @m {
  llvm.func @__nv_sqrtf(f32) -> f32
  llvm.func @__nv_fmaf(f32, f32, f32) -> f32
  llvm.func @__nv_floor(f64) -> f64
  llvm.func @__nv_sinf(f32) -> f32
  llvm.func @k(%x: f32, %y: f64) -> f32 {
    %0 = llvm.call @__nv_sqrtf(%x) : (f32) -> f32
    %1 = llvm.call @__nv_fmaf(%0, %x, %x) : (f32, f32, f32) -> f32
    %2 = llvm.call @__nv_floor(%y) : (f64) -> f64
    %3 = llvm.call @__nv_sinf(%1) : (f32) -> f32
    llvm.return %3 : f32
  }
}
