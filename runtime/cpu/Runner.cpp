//===- Runner.cpp - What memc-run does, as a library ----------------------===//
//
// The order of work is chosen so that every bad input is reported before the
// program runs: package, then data files, then allocation; only then the
// calls. Peak memory is measured per call (peak above the bytes live when the
// call starts), so a program that leaks does not inflate the number with the
// iteration count; the leak itself is reported as a warning.
//
//===----------------------------------------------------------------------===//

#include "Runner.h"

#include "Compare.h"
#include "InputFile.h"
#include "Package.h"
#include "TensorIO.h"
#include "memc/ExitCodes.h"
#include "memc_runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace memc {
namespace rt {

namespace {

/// A block from the runtime's tracked allocator (the one the generated code
/// uses), freed on scope exit; no allocation for 0 bytes.
class TrackedBlock {
public:
  explicit TrackedBlock(uint64_t bytes)
      : ptr(bytes ? _mlir_memref_to_llvm_aligned_alloc(64, size_t(bytes))
                  : nullptr) {}
  ~TrackedBlock() { _mlir_memref_to_llvm_free(ptr); }
  TrackedBlock(const TrackedBlock &) = delete;
  TrackedBlock &operator=(const TrackedBlock &) = delete;
  void *data() const { return ptr; }

private:
  void *ptr;
};

const char kUsage[] =
    "usage: memc-run PKG [--data DIR] [--iterations N] [--warmup N]\n"
    "                [--rtol X] [--atol X] [--device cpu|cuda] [--seed N] "
    "[-q]\n"
    "\n"
    "Runs the package PKG written by `memc MODEL -o PKG`.\n"
    "  --data DIR      inputs from DIR/input_<i>.pb; outputs compared with\n"
    "                  DIR/output_<i>.pb where present (ONNX backend-test "
    "layout)\n"
    "                  (default: random inputs, nothing compared)\n"
    "  --iterations N  timed calls, N >= 1 (default 10)\n"
    "  --warmup N      untimed calls first (default 1)\n"
    "  --rtol X        relative tolerance (default 1e-3)\n"
    "  --atol X        absolute tolerance (default 1e-5)\n"
    "                  an element matches when |a-b| <= atol + rtol*|b|\n"
    "  --device D      cpu (default) or cuda\n"
    "  --seed N        seed of the random inputs (default 0)\n"
    "  -q              print only mismatching outputs and the result line\n";

bool parseInt(const std::string &s, int64_t lo, int64_t hi, int64_t &out) {
  if (s.empty() || s[0] == ' ' || s[0] == '+')
    return false;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parseTolerance(const std::string &s, double &out) {
  if (s.empty() || s[0] == ' ')
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v) || v < 0)
    return false;
  out = v;
  return true;
}

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string joinPath(const std::string &dir, const std::string &file) {
  if (!dir.empty() && dir.back() == '/')
    return dir + file;
  return dir + "/" + file;
}

std::string describe(DType t, const std::vector<int64_t> &dims) {
  return std::string(dtypeName(t)) + " " + formatDims(dims);
}

} // namespace

void LatencyStats::add(double ms) {
  ++count_;
  min_ = count_ == 1 ? ms : std::min(min_, ms);
  if (samples_.size() < kMaxSamples) {
    samples_.push_back(ms);
    return;
  }
  // Algorithm R: call i (1-based) replaces a random kept sample with
  // probability kMaxSamples / i, so the kept ones stay a uniform sample.
  uint64_t j = rng_() % count_;
  if (j < kMaxSamples)
    samples_[size_t(j)] = ms;
}

