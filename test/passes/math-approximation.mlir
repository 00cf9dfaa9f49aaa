// RUN: memc-opt %s -split-input-file -memc-math-approximation | FileCheck %s
// RUN: memc-opt %s -split-input-file -memc-math-approximation=ops=math.exp | FileCheck %s --check-prefix=ONLYEXP

// f32 exp, erf and erfc become arithmetic (no libm call survives).
// CHECK-LABEL: func @f32
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: return
// ONLYEXP-LABEL: func @f32
// ONLYEXP-NOT: math.exp
// ONLYEXP: math.erf
// ONLYEXP: math.erfc
func.func @f32(%x: f32) -> (f32, f32) {
  %a = math.exp %x : f32
  %b = math.erf %a : f32
  %c = math.erfc %x : f32
  return %b, %c : f32, f32
}

// -----

// memc's exp: x clamped to [-105, 89] by ordered compares (NaN passes),
// k = round(x log2 e) by adding 1.5 * 2^23, r = x - k ln 2 in two FMAs, the
// polynomial, and 2^k applied as two factors 2^(k >> 1) * 2^(k - (k >> 1))
// built in the exponent field, so that denormal results are not flushed.
// CHECK-LABEL: func @exp
// CHECK-SAME: (%[[X:.*]]: f32)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[LO:.*]] = arith.constant -1.050000e+02 : f32
// CHECK-DAG: %[[HI:.*]] = arith.constant 8.900000e+01 : f32
// CHECK-DAG: %[[MAGIC:.*]] = arith.constant 0x4B400000 : f32
// CHECK-DAG: %[[MAGICBITS:.*]] = arith.constant 1262485504 : i32
// CHECK-DAG: %[[LOG2E:.*]] = arith.constant 1.44269502 : f32
// CHECK-DAG: %[[LN2HI:.*]] = arith.constant -0.693145751 : f32
// CHECK-DAG: %[[LN2LO:.*]] = arith.constant -1.42860677E-6 : f32
// CHECK-DAG: %[[BIAS:.*]] = arith.constant 127 : i32
// CHECK: %[[BELOW:.*]] = arith.cmpf olt, %[[X]], %[[LO]] : f32
// CHECK: %[[X1:.*]] = arith.select %[[BELOW]], %[[LO]], %[[X]] : f32
// CHECK: %[[ABOVE:.*]] = arith.cmpf ogt, %[[X1]], %[[HI]] : f32
// CHECK: %[[XC:.*]] = arith.select %[[ABOVE]], %[[HI]], %[[X1]] : f32
// CHECK: %[[KM:.*]] = math.fma %[[XC]], %[[LOG2E]], %[[MAGIC]] : f32
// CHECK: %[[K:.*]] = arith.subf %[[KM]], %[[MAGIC]] : f32
// CHECK: %[[R1:.*]] = math.fma %[[K]], %[[LN2HI]], %[[XC]] : f32
// CHECK: %[[R:.*]] = math.fma %[[K]], %[[LN2LO]], %[[R1]] : f32
// CHECK-COUNT-4: math.fma %{{.*}}, %[[R]], %{{.*}} : f32
// CHECK: %[[R2:.*]] = arith.mulf %[[R]], %[[R]] : f32
// CHECK: %[[PM1:.*]] = math.fma %{{.*}}, %[[R2]], %[[R]] : f32
// CHECK: %[[P:.*]] = arith.addf %[[PM1]], %[[ONE]] : f32
// CHECK: %[[KBITS:.*]] = arith.bitcast %[[KM]] : f32 to i32
// CHECK: %[[KI:.*]] = arith.subi %[[KBITS]], %[[MAGICBITS]] : i32
// CHECK: %[[K1:.*]] = arith.shrsi %[[KI]], %{{.*}} : i32
// CHECK: %[[K2:.*]] = arith.subi %[[KI]], %[[K1]] : i32
// CHECK: %[[E2:.*]] = arith.addi %[[K2]], %[[BIAS]] : i32
// CHECK: %[[S2BITS:.*]] = arith.shli %[[E2]], %{{.*}} : i32
// CHECK: %[[S2:.*]] = arith.bitcast %[[S2BITS]] : i32 to f32
// CHECK: %[[E1:.*]] = arith.addi %[[K1]], %[[BIAS]] : i32
// CHECK: %[[S1BITS:.*]] = arith.shli %[[E1]], %{{.*}} : i32
// CHECK: %[[S1:.*]] = arith.bitcast %[[S1BITS]] : i32 to f32
// CHECK: %[[M:.*]] = arith.mulf %[[P]], %[[S1]] : f32
// CHECK: %[[Y:.*]] = arith.mulf %[[M]], %[[S2]] : f32
// CHECK: return %[[Y]]
func.func @exp(%x: f32) -> f32 {
  %y = math.exp %x : f32
  return %y : f32
}

