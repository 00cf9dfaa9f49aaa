//===- Compiler.h - memc's compile driver -----------------------*- C++ -*-===//
#ifndef MEMC_DRIVER_COMPILER_H
#define MEMC_DRIVER_COMPILER_H

#include "memc/Driver/TrainOptions.h"
#include "memc/ExitCodes.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace memc {

enum class EmitKind {
  Package,
  Einsum,
  Linalg,
  Memref,
  Plan,
  LLVMDialect,
  LLVMIR,
  PTX
};
enum class TargetKind { CPU, CUDA };

/// --decode: a causal LM -> a prefill and a one-token decode program over
/// KV caches (docs/package-format.md "Decode packages").
struct DecodeOptions {
  bool enabled = false;
  /// --kv-layout=paged:N: caches in blocks of N tokens (0: contiguous).
  int64_t pageSize = 0;
  /// --prefill-rows: rows per prefill call (0: the largest divisor of the
  /// sequence length up to 64).
  int64_t prefillRows = 0;
  /// --kv-capacity: the caches' rows for an export with past key/value
  /// inputs (0: a plain export, whose capacity is its sequence length).
  int64_t capacity = 0;
  /// --kv-dtype: f32, f16, or i8 with per-row scales.
  std::string kvDtype = "f32";
  /// The rows of the one program being compiled (set by the driver for
  /// each program of the package; 0: compile the package).
  int64_t rows = 0;
};

struct CompilerOptions {
  std::string input;
  std::string output; ///< package dir, or IR file ("-": stdout)
  EmitKind emit = EmitKind::Package;
  std::map<std::string, std::vector<int64_t>> inputShapes;
  TargetKind target = TargetKind::CPU;
  std::string cpu = "native";
  std::string cudaArch = "sm_90"; ///< --cuda-arch, checked by compile()
  bool cudaCublas = true;         ///< --cuda-gemm=cublas (else kernels)
  /// --cuda-attention: the fused attention kernel on tensor cores (true) or
  /// CUDA cores (false); unset: tensor cores where the arch has TF32 mma.
  std::optional<bool> cudaTensorCores;
  /// --cuda-host-kernels: the package also gets kernels-host.so, the kernels
  /// built for the host CPU, which the tests' fake libcuda runs.
  bool cudaHostKernels = false;
  unsigned optLevel = 3;
  bool verbose = false;
  /// Arena capacity in bytes; 0: no budget.
  uint64_t memBudget = 0;
  /// Check the arena plan with the independent verifier (always done when a
  /// report is written).
  bool verifyPlan = false;
  std::string reportPath;   ///< --report=FILE.json
  std::string timelinePath; ///< --timeline=FILE.svg
  uint64_t plannerSeed = 0;
  /// --plan-time-limit: seconds the mapper's searches may take.
  double planTimeLimit = 1.5;
  /// FuseMax attention fusion (passes/FuseMaxAttention); --no-fusemax.
  bool fusemax = true;
  /// --train: compile one training step instead of inference.
  TrainOptions train;
  /// --decode: compile the programs of autoregressive decoding.
  DecodeOptions decode;
};

/// Parses `1048576`, `512KiB`, `64MiB`, `8GiB` (also K/M/G, KB/MB/GB as
/// binary units, and a B suffix); false on malformed text or overflow.
bool parseByteSize(const std::string &text, uint64_t &bytes);

/// Parses `1x128x64` (or `scalar`) into dims; false on malformed text.
bool parseDims(const std::string &text, std::vector<int64_t> &dims);

/// Compiles per `options`; prints one error line on failure and returns a
/// distinct exit code. Never leaves a partial output behind.
ExitCode compile(const CompilerOptions &options);

} // namespace memc

#endif
