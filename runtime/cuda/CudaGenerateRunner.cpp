//===- CudaGenerateRunner.cpp - memc-run --generate --device cuda ---------===//
//
// The GPU's device of runtime/common's greedy loop (DecodeLoop.h). The
// decode step's session owns the weights and the KV caches on the device;
// the prefill's session is opened sharing them (memc_cuda_open_sharing), so
// the caches the prefill writes are the ones every step reads, and neither
// the caches nor the weights cross the bus after open. A call uploads the
// ids and the position and downloads the logits (the host takes the
// argmax), so decode_ms_per_token is a step as a caller waits for it.
//
//===----------------------------------------------------------------------===//
#include "CudaDecoder.h"
#include "CudaRunner.h"

#include "memc/ExitCodes.h"
#include "memc/Runtime/DecodeLoop.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/PackageDir.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/TensorIO.h"
#include "memc_cuda.h"

#include <memory>

namespace memc {
namespace cuda {

namespace {

/// One program of the package: its manifest and session, and its logits.
struct CudaProgram {
  std::string dir;
  rt::Manifest manifest;
  int64_t rows = 0;
  memc_cuda_session *session = nullptr;
  std::vector<float> logits;

  ~CudaProgram() { memc_cuda_close(session); }
};

class CudaDecodeDevice : public rt::DecodeDevice {
public:
  /// Loads both programs' manifests and checks them against `d`; no device
  /// is touched yet.
  int load(const std::string &dir, const rt::DecodeManifest &d, int ordinal,
           std::string &error) {
    ordinal_ = ordinal;
    prefill_.dir = rt::joinPath(dir, package::kPrefillProgram);
    prefill_.rows = d.prefillRows;
    step_.dir = rt::joinPath(dir, package::kDecodeProgram);
    step_.rows = 1;
    for (CudaProgram *p : {&prefill_, &step_}) {
      if (!rt::checkPackageDir(p->dir, error) ||
          !rt::readManifest(p->dir, p->manifest, error))
        return ExitBadPackage;
      if (p->manifest.target != package::kTargetCUDA) {
        error = dir + ": compiled for the CPU target: run --generate without "
                      "--device cuda";
        return ExitUsage;
      }
      if (!rt::checkDecodeProgram(p->manifest, d, p->rows, p->dir, error))
        return ExitBadPackage;
      p->logits.resize(size_t(p->manifest.outputs[0].byteSize / sizeof(float)));
    }
    if (!rt::checkDecodePrograms(prefill_.manifest, step_.manifest, dir, error))
      return ExitBadPackage;
    vocab_ = step_.manifest.outputs[0].dims[2];
    const std::vector<rt::TensorSpec> &inputs = step_.manifest.inputs;
    if (!book_.init(step_.manifest.kvCaches, d.page,
                    d.page ? inputs[2].dims[0] : 0,
                    d.page ? inputs[2].dims[1] : 0)) {
      error = dir + ": out of memory";
      return ExitBadPackage;
    }
    return ExitOK;
  }

  /// Opens the decode step's session, then the prefill's sharing its
  /// weights and caches. The loop's first call does, after the prompt's
  /// checks: a bad prompt is reported as such without a GPU too.
  int open(std::string &error) {
    memc_cuda_status status =
        memc_cuda_open(step_.dir.c_str(), ordinal_, &step_.session);
    if (status == MEMC_CUDA_SUCCESS)
      status = memc_cuda_open_sharing(prefill_.dir.c_str(), ordinal_,
                                      step_.session, &prefill_.session);
    if (status == MEMC_CUDA_SUCCESS)
      return ExitOK;
    error = memc_cuda_last_error();
    if (status == MEMC_CUDA_NO_DEVICE)
      error = "--device cuda: no usable GPU: " + error;
    return exitCodeOf(status);
  }

  /// Empty, or why the programs run without cuBLAS.
  const char *notice() const {
    return step_.session ? memc_cuda_notice(step_.session) : "";
  }

  int call(Program program, const std::vector<int64_t> &ids, int64_t position,
           std::string &error) override {
    if (!step_.session)
      if (int rc = open(error))
        return rc;
    CudaProgram &p = program == Prefill ? prefill_ : step_;
    const void *inputs[] = {ids.data(), &position, book_.table().buffer.data()};
    void *outputs[] = {p.logits.data()};
    if (memc_cuda_run(p.session, inputs, outputs, nullptr) == MEMC_CUDA_SUCCESS)
      return ExitOK;
    error = p.dir + ": " + memc_cuda_last_error();
    return ExitDeviceError;
  }
  const float *logits(Program program) const override {
    return (program == Prefill ? prefill_ : step_).logits.data();
  }
  int64_t vocab() const override { return vocab_; }
  /// Paged: bytes in use count the blocks handed out (the pools are
  /// allocated whole on the device; a block is memory once the table gives
  /// it out only on the CPU).
  rt::CacheBook &book() override { return book_; }

private:
  // The prefill shares the step's device copies: it is closed first.
  CudaProgram step_, prefill_;
  int ordinal_ = 0;
  int64_t vocab_ = 0;
  rt::CacheBook book_;
};

} // namespace

struct CudaDecoder::Impl {
  std::string dir;
  rt::DecodeManifest d;
  CudaDecodeDevice device;
};

CudaDecoder::CudaDecoder() = default;
CudaDecoder::~CudaDecoder() = default;

const rt::DecodeManifest &CudaDecoder::manifest() const { return impl_->d; }

const char *CudaDecoder::notice() const { return impl_->device.notice(); }

int CudaDecoder::open(const std::string &dir, int device, std::string &error) {
  impl_.reset();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  if (int rc = rt::readDecodeManifest(dir, impl->d, error))
    return rc;
  if (int rc = impl->device.load(dir, impl->d, device, error))
    return rc;
  impl_ = std::move(impl);
  return ExitOK;
}

int CudaDecoder::generate(const rt::Tensor &prompt,
                          const std::string &promptName, int64_t n,
                          rt::Generation &out, std::string &error) {
  return rt::generateGreedy(impl_->d, impl_->device, prompt, promptName, n, out,
                            error);
}

int runCudaGenerate(const rt::RunOptions &opts, std::FILE *out,
                    std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    return rt::reportRunError(out, err, code, line);
  };
  // Package, prompt, then the device: a bad package or prompt is reported
  // as such on a machine without a GPU too.
  std::string error;
  CudaDecoder decoder;
  if (int rc = decoder.open(opts.package, 0, error))
    return failWith(rc, rc == ExitUsage ? "--generate: " + error : error);
  rt::Tensor prompt;
  if (!rt::readTensorFile(opts.prompt, prompt, error))
    return failWith(ExitBadData, error);
  rt::Generation g;
  int rc = decoder.generate(prompt, opts.prompt, opts.generate, g, error);
  if (*decoder.notice()) {
    std::fflush(out);
    std::fprintf(err, "memc-run: note: %s\n", decoder.notice());
    std::fflush(err);
  }
  if (rc != ExitOK)
    return failWith(rc, rc == ExitCapacity
                            ? "--generate " + std::to_string(opts.generate) +
                                  ": " + error
                            : error);
  rt::printGeneration(g, opts.quiet, out);
  return ExitOK;
}

} // namespace cuda
} // namespace memc
