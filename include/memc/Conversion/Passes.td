//===- Passes.td - memc's conversion passes ----------------*- tablegen -*-===//
#ifndef MEMC_CONVERSION_PASSES_TD
#define MEMC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertEinsumToLinalg : Pass<"convert-einsum-to-linalg",
                                 "mlir::func::FuncOp"> {
  let summary = "Lower einsum ops 1:1 to linalg.generic (and scf.for)";
  let description = [{
    Each `einsum.einsum` becomes one `linalg.generic` with the same indexing
    maps; ranks in the result are parallel iterators, the others reduction
    iterators, and the init tensor is filled with the reduce action's
    identity. Each `einsum.iterate` becomes an `scf.for` over its extent with
    the same carried values. Fails on an einsum op it cannot lower (dynamic
    shapes), leaving the function untouched. `einsum.attention` (a GPU
    target's fused attention) stays: its kernel is generated after
    bufferization by `memc-attention-to-gpu`.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect"];
}

#endif // MEMC_CONVERSION_PASSES_TD
