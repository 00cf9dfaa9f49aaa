//===- OpWork.h - Floating-point work of one op -----------------*- C++ -*-===//
//
// How much arithmetic an op does, for cost models (memc-activation-recompute)
// and reports (the train step's recomputed_flops). One definition, so the
// two agree.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_OPWORK_H
#define MEMC_ANALYSIS_OPWORK_H

namespace mlir {
class Operation;
} // namespace mlir

namespace memc {

/// Floating-point operations of `op`: for an einsum, one per input and
/// point of its iteration space (two, a multiply and an add, per point of
/// a contraction); for a fused attention about 4 x batch x queries x keys
/// x head size; 0 for anything else (copies, views).
double opFlops(mlir::Operation *op);

} // namespace memc

#endif // MEMC_ANALYSIS_OPWORK_H
