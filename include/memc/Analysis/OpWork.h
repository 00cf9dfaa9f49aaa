//===- OpWork.h - Floating-point work of one op -----------------*- C++ -*-===//
//
// How much arithmetic an op does and how many bytes its tensors take, for
// cost models (memc-activation-recompute, memc-recompute-pointwise) and
// reports (the train step's summary). One definition, so they agree.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_OPWORK_H
#define MEMC_ANALYSIS_OPWORK_H

#include <cstdint>

namespace mlir {
class Operation;
class Type;
} // namespace mlir

namespace memc {

/// Floating-point operations of `op`: for an einsum, one per input and
/// point of its iteration space (two, a multiply and an add, per point of
/// a contraction); for a fused attention about 4 x batch x queries x keys
/// x head size; 0 for anything else (copies, views).
double opFlops(mlir::Operation *op);

/// Iterations times the ops of the body of a linalg op with static loop
/// ranges: the work one run of its loop nest does (0 for anything else).
/// What memc-parallel-kernels and memc-outline-kernels weigh ops by.
int64_t loopWork(mlir::Operation *op);

/// An einsum without reduced ranks: each result element is one map action
/// on one element of each input.
bool isPointwiseEinsum(mlir::Operation *op);

/// Bytes of a statically shaped ranked tensor (elements that are neither
/// integers nor floats count 8 bytes); 0 for anything else.
uint64_t tensorBytes(mlir::Type type);

} // namespace memc

#endif // MEMC_ANALYSIS_OPWORK_H
