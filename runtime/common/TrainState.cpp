//===- TrainState.cpp - memc-run's --save-state / --resume files ----------===//
//
// Reading checks everything before it copies anything: the header, then
// whether the file is one of this package at all (fingerprint), then its
// length, then its checksum in a first pass over the file; only a file that
// passes all of them is copied into the tensors in a second pass. A file of
// another package is told apart from a damaged one, and the message says
// which tensor differs.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/TrainState.h"

#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/LineReader.h"
#include "memc/Runtime/OutputFile.h"
#include "memc/Runtime/PackageFormat.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace memc {
namespace rt {

namespace {

namespace pf = package;

constexpr char kStepsField[] = "steps";
constexpr char kTensorsField[] = "tensors";
constexpr char kFingerprintField[] = "fingerprint";
/// The header's two lines are far below this; a longer line is not one.
constexpr uint64_t kMaxHeaderBytes = 512;
/// Record names are manifest names; anything longer is not one.
constexpr uint64_t kMaxNameBytes = uint64_t(1) << 16;

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

bool parseHex64(std::string_view s, uint64_t &out) {
  if (s.size() != 16)
    return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0)
      return false;
    v = v << 4 | uint64_t(d);
  }
  out = v;
  return true;
}

void putU64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<unsigned char>(v >> (8 * i));
}

uint64_t getU64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = v << 8 | p[i];
  return v;
}

std::string magicLine() {
  return std::string(pf::kStateFileMagic) + " " +
         std::to_string(pf::kStateFileVersion) + "\n";
}

std::string headerLine(uint64_t steps, size_t tensors, uint64_t fingerprint) {
  return std::string(kStepsField) + " " + std::to_string(steps) + " " +
         kTensorsField + " " + std::to_string(tensors) + " " +
         kFingerprintField + " " + hex64(fingerprint) + "\n";
}

/// The file's bytes for `m`'s tensors: records and checksum, without the
/// two header lines.
uint64_t bodyBytes(const std::vector<const TensorSpec *> &tensors) {
  uint64_t n = 8; // the checksum
  for (const TensorSpec *t : tensors)
    n += 16 + t->name.size() + t->byteSize;
  return n;
}

/// "'name' (N bytes)".
std::string describeRecord(std::string_view name, uint64_t bytes) {
  return quoted(name) + " (" + std::to_string(bytes) + " bytes)";
}

/// Why a state whose header does not match `m`'s came from another
/// package, as precisely as the file allows: the first record that differs
/// from `m`'s, else the counts, else the fingerprints. Reads the records
/// leniently from `offset`: the file may be of any shape.
std::string whyDifferent(InputFile &f, uint64_t offset,
                         const std::vector<const TensorSpec *> &tensors,
                         uint64_t fileTensors, uint64_t fileFingerprint,
                         uint64_t fingerprint) {
  std::string ignored;
  for (uint64_t i = 0; i < std::min<uint64_t>(fileTensors, tensors.size());
       ++i) {
    unsigned char num[8];
    if (!f.readAt(offset, num, 8, ignored))
      break;
    uint64_t len = getU64(num);
    if (len > kMaxNameBytes || len > f.size())
      break;
    std::string name(size_t(len), '\0');
    if (!f.readAt(offset + 8, name.data(), len, ignored) ||
        !f.readAt(offset + 8 + len, num, 8, ignored))
      break;
    uint64_t bytes = getU64(num);
    const TensorSpec &t = *tensors[size_t(i)];
    if (name != t.name || bytes != t.byteSize)
      return "it holds " + describeRecord(name, bytes) +
             " where this package has " + describeRecord(t.name, t.byteSize);
    if (bytes > f.size())
      break;
    offset += 16 + len + bytes;
  }
  if (fileTensors != tensors.size())
    return "it holds " + std::to_string(fileTensors) +
           " trainable weights and states, this package " +
           std::to_string(tensors.size());
  return "its fingerprint " + hex64(fileFingerprint) + " is not this " +
         "package's " + hex64(fingerprint) +
         " (another loss, optimizer, hyperparameter, dtype or shape)";
}

} // namespace

