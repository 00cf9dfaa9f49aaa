//===- PassCount.h - FuseMax pass counting over einsum cascades -*- C++ -*-===//
//
// A *pass* over a rank is one traversal of its fibers; every forced revisit
// adds one (FuseMax, Nayak et al. 2024). A forced revisit happens when an
// Einsum that iterates a rank consumes a value that is only complete after a
// traversal of that same rank has ended, e.g. softmax's exp(X - max_m X): the
// maximum is known only after all of m was seen, so X's m-fibers are read a
// second time. Einsums in different passes cannot be fused, and the pass
// count bounds the live footprint of any mapping from below.
//
// Ranks are identified across ops by data flow, not by name: a rank of an
// einsum op, the tensor dimensions it indexes, and the ranks of other ops
// indexing those dimensions (through reshapes that only add or drop unit
// dims) form one class. An `einsum.iterate` rank is a class of its own,
// shared by the carried values' (absent) dimension; values it yields after
// the last step are complete only at the end of its traversal.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_PASSCOUNT_H
#define MEMC_ANALYSIS_PASSCOUNT_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"

#include <string>
#include <vector>

namespace memc {

struct RankPasses {
  std::string rank;         ///< the name of the rank where it is first iterated
  int64_t passes;           ///< passes over it (>= 1)
  mlir::Operation *firstOp; ///< the first op in `ops` that iterates it
};

/// Counts passes per rank over the cascade formed by `ops` (einsum.einsum,
/// einsum.iterate and reshapes; other ops are treated as opaque producers of
/// complete values). Ops nested in an einsum.iterate that is in `ops` are
/// included. Ranks are listed in order of first iteration.
std::vector<RankPasses> countPasses(llvm::ArrayRef<mlir::Operation *> ops);

/// The passes over the rank that indexes dimension `dim` of `value`, within
/// the cascade `ops`; 0 when no op of the cascade iterates that rank.
int64_t countPassesOver(llvm::ArrayRef<mlir::Operation *> ops,
                        mlir::Value value, unsigned dim);

/// The passes over the rank of einsum.iterate `iterate` within `ops`.
int64_t countPassesOverIterate(llvm::ArrayRef<mlir::Operation *> ops,
                               mlir::Operation *iterate);

} // namespace memc

#endif
