//===- Generator.h - Random problems shaped like real graphs ----*- C++ -*-===//
//
// Seeded, deterministic instances for the planner tests, the bench and the
// mapper's self-play training: the same seed and options give the same
// Problem on every machine (std::mt19937_64 and integer arithmetic only; no
// std::*_distribution, whose results differ between standard libraries).
//
// Two shapes, both modelled on what memc's bufferized programs look like:
//  - Forward: one op per step, a chain whose activations die at the next op,
//    some kept alive by skip connections (residuals) a few steps later, and
//    per-op scratch temporaries that live for one step.
//  - ForwardBackward: the forward chain, then the backward ops in mirrored
//    order; activations the backward pass needs live from forward step i to
//    backward step 2L-1-i (the peak sits at the turn), gradients flow along
//    the backward chain, and weight gradients live until one final optimizer
//    step.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_GENERATOR_H
#define MEMC_PLAN_GENERATOR_H

#include "memc/Plan/Problem.h"

#include <cstdint>

namespace memc::plan {

enum class GraphShape { Forward, ForwardBackward };

struct GeneratorOptions {
  GraphShape shape = GraphShape::Forward;
  /// Forward layers (one op each), drawn uniformly from [minLayers,
  /// maxLayers]. A forward+backward instance has 2 * layers + 1 steps.
  int minLayers = 8;
  int maxLayers = 64;
  /// Chance that an activation also feeds an op 2..maxSkipDistance steps on.
  double skipProbability = 0.25;
  int maxSkipDistance = 8;
  /// Chance that an op needs a one-step scratch buffer.
  double temporaryProbability = 0.3;
  /// ForwardBackward: chance that an activation is saved for the backward
  /// pass (elementwise ops often need none), and that a layer has weights
  /// (so a weight gradient kept until the optimizer step).
  double savedProbability = 0.8;
  double weightProbability = 0.6;
  /// Draw alignments from {16, 64, 256, 4096} and sizes not a multiple of 4,
  /// instead of memc's 64-byte alignment and float-sized tensors.
  bool mixedAlignment = false;
  /// Capacity of the generated problem (0 = unbounded packing problem).
  uint64_t capacity = 0;
  /// Turns each buffer's size and use count into its transferCost.
  TransferModel transfer;
};

/// A Problem with ids 0..n-1 in buffer order, producers named like
/// "fwd12:Conv" or "bwd3:MatMulGrad.scratch", uses filled in (producer step
/// and every consumer step) and transfer costs from options.transfer.
Problem generateProblem(uint64_t seed, const GeneratorOptions &options);

} // namespace memc::plan

#endif // MEMC_PLAN_GENERATOR_H
