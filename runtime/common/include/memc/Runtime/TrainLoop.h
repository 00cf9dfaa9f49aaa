//===- TrainLoop.h - memc-run --train on either device ----------*- C++ -*-===//
//
// A train package's program is one training step (docs/package-format.md
// "Train packages"): memc-run calls it once per step, on the batches of
// --data's test_data_set_N directories in turn, with the trainable weights
// and optimizer states living across calls in buffers the runtime owns.
// What that takes apart from running the program is the same on every
// device and lives here once: the batches, --resume, --save-state,
// --save-model, the step loop with its `step K loss X` lines, divergence
// and the summary. A device (runtime/cpu/TrainRunner.cpp,
// runtime/cuda/CudaTrainRunner.cpp) implements TrainDevice: where the
// trained tensors live, how a step runs and what it costs.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_TRAINLOOP_H
#define MEMC_RUNTIME_TRAINLOOP_H

#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/RunCommon.h"
#include "memc/Runtime/Tensor.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace memc {
namespace rt {

/// What runTrainLoop needs of a device. The "trained tensors" are
/// trainStateTensors(m): the trainable weights, then the optimizer states,
/// each group in manifest order. Calls come in this order: hostTensors,
/// open, then per step checkpoint (only when open was told so) and step,
/// then trainedTensors. Every int result is ExitOK or an exit code with
/// `error` set to one line (without "memc-run: ").
class TrainDevice {
public:
  virtual ~TrainDevice();

  /// Host buffers for the trained tensors, one per tensor of its byteSize,
  /// which --resume fills before open(): on the CPU the live tensors
  /// themselves (weights.bin's private mapping, the zeroed states), on a
  /// device with its own memory a host copy that open() uploads.
  virtual int hostTensors(std::vector<void *> &tensors, std::string &error) = 0;

  /// Gets ready for the steps once every file is checked: the device, the
  /// program's other buffers. `resumed`: the host tensors hold a resumed
  /// state. `checkpoints`: checkpoint() will be called before every step.
  virtual int open(bool resumed, bool checkpoints, std::string &error) = 0;

  /// Around the step loop (the CPU's crash guard covers the calls only).
  virtual void beginSteps() {}
  virtual void endSteps() {}

  /// Keeps a copy of the trained tensors as they are (before a step), which
  /// trainedTensors(true) returns: what is saved when the step diverges.
  virtual int checkpoint(std::string &error) = 0;

  /// One train step on `batch` (the manifest's inputs, labels last) with
  /// the optimizer's step count `t`: sets `loss` and `ms`, the step's time.
  virtual int step(std::vector<Tensor> &batch, int64_t t, float &loss,
                   double &ms, std::string &error) = 0;

  /// Host pointers to the trained tensors' values, current or (with
  /// `fromCheckpoint`) as of the last checkpoint(); valid until the next
  /// call on the device.
  virtual int trainedTensors(bool fromCheckpoint,
                             std::vector<const void *> &tensors,
                             std::string &error) = 0;

  /// The summary's peak_arena_bytes: the most scratch memory a step took.
  virtual uint64_t peakArenaBytes() const = 0;
};

/// Reads every batch, DIR/test_data_set_0, _1, ... up to the first missing
/// one (or DIR itself when it holds input_0.pb and no batch directory),
/// each checked against the manifest's inputs (the labels last). Returns
/// ExitOK or ExitBadData with `error`.
int readTrainBatches(const Manifest &m, const std::string &dataDir,
                     std::vector<std::vector<Tensor>> &batches,
                     std::string &error);

/// Runs opts.steps train steps of the train package `m` (isTrain()) on
/// `device`, as `memc-run PKG --train` does: reads and checks every batch,
/// --resume's state and PKG/model.onnx (for --save-model) before the first
/// step, prints `step K loss X` per step (K from 1, the optimizer's t; not
/// with -q) and the summary, then writes --save-state and --save-model. A
/// NaN or infinite loss stops the run with exit 25 (ExitDiverged); the
/// files then hold the state from before that step. Returns the exit code;
/// an error is one line "memc-run: ..." on `err`.
int runTrainLoop(const Manifest &m, const RunOptions &opts, TrainDevice &device,
                 std::FILE *out, std::FILE *err);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_TRAINLOOP_H
