//===- CascadeRewrite.h - attention as FuseMax's 1-pass cascade -*- C++ -*-===//
//
// The form of a matched attention chain for CPUs: the key rank M is split
// into M1 x M0 and an `einsum.iterate` over M1 carries the running maximum,
// denominator and numerator (FuseMax's 1-pass cascade); an outer iterate
// over query tiles writes the output one tile at a time.
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
  /// The iterate over query tiles; its result replaces `av`'s.
  einsum::IterateOp outer;
  int64_t kvTile = 0;    ///< keys per K/V tile
  int64_t queryTile = 0; ///< queries per query tile
};

/// Builds the cascade of `a` before `a.av` (the chain itself stays).
/// `kvTile` and `queryTile` are taken when they divide their rank; 0 (or a
/// size that does not divide) lets the cache-sized default choose.
Cascade buildCascade(Attention &a, mlir::OpBuilder &b, int64_t kvTile,
                     int64_t queryTile);

} // namespace memc::fusemax

#endif // MEMC_TRANSFORMS_FUSEMAX_CASCADEREWRITE_H