double LatencyStats::median() const {
  if (samples_.empty())
    return 0;
  std::vector<double> v = samples_;
  std::sort(v.begin(), v.end());
  size_t mid = v.size() / 2;
  return v.size() % 2 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

/// Fills `t` with the documented random values: floats uniform in [-1, 1],
/// integers in [0, 10), bools 0/1. The generator and the mapping from its
/// bits are spelled out (no std:: distributions, whose output is
/// implementation-defined), so a seed means the same inputs everywhere.
void fillRandom(Tensor &t, std::mt19937_64 &rng) {
  uint64_t n = t.numElements();
  auto *p = static_cast<unsigned char *>(t.buffer.data());
  auto unit = [&] { return double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0; };
  auto small = [&] { return rng() % 10; };
  for (uint64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
    case DType::F32: {
      float v = float(unit());
      std::memcpy(p + 4 * i, &v, 4);
      break;
    }
    case DType::F64: {
      double v = unit();
      std::memcpy(p + 8 * i, &v, 8);
      break;
    }
    case DType::F16: {
      uint16_t v = floatToHalf(float(unit()));
      std::memcpy(p + 2 * i, &v, 2);
      break;
    }
    case DType::BF16: {
      uint16_t v = floatToBf16(float(unit()));
      std::memcpy(p + 2 * i, &v, 2);
      break;
    }
    case DType::I8:
    case DType::U8:
      p[i] = uint8_t(small());
      break;
    case DType::I16:
    case DType::U16: {
      uint16_t v = uint16_t(small());
      std::memcpy(p + 2 * i, &v, 2);
      break;
    }
    case DType::I32:
    case DType::U32: {
      uint32_t v = uint32_t(small());
      std::memcpy(p + 4 * i, &v, 4);
      break;
    }
    case DType::I64:
    case DType::U64: {
      uint64_t v = small();
      std::memcpy(p + 8 * i, &v, 8);
      break;
    }
    case DType::Bool:
      p[i] = uint8_t(rng() >> 63);
      break;
    }
  }
}

namespace {

/// While alive, turns a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL) into one
/// line "<prefix><signal name><suffix>" and exit code `exitCode`: a crash of
/// the compiled program is a memc bug (ExitInternal), one while the dynamic
/// loader reads model.so a damaged package (ExitBadPackage), and either way
/// scripts should see a clear line and a code below 128, not a core dump.
/// Handlers and the alternate signal stack (so that a stack overflow is
/// reported too) are restored on exit.
class CrashGuard {
public:
  CrashGuard(const std::string &prefix, const std::string &suffix,
             int exitCode) {
    auto store = [](const std::string &from, char *to, size_t cap) {
      size_t n = std::min(from.size(), cap);
      std::memcpy(to, from.data(), n);
      return n;
    };
    prefixLen_ = store(prefix, prefix_, sizeof prefix_);
    suffixLen_ = store(suffix + "\n", suffix_, sizeof suffix_);
    exitCode_ = exitCode;
    stack_t ss = {};
    ss.ss_sp = altStack_;
    ss.ss_size = sizeof altStack_;
    haveAltStack_ = ::sigaltstack(&ss, &oldStack_) == 0;
    struct sigaction sa = {};
    sa.sa_handler = &CrashGuard::onSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    for (size_t i = 0; i < kSignals; ++i)
      ::sigaction(kSignalList[i], &sa, &old_[i]);
  }
  ~CrashGuard() {
    for (size_t i = 0; i < kSignals; ++i)
      ::sigaction(kSignalList[i], &old_[i], nullptr);
    if (haveAltStack_)
      ::sigaltstack(&oldStack_, nullptr);
  }
  CrashGuard(const CrashGuard &) = delete;
  CrashGuard &operator=(const CrashGuard &) = delete;

private:
  static constexpr size_t kSignals = 4;
  static constexpr int kSignalList[kSignals] = {SIGSEGV, SIGBUS, SIGFPE,
                                                SIGILL};

  /// Async-signal-safe: write(2) of preformatted text, then _exit.
  static void onSignal(int sig) {
    const char *name = sig == SIGSEGV  ? "SIGSEGV"
                       : sig == SIGBUS ? "SIGBUS"
                       : sig == SIGFPE ? "SIGFPE"
                                       : "SIGILL";
    ssize_t ignored = ::write(2, prefix_, prefixLen_);
    ignored = ::write(2, name, std::strlen(name));
    ignored = ::write(2, suffix_, suffixLen_);
    (void)ignored;
    ::_exit(exitCode_);
  }

  static char prefix_[1024], suffix_[256];
  static size_t prefixLen_, suffixLen_;
  static int exitCode_;
  alignas(16) static char altStack_[1 << 16];
  struct sigaction old_[kSignals];
  stack_t oldStack_ = {};
  bool haveAltStack_ = false;
};
char CrashGuard::prefix_[1024];
char CrashGuard::suffix_[256];
size_t CrashGuard::prefixLen_ = 0;
size_t CrashGuard::suffixLen_ = 0;
int CrashGuard::exitCode_ = ExitInternal;
alignas(16) char CrashGuard::altStack_[1 << 16];

/// Allocates a zeroed tensor of the spec's type and shape.
bool allocateFor(const TensorSpec &spec, Tensor &t) {
  t.dtype = spec.dtype;
  t.dims = spec.dims;
  return t.allocate();
}

} // namespace

