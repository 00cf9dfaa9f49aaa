// RUN: memc-opt %s -split-input-file -memc-math-approximation | FileCheck %s
// RUN: memc-opt %s -split-input-file -memc-math-approximation=ops=math.exp | FileCheck %s --check-prefix=ONLYEXP

// f32 exp and erf become arithmetic (no libm call survives).
// CHECK-LABEL: func @f32
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: return
// ONLYEXP-LABEL: func @f32
// ONLYEXP-NOT: math.exp
// ONLYEXP: math.erf
func.func @f32(%x: f32) -> f32 {
  %a = math.exp %x : f32
  %b = math.erf %a : f32
  return %b : f32
}

// -----

// f64 keeps its libm calls.
// CHECK-LABEL: func @f64
// CHECK: math.exp
func.func @f64(%x: f64) -> f64 {
  %a = math.exp %x : f64
  return %a : f64
}
