//===- TrainRunner.cpp - memc-run --train ---------------------------------===//
//
// The order of work is the inference runner's: everything that can be wrong
// with the package, the batches, the state to resume from or the files to
// write is reported before the first step, so that no training time is
// spent on a run that cannot finish. The steps then continue a global step
// count k (from 0, or from a resumed state's): step k trains on batch
// k mod B with the optimizer's t = k + 1, so a run that is stopped, saved
// and resumed computes exactly what one uninterrupted run does.
//
//===----------------------------------------------------------------------===//

#include "TrainRunner.h"

#include "CrashGuard.h"
#include "Package.h"
#include "TrackedBlock.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/OutputFile.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/TrainState.h"
#include "memc/Runtime/TrainedModel.h"
#include "memc_runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <sys/stat.h>
#include <vector>

namespace memc {
namespace rt {

namespace {

/// The name of batch `k`'s directory (the ONNX backend-test layout).
std::string batchDir(const std::string &dataDir, uint64_t k) {
  return joinPath(dataDir, "test_data_set_" + std::to_string(k));
}

/// Reads every batch, DIR/test_data_set_0, _1, ... up to the first missing
/// one (or DIR itself when it holds input_0.pb and no batch directory),
/// each checked against the manifest's inputs (the labels last).
/// Returns ExitOK or ExitBadData with `error`.
int readBatches(const Manifest &m, const std::string &dataDir,
                std::vector<std::vector<Tensor>> &batches, std::string &error) {
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

/// A host copy of the trained tensors (trainable weights and states, in
/// trainStateTensors order), taken before each step: what is saved when a
/// step diverges, since the step has by then overwritten the live ones.
struct Snapshot {
  std::vector<AlignedBuffer> buffers;

  bool allocate(const std::vector<const TensorSpec *> &tensors) {
    buffers = std::vector<AlignedBuffer>(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i)
      if (!buffers[i].allocate(tensors[i]->byteSize))
        return false;
    return true;
  }
  void take(const std::vector<void *> &live,
            const std::vector<const TensorSpec *> &tensors) {
    for (size_t i = 0; i < live.size(); ++i)
      std::memcpy(buffers[i].data(), live[i], size_t(tensors[i]->byteSize));
  }
  std::vector<const void *> data() const {
    std::vector<const void *> p;
    for (const AlignedBuffer &b : buffers)
      p.push_back(b.data());
    return p;
  }
};

/// "nan", "inf" or "-inf".
const char *nonFinite(float v) {
  return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

} // namespace

int runTrainPackage(const Package &pkg, const RunOptions &opts, std::FILE *out,
                    std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    return reportRunError(out, err, code, line);
  };
  const Manifest &m = pkg.manifest();
  std::string error;

  // PKG/model.onnx, when the trained model is to be written: a package
  // without a usable one is damaged, and that is found now, not at the end.
  TrainedModel model;
  if (!opts.saveModel.empty() &&
      !model.load(joinPath(opts.package, package::kTrainModelFile), m, error))
    return failWith(ExitBadPackage, error);

  // The batches, all checked before any step.
  std::vector<std::vector<Tensor>> batches;
  if (int code = readBatches(m, opts.dataDir, batches, error))
    return failWith(code, error);

  // The trained tensors: trainable weights in place in weights.bin's
  // private (copy-on-write) mapping, states zero-filled here.
  std::vector<const TensorSpec *> tensors = trainStateTensors(m);
  std::vector<AlignedBuffer> states(m.states.size());
  uint64_t paramBytes = 0, stateBytes = 0;
  std::vector<void *> live;
  for (size_t i = 0; i < m.weights.size(); ++i)
    if (m.weights[i].trainable) {
      live.push_back(pkg.weightData(i));
      paramBytes += m.weights[i].byteSize;
    }
  for (size_t i = 0; i < m.states.size(); ++i) {
    if (!states[i].allocate(m.states[i].byteSize))
      return failWith(ExitBadPackage,
                      opts.package + ": cannot allocate the state '" +
                          m.states[i].name + "' (" +
                          std::to_string(m.states[i].byteSize) + " bytes)");
    live.push_back(states[i].data());
    stateBytes += m.states[i].byteSize;
  }

  // --resume: the step count and the tensors of an earlier run.
  uint64_t start = 0;
  if (!opts.resume.empty() &&
      !readTrainState(opts.resume, m, live, start, error))
    return failWith(ExitBadState, error);

  // What the run will write must be writable; checked now, written at the
  // end (whole or not at all).
  for (const std::string *path : {&opts.saveState, &opts.saveModel})
    if (!path->empty() && !checkWritable(*path, error))
      return failWith(ExitOutput, error);
  bool saving = !opts.saveState.empty() || !opts.saveModel.empty();
  Snapshot before;
  if (saving && !before.allocate(tensors))
    return failWith(ExitBadPackage,
                    opts.package + ": cannot allocate a copy of the " +
                        std::to_string(paramBytes + stateBytes) +
                        " bytes of weights and state");

  // The rest of the arguments, as the inference runner allocates them.
  uint64_t liveBefore = memc_rt_live_bytes();
  TrackedBlock arena(m.arenaBytes);
  uint64_t arenaTracked = memc_rt_live_bytes() - liveBefore;
  if (m.arenaBytes > 0 && !arena.data())
    return failWith(ExitBadPackage, opts.package + ": cannot allocate the " +
                                        std::to_string(m.arenaBytes) +
                                        "-byte arena");
  AlignedBuffer hostPool, step, loss;
  if (m.hostPoolBytes > 0 && !hostPool.allocate(m.hostPoolBytes))
    return failWith(ExitBadPackage, opts.package + ": cannot allocate the " +
                                        std::to_string(m.hostPoolBytes) +
                                        "-byte host pool");
  if (!step.allocate(m.step->byteSize) || !loss.allocate(m.outputs[0].byteSize))
    return failWith(ExitBadPackage, opts.package + ": out of memory");

  // memc_entry's arguments: inputs (set per step), weights, states, step,
  // the loss, then arena and host pool.
  std::vector<void *> args(m.inputs.size(), nullptr);
  for (size_t i = 0; i < m.weights.size(); ++i)
    args.push_back(pkg.weightData(i));
  for (AlignedBuffer &s : states)
    args.push_back(s.data());
  args.push_back(step.data());
  args.push_back(loss.data());
  if (m.arenaBytes > 0)
    args.push_back(arena.data());
  if (m.hostPoolBytes > 0)
    args.push_back(hostPool.data());

  if (!opts.quiet) {
    std::fprintf(out, "package: %s\n", opts.package.c_str());
    std::fprintf(out, "batches: %zu\n", batches.size());
    if (!opts.resume.empty())
      std::fprintf(out, "resumed: %s after step %" PRIu64 "\n",
                   opts.resume.c_str(), start);
  }
  std::fflush(out);

  EntryFn entry = pkg.entry();
  uint64_t maxPeak = 0, done = start;
  LatencyStats ms;
  bool diverged = false;
  float badLoss = 0;
  {
    CrashGuard crashGuard(
        "memc-run: " + joinPath(opts.package, package::kModelFile) +
            ": the compiled program crashed (signal ",
        ")", ExitInternal);
    for (int64_t i = 0; i < opts.steps; ++i) {
      uint64_t k = start + uint64_t(i);
      std::vector<Tensor> &batch = batches[size_t(k % batches.size())];
      for (size_t j = 0; j < batch.size(); ++j)
        args[j] = batch[j].buffer.data();
      int64_t t = int64_t(k + 1);
      std::memcpy(step.data(), &t, sizeof t);
      if (saving)
        before.take(live, tensors);
      uint64_t liveAtCall = memc_rt_live_bytes();
      memc_rt_reset_peak();
      auto t0 = std::chrono::steady_clock::now();
      entry(args.data());
      auto t1 = std::chrono::steady_clock::now();
      maxPeak = std::max(maxPeak, memc_rt_peak_bytes() - liveAtCall);
      ms.add(std::chrono::duration<double, std::milli>(t1 - t0).count());
      float value;
      std::memcpy(&value, loss.data(), sizeof value);
      if (!std::isfinite(value)) {
        diverged = true;
        badLoss = value;
        break;
      }
      done = k + 1;
      if (!opts.quiet) {
        std::fprintf(out, "step %" PRIu64 " loss %.8g\n", done, double(value));
        std::fflush(out);
      }
    }
  }

  if (!diverged) {
    std::fprintf(out, "train_step_ms: %.3f\n", ms.median());
    std::fprintf(out, "peak_arena_bytes: %" PRIu64 "\n",
                 arenaTracked + maxPeak);
    std::fprintf(out, "param_bytes: %" PRIu64 "\n", paramBytes);
    std::fprintf(out, "state_bytes: %" PRIu64 "\n", stateBytes);
    std::fflush(out);
  }

  // The files: the state after the last good step. A failed step has
  // already overwritten the live buffers, so after one the copy taken
  // before it is saved.
  std::vector<const void *> saved;
  if (diverged) {
    saved = before.data();
  } else {
    for (void *p : live)
      saved.push_back(p);
  }
  if (!opts.saveState.empty() &&
      !writeTrainState(opts.saveState, m, done, saved, error))
    return failWith(ExitOutput, error);
  if (!opts.saveModel.empty()) {
    std::vector<const void *> weights(
        saved.begin(), saved.begin() + (tensors.size() - m.states.size()));
    if (!model.write(opts.saveModel, weights, error))
      return failWith(ExitOutput, error);
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
