//===- RunCommon.h - What memc-run does on either device --------*- C++ -*-===//
//
// memc-run's command line, data files, timings and report, shared by the
// CPU runner (runtime/cpu/Runner.h) and the CUDA one
// (runtime/cuda/CudaRunner.h): both take the same options, read the same
// --data layout, print the same report lines and compare the same way.
// Kept out of main() so the unit tests drive them in-process.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_RUNCOMMON_H
#define MEMC_RUNTIME_RUNCOMMON_H

#include "memc/Runtime/PackageFormat.h"
#include "memc/Runtime/Tensor.h"

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace memc {
namespace rt {

struct Manifest;

/// The lines memc-run --profile prints (the calls or plan steps with the
/// most time).
inline constexpr int kProfileTop = 20;

struct RunOptions {
  std::string package;     ///< The package directory (the one positional).
  std::string dataDir;     ///< --data; empty: random inputs, no comparison.
  int64_t iterations = 10; ///< Timed calls (>= 1).
  int64_t warmup = 1;      ///< Untimed calls before them (>= 0).
  double rtol = 1e-3;
  double atol = 1e-5;
  /// cpu | cuda: the targets a package may be compiled for.
  std::string device = package::kTargetCPU;
  uint64_t seed = 0;  ///< For random inputs.
  bool quiet = false; ///< -q: only mismatching outputs and result.
  bool help = false;  ///< -h/--help was given.
  /// --profile: over the timed calls (or all train steps), each runtime
  /// call's time on the CPU, each launch-plan step's device time with
  /// --device cuda. The costliest kProfileTop first.
  bool profile = false;

  /// --train: run a train package's steps on the batches in --data's
  /// test_data_set_N directories (TrainLoop.h), on either device.
  bool train = false;
  int64_t steps = 1;     ///< --steps: train steps in this run (>= 1).
  std::string saveModel; ///< --save-model: the ONNX model, trained.
  std::string saveState; ///< --save-state: parameters + optimizer state.
  std::string resume;    ///< --resume: a --save-state file to continue from.

  /// --generate N: decode N tokens greedily with a decode package
  /// (GenerateRunner.h); 0: not a generate run.
  int64_t generate = 0;
  std::string prompt; ///< --prompt: the prompt ids, [batch, P] int64 (.pb).
};

/// Per-call timings in bounded memory, whatever --iterations is (up to
/// 1e9): the first kMaxSamples are all kept, so the median is exact up to
/// there; beyond, a uniform random sample of kMaxSamples (reservoir
/// sampling, fixed seed) is kept and its median estimates the true one. The
/// minimum and the count are always exact.
class LatencyStats {
public:
  static constexpr size_t kMaxSamples = size_t(1) << 16;

  void add(double ms);
  double median() const; ///< Of the kept samples; 0 when there are none.
  double min() const { return min_; }
  uint64_t count() const { return count_; }
  size_t kept() const { return samples_.size(); }

private:
  std::vector<double> samples_;
  uint64_t count_ = 0;
  double min_ = 0;
  std::mt19937_64 rng_{0x6d656d63}; // "memc": the same sample every run
};

/// The usage text (several lines, ends with a newline).
const char *runUsage();

/// Parses memc-run's arguments (argv[0] is the program name). Flags take
/// their value as the next argument or after '='. Returns 0 (ExitOK), or
/// ExitUsage with `error` set to one line (no "memc-run: " prefix).
int parseRunOptions(int argc, const char *const *argv, RunOptions &opts,
                    std::string &error);

/// A run's tensors: inputs (from --data or random), output buffers, and the
/// reference outputs found in --data.
struct RunData {
  std::vector<Tensor> inputs, outputs, references;
  std::vector<bool> haveReference;
};

/// Reads `dir`/input_<i>.pb for each of the manifest's inputs, each checked
/// against its input's dtype and shape; a file beyond the last input is an
/// error too. Returns ExitOK, or ExitBadData with `error` set to one line
/// naming the file (or the directory, when it is missing or no directory).
int readInputFiles(const Manifest &m, const std::string &dir,
                   std::vector<Tensor> &inputs, std::string &error);

/// Reads --data's input_N.pb (checked against the manifest; a file beyond
/// the last input or output is an error) and output_N.pb references, or
/// draws random inputs; allocates the outputs. Returns ExitOK, or an exit
/// code with `error` set to one line.
int prepareRunData(const Manifest &m, const RunOptions &opts, RunData &data,
                   std::string &error);

/// Compares every output that has a reference (opts.rtol/atol), prints one
/// line per output (only mismatches with opts.quiet) and the `result:` line.
/// Returns ExitOK or ExitMismatch.
int reportComparison(const Manifest &m, const RunData &data,
                     const RunOptions &opts, std::FILE *out);

/// Fills `t` with memc-run's documented random inputs for `seed`'s
/// generator (floats uniform in [-1, 1], integers in [0, 10), bools 0/1).
void fillRandom(Tensor &t, std::mt19937_64 &rng);

/// Prints "memc-run: <line>" on `err` (after flushing `out`, so the report
/// lines come first) and returns `code`: how both runners fail.
int reportRunError(std::FILE *out, std::FILE *err, int code,
                   const std::string &line);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_RUNCOMMON_H
