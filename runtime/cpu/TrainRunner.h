//===- TrainRunner.h - memc-run --train -------------------------*- C++ -*-===//
//
// A train package's program is one training step (docs/package-format.md
// "Train packages"): memc-run calls it once per step, on the batches of
// --data's test_data_set_N directories in turn, with the trainable weights
// and optimizer states living across calls in buffers the runtime owns.
// The loop is runtime/common's (TrainLoop.h, shared with --device cuda);
// this is the CPU's device for it. Kept out of main() so the unit tests
// drive it in-process, as Runner.h.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_TRAINRUNNER_H
#define MEMC_RUNTIME_CPU_TRAINRUNNER_H

#include "memc/Runtime/RunCommon.h"

#include <cstdio>

namespace memc {
namespace rt {

class Package;

/// Runs opts.steps train steps of the loaded train package `pkg` (its
/// manifest isTrain()), as `memc-run PKG --train` does: reads and checks
/// every batch, --resume's state and PKG/model.onnx (for --save-model)
/// before the first step, prints `step K loss X` per step (K from 1, the
/// optimizer's t; not with -q) and the summary, then writes --save-state
/// and --save-model. A NaN or infinite loss stops the run with exit 25
/// (ExitDiverged); the files then hold the state from before that step.
/// Trains pkg's weights in place (weights.bin's private mapping). Returns
/// the exit code; an error is one line "memc-run: ..." on `err`.
int runTrainPackage(const Package &pkg, const RunOptions &opts, std::FILE *out,
                    std::FILE *err);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_TRAINRUNNER_H