uint64_t fnv1a64(const void *data, size_t n, uint64_t hash) {
  const auto *p = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < n; ++i) {
    hash ^= p[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::vector<const TensorSpec *> trainStateTensors(const Manifest &m) {
  std::vector<const TensorSpec *> tensors;
  for (const TensorSpec &w : m.weights)
    if (w.trainable)
      tensors.push_back(&w);
  for (const TensorSpec &s : m.states)
    tensors.push_back(&s);
  return tensors;
}

uint64_t trainStateFingerprint(const Manifest &m) {
  std::string text = std::string(pf::kTrainRecord) + " " + m.trainLoss + " " +
                     m.trainOptimizer + "\n";
  for (const TensorSpec &w : m.weights)
    if (w.trainable)
      text += std::string(pf::kWeightRecord) + " " + w.name + " " +
              dtypeName(w.dtype) + " " + formatDims(w.dims) + "\n";
  for (const TensorSpec &s : m.states)
    text += std::string(pf::kStateRecord) + " " + s.name + " " +
            dtypeName(s.dtype) + " " + formatDims(s.dims) + " " + s.param +
            "\n";
  return fnv1a64(text.data(), text.size());
}

bool writeTrainState(const std::string &path, const Manifest &m, uint64_t steps,
                     const std::vector<const void *> &data,
                     std::string &error) {
  std::vector<const TensorSpec *> tensors = trainStateTensors(m);
  if (data.size() != tensors.size()) {
    error = path + ": internal: " + std::to_string(data.size()) +
            " buffers for " + std::to_string(tensors.size()) + " tensors";
    return false;
  }
  OutputFile out;
  if (!out.open(path, error))
    return false;
  uint64_t hash = kFnvOffsetBasis;
  auto put = [&](const void *p, size_t n) {
    hash = fnv1a64(p, n, hash);
    out.write(p, n);
  };
  std::string head =
      magicLine() + headerLine(steps, tensors.size(), trainStateFingerprint(m));
  put(head.data(), head.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSpec &t = *tensors[i];
    unsigned char num[8];
    putU64(num, t.name.size());
    put(num, 8);
    put(t.name.data(), t.name.size());
    putU64(num, t.byteSize);
    put(num, 8);
    put(data[i], size_t(t.byteSize));
  }
  unsigned char sum[8];
  putU64(sum, hash);
  out.write(sum, 8);
  return out.commit(error);
}

bool readTrainState(const std::string &path, const Manifest &m,
                    const std::vector<void *> &data, uint64_t &steps,
                    std::string &error) {
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    return false;
  };
  std::vector<const TensorSpec *> tensors = trainStateTensors(m);
  if (data.size() != tensors.size())
    return fail("internal: " + std::to_string(data.size()) + " buffers for " +
                std::to_string(tensors.size()) + " tensors");
  InputFile f;
  if (!f.open(path, UINT64_MAX, error))
    return false;

  // The two header lines.
  std::string head(size_t(std::min(f.size(), kMaxHeaderBytes)), '\0');
  if (!f.readAt(0, head.data(), head.size(), error))
    return false;
  std::string want = magicLine();
  want.pop_back();
  size_t eol1 = head.find('\n');
  std::vector<std::string_view> tok =
      tokenize(std::string_view(head).substr(0, eol1));
  if (eol1 == std::string::npos || tok.size() != 2 ||
      tok[0] != pf::kStateFileMagic)
    return fail("not a memc train state file (the first line must be '" + want +
                "')");
  uint64_t version = 0;
  if (!parseU64(tok[1], version) || version != uint64_t(pf::kStateFileVersion))
    return fail("state file version " + quoted(tok[1]) +
                " is not supported (this memc-run reads version " +
                std::to_string(pf::kStateFileVersion) + ")");
  size_t eol2 = head.find('\n', eol1 + 1);
  if (eol2 == std::string::npos)
    return fail(head.size() < kMaxHeaderBytes
                    ? "truncated (it ends in its header)"
                    : "corrupt: its second line is not a header line");
  tok = tokenize(std::string_view(head).substr(eol1 + 1, eol2 - eol1 - 1));
  uint64_t fileTensors = 0, fileFingerprint = 0;
  if (tok.size() != 6 || tok[0] != kStepsField || !parseU64(tok[1], steps) ||
      tok[2] != kTensorsField || !parseU64(tok[3], fileTensors) ||
      tok[4] != kFingerprintField || !parseHex64(tok[5], fileFingerprint) ||
      steps > kMaxTrainSteps)
    return fail(std::string("corrupt: its second line is not '") + kStepsField +
                " <N> " + kTensorsField + " <M> " + kFingerprintField +
                " <16 hex digits>'");
  uint64_t offset = eol2 + 1;

  // This package's?
  uint64_t fingerprint = trainStateFingerprint(m);
  if (fileTensors != tensors.size() || fileFingerprint != fingerprint)
    return fail("was saved from a different package: " +
                whyDifferent(f, offset, tensors, fileTensors, fileFingerprint,
                             fingerprint));

  // Whole? The length follows from the header and the manifest.
  uint64_t expected = offset + bodyBytes(tensors);
  if (f.size() < expected)
    return fail("truncated (" + std::to_string(f.size()) +
                " bytes; a state of this package has " +
                std::to_string(expected) + ")");
  if (f.size() > expected)
    return fail("corrupt: " + std::to_string(f.size()) +
                " bytes, but a state of this package has " +
                std::to_string(expected));

  // Intact? A first pass over every byte before the checksum.
  uint64_t hash = kFnvOffsetBasis, end = expected - 8;
  std::vector<unsigned char> chunk(size_t(1) << 20);
  for (uint64_t at = 0; at < end;) {
    uint64_t n = std::min<uint64_t>(chunk.size(), end - at);
    if (!f.readAt(at, chunk.data(), n, error))
      return false;
    hash = fnv1a64(chunk.data(), size_t(n), hash);
    at += n;
  }
  unsigned char num[8];
  if (!f.readAt(end, num, 8, error))
    return false;
  if (getU64(num) != hash)
    return fail("checksum mismatch (the file is corrupt)");

  // The records: names and sizes as the manifest says (then no byte is
  // copied unless all are), then the bytes.
  std::vector<uint64_t> at(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSpec &t = *tensors[i];
    std::string name(t.name.size(), '\0');
    unsigned char size[8];
    if (!f.readAt(offset, num, 8, error))
      return false;
    bool same = getU64(num) == t.name.size() &&
                f.readAt(offset + 8, name.data(), name.size(), error) &&
                f.readAt(offset + 8 + name.size(), size, 8, error) &&
                name == t.name && getU64(size) == t.byteSize;
    if (!same)
      return fail("corrupt: record " + std::to_string(i) + " is not " +
                  describeRecord(t.name, t.byteSize));
    at[i] = offset + 16 + name.size();
    offset = at[i] + t.byteSize;
  }
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!f.readAt(at[i], data[i], tensors[i]->byteSize, error))
      return false;
  return true;
}

} // namespace rt
} // namespace memc
