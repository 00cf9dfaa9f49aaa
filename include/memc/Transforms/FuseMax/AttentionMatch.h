//===- AttentionMatch.h - softmax attention chains in einsum IR -*- C++ -*-===//
//
// What memc-fusemax-attention rewrites: `softmax(mod(Q·K)) · V`, a
// contraction for the scores, elementwise modifiers (scales and masks), the
// importer's 3-pass softmax cascade (max / sub-exp / sum / div) and a second
// contraction. The match records where the query and key ranks are in every
// op, which the two rewrites (CascadeRewrite.h for CPUs, KernelForm.h for
// GPUs) need, and the diagonal of a constant causal mask.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_FUSEMAX_ATTENTIONMATCH_H
#define MEMC_TRANSFORMS_FUSEMAX_ATTENTIONMATCH_H

#include "dialects/einsum/EinsumDialect.h"
#include "memc/Analysis/MaskStructure.h"

#include "mlir/IR/AffineMap.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>
#include <string>

namespace memc::fusemax {

/// A mask value at or below this makes a score's softmax weight exactly 0 in
/// f32: exp(s - 1e4 - max) underflows for any score the row maximum does
/// not exceed by 1e4. Exporters use -inf, -1e9 or the float minimum.
inline constexpr double kMaskedBelow = -1e4;

/// An elementwise op between the score contraction and softmax.
struct Modifier {
  einsum::EinsumOp op;
  unsigned scoreOperand;
};

/// One matched attention chain.
struct Attention {
  einsum::EinsumOp qk, max, subExp, sum, div, av;
  /// From the contraction towards softmax.
  llvm::SmallVector<Modifier> modifiers;
  llvm::SmallVector<mlir::Operation *> reshapes;
  mlir::Value scores;          ///< softmax's input X[.., p, .., m]
  unsigned dimP = 0, dimM = 0; ///< of the scores
  unsigned qkQ = 0, qkRankP = 0, qkRankM = 0;
  unsigned avA = 0, avRankM = 0;
  /// The av rank indexing each scores dim.
  llvm::SmallVector<unsigned> avRankOfS;
  std::optional<int64_t> maskedFrom; ///< m - p >= this is masked out
};

/// Matches the chain that ends in contraction `av` into `a`. Returns false
/// with an empty `why` when `av` is not fed by a softmax at all (a plain
/// matmul), with a reason when it is attention that cannot be fused.
bool matchAttention(einsum::EinsumOp av, Attention &a, std::string &why);

/// A multiply-add einsum that sums over exactly one rank.
bool isContraction(einsum::EinsumOp op);
/// The rank a contraction sums over.
unsigned reducedRank(einsum::EinsumOp op);
/// The position in `map` of the plain use of rank `d`, if any.
std::optional<unsigned> positionOf(mlir::AffineMap map, unsigned d);
/// Whether any result of `map` depends on rank `d`.
bool usesRank(mlir::AffineMap map, unsigned d);
/// The triangle summary of a weight argument or a constant.
std::optional<UpperTriangle> triangleOf(mlir::Value v);
/// The value of a splat float constant.
std::optional<double> splatValue(mlir::Value v);

} // namespace memc::fusemax

#endif // MEMC_TRANSFORMS_FUSEMAX_ATTENTIONMATCH_H
