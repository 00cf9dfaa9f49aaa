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

  /// The interface --generate drives: ids [batch, rows], a scalar position
  /// and for paged caches the block table [BH, capacity / page], KV
  /// caches, one f32 [batch, rows, vocab] output.
  bool check(const rt::DecodeManifest &d, std::string &error) const {
    const rt::Manifest &m = manifest;
    size_t inputs = d.page ? 3 : 2;
    bool ok = m.target == package::kTargetCUDA && m.inputs.size() == inputs &&
              m.inputs[0].dtype == rt::DType::I64 &&
              m.inputs[0].dims == std::vector<int64_t>{d.batch, rows} &&
              m.inputs[1].name == package::kPositionName &&
              m.inputs[1].dtype == rt::DType::I64 && m.inputs[1].dims.empty() &&
              m.outputs.size() == 1 && m.outputs[0].dtype == rt::DType::F32 &&
              m.outputs[0].dims.size() == 3 &&
              m.outputs[0].dims[0] == d.batch && m.outputs[0].dims[1] == rows &&
              !m.kvCaches.empty() && !m.isTrain() &&
              (!d.page || (m.inputs[2].name == package::kBlockTableName &&
                           m.inputs[2].dtype == rt::DType::I64 &&
                           m.inputs[2].dims.size() == 2 &&
                           m.inputs[2].dims[1] == d.capacity / d.page));
    if (!ok)
      error = rt::joinPath(dir, package::kManifestFile) +
              ": not a CUDA decode program of " + std::to_string(d.batch) +
              "x" + std::to_string(rows) + " ids, a position, " +
              (d.page ? "a block table, " : "") +
              "KV caches and logits; recompile the package";
    return ok;
  }
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
      if (!p->check(d, error))
        return ExitBadPackage;
      p->logits.resize(size_t(p->manifest.outputs[0].byteSize / sizeof(float)));
    }
    vocab_ = step_.manifest.outputs[0].dims[2];
    if (prefill_.manifest.outputs[0].dims[2] != vocab_) {
      error = dir + ": the prefill and decode programs disagree on the "
                    "vocabulary; recompile the package";
      return ExitBadPackage;
    }
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
  void restart() override { book_.restart(); }
  void reserve(int64_t from, int64_t to) override { book_.reserve(from, to); }
  /// Paged: the blocks handed out (the pools are allocated whole on the
  /// device; a block is memory once the table gives it out only on the CPU).
  uint64_t kvBytesInUse() const override { return book_.bytesInUse(); }

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
  std::string text;
  std::string manifestPath = rt::joinPath(dir, package::kManifestFile);
  if (!rt::checkPackageDir(dir, error) ||
      !rt::readTextFile(manifestPath, text, error))
    return ExitBadPackage;
  if (!rt::isDecodeManifest(text)) {
    error = dir + ": not a decode package (memc --decode writes one)";
    return ExitUsage;
  }
  if (!rt::parseDecodeManifest(text, manifestPath, impl->d, error))
    return ExitBadPackage;
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