const char *runUsage() { return kUsage; }

int parseRunOptions(int argc, const char *const *argv, RunOptions &opts,
                    std::string &error) {
  opts = RunOptions();
  auto usageError = [&](const std::string &what) {
    error = what;
    return int(ExitUsage);
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i] ? argv[i] : "";
    if (arg == "-q" || arg == "--quiet") {
      opts.quiet = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      opts.help = true;
      continue;
    }
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string name = arg, value;
      bool inlineValue = false;
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inlineValue = true;
      }
      static const char *const kValued[] = {
          "--data", "--iterations", "--warmup", "--rtol",
          "--atol", "--device",     "--seed"};
      bool known = std::any_of(std::begin(kValued), std::end(kValued),
                               [&](const char *k) { return name == k; });
      if (!known)
        return usageError("unknown option '" + name +
                          "' (see memc-run --help)");
      if (!inlineValue) {
        if (i + 1 >= argc || !argv[i + 1])
          return usageError(name + " needs a value");
        value = argv[++i];
      }
      if (name == "--data") {
        if (value.empty())
          return usageError("--data needs a directory");
        opts.dataDir = value;
      } else if (name == "--iterations") {
        if (!parseInt(value, 1, 1000000000, opts.iterations))
          return usageError("--iterations '" + value +
                            "' is not an integer >= 1");
      } else if (name == "--warmup") {
        if (!parseInt(value, 0, 1000000000, opts.warmup))
          return usageError("--warmup '" + value + "' is not an integer >= 0");
      } else if (name == "--rtol" || name == "--atol") {
        double &tol = name == "--rtol" ? opts.rtol : opts.atol;
        if (!parseTolerance(value, tol))
          return usageError(name + " '" + value +
                            "' is not a finite number >= 0");
      } else if (name == "--device") {
        if (value != "cpu" && value != "cuda")
          return usageError("--device '" + value + "' is not cpu or cuda");
        opts.device = value;
      } else if (name == "--seed") {
        if (!parseU64(value, opts.seed))
          return usageError("--seed '" + value +
                            "' is not a non-negative integer");
      }
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-')
      return usageError("unknown option '" + arg + "' (see memc-run --help)");
    if (!opts.package.empty())
      return usageError("unexpected argument '" + arg +
                        "' (memc-run takes one package directory)");
    if (arg.empty())
      return usageError("the package directory is an empty string");
    opts.package = arg;
  }
  if (!opts.help && opts.package.empty())
    return usageError("missing the package directory (usage: memc-run PKG "
                      "[--data DIR] ...; see --help)");
  return ExitOK;
}

