//===- CudaTrainRunner.cpp - memc-run --train --device cuda ---------------===//
//
// The GPU's side of runtime/common's train loop (TrainLoop.h), over
// memc_cuda.h. The trained tensors (trainable weights, optimizer states)
// live on the device for the whole run; the host keeps one copy of them,
// which --resume fills before the session opens (so a bad state file is
// reported as such on a machine without a GPU too) and which the files are
// written from at the end. The copy a diverged step falls back to is taken
// on the device (memc_cuda_checkpoint), so saving costs no transfer per
// step. train_step_ms is a step as the user waits for it: the batch and the
// step count up, the program, the loss down.
//
//===----------------------------------------------------------------------===//
#include "CudaRunner.h"

#include "memc/ExitCodes.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/TrainLoop.h"
#include "memc/Runtime/TrainState.h"
#include "memc_cuda.h"

#include <chrono>
#include <vector>

namespace memc {
namespace cuda {

namespace {

class CudaTrainDevice : public rt::TrainDevice {
public:
  CudaTrainDevice(const rt::Manifest &m, const rt::RunOptions &opts,
                  std::FILE *out, std::FILE *err)
      : m_(m), opts_(opts), out_(out), err_(err),
        tensors_(rt::trainStateTensors(m)) {}
  ~CudaTrainDevice() override { memc_cuda_close(session_); }

  int hostTensors(std::vector<void *> &tensors, std::string &error) override {
    host_ = std::vector<rt::AlignedBuffer>(tensors_.size());
    tensors.clear();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      if (!host_[i].allocate(tensors_[i]->byteSize)) {
        error = opts_.package + ": cannot allocate a host copy of '" +
                tensors_[i]->name + "' (" +
                std::to_string(tensors_[i]->byteSize) + " bytes)";
        return ExitBadPackage;
      }
      tensors.push_back(host_[i].data());
    }
    return ExitOK;
  }

  int open(bool resumed, bool checkpoints, std::string &error) override {
    if (int code = openCudaSession(opts_, out_, err_, session_, error))
      return code;
    if (opts_.profile &&
        memc_cuda_set_profiling(session_, 1) != MEMC_CUDA_SUCCESS)
      return deviceError(error);
    std::vector<const void *> from;
    for (rt::AlignedBuffer &b : host_)
      from.push_back(b.data());
    if (resumed &&
        memc_cuda_write_trained(session_, from.data()) != MEMC_CUDA_SUCCESS)
      return deviceError(error);
    // The checkpoint's device memory, allocated now rather than at the
    // first step: a GPU too small for it fails before any step runs.
    if (checkpoints && memc_cuda_checkpoint(session_) != MEMC_CUDA_SUCCESS)
      return deviceError(error);
    return ExitOK;
  }

  void endSteps() override {
    if (opts_.profile)
      std::fputs(memc_cuda_profile(session_, rt::kProfileTop), out_);
  }

  int checkpoint(std::string &error) override {
    return memc_cuda_checkpoint(session_) == MEMC_CUDA_SUCCESS
               ? int(ExitOK)
               : deviceError(error);
  }

  int step(std::vector<rt::Tensor> &batch, int64_t t, float &loss, double &ms,
           std::string &error) override {
    std::vector<const void *> inputs;
    for (rt::Tensor &x : batch)
      inputs.push_back(x.buffer.data());
    void *outputs[] = {&loss};
    auto t0 = std::chrono::steady_clock::now();
    if (memc_cuda_set_step(session_, t) != MEMC_CUDA_SUCCESS ||
        memc_cuda_run(session_, inputs.data(), outputs, nullptr) !=
            MEMC_CUDA_SUCCESS)
      return deviceError(error);
    auto t1 = std::chrono::steady_clock::now();
    ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    return ExitOK;
  }

  int trainedTensors(bool fromCheckpoint, std::vector<const void *> &tensors,
                     std::string &error) override {
    std::vector<void *> to;
    tensors.clear();
    for (rt::AlignedBuffer &b : host_) {
      to.push_back(b.data());
      tensors.push_back(b.data());
    }
    if (memc_cuda_read_trained(session_, fromCheckpoint ? 1 : 0, to.data()) !=
        MEMC_CUDA_SUCCESS)
      return deviceError(error);
    return ExitOK;
  }

  /// The plan's arena is all the scratch memory a step has.
  uint64_t peakArenaBytes() const override { return m_.arenaBytes; }

private:
  int deviceError(std::string &error) {
    error = opts_.package + ": " + memc_cuda_last_error();
    return ExitDeviceError;
  }

  const rt::Manifest &m_;
  const rt::RunOptions &opts_;
  std::FILE *out_, *err_;
  std::vector<const rt::TensorSpec *> tensors_;
  /// The host copy of the trained tensors, in tensors_'s order.
  std::vector<rt::AlignedBuffer> host_;
  memc_cuda_session *session_ = nullptr;
};

} // namespace

int runCudaTrainPackage(const rt::Manifest &m, const rt::RunOptions &opts,
                        std::FILE *out, std::FILE *err) {
  CudaTrainDevice device(m, opts, out, err);
  return rt::runTrainLoop(m, opts, device, out, err);
}

} // namespace cuda
} // namespace memc
