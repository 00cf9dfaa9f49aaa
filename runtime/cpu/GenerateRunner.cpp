//===- GenerateRunner.cpp - memc-run --generate on the CPU ----------------===//
//
// Both programs take the same arguments but for the rows: ids [batch,
// rows], position (the row of the first), the weights, every KV cache, the
// logits [batch, rows, vocab], then their own arena. The caches are
// allocated once, zeroed, and passed to both. The generation loop is
// runtime/common's (DecodeLoop.h); this file is its CPU device.
//
//===----------------------------------------------------------------------===//
#include "GenerateRunner.h"

#include "CrashGuard.h"
#include "Package.h"
#include "TrackedBlock.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/DecodeManifest.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/PackageDir.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/TensorIO.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <vector>

namespace memc {
namespace rt {

namespace {

/// A zero-filled mapping whose pages become memory when first written: a
/// paged cache's pool, which holds the blocks in use, not its capacity.
class LazyBuffer {
public:
  LazyBuffer() = default;
  LazyBuffer(const LazyBuffer &) = delete;
  LazyBuffer &operator=(const LazyBuffer &) = delete;
  ~LazyBuffer() {
    if (ptr_)
      ::munmap(ptr_, size_);
  }
  bool allocate(uint64_t bytes) {
    size_ = bytes ? bytes : 1;
    void *p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ptr_ = p == MAP_FAILED ? nullptr : p;
    return ptr_ != nullptr;
  }
  void *data() const { return ptr_; }

private:
  void *ptr_ = nullptr;
  size_t size_ = 0;
};

/// The KV caches' memory both programs write and read (their block table
/// and bytes in use are runtime/common's CacheBook).
struct Caches {
  std::vector<AlignedBuffer> contiguous;
  std::vector<std::unique_ptr<LazyBuffer>> pools;
  std::vector<void *> data;
  int64_t page = 0;
  CacheBook book;
};

/// One program of the package with its argument buffers.
struct LoadedProgram {
  std::string dir;
  Package pkg;
  int64_t rows = 0, vocab = 0;
  Tensor ids, position, logits;
  std::unique_ptr<TrackedBlock> arena;
  AlignedBuffer hostPool;
  std::vector<void *> args;

  /// Checks the program's interface against what --generate passes.
  bool check(const DecodeManifest &d, std::string &error) {
    if (!checkDecodeProgram(pkg.manifest(), d, rows, dir, error))
      return false;
    vocab = pkg.manifest().outputs[0].dims[2];
    return true;
  }

  bool allocate(Caches &caches, std::string &error) {
    const Manifest &m = pkg.manifest();
    ids.dtype = position.dtype = DType::I64;
    ids.dims = m.inputs[0].dims;
    logits.dtype = DType::F32;
    logits.dims = m.outputs[0].dims;
    arena = std::make_unique<TrackedBlock>(m.arenaBytes);
    if (!ids.allocate() || !position.allocate() || !logits.allocate() ||
        (m.arenaBytes && !arena->data()) ||
        (m.hostPoolBytes && !hostPool.allocate(m.hostPoolBytes))) {
      error = dir + ": out of memory for the program's buffers";
      return false;
    }
    args = {ids.buffer.data(), position.buffer.data()};
    if (caches.page)
      args.push_back(caches.book.table().buffer.data());
    for (size_t i = 0; i < m.weights.size(); ++i)
      args.push_back(pkg.weightData(i));
    for (void *c : caches.data)
      args.push_back(c);
    args.push_back(logits.buffer.data());
    if (m.arenaBytes)
      args.push_back(arena->data());
    if (m.hostPoolBytes)
      args.push_back(hostPool.data());
    return true;
  }

  /// One call on `tokens` ([batch, rows]) with its first row at `at`.
  void call(const std::vector<int64_t> &tokens, int64_t at) {
    std::memcpy(ids.buffer.data(), tokens.data(),
                tokens.size() * sizeof(int64_t));
    std::memcpy(position.buffer.data(), &at, sizeof at);
    pkg.entry()(args.data());
  }
};

} // namespace

struct Decoder::Impl : DecodeDevice {
  std::string dir;
  DecodeManifest d;
  LoadedProgram prefill, step;
  Caches caches;

