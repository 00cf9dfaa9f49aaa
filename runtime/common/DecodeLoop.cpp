//===- DecodeLoop.cpp - greedy decoding over a device interface -----------===//
//
// Prefill calls cover the prompt in chunks from row 0; the last chunk's
// rows past the prompt hold ids 0, whose cache rows the decode steps
// overwrite before any row reads them (row t reads only rows <= t). The
// first new token is the argmax of the last prompt row's logits; every
// decode step feeds the token before and gives the next.
//
//===----------------------------------------------------------------------===//
#include "memc/Runtime/DecodeLoop.h"

#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/PackageDir.h"
#include "memc/Runtime/PackageFormat.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <string_view>

namespace memc {
namespace rt {

DecodeDevice::~DecodeDevice() = default;

bool CacheBook::init(const std::vector<TensorSpec> &caches, int64_t page,
                     int64_t batchHeads, int64_t blocksPerRow) {
  page_ = page;
  unitBytes_ = 0;
  for (const TensorSpec &spec : caches)
    unitBytes_ += page ? spec.byteSize / uint64_t(spec.dims[0]) : spec.byteSize;
  if (!page)
    return true;
  batchHeads_ = batchHeads;
  blocksPerRow_ = blocksPerRow;
  spare_ = caches[0].dims[0] - 1;
  table_.dtype = DType::I64;
  table_.dims = {batchHeads, blocksPerRow};
  if (!table_.allocate())
    return false;
  restart();
  return true;
}

void CacheBook::restart() {
  next_ = 0;
  if (!page_)
    return;
  auto *t = static_cast<int64_t *>(table_.buffer.data());
  std::fill(t, t + table_.numElements(), spare_);
}

void CacheBook::reserve(int64_t from, int64_t to) {
  if (!page_)
    return;
  auto *t = static_cast<int64_t *>(table_.buffer.data());
  for (int64_t r = 0; r < batchHeads_; ++r)
    for (int64_t j = from / page_; j <= (to - 1) / page_; ++j)
      if (t[r * blocksPerRow_ + j] == spare_)
        t[r * blocksPerRow_ + j] = next_++;
}

int readDecodeManifest(const std::string &dir, DecodeManifest &d,
                       std::string &error) {
  std::string text;
  std::string manifestPath = joinPath(dir, package::kManifestFile);
  if (!checkPackageDir(dir, error) || !readTextFile(manifestPath, text, error))
    return ExitBadPackage;
  if (!isDecodeManifest(text)) {
    error = dir + ": not a decode package (memc --decode writes one)";
    return ExitUsage;
  }
  if (!parseDecodeManifest(text, manifestPath, d, error))
    return ExitBadPackage;
  return ExitOK;
}

bool checkDecodeProgram(const Manifest &m, const DecodeManifest &d,
                        int64_t rows, const std::string &programDir,
                        std::string &error) {
  auto bad = [&](const std::string &what) {
    error = joinPath(programDir, package::kManifestFile) + ": " + what +
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
    return bad("expected the inputs ids i64 " + std::to_string(d.batch) + "x" +
               std::to_string(rows) + ", position i64 scalar" +
               (d.page ? " and block_table i64 BHx" +
                             std::to_string(d.capacity / d.page)
                       : std::string()));
  if (m.outputs.size() != 1 || m.outputs[0].dtype != DType::F32 ||
      m.outputs[0].dims.size() != 3 || m.outputs[0].dims[0] != d.batch ||
      m.outputs[0].dims[1] != rows)
    return bad("expected one output, the logits f32 " +
               std::to_string(d.batch) + "x" + std::to_string(rows) + "xVOCAB");
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
  return true;
}

bool checkDecodePrograms(const Manifest &prefill, const Manifest &step,
                         const std::string &dir, std::string &error) {
  const std::vector<TensorSpec> &a = prefill.kvCaches, &b = step.kvCaches;
  bool same = a.size() == b.size() &&
              prefill.outputs[0].dims[2] == step.outputs[0].dims[2];
  for (size_t i = 0; same && i < a.size(); ++i)
    same = a[i].name == b[i].name && a[i].dims == b[i].dims;
  if (!same)
    error = dir + ": the prefill and decode programs disagree on the KV "
                  "caches or the vocabulary; recompile the package";
  return same;
}

namespace {

/// The argmax of sequence b's logits at row r of a `rows`-row call (the
/// first on ties, as torch.argmax).
int64_t argmax(const float *logits, int64_t rows, int64_t vocab, int64_t b,
               int64_t r) {
  const float *row = logits + (b * rows + r) * vocab;
  int64_t best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (row[v] > row[best])
      best = v;
  return best;
}

} // namespace

int generateGreedy(const DecodeManifest &d, DecodeDevice &device,
                   const Tensor &prompt, const std::string &promptName,
                   int64_t n, Generation &out, std::string &error) {
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
    len = std::find_if(row, row + width, [](int64_t t) { return t < 0; }) - row;
    if (len == 0 ||
        std::any_of(row + len, row + width, [](int64_t t) { return t >= 0; })) {
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
  // so the caches need no clearing.
  CacheBook &book = device.book();
  book.restart();
  out = Generation();
  out.tokens.assign(size_t(d.batch), {});
  std::vector<std::vector<int64_t>> &tokens = out.tokens;
  const int64_t vocab = device.vocab(), prefillRows = d.prefillRows;
  int64_t steps = longest + n - 1 - shortest;
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  // The rows every prompt has go through the prefill.
  std::vector<int64_t> ids(size_t(d.batch * prefillRows));
  int64_t last = 0; // the prefill chunk holding row shortest - 1
  for (int64_t at = 0; at < shortest; at += prefillRows) {
    // Rows past the prompt get no block: their writes go to the spare.
    book.reserve(at, std::min(at + prefillRows, shortest));
    for (int64_t b = 0; b < d.batch; ++b)
      for (int64_t r = 0; r < prefillRows; ++r)
        ids[b * prefillRows + r] =
            at + r < shortest ? promptData[b * width + at + r] : 0;
    if (int rc = device.call(DecodeDevice::Prefill, ids, at, error))
      return rc;
    last = at;
  }
  const float *prefillLogits = device.logits(DecodeDevice::Prefill);
  for (int64_t b = 0; b < d.batch; ++b)
    if (lengths[b] == shortest)
      tokens[b].push_back(
          argmax(prefillLogits, prefillRows, vocab, b, shortest - 1 - last));
  auto t1 = Clock::now();
  out.prefillMs = std::chrono::duration<double, std::milli>(t1 - t0).count();
  // Then one row per step: a longer prompt's own rows until it ends, its
  // tokens after; a sequence keeps stepping (its extra tokens dropped)
  // until the longest prompt has its n.
  ids.assign(size_t(d.batch), 0);
  for (int64_t at = shortest; at < shortest + steps; ++at) {
    book.reserve(at, at + 1);
    for (int64_t b = 0; b < d.batch; ++b)
      ids[b] = at < lengths[b] ? promptData[b * width + at] : tokens[b].back();
    if (int rc = device.call(DecodeDevice::Step, ids, at, error))
      return rc;
    const float *stepLogits = device.logits(DecodeDevice::Step);
    for (int64_t b = 0; b < d.batch; ++b)
      if (at + 1 >= lengths[b] && int64_t(tokens[b].size()) < n)
        tokens[b].push_back(argmax(stepLogits, 1, vocab, b, 0));
  }
  double decodeMs =
      std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  out.decodeMsPerToken = steps > 0 ? decodeMs / double(steps) : 0.0;
  out.kvBytes = book.bytesInUse();
  return ExitOK;
}

void printGeneration(const Generation &g, bool quiet, std::FILE *out) {
  for (const std::vector<int64_t> &seq : g.tokens) {
    std::fputs("tokens:", out);
    for (int64_t t : seq)
      std::fprintf(out, " %" PRId64, t);
    std::fputs("\n", out);
  }
  if (!quiet) {
    std::fprintf(out, "prefill_ms: %.3f\n", g.prefillMs);
    std::fprintf(out, "decode_ms_per_token: %.4f\n", g.decodeMsPerToken);
    std::fprintf(out, "kv_bytes: %" PRIu64 "\n", g.kvBytes);
  }
  std::fflush(out);
}

} // namespace rt
} // namespace memc