// -----

// log: inputs below 2^-126 (denormals; also 0 and negatives, where the
// scaling changes nothing) are scaled by 2^23 before MLIR's approximation
// and 23 ln 2 is subtracted after.
// CHECK-LABEL: func @log
// CHECK-SAME: (%[[X:.*]]: f32)
// CHECK-DAG: %[[MIN:.*]] = arith.constant 1.17549435E-38 : f32
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 0x4B000000 : f32
// CHECK-DAG: %[[ADJ:.*]] = arith.constant 15.9423847 : f32
// CHECK: %[[TINY:.*]] = arith.cmpf olt, %[[X]], %[[MIN]] : f32
// CHECK: %[[XS:.*]] = arith.mulf %[[X]], %[[SCALE]] : f32
// CHECK: %[[IN:.*]] = arith.select %[[TINY]], %[[XS]], %[[X]] : f32
// CHECK-NOT: math.log
// The special cases of MLIR's form test the scaled input.
// CHECK: arith.cmpf ult, %[[IN]]
// CHECK: %[[A:.*]] = arith.subf %[[L:.*]], %[[ADJ]] : f32
// CHECK-NEXT: %[[Y:.*]] = arith.select %[[TINY]], %[[A]], %[[L]] : f32
// CHECK-NEXT: return %[[Y]]
// Without log among the ops, neither the scaling nor the polynomial.
// ONLYEXP-LABEL: func @log
// ONLYEXP-NEXT: math.log
// ONLYEXP-NEXT: return
func.func @log(%x: f32) -> f32 {
  %y = math.log %x : f32
  return %y : f32
}

// -----

// Vectors get the same forms, with splat constants.
// CHECK-LABEL: func @vector
// CHECK-DAG: arith.constant dense<-1.050000e+02> : vector<8xf32>
// CHECK-DAG: arith.constant dense<0x4B000000> : vector<8xf32>
// CHECK-DAG: arith.shrsi %{{.*}}, %{{.*}} : vector<8xi32>
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: return
func.func @vector(%x: vector<8xf32>) -> (vector<8xf32>, vector<8xf32>) {
  %a = math.exp %x : vector<8xf32>
  %b = math.log %x : vector<8xf32>
  return %a, %b : vector<8xf32>, vector<8xf32>
}

// -----

// log1p and expm1 (softplus, Elu) expand into log and exp, which are then
// approximated too.
// CHECK-LABEL: func @log1p_expm1
// CHECK-NOT: math.log
// CHECK-NOT: math.exp
// CHECK: return
func.func @log1p_expm1(%x: f32) -> (f32, f32) {
  %a = math.log1p %x : f32
  %b = math.expm1 %x : f32
  return %a, %b : f32, f32
}

// -----

// f64 keeps its libm calls.
// CHECK-LABEL: func @f64
// CHECK: math.exp
// CHECK: math.log
// CHECK-NOT: arith.cmpf
func.func @f64(%x: f64) -> (f64, f64) {
  %a = math.exp %x : f64
  %b = math.log %x : f64
  return %a, %b : f64, f64
}
