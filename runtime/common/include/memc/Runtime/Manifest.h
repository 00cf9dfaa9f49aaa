//===- Manifest.h - The interface of a memc package -------------*- C++ -*-===//
//
// manifest.txt is the contract between memc (which writes it) and the
// runtimes (which build the program's arguments from it); its format is
// docs/package-format.md, its spellings PackageFormat.h. The parser is
// strict so that a compiler bug shows up as a one-line error naming the file
// and line, not as a wrong argument.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_MANIFEST_H
#define MEMC_RUNTIME_MANIFEST_H

#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/Tensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memc {
namespace rt {

/// One `input`, `weight`, `state`, `step` or `output` line.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> dims; ///< Empty for `scalar`.
  uint64_t numElements = 0;
  uint64_t byteSize = 0; ///< numElements * dtypeSize(dtype).
  uint64_t offset = 0;   ///< Weights only: byte offset in weights.bin.
  /// Weights of a train package only: the program overwrites the buffer
  /// with the updated value each step (the line ends with `trainable`).
  bool trainable = false;
  /// States only: the trainable weight whose optimizer state this is.
  std::string param;
};

struct Manifest {
  int version = 0;
  std::string model;       ///< The ONNX file it came from (informational).
  uint64_t arenaBytes = 0; ///< 0: the program allocates its temporaries.
  /// Host memory for the buffers the plan keeps off the device (passed after
  /// the arena); 0: none.
  uint64_t hostPoolBytes = 0;
  /// `target` line: cpu (model.so) or cuda (launch_plan.txt).
  std::string target = package::kTargetCPU;
  /// `train <loss> <optimizer>` (manifest only: the interface has no such
  /// line): what the step was compiled for. Both empty in an inference
  /// package. The runtime does not interpret them; they identify the
  /// training run in a state file's fingerprint.
  std::string trainLoss, trainOptimizer;
  /// In memc_entry's argument order: inputs (a train package's labels come
  /// last), weights, states, the step, outputs.
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> weights;
  std::vector<TensorSpec> states;
  std::optional<TensorSpec> step; ///< A train package's step count t.
  /// A decode program's KV cache buffers (`kv` lines), after the step.
  std::vector<TensorSpec> kvCaches;
  std::vector<TensorSpec> outputs;

  /// A train package: one training step per call (docs/package-format.md).
  bool isTrain() const { return !trainLoss.empty(); }
};

/// Parses manifest text. `fileName` only labels errors. On failure returns
/// false and sets `error` to "<fileName>:<line>: <what>" (no trailing
/// newline). Blank lines and lines starting with '#' are skipped; `model`,
/// `target`, `arena_bytes` and `host_pool_bytes` may be omitted (cpu, 0, 0),
/// everything else is checked:
/// keywords, token counts, dtypes, dims, that a weight's byte size matches
/// its shape and that its offset is 64-byte aligned. Train records: `state`,
/// `step` and a weight's `trainable` only with a `train` line; a train
/// manifest has exactly one `step` (i64 scalar) and exactly one output (the
/// loss, f32 scalar); only floating-point weights are trainable; a state's
/// parameter names a trainable weight; no two trainable weights or states
/// share a name (a state file keys them by name).
bool parseManifest(std::string_view text, const std::string &fileName,
                   Manifest &out, std::string &error);

/// Parses the interface a compiled program declares about itself: the text
/// of model.so's exported `memc_interface` string (docs/package-format.md):
///
///   memc-interface 1
///   arena_bytes <N>
///   host_pool_bytes <N>
///   input|weight|output <name> <dtype> <dims>     (one per argument)
///   weight <name> <dtype> <dims> trainable        (train steps)
///   state <name> <dtype> <dims> <parameter>
///   step <name> i64 scalar
///
/// into a Manifest (weights without offsets; version, model, target and the
/// train line are left at their defaults). Errors as parseManifest's; the
/// records are checked one by one (what they must agree on across lines is
/// the manifest's to check, and checkInterface compares the two).
bool parseInterface(std::string_view text, const std::string &fileName,
                    Manifest &out, std::string &error);

/// Checks that `manifest` (read from `manifestPath`) describes the same
/// arguments, in the same order (with the same trainable flags, states'
/// parameters and step), and the same arena and host pool sizes as
/// the program's interface `program` (from `soName`). manifest.txt decides
/// the buffers memc-run allocates and passes, so any disagreement would
/// make the program read or write out of bounds. On the first difference
/// returns false with `error` = "<manifestPath>: <field> ..., but <soName>
/// was compiled for ...; the package is damaged: recompile it".
bool checkInterface(const Manifest &manifest, const Manifest &program,
                    const std::string &manifestPath, const std::string &soName,
                    std::string &error);

/// Parses `1x128x64` or `scalar`. False on anything else (empty fields,
/// signs, non-digits, values past INT64_MAX).
bool parseDims(std::string_view text, std::vector<int64_t> &dims);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_MANIFEST_H
