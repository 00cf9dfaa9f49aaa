//===- TrainLoop.cpp - memc-run --train on either device ------------------===//
//
// The order of work is the inference runner's: everything that can be wrong
// with the package, the batches, the state to resume from or the files to
// write is reported before the first step, so that no training time is
// spent on a run that cannot finish (and a bad file is reported as such on
// a machine without the device too). The steps then continue a global step
// count k (from 0, or from a resumed state's): step k trains on batch
// k mod B with the optimizer's t = k + 1, so a run that is stopped, saved
// and resumed computes exactly what one uninterrupted run does.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/TrainLoop.h"

#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/OutputFile.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/TrainState.h"
#include "memc/Runtime/TrainedModel.h"

#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <sys/stat.h>

namespace memc {
namespace rt {

TrainDevice::~TrainDevice() = default;

namespace {

/// The name of batch `k`'s directory (the ONNX backend-test layout).
std::string batchDir(const std::string &dataDir, uint64_t k) {
  return joinPath(dataDir, "test_data_set_" + std::to_string(k));
}

/// "nan", "inf" or "-inf".
const char *nonFinite(float v) {
  return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

/// Calls endSteps() however the loop is left.
class StepScope {
public:
  explicit StepScope(TrainDevice &device) : device_(device) {
    device_.beginSteps();
  }
  ~StepScope() { device_.endSteps(); }
  StepScope(const StepScope &) = delete;
  StepScope &operator=(const StepScope &) = delete;

private:
  TrainDevice &device_;
};

} // namespace

int readTrainBatches(const Manifest &m, const std::string &dataDir,
                     std::vector<std::vector<Tensor>> &batches,
                     std::string &error) {
  struct stat st;
  if (::stat(dataDir.c_str(), &st) != 0) {
    error =
        dataDir + (errno == ENOENT ? ": no such data directory"
                                   : ": cannot access the data directory: " +
                                         describeOpenError(errno));
    return ExitBadData;
  }
  if (!S_ISDIR(st.st_mode)) {
    error = dataDir + ": not a directory (--train's --data takes a directory "
                      "of test_data_set_N batches)";
    return ExitBadData;
  }
  for (uint64_t k = 0;; ++k) {
    std::string dir = batchDir(dataDir, k);
    if (::stat(dir.c_str(), &st) != 0 && errno == ENOENT)
      break;
    std::vector<Tensor> batch;
    if (int code = readInputFiles(m, dir, batch, error))
      return code;
    batches.push_back(std::move(batch));
  }
  // A directory holding input_0.pb itself is one batch (the inference
  // layout), so a single batch needs no test_data_set_0 around it.
  if (batches.empty() &&
      ::stat(joinPath(dataDir, "input_0.pb").c_str(), &st) == 0) {
    std::vector<Tensor> batch;
    if (int code = readInputFiles(m, dataDir, batch, error))
      return code;
    batches.push_back(std::move(batch));
  }
  if (batches.empty()) {
    error = batchDir(dataDir, 0) +
            ": no such directory (--train reads its batches from " + dataDir +
            "/test_data_set_0, test_data_set_1, ..., each with input_<i>.pb "
            "for the package's " +
            std::to_string(m.inputs.size()) + " inputs, the labels last)";
    return ExitBadData;
  }
  return ExitOK;
}

int runTrainLoop(const Manifest &m, const RunOptions &opts, TrainDevice &device,
                 std::FILE *out, std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    return reportRunError(out, err, code, line);
  };
  std::string error;

  // PKG/model.onnx, when the trained model is to be written: a package
  // without a usable one is damaged, and that is found now, not at the end.
  TrainedModel model;
  if (!opts.saveModel.empty() &&
      !model.load(joinPath(opts.package, package::kTrainModelFile), m, error))
    return failWith(ExitBadPackage, error);

  // The batches, all checked before any step.
  std::vector<std::vector<Tensor>> batches;
  if (int code = readTrainBatches(m, opts.dataDir, batches, error))
    return failWith(code, error);

