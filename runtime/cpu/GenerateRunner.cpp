//===- GenerateRunner.cpp - memc-run --generate on the CPU ----------------===//
//
// Both programs take the same arguments but for the rows: ids [batch,
// rows], position (the row of the first), the weights, every KV cache, the
// logits [batch, rows, vocab], then their own arena. The caches are
// allocated once, zeroed, and passed to both. Prefill calls cover the
// prompt in chunks from row 0; the last chunk's rows past the prompt hold
// ids 0, whose cache rows the decode steps overwrite before any row reads
// them (row t reads only rows <= t). The first new token is the argmax of
// the last prompt row's logits; every decode step feeds the token before
// and gives the next. With prompts of different lengths (right-padded
// with negative ids) the prefill covers the shortest, and the steps feed
// the longer ones' remaining rows before their own tokens.
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

/// The KV caches both programs write and read, and for paged caches the
/// block table and its allocator: blocks go out in order as rows reach
/// them, so the pools' touched pages are the blocks in use.
struct Caches {
  std::vector<AlignedBuffer> contiguous;
  std::vector<std::unique_ptr<LazyBuffer>> pools;
  std::vector<void *> data;
  int64_t page = 0, batchHeads = 0, blocksPerRow = 0, spare = 0, next = 0;
  Tensor table; ///< [BH, capacity / page], spare where not given out
  /// Paged: one block of every cache together; contiguous: every cache.
  uint64_t unitBytes = 0;

  /// Contiguous caches hold their capacity; paged ones their blocks in use.
  uint64_t bytesInUse() const {
    return page ? uint64_t(next) * unitBytes : unitBytes;
  }

  /// Gives a block to every row's logical blocks holding rows [from, to).
  void reserve(int64_t from, int64_t to) {
    auto *t = static_cast<int64_t *>(table.buffer.data());
    for (int64_t r = 0; r < batchHeads; ++r)
      for (int64_t j = from / page; j <= (to - 1) / page; ++j)
        if (t[r * blocksPerRow + j] == spare)
          t[r * blocksPerRow + j] = next++;
  }
};

/// One program of the package with its argument buffers.
struct Program {
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
      args.push_back(caches.table.buffer.data());
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

  /// One call: ids[b, r] = tokens(b, r), position = `at`.
  template <typename Tokens> void call(int64_t at, Tokens tokens) {
    auto *idsData = static_cast<int64_t *>(ids.buffer.data());
    int64_t batch = ids.dims[0];
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t r = 0; r < rows; ++r)
        idsData[b * rows + r] = tokens(b, r);
    std::memcpy(position.buffer.data(), &at, sizeof at);
    pkg.entry()(args.data());
  }

  /// The argmax of sequence b's logits at row r (the first on ties, as
  /// torch.argmax).
  int64_t argmax(int64_t b, int64_t r) const {
    const float *row = static_cast<const float *>(logits.buffer.data()) +
                       (b * rows + r) * vocab;
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (row[v] > row[best])
        best = v;
    return best;
  }
};

} // namespace

struct Decoder::Impl {
  std::string dir;
  DecodeManifest d;
  Program prefill, step;
  Caches caches;
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

  Program &prefill = impl->prefill, &step = impl->step;
  prefill.dir = joinPath(dir, package::kPrefillProgram);
  prefill.rows = d.prefillRows;
  step.dir = joinPath(dir, package::kDecodeProgram);
  step.rows = 1;
  for (Program *p : {&prefill, &step}) {
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
      caches.unitBytes += spec.byteSize / uint64_t(spec.dims[0]);
    } else {
      caches.contiguous.emplace_back();
      if (caches.contiguous.back().allocate(spec.byteSize))
        data = caches.contiguous.back().data();
      caches.unitBytes += spec.byteSize;
    }
    if (!data) {
      error = dir + ": cannot allocate the KV cache '" + spec.name + "'";
      return ExitBadPackage;
    }
    caches.data.push_back(data);
  }
  if (d.page) {
    const TensorSpec &tableSpec = step.pkg.manifest().inputs[2];
    caches.batchHeads = tableSpec.dims[0];
    caches.blocksPerRow = tableSpec.dims[1];
    caches.spare = cacheSpecs[0].dims[0] - 1;
    caches.table.dtype = DType::I64;
    caches.table.dims = tableSpec.dims;
    if (!caches.table.allocate()) {
      error = dir + ": out of memory";
      return ExitBadPackage;
    }
  }
  if (!prefill.allocate(caches, error) || !step.allocate(caches, error))
    return ExitBadPackage;
  impl_ = std::move(impl);
  return ExitOK;
}

