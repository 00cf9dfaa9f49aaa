//===- AttentionLoops.h - fused attention as tiled einsum loops -*- C++ -*-===//
//
// The CPU form of `einsum.attention` and `einsum.attention_grad` (on
// tensors): loops over query tiles and K/V tiles whose bodies are einsum ops
// on [batch, tile, tile] scores, so no tensor of [queries, keys] ever
// exists. The forward is the online softmax (running maximum, denominator
// and numerator per query row); the backward is FlashAttention's, which
// rebuilds each tile's probabilities from the row log-sum-exp.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_ATTENTIONLOOPS_H
#define MEMC_TRANSFORMS_ATTENTIONLOOPS_H

#include "dialects/einsum/EinsumDialect.h"

namespace memc {

/// Tile sizes: at most these, the largest divisors of the query and key
/// counts when they are at least half of them, else even tiles with a
/// shorter last one (memc::tileNear).
inline constexpr int64_t kAttentionQueryTile = 64;
inline constexpr int64_t kAttentionKeyTile = 128;
/// The rows of the leading (batch x heads) rank a tile's loops take at a
/// time: the largest divisor whose [rows, query tile, key tile] f32 scores
/// fit in this many bytes (one [2, 64, 128] tile; all rows when the whole
/// batch does), so a tile's temporaries stay cache-sized and the arena's
/// working set does not grow with the number of heads. The backward holds
/// about eight such tiles at once, and that step (with its operands) is
/// where a decoder's smallest feasible budget lies: 256 KiB tiles put
/// remat.sh's decoder's floor at 6.6 MB, 64 KiB at 4.6 MB (0.28x its
/// arena), at the same step time.
inline constexpr int64_t kAttentionTileBytes = 64 * 1024;

/// Replaces `op` (tensor form) by its loops.
mlir::LogicalResult lowerAttentionToLoops(einsum::AttentionOp op);
/// Replaces `op` by its loops.
mlir::LogicalResult lowerAttentionGradToLoops(einsum::AttentionGradOp op);

} // namespace memc

#endif