int prepareRunData(const Manifest &m, const RunOptions &opts, RunData &data,
                   std::string &error) {
  auto fail = [&](int code, std::string line) {
    error = std::move(line);
    return code;
  };
  data.inputs = std::vector<Tensor>(m.inputs.size());
  data.outputs = std::vector<Tensor>(m.outputs.size());
  data.references = std::vector<Tensor>(m.outputs.size());
  data.haveReference.assign(m.outputs.size(), false);
  if (!opts.dataDir.empty()) {
    struct stat st;
    if (::stat(opts.dataDir.c_str(), &st) != 0)
      return fail(ExitBadData,
                  opts.dataDir + (errno == ENOENT
                                      ? ": no such data directory"
                                      : ": cannot access the data directory: " +
                                            describeOpenError(errno)));
    if (!S_ISDIR(st.st_mode))
      return fail(ExitBadData, opts.dataDir + ": not a directory (--data "
                                              "takes a directory of "
                                              "input_N.pb files)");
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      std::string path =
          joinPath(opts.dataDir, "input_" + std::to_string(i) + ".pb");
      const TensorSpec &spec = m.inputs[i];
      Tensor &input = data.inputs[i];
      if (!readTensorFile(path, input, error))
        return ExitBadData;
      if (input.dtype != spec.dtype || input.dims != spec.dims)
        return fail(ExitBadData,
                    path + ": " + describe(input.dtype, input.dims) +
                        " does not match the package's input '" + spec.name +
                        "' (" + describe(spec.dtype, spec.dims) + ")");
    }
    std::string extra = joinPath(
        opts.dataDir, "input_" + std::to_string(m.inputs.size()) + ".pb");
    if (exists(extra))
      return fail(ExitBadData, extra + ": the package has only " +
                                   std::to_string(m.inputs.size()) +
                                   " input(s)");
    for (size_t i = 0; i < m.outputs.size(); ++i) {
      std::string path =
          joinPath(opts.dataDir, "output_" + std::to_string(i) + ".pb");
      if (!exists(path))
        continue;
      const TensorSpec &spec = m.outputs[i];
      Tensor &ref = data.references[i];
      if (!readTensorFile(path, ref, error))
        return ExitBadData;
      // A reference of another type or shape is bad data (exit 22), found
      // before the run, not a mismatch of the program's result.
      if (ref.dtype != spec.dtype || ref.dims != spec.dims)
        return fail(ExitBadData, path + ": " + describe(ref.dtype, ref.dims) +
                                     " does not match the package's output '" +
                                     spec.name + "' (" +
                                     describe(spec.dtype, spec.dims) + ")");
      data.haveReference[i] = true;
    }
    extra = joinPath(opts.dataDir,
                     "output_" + std::to_string(m.outputs.size()) + ".pb");
    if (exists(extra))
      return fail(ExitBadData, extra + ": the package has only " +
                                   std::to_string(m.outputs.size()) +
                                   " output(s)");
  } else {
    std::mt19937_64 rng(opts.seed);
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      if (!allocateFor(m.inputs[i], data.inputs[i]))
        return fail(ExitBadPackage,
                    opts.package + ": cannot allocate input '" +
                        m.inputs[i].name + "' (" +
                        describe(m.inputs[i].dtype, m.inputs[i].dims) + ")");
      fillRandom(data.inputs[i], rng);
    }
  }
  for (size_t i = 0; i < m.outputs.size(); ++i)
    if (!allocateFor(m.outputs[i], data.outputs[i]))
      return fail(ExitBadPackage,
                  opts.package + ": cannot allocate output '" +
                      m.outputs[i].name + "' (" +
                      describe(m.outputs[i].dtype, m.outputs[i].dims) + ")");
  return ExitOK;
}

int reportComparison(const Manifest &m, const RunData &data,
                     const RunOptions &opts, std::FILE *out) {
  size_t compared = 0, mismatched = 0;
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    if (!data.haveReference[i])
      continue;
    ++compared;
    const TensorSpec &spec = m.outputs[i];
    const Tensor &ref = data.references[i];
    if (ref.dtype != spec.dtype || ref.dims != spec.dims) {
      ++mismatched;
      std::fprintf(out, "output %s: %s vs reference %s MISMATCH\n",
                   spec.name.c_str(), describe(spec.dtype, spec.dims).c_str(),
                   describe(ref.dtype, ref.dims).c_str());
      continue;
    }
    CompareStats s = compareBuffers(spec.dtype, data.outputs[i].buffer.data(),
                                    ref.buffer.data(), spec.numElements,
                                    opts.rtol, opts.atol);
    if (!s.ok())
      ++mismatched;
    if (!s.ok() || !opts.quiet)
      std::fprintf(out,
                   "output %s: max_abs_err %.3g max_rel_err %.3g mismatches "
                   "%" PRIu64 "/%" PRIu64 " %s\n",
                   spec.name.c_str(), s.maxAbsErr, s.maxRelErr, s.mismatches,
                   s.total, s.ok() ? "ok" : "MISMATCH");
  }
  if (compared == 0)
    std::fprintf(out, "result: ran (no reference outputs)\n");
  else if (mismatched == 0)
    std::fprintf(out, "result: match\n");
  else
    std::fprintf(out, "result: MISMATCH (%zu of %zu outputs)\n", mismatched,
                 compared);
  std::fflush(out);
  return mismatched ? ExitMismatch : ExitOK;
}