  CacheBook &book() override { return caches.book; }
  int call(Program program, const std::vector<int64_t> &ids, int64_t position,
           std::string &) override {
    (program == Prefill ? prefill : step).call(ids, position);
    return ExitOK;
  }
  const float *logits(Program program) const override {
    return static_cast<const float *>(
        (program == Prefill ? prefill : step).logits.buffer.data());
  }
  int64_t vocab() const override { return step.vocab; }
};

Decoder::Decoder() = default;
Decoder::~Decoder() = default;

const DecodeManifest &Decoder::manifest() const { return impl_->d; }

int Decoder::open(const std::string &dir, std::string &error) {
  impl_.reset();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  DecodeManifest &d = impl->d;
  if (int rc = readDecodeManifest(dir, d, error))
    return rc;

  LoadedProgram &prefill = impl->prefill, &step = impl->step;
  prefill.dir = joinPath(dir, package::kPrefillProgram);
  prefill.rows = d.prefillRows;
  step.dir = joinPath(dir, package::kDecodeProgram);
  step.rows = 1;
  for (LoadedProgram *p : {&prefill, &step}) {
    bool loaded;
    {
      CrashGuard crashGuard(
          "memc-run: " + joinPath(p->dir, package::kModelFile) +
              ": the dynamic loader crashed on it (signal ",
          "): the package is damaged; recompile it", ExitBadPackage);
      loaded = p->pkg.load(p->dir, error);
    }
    if (!loaded || !p->check(d, error))
      return ExitBadPackage;
  }
  if (!checkDecodePrograms(prefill.pkg.manifest(), step.pkg.manifest(), dir,
                           error))
    return ExitBadPackage;
  const std::vector<TensorSpec> &cacheSpecs = step.pkg.manifest().kvCaches;
  Caches &caches = impl->caches;
  caches.page = d.page;
  for (const TensorSpec &spec : cacheSpecs) {
    void *data = nullptr;
    if (d.page) {
      caches.pools.push_back(std::make_unique<LazyBuffer>());
      if (caches.pools.back()->allocate(spec.byteSize))
        data = caches.pools.back()->data();
    } else {
      caches.contiguous.emplace_back();
      if (caches.contiguous.back().allocate(spec.byteSize))
        data = caches.contiguous.back().data();
    }
    if (!data) {
      error = dir + ": cannot allocate the KV cache '" + spec.name + "'";
      return ExitBadPackage;
    }
    caches.data.push_back(data);
  }
  const std::vector<TensorSpec> &inputs = step.pkg.manifest().inputs;
  if (!caches.book.init(cacheSpecs, d.page, d.page ? inputs[2].dims[0] : 0,
                        d.page ? inputs[2].dims[1] : 0)) {
    error = dir + ": out of memory";
    return ExitBadPackage;
  }
  if (!prefill.allocate(caches, error) || !step.allocate(caches, error))
    return ExitBadPackage;
  impl_ = std::move(impl);
  return ExitOK;
}

int Decoder::generate(const Tensor &prompt, const std::string &promptName,
                      int64_t n, Generation &out, std::string &error) {
  CrashGuard crashGuard("memc-run: " + impl_->dir +
                            ": the compiled program crashed (signal ",
                        ")", ExitInternal);
  return generateGreedy(impl_->d, *impl_, prompt, promptName, n, out, error);
}

int runGenerate(const RunOptions &opts, std::FILE *out, std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    return reportRunError(out, err, code, line);
  };
  std::string error;
  Decoder decoder;
  if (int rc = decoder.open(opts.package, error); rc != ExitOK)
    return failWith(rc, rc == ExitUsage ? "--generate: " + error : error);
  Tensor prompt;
  if (!readTensorFile(opts.prompt, prompt, error))
    return failWith(ExitBadData, error);
  Generation g;
  if (int rc = decoder.generate(prompt, opts.prompt, opts.generate, g, error);
      rc != ExitOK)
    return failWith(rc, rc == ExitCapacity
                            ? "--generate " + std::to_string(opts.generate) +
                                  ": " + error
                            : error);
  printGeneration(g, opts.quiet, out);
  return ExitOK;
}

} // namespace rt
} // namespace memc
