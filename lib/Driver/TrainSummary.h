//===- TrainSummary.h - what --report says of a train step ------*- C++ -*-===//
//
// The report's `train` object (DESIGN.md "Training"): the bytes of the
// trainable weights and their optimizer state (from the layouts), the peak
// of gradient bytes alive at once (each gradient lives from its last
// contribution to its update, which memc-apply-optimizer places as early as
// it can), and the bytes of the forward values the backward reads.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_DRIVER_TRAINSUMMARY_H
#define MEMC_LIB_DRIVER_TRAINSUMMARY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <string>
#include <vector>

namespace memc {

struct TrainSummary {
  struct Parameter {
    std::string name;
    std::vector<int64_t> shape;
    std::string layout;
    uint64_t bytes = 0, stateBytes = 0;
  };
  uint64_t paramBytes = 0, stateBytes = 0;
  /// Peak of gradient bytes alive at once, and their sum (what keeping
  /// every gradient until one optimizer step at the end would hold).
  uint64_t gradBytes = 0, allGradBytes = 0;
  uint64_t savedActivationBytes = 0;
  /// Forward ops the backward recomputes (memc.recomputed), and their
  /// floating-point operations (memc::opFlops).
  uint64_t recomputedOps = 0, recomputedFlops = 0;
  std::vector<Parameter> parameters;
  /// Each saved activation and what memc-activation-recompute (or
  /// memc-recompute-pointwise) decided for it: keep, recompute or swap.
  struct Activation {
    std::string name;
    uint64_t bytes = 0;
    std::string choice;
  };
  std::vector<Activation> activations;
  /// The decision's record (memc.remat), when a budget asked for one.
  llvm::json::Object remat;

  llvm::json::Object toJSON() const;
};

/// Reads the train step of `module` (after memc-apply-optimizer, still on
/// tensors). `forwardOps` is the number of ops of the entry block that
/// belong to the forward and the loss (the backward follows them).
TrainSummary summarizeTrainStep(mlir::ModuleOp module, unsigned forwardOps);

} // namespace memc

#endif
