//===- HostFold.h - evaluate shape subgraphs at compile time ----*- C++ -*-===//
//
// Internal to lib/Import. PyTorch exports compute reshape targets, slice
// bounds and masks with Shape -> Gather -> Unsqueeze -> Concat chains and
// friends. With static shapes all of these are known at compile time: they
// are evaluated on small host tensors, so the ops that consume them
// (Reshape, Slice, Expand, ...) see constants. Only small tensors are
// folded; anything else is left to the ops' IR builders.
//
// The folds here are the ones several op families share; each op's
// registry entry (OpRegistry.h) names its fold. Folds of a single op live
// next to its IR builder (Constant, Shape, Range: OpsConstant.cpp; Trilu:
// OpsLayout.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_HOSTFOLD_H
#define MEMC_LIB_IMPORT_HOSTFOLD_H

#include "ImportContext.h"

namespace memc::onnximport {

/// The largest tensor (elements) most folds produce or read.
constexpr int64_t kMaxFoldElements = 1 << 16;

/// Elements of `x` at flat indices `src`, as a tensor of `shape`.
HostTensor pickElements(const HostTensor &x, std::vector<int64_t> shape,
                        const std::vector<int64_t> &src);

/// Pointwise ops: Add, Sub, Mul, Div, Neg, Abs, Sqrt, Min and Max (two
/// inputs), the comparisons, Not, And, Or, Where, Cast; numpy broadcasting.
bool foldPointwise(NodeImporter &n, std::vector<HostTensor> &out);

/// Ops that only change the shape: the same bytes, a new shape.
bool foldIdentity(NodeImporter &n, std::vector<HostTensor> &out); // +Dropout
bool foldReshape(NodeImporter &n, std::vector<HostTensor> &out);
bool foldSqueeze(NodeImporter &n, std::vector<HostTensor> &out);
bool foldUnsqueeze(NodeImporter &n, std::vector<HostTensor> &out);
bool foldFlatten(NodeImporter &n, std::vector<HostTensor> &out);

/// Data movement.
bool foldConcat(NodeImporter &n, std::vector<HostTensor> &out);
bool foldGather(NodeImporter &n, std::vector<HostTensor> &out);
bool foldSlice(NodeImporter &n, std::vector<HostTensor> &out);
bool foldTranspose(NodeImporter &n, std::vector<HostTensor> &out);
bool foldExpand(NodeImporter &n, std::vector<HostTensor> &out);

} // namespace memc::onnximport

#endif