int runPackage(const RunOptions &opts, std::FILE *out, std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    std::fflush(out);
    std::fprintf(err, "memc-run: %s\n", line.c_str());
    std::fflush(err);
    return code;
  };

  Package pkg;
  std::string error;
  bool loaded;
  {
    // model.so's ELF structures are checked before dlopen, but not every
    // byte the loader reads (relocations, symbol tables): a file damaged in
    // there is still a package error, not a crash.
    CrashGuard crashGuard("memc-run: " + joinPath(opts.package, "model.so") +
                              ": the dynamic loader crashed on it (signal ",
                          "): the package is damaged; recompile it",
                          ExitBadPackage);
    loaded = pkg.load(opts.package, error);
  }
  if (!loaded)
    return failWith(ExitBadPackage, error);
  const Manifest &m = pkg.manifest();

  if (opts.device == "cuda")
    return failWith(ExitUsage, "--device cuda: " + opts.package +
                                   ": this package was compiled for the CPU "
                                   "target");

  RunData data;
  if (int code = prepareRunData(m, opts, data, error))
    return failWith(code, error);
  std::vector<Tensor> &inputs = data.inputs, &outputs = data.outputs;

  // The one arena of the plan comes from the same tracked allocator as the
  // program's own heap buffers, so peak_arena_bytes below is what was
  // measured (arena plus anything left on the heap), not the manifest's
  // number. The host pool of spilled buffers is host memory, not arena.
  uint64_t liveBefore = memc_rt_live_bytes();
  TrackedBlock arena(m.arenaBytes);
  uint64_t arenaTracked = memc_rt_live_bytes() - liveBefore;
  if (m.arenaBytes > 0 && !arena.data())
    return failWith(ExitBadPackage, opts.package + ": cannot allocate the " +
                                        std::to_string(m.arenaBytes) +
                                        "-byte arena");
  AlignedBuffer hostPool;
  if (m.hostPoolBytes > 0 && !hostPool.allocate(m.hostPoolBytes))
    return failWith(ExitBadPackage, opts.package +
                                        ": cannot allocate the " +
                                        std::to_string(m.hostPoolBytes) +
                                        "-byte host pool");

  std::vector<void *> args;
  for (Tensor &t : inputs)
    args.push_back(t.buffer.data());
  for (size_t i = 0; i < m.weights.size(); ++i)
    args.push_back(pkg.weightData(i));
  for (Tensor &t : outputs)
    args.push_back(t.buffer.data());
  if (m.arenaBytes > 0)
    args.push_back(arena.data());
  if (m.hostPoolBytes > 0)
    args.push_back(hostPool.data());

  if (!opts.quiet) {
    std::fprintf(out, "package: %s\n", opts.package.c_str());
    std::fprintf(out, "inputs: %zu\n", m.inputs.size());
  }
  std::fflush(out);

  // The calls, and only they, under the crash guard.
  EntryFn entry = pkg.entry();
  uint64_t maxPeak = 0, maxLeak = 0;
  LatencyStats ms;
  {
    CrashGuard crashGuard("memc-run: " + joinPath(opts.package, "model.so") +
                              ": the compiled program crashed (signal ",
                          ")", ExitInternal);
    auto call = [&]() {
      uint64_t before = memc_rt_live_bytes();
      memc_rt_reset_peak();
      entry(args.data());
      uint64_t peak = memc_rt_peak_bytes() - before;
      uint64_t after = memc_rt_live_bytes();
      maxPeak = std::max(maxPeak, peak);
      if (after > before)
        maxLeak = std::max(maxLeak, after - before);
    };
    for (int64_t i = 0; i < opts.warmup; ++i)
      call();
    for (int64_t i = 0; i < opts.iterations; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      call();
      auto t1 = std::chrono::steady_clock::now();
      ms.add(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
  }

  if (maxLeak > 0 && !opts.quiet) {
    std::fflush(out);
    std::fprintf(err,
                 "memc-run: warning: %s: the program did not free %" PRIu64
                 " bytes in one call\n",
                 joinPath(opts.package, "model.so").c_str(), maxLeak);
    std::fflush(err);
  }
  if (!opts.quiet) {
    std::fprintf(out, "latency_ms: %.3f\n", ms.median());
    std::fprintf(out, "latency_min_ms: %.3f\n", ms.min());
    std::fprintf(out, "peak_arena_bytes: %" PRIu64 "\n",
                 arenaTracked + maxPeak);
    std::fprintf(out, "weights_bytes: %" PRIu64 "\n", pkg.weightsBytes());
  }

  // The comparison, on the last call's outputs.
  return reportComparison(m, data, opts, out);
}

int memcRunMain(int argc, const char *const *argv, std::FILE *out,
                std::FILE *err) {
  RunOptions opts;
  std::string error;
  if (parseRunOptions(argc, argv, opts, error) != ExitOK) {
    std::fprintf(err, "memc-run: %s\n", error.c_str());
    return ExitUsage;
  }
  if (opts.help) {
    std::fputs(runUsage(), out);
    return ExitOK;
  }
  return runPackage(opts, out, err);
}

} // namespace rt
} // namespace memc
