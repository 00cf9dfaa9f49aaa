//===- Runner.h - What memc-run does, as a library --------------*- C++ -*-===//
//
// memc-run's command line, run loop, timing and report, kept out of main()
// so the unit tests drive the whole path (argv -> package -> memc_entry ->
// comparison -> report lines and exit code) in-process.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_RUNNER_H
#define MEMC_RUNTIME_CPU_RUNNER_H

#include "Tensor.h"

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace memc {
namespace rt {

struct Manifest;

struct RunOptions {
  std::string package;     ///< The package directory (the one positional).
  std::string dataDir;     ///< --data; empty: random inputs, no comparison.
  int64_t iterations = 10; ///< Timed calls (>= 1).
  int64_t warmup = 1;      ///< Untimed calls before them (>= 0).
  double rtol = 1e-3;
  double atol = 1e-5;
  std::string device = "cpu"; ///< cpu | cuda
  uint64_t seed = 0;          ///< For random inputs.
  bool quiet = false;         ///< -q: only mismatching outputs and result.
  bool help = false;          ///< -h/--help was given.
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

/// Loads and runs the package as memc-run does. Report lines go to `out`;
/// an error is one line "memc-run: <file>: <what>" on `err`. Returns the
/// process exit code (memc/ExitCodes.h).
int runPackage(const RunOptions &opts, std::FILE *out, std::FILE *err);

/// A run's tensors: inputs (from --data or random), output buffers, and the
/// reference outputs found in --data.
struct RunData {
  std::vector<Tensor> inputs, outputs, references;
  std::vector<bool> haveReference;
};

/// Reads --data's input_N.pb (checked against the manifest; a file beyond
/// the last input or output is an error) and output_N.pb references, or
/// draws random inputs; allocates the outputs. Returns ExitOK, or an exit
/// code with `error` set to one line. Shared by the CPU and CUDA runners.
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

/// main() of memc-run: parse, print usage/errors, run.
int memcRunMain(int argc, const char *const *argv, std::FILE *out,
                std::FILE *err);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_RUNNER_H