int Decoder::generate(const Tensor &prompt, const std::string &promptName,
                      int64_t n, Generation &out, std::string &error) {
  const DecodeManifest &d = impl_->d;
  Program &prefill = impl_->prefill, &step = impl_->step;
  Caches &caches = impl_->caches;
  if (prompt.dtype != DType::I64 || prompt.dims.size() != 2 ||
      prompt.dims[0] != d.batch || prompt.dims[1] < 1) {
    error = promptName + ": the prompt is " +
            std::string(dtypeName(prompt.dtype)) + " " +
            formatDims(prompt.dims) + "; this package takes i64 " +
            std::to_string(d.batch) + "xP token ids (P >= 1)";
    return ExitBadData;
  }
  // Prompts of different lengths are right-padded with negative ids: a
  // sequence's prompt ends at its first one.
  int64_t width = prompt.dims[1];
  const int64_t *promptData =
      static_cast<const int64_t *>(prompt.buffer.data());
  std::vector<int64_t> lengths(size_t(d.batch), width);
  for (int64_t b = 0; b < d.batch; ++b) {
    const int64_t *row = promptData + b * width;
    int64_t &len = lengths[b];
    len = std::find_if(row, row + width, [](int64_t t) { return t < 0; }) -
          row;
    if (len == 0 || std::any_of(row + len, row + width,
                                [](int64_t t) { return t >= 0; })) {
      error = promptName + ": sequence " + std::to_string(b) +
              (len == 0 ? " has an empty prompt"
                        : " has a token after its padding (a negative id "
                          "ends a prompt)");
      return ExitBadData;
    }
  }
  int64_t shortest = *std::min_element(lengths.begin(), lengths.end());
  int64_t longest = *std::max_element(lengths.begin(), lengths.end());
  if (n < 1 || longest + n > d.capacity) {
    error = std::to_string(longest) + " prompt tokens plus " +
            std::to_string(n) +
            " new ones exceed the KV caches' capacity "
            "of " +
            std::to_string(d.capacity) + " tokens";
    return ExitCapacity;
  }
  // Every cache row a call reads was written before in this generation,
  // so the caches need no clearing; the block table starts over.
  if (d.page) {
    auto *t = static_cast<int64_t *>(caches.table.buffer.data());
    std::fill(t, t + caches.table.numElements(), caches.spare);
    caches.next = 0;
  }
  out = Generation();
  out.tokens.assign(size_t(d.batch), {});
  std::vector<std::vector<int64_t>> &tokens = out.tokens;
  double decodeMs = 0;
  int64_t steps = longest + n - 1 - shortest;
  {
    CrashGuard crashGuard("memc-run: " + impl_->dir +
                              ": the compiled program crashed (signal ",
                          ")", ExitInternal);
    using Clock = std::chrono::steady_clock;
    auto t0 = Clock::now();
    // The rows every prompt has go through the prefill.
    int64_t last = 0; // the prefill chunk holding row shortest - 1
    for (int64_t at = 0; at < shortest; at += prefill.rows) {
      // Rows past the prompt get no block: their writes go to the spare.
      if (d.page)
        caches.reserve(at, std::min(at + prefill.rows, shortest));
      prefill.call(at, [&](int64_t b, int64_t r) -> int64_t {
        return at + r < shortest ? promptData[b * width + at + r] : 0;
      });
      last = at;
    }
    for (int64_t b = 0; b < d.batch; ++b)
      if (lengths[b] == shortest)
        tokens[b].push_back(prefill.argmax(b, shortest - 1 - last));
    auto t1 = Clock::now();
    out.prefillMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
    // Then one row per step: a longer prompt's own rows until it ends, its
    // tokens after; a sequence keeps stepping (its extra tokens dropped)
    // until the longest prompt has its n.
    for (int64_t at = shortest; at < shortest + steps; ++at) {
      if (d.page)
        caches.reserve(at, at + 1);
      step.call(at, [&](int64_t b, int64_t) {
        return at < lengths[b] ? promptData[b * width + at] : tokens[b].back();
      });
      for (int64_t b = 0; b < d.batch; ++b)
        if (at + 1 >= lengths[b] && int64_t(tokens[b].size()) < n)
          tokens[b].push_back(step.argmax(b, 0));
    }
    decodeMs =
        std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  }
  out.decodeMsPerToken = steps > 0 ? decodeMs / double(steps) : 0.0;
  out.kvBytes = caches.bytesInUse();
  return ExitOK;
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
  for (const std::vector<int64_t> &seq : g.tokens) {
    std::fputs("tokens:", out);
    for (int64_t t : seq)
      std::fprintf(out, " %" PRId64, t);
    std::fputs("\n", out);
  }
  if (!opts.quiet) {
    std::fprintf(out, "prefill_ms: %.3f\n", g.prefillMs);
    std::fprintf(out, "decode_ms_per_token: %.4f\n", g.decodeMsPerToken);
    std::fprintf(out, "kv_bytes: %" PRIu64 "\n", g.kvBytes);
  }
  std::fflush(out);
  return ExitOK;
}

} // namespace rt
} // namespace memc
