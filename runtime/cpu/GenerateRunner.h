//===- GenerateRunner.h - memc-run --generate -------------------*- C++ -*-===//
//
// Greedy decoding with a decode package (docs/package-format.md "Decode
// packages"): the prompt goes through the prefill program a chunk of rows
// at a time, then the decode program runs once per new token, both writing
// and reading the same KV caches, which the runtime owns. Kept out of
// main() so the unit tests drive it in-process, as Runner.h.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_GENERATERUNNER_H
#define MEMC_RUNTIME_CPU_GENERATERUNNER_H

#include "memc/Runtime/RunCommon.h"

#include <cstdio>

namespace memc {
namespace rt {

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
