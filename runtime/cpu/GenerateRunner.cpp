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
#include <string_view>
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
    const Manifest &m = pkg.manifest();
    auto bad = [&](const std::string &what) {
      error = dir + "/" + package::kManifestFile + ": " + what +
              "; the package is damaged: recompile it";
      return false;
    };
    size_t inputs = d.page ? 3 : 2;
    if (m.inputs.size() != inputs || m.inputs[0].dtype != DType::I64 ||
        m.inputs[0].dims != std::vector<int64_t>{d.batch, rows} ||
        m.inputs[1].name != package::kPositionName ||
        m.inputs[1].dtype != DType::I64 || !m.inputs[1].dims.empty() ||
        (d.page &&
         (m.inputs[2].name != package::kBlockTableName ||
          m.inputs[2].dtype != DType::I64 || m.inputs[2].dims.size() != 2 ||
          m.inputs[2].dims[1] != d.capacity / d.page)))
      return bad("expected the inputs ids i64 " + std::to_string(d.batch) +
                 "x" + std::to_string(rows) + ", position i64 scalar" +
                 (d.page ? " and block_table i64 BHx" +
                               std::to_string(d.capacity / d.page)
                         : std::string()));
    if (m.outputs.size() != 1 || m.outputs[0].dtype != DType::F32 ||
        m.outputs[0].dims.size() != 3 || m.outputs[0].dims[0] != d.batch ||
        m.outputs[0].dims[1] != rows)
      return bad("expected one output, the logits f32 " +
                 std::to_string(d.batch) + "x" + std::to_string(rows) +
                 "xVOCAB");
    if (m.kvCaches.empty() || !m.states.empty() || m.step)
      return bad("expected KV caches and no train records");
    // Data caches [BH, T, head_dim] (pools [BH x T/page + 1, page,
    // head_dim]) in kv_dtype; i8 ones followed by their f32 scales
    // [BH, T] ([blocks, page]).
    DType data = DType::F32;
    parseDType(d.kvDtype, data); // parseDecodeManifest checked it
    std::string_view suffix = package::kKVScaleSuffix;
    for (const TensorSpec &c : m.kvCaches) {
      bool isScale = c.name.size() > suffix.size() &&
                     std::string_view(c.name).substr(c.name.size() -
                                                     suffix.size()) == suffix;
      bool ok = c.dims.size() == (isScale ? 2u : 3u) &&
                c.dtype == (isScale ? DType::F32 : data) &&
                (!isScale || data == DType::I8);
      if (ok && !d.page)
        ok = c.dims[1] == d.capacity;
      if (ok && d.page)
        ok = c.dims[1] == d.page &&
             c.dims[0] == m.inputs[2].dims[0] * (d.capacity / d.page) + 1;
      if (!ok)
        return bad("KV cache '" + c.name + "' is not " +
                   (isScale ? std::string("f32 scales") : d.kvDtype) + " " +
                   (d.page ? "[BH x " + std::to_string(d.capacity / d.page) +
                                 " + 1, " + std::to_string(d.page) + ", ...]"
                           : "[batch x heads, " + std::to_string(d.capacity) +
                                 ", ...]"));
    }
    vocab = m.outputs[0].dims[2];
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

  void restart() override { caches.book.restart(); }
  void reserve(int64_t from, int64_t to) override {
    caches.book.reserve(from, to);
  }
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
  uint64_t kvBytesInUse() const override { return caches.book.bytesInUse(); }
};

Decoder::Decoder() = default;
Decoder::~Decoder() = default;

const DecodeManifest &Decoder::manifest() const { return impl_->d; }

int Decoder::open(const std::string &dir, std::string &error) {
  impl_.reset();
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  DecodeManifest &d = impl->d;
  std::string text;
  if (!checkPackageDir(dir, error))
    return ExitBadPackage;
  std::string manifestPath = joinPath(dir, package::kManifestFile);
  if (!readTextFile(manifestPath, text, error))
    return ExitBadPackage;
  if (!isDecodeManifest(text)) {
    error = dir + ": not a decode package (memc --decode writes one)";
    return ExitUsage;
  }
  if (!parseDecodeManifest(text, manifestPath, d, error))
    return ExitBadPackage;

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
  const std::vector<TensorSpec> &cacheSpecs = step.pkg.manifest().kvCaches;
  const std::vector<TensorSpec> &prefillCaches =
      prefill.pkg.manifest().kvCaches;
  bool sameCaches = cacheSpecs.size() == prefillCaches.size();
  for (size_t i = 0; sameCaches && i < cacheSpecs.size(); ++i)
    sameCaches = cacheSpecs[i].name == prefillCaches[i].name &&
                 cacheSpecs[i].dims == prefillCaches[i].dims;
  if (!sameCaches || step.vocab != prefill.vocab) {
    error = dir + ": the prefill and decode programs disagree on the KV "
                  "caches or the vocabulary; recompile the package";
    return ExitBadPackage;
  }
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
