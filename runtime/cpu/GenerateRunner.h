//===- GenerateRunner.h - memc-run --generate -------------------*- C++ -*-===//
//
// Greedy decoding with a decode package on the CPU (docs/package-format.md
// "Decode packages"): both programs' model.so loaded, writing and reading
// the same KV caches, which the runtime owns; the loop itself is
// runtime/common's DecodeLoop.h. Kept out of main() so the unit tests drive
// it in-process, as Runner.h.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_GENERATERUNNER_H
#define MEMC_RUNTIME_CPU_GENERATERUNNER_H

#include "memc/Runtime/DecodeLoop.h"
#include "memc/Runtime/DecodeManifest.h"
#include "memc/Runtime/RunCommon.h"

#include <cstdio>
#include <memory>
#include <vector>

namespace memc {
namespace rt {

/// A loaded decode package: both programs, their caches and buffers.
class Decoder {
public:
  Decoder();
  ~Decoder();
  /// Loads the package in `dir`. Returns ExitOK, or the exit code with
  /// `error` set to one line (ExitUsage: not a decode package).
  int open(const std::string &dir, std::string &error);
  const DecodeManifest &manifest() const;
  /// Greedy-decodes `n` tokens after `prompt` (int64 [batch, P]; a
  /// shorter prompt ends at its first negative id, the rest of its row
  /// negative too); each call starts a new generation. ExitBadData (a
  /// prompt of another type or shape, an empty prompt, a token after the
  /// padding; `promptName` names it) or ExitCapacity (the longest prompt +
  /// n > capacity) with `error` set, else ExitOK.
  int generate(const Tensor &prompt, const std::string &promptName, int64_t n,
               Generation &out, std::string &error);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Runs `memc-run PKG --generate N --prompt IDS.pb`: prints `tokens: ...`
/// (one line per sequence), then (not with -q) `prefill_ms:`,
/// `decode_ms_per_token:` and `kv_bytes:`. A prompt that is not an int64
/// [batch, P] tensor of the package's batch is exit 22; P + N beyond the
/// caches' capacity is exit 27. Returns the exit code; an error is one line
/// "memc-run: ..." on `err`.
int runGenerate(const RunOptions &opts, std::FILE *out, std::FILE *err);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_GENERATERUNNER_H