  // The trained tensors, as the host sees them.
  std::vector<const TensorSpec *> tensors = trainStateTensors(m);
  uint64_t paramBytes = 0, stateBytes = 0;
  for (const TensorSpec *t : tensors)
    (t->trainable ? paramBytes : stateBytes) += t->byteSize;
  std::vector<void *> host;
  if (int code = device.hostTensors(host, error))
    return failWith(code, error);

  // --resume: the step count and the tensors of an earlier run.
  uint64_t start = 0;
  bool resumed = !opts.resume.empty();
  if (resumed && !readTrainState(opts.resume, m, host, start, error))
    return failWith(ExitBadState, error);

  // What the run will write must be writable; checked now, written at the
  // end (whole or not at all).
  for (const std::string *path : {&opts.saveState, &opts.saveModel})
    if (!path->empty() && !checkWritable(*path, error))
      return failWith(ExitOutput, error);
  bool saving = !opts.saveState.empty() || !opts.saveModel.empty();

  if (int code = device.open(resumed, saving, error))
    return failWith(code, error);

  if (!opts.quiet) {
    std::fprintf(out, "package: %s\n", opts.package.c_str());
    std::fprintf(out, "batches: %zu\n", batches.size());
    if (resumed)
      std::fprintf(out, "resumed: %s after step %" PRIu64 "\n",
                   opts.resume.c_str(), start);
  }
  std::fflush(out);

  uint64_t done = start;
  LatencyStats ms;
  bool diverged = false;
  float badLoss = 0;
  {
    StepScope scope(device);
    for (int64_t i = 0; i < opts.steps; ++i) {
      uint64_t k = start + uint64_t(i);
      std::vector<Tensor> &batch = batches[size_t(k % batches.size())];
      if (saving)
        if (int code = device.checkpoint(error))
          return failWith(code, error);
      float loss = 0;
      double stepMs = 0;
      if (int code = device.step(batch, int64_t(k + 1), loss, stepMs, error))
        return failWith(code, error);
      ms.add(stepMs);
      if (!std::isfinite(loss)) {
        diverged = true;
        badLoss = loss;
        break;
      }
      done = k + 1;
      if (!opts.quiet) {
        std::fprintf(out, "step %" PRIu64 " loss %.8g\n", done, double(loss));
        std::fflush(out);
      }
    }
  }

  if (!diverged) {
    std::fprintf(out, "train_step_ms: %.3f\n", ms.median());
    std::fprintf(out, "peak_arena_bytes: %" PRIu64 "\n",
                 device.peakArenaBytes());
    std::fprintf(out, "param_bytes: %" PRIu64 "\n", paramBytes);
    std::fprintf(out, "state_bytes: %" PRIu64 "\n", stateBytes);
    std::fflush(out);
  }

  // The files: the state after the last good step. A failed step has
  // already overwritten the live tensors, so after one the checkpoint
  // taken before it is saved.
  if (saving) {
    std::vector<const void *> saved;
    if (int code = device.trainedTensors(diverged, saved, error))
      return failWith(code, error);
    if (!opts.saveState.empty() &&
        !writeTrainState(opts.saveState, m, done, saved, error))
      return failWith(ExitOutput, error);
    if (!opts.saveModel.empty()) {
      std::vector<const void *> weights(
          saved.begin(), saved.begin() + (tensors.size() - m.states.size()));
      if (!model.write(opts.saveModel, weights, error))
        return failWith(ExitOutput, error);
    }
  }
  if (diverged)
    return failWith(ExitDiverged,
                    "step " + std::to_string(done + 1) + ": the loss is " +
                        nonFinite(badLoss) + "; stopping" +
                        (saving ? " (the state before step " +
                                      std::to_string(done + 1) + " is kept)"
                                : ""));
  return ExitOK;
}

} // namespace rt
} // namespace memc
