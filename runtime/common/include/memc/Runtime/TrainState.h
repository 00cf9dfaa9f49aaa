//===- TrainState.h - memc-run's --save-state / --resume files --*- C++ -*-===//
//
// A train package's progress is its trainable weights, its optimizer states
// and the step count; a state file holds exactly these, so that a run can
// stop and a later one continue as if it never had (docs/package-format.md
// "Train packages"):
//
//   memc-train-state 1\n
//   steps <N> tensors <M> fingerprint <16 hex digits>\n
//   M records: <u64 name length> <name> <u64 byte size> <bytes>
//   <u64 checksum>
//
// Integers are little-endian. The records are the trainable weights, then
// the states, each group in manifest order. The fingerprint identifies the
// package's training layout (trainStateFingerprint), the checksum is FNV-1a
// 64 of every byte before it. A state file is untrusted input: every
// problem is one line naming the file.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_TRAINSTATE_H
#define MEMC_RUNTIME_TRAINSTATE_H

#include "memc/Runtime/Manifest.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memc {
namespace rt {

/// FNV-1a 64: small, fast and endian-free; a checksum against damage, not
/// a defence against tampering.
inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
uint64_t fnv1a64(const void *data, size_t n, uint64_t hash = kFnvOffsetBasis);

/// The tensors a state file holds, in file order: `m`'s trainable weights,
/// then its states (each group in manifest order).
std::vector<const TensorSpec *> trainStateTensors(const Manifest &m);

/// FNV-1a 64 of the canonical text of what a state of `m` must match:
/// `train <loss> <optimizer>`, then `weight <name> <dtype> <dims>` per
/// trainable weight and `state <name> <dtype> <dims> <parameter>` per
/// state, one per line. Another optimizer, hyperparameter, name, dtype or
/// shape gives another fingerprint.
uint64_t trainStateFingerprint(const Manifest &m);

/// The largest step count a state file may hold: a run continues from it,
/// and its step counts must still fit an int64.
inline constexpr uint64_t kMaxTrainSteps = uint64_t(1) << 62;

/// Writes `steps` (the steps done) and, for each of trainStateTensors(m),
/// the bytes at data[i] (its byteSize), to `path`, atomically (OutputFile).
/// Errors read "<path>: <what>".
bool writeTrainState(const std::string &path, const Manifest &m, uint64_t steps,
                     const std::vector<const void *> &data, std::string &error);

/// Reads a state file written by writeTrainState for a package like `m`:
/// checks the magic, version, fingerprint, tensor names and sizes, the
/// file's length and its checksum, and only then copies each tensor's bytes
/// to data[i] (trainStateTensors order) and sets `steps`. On failure
/// returns false with `error` = "<path>: <what>" ("truncated ...",
/// "checksum mismatch ...", "was saved from a different package: ...").
bool readTrainState(const std::string &path, const Manifest &m,
                    const std::vector<void *> &data, uint64_t &steps,
                    std::string &error);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_TRAINSTATE_H
