//===- TrainRunner.cpp - memc-run --train on the CPU ----------------------===//
//
// The CPU's side of runtime/common's train loop (TrainLoop.h): the trained
// tensors live in host memory the program is called with directly (the
// trainable weights in weights.bin's private copy-on-write mapping, the
// states in zeroed buffers), so --resume reads into them and the files are
// written from them without a copy; a step is one call of memc_entry, timed
// and measured by the runtime's tracked allocator, under the crash guard.
//
//===----------------------------------------------------------------------===//

#include "TrainRunner.h"

#include "CallProfile.h"
#include "CrashGuard.h"
#include "Package.h"
#include "TrackedBlock.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/TrainLoop.h"
#include "memc/Runtime/TrainState.h"
#include "memc_runtime.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace memc {
namespace rt {

namespace {

class CpuTrainDevice : public TrainDevice {
public:
  CpuTrainDevice(const Package &pkg, const RunOptions &opts, std::FILE *out)
      : pkg_(pkg), m_(pkg.manifest()), opts_(opts), out_(out),
        tensors_(trainStateTensors(m_)) {}

  int hostTensors(std::vector<void *> &tensors, std::string &error) override {
    // Trainable weights in place in weights.bin's private mapping, states
    // zero-filled here.
    states_ = std::vector<AlignedBuffer>(m_.states.size());
    live_.clear();
    for (size_t i = 0; i < m_.weights.size(); ++i)
      if (m_.weights[i].trainable)
        live_.push_back(pkg_.weightData(i));
    for (size_t i = 0; i < m_.states.size(); ++i) {
      if (!states_[i].allocate(m_.states[i].byteSize)) {
        error = opts_.package + ": cannot allocate the state '" +
                m_.states[i].name + "' (" +
                std::to_string(m_.states[i].byteSize) + " bytes)";
        return ExitBadPackage;
      }
      live_.push_back(states_[i].data());
    }
    tensors = live_;
    return ExitOK;
  }

  int open(bool /*resumed: read into the live tensors already*/,
           bool checkpoints, std::string &error) override {
    if (checkpoints) {
      uint64_t bytes = 0;
      for (const TensorSpec *t : tensors_)
        bytes += t->byteSize;
      snapshot_ = std::vector<AlignedBuffer>(tensors_.size());
      for (size_t i = 0; i < tensors_.size(); ++i)
        if (!snapshot_[i].allocate(tensors_[i]->byteSize)) {
          error = opts_.package + ": cannot allocate a copy of the " +
                  std::to_string(bytes) + " bytes of weights and state";
          return ExitBadPackage;
        }
    }
    // The rest of the arguments, as the inference runner allocates them.
    uint64_t liveBefore = memc_rt_live_bytes();
    arena_ = std::make_unique<TrackedBlock>(m_.arenaBytes);
    arenaTracked_ = memc_rt_live_bytes() - liveBefore;
    if (m_.arenaBytes > 0 && !arena_->data()) {
      error = opts_.package + ": cannot allocate the " +
              std::to_string(m_.arenaBytes) + "-byte arena";
      return ExitBadPackage;
    }
    if (m_.hostPoolBytes > 0 && !hostPool_.allocate(m_.hostPoolBytes)) {
      error = opts_.package + ": cannot allocate the " +
              std::to_string(m_.hostPoolBytes) + "-byte host pool";
      return ExitBadPackage;
    }
    if (!step_.allocate(m_.step->byteSize) ||
        !loss_.allocate(m_.outputs[0].byteSize)) {
      error = opts_.package + ": out of memory";
      return ExitBadPackage;
    }
    // memc_entry's arguments: inputs (set per step), weights, states, step,
    // the loss, then arena and host pool.
    args_.assign(m_.inputs.size(), nullptr);
    for (size_t i = 0; i < m_.weights.size(); ++i)
      args_.push_back(pkg_.weightData(i));
    for (AlignedBuffer &s : states_)
      args_.push_back(s.data());
    args_.push_back(step_.data());
    args_.push_back(loss_.data());
    if (m_.arenaBytes > 0)
      args_.push_back(arena_->data());
    if (m_.hostPoolBytes > 0)
      args_.push_back(hostPool_.data());
    return ExitOK;
  }

  void beginSteps() override {
    crashGuard_.emplace(
        "memc-run: " + joinPath(opts_.package, package::kModelFile) +
            ": the compiled program crashed (signal ",
        ")", ExitInternal);
    if (opts_.profile)
      startCallProfile();
  }
  void endSteps() override {
    crashGuard_.reset();
    // --profile: every step's runtime calls, after the steps' loss lines
    // (as on the GPU).
    if (opts_.profile)
      std::fputs(formatCallProfile(stopCallProfile(), profiledSteps_,
                                   profiledMs_, kProfileTop)
                     .c_str(),
                 out_);
  }

  int checkpoint(std::string &) override {
    for (size_t i = 0; i < live_.size(); ++i)
      std::memcpy(snapshot_[i].data(), live_[i], size_t(tensors_[i]->byteSize));
    return ExitOK;
  }

  int step(std::vector<Tensor> &batch, int64_t t, float &loss, double &ms,
           std::string &) override {
    for (size_t j = 0; j < batch.size(); ++j)
      args_[j] = batch[j].buffer.data();
    std::memcpy(step_.data(), &t, sizeof t);
    uint64_t liveAtCall = memc_rt_live_bytes();
    memc_rt_reset_peak();
    auto t0 = std::chrono::steady_clock::now();
    pkg_.entry()(args_.data());
    auto t1 = std::chrono::steady_clock::now();
    maxPeak_ = std::max(maxPeak_, memc_rt_peak_bytes() - liveAtCall);
    ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    ++profiledSteps_;
    profiledMs_ += ms;
    std::memcpy(&loss, loss_.data(), sizeof loss);
    return ExitOK;
  }

  int trainedTensors(bool fromCheckpoint, std::vector<const void *> &tensors,
                     std::string &) override {
    tensors.clear();
    if (fromCheckpoint) {
      for (const AlignedBuffer &b : snapshot_)
        tensors.push_back(b.data());
    } else {
      for (void *p : live_)
        tensors.push_back(p);
    }
    return ExitOK;
  }

  uint64_t peakArenaBytes() const override { return arenaTracked_ + maxPeak_; }

private:
  const Package &pkg_;
  const Manifest &m_;
  const RunOptions &opts_;
  std::FILE *out_;
  std::vector<const TensorSpec *> tensors_;
  std::vector<AlignedBuffer> states_;
  std::vector<void *> live_; ///< the trained tensors, in tensors_'s order
  /// A copy of the trained tensors taken before each step when saving: the
  /// step overwrites the live ones, and a diverged step's are not saved.
  std::vector<AlignedBuffer> snapshot_;
  std::unique_ptr<TrackedBlock> arena_;
  uint64_t arenaTracked_ = 0, maxPeak_ = 0;
  AlignedBuffer hostPool_, step_, loss_;
  std::vector<void *> args_;
  std::optional<CrashGuard> crashGuard_;
  int64_t profiledSteps_ = 0; ///< steps run, and their time, for --profile
  double profiledMs_ = 0;
};

} // namespace

int runTrainPackage(const Package &pkg, const RunOptions &opts, std::FILE *out,
                    std::FILE *err) {
  CpuTrainDevice device(pkg, opts, out);
  return runTrainLoop(pkg.manifest(), opts, device, out, err);
}

} // namespace rt
} // namespace memc
