//===- CascadeRewrite.h - attention as FuseMax's 1-pass cascade -*- C++ -*-===//
//
// The form of a matched attention chain for CPUs: the key rank M is split
// into M1 x M0 and an `einsum.iterate` over M1 carries the running maximum,
// denominator and numerator (FuseMax's 1-pass cascade); an outer iterate
// over query tiles writes the output one tile at a time. Ranks no tile
// divides get a shorter last tile of each. With lanes, each share of the
// batch or head rows runs the whole cascade on a thread of its own.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_FUSEMAX_CASCADEREWRITE_H
#define MEMC_TRANSFORMS_FUSEMAX_CASCADEREWRITE_H

#include "memc/Transforms/FuseMax/AttentionMatch.h"

#include "mlir/IR/Builders.h"

#include <cstdint>

namespace memc::fusemax {

/// The cascade built for one chain.
struct Cascade {
  /// The iterate over full query tiles.
  einsum::IterateOp outer;
  /// What replaces `av`'s result: the outer iterate's, or the last, shorter
  /// query tile written into it.
  mlir::Value result;
  int64_t kvTile = 0;    ///< keys per K/V tile
  int64_t queryTile = 0; ///< queries per query tile
  int64_t lanes = 1;     ///< lanes the batch or head rows are cut into
};

/// Builds the cascade of `a` before `a.av` (the chain itself stays).
/// `kvTile` and `queryTile` are taken when they are at most their rank (a
/// tile that does not divide it leaves a shorter last one); 0 lets the
/// cache-sized default choose. With `lanes` > 1 and the chain in a
/// function's body, the rows of one batch or head rank are cut into up to
/// that many equal shares, each the whole cascade in a lane of an
/// scf.forall marked `memc.micro_batch` (1: no lanes).
Cascade buildCascade(Attention &a, mlir::OpBuilder &b, int64_t kvTile,
                     int64_t queryTile, int64_t lanes = 1);

} // namespace memc::fusemax

#endif // MEMC_TRANSFORMS_FUSEMAX_CASCADEREWRITE_H
