//===- Runner.cpp - What memc-run does with a CPU package -----------------===//
//
// The order of work is chosen so that every bad input is reported before the
// program runs: package, then data files, then allocation; only then the
// calls (the device-independent parts are runtime/common's RunCommon.cpp).
// Peak memory is measured per call (peak above the bytes live when the call
// starts), so a program that leaks does not inflate the number with the
// iteration count; the leak itself is reported as a warning.
//
//===----------------------------------------------------------------------===//

#include "Runner.h"

#include "Package.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc_runtime.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstring>
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
      : ptr(bytes ? _mlir_memref_to_llvm_aligned_alloc(
                        package::kArgumentAlignment, size_t(bytes))
                  : nullptr) {}
  ~TrackedBlock() { _mlir_memref_to_llvm_free(ptr); }
  TrackedBlock(const TrackedBlock &) = delete;
  TrackedBlock &operator=(const TrackedBlock &) = delete;
  void *data() const { return ptr; }

private:
  void *ptr;
};

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

} // namespace

int runPackage(const RunOptions &opts, std::FILE *out, std::FILE *err) {
  auto failWith = [&](int code, const std::string &line) {
    return reportRunError(out, err, code, line);
  };

  Package pkg;
  std::string error;
  bool loaded;
  {
    // model.so's ELF structures are checked before dlopen, but not every
    // byte the loader reads (relocations, symbol tables): a file damaged in
    // there is still a package error, not a crash.
    CrashGuard crashGuard(
        "memc-run: " + joinPath(opts.package, package::kModelFile) +
            ": the dynamic loader crashed on it (signal ",
        "): the package is damaged; recompile it", ExitBadPackage);
    loaded = pkg.load(opts.package, error);
  }
  if (!loaded)
    return failWith(ExitBadPackage, error);
  const Manifest &m = pkg.manifest();

  if (opts.device == package::kTargetCUDA)
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
    CrashGuard crashGuard(
        "memc-run: " + joinPath(opts.package, package::kModelFile) +
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
                 joinPath(opts.package, package::kModelFile).c_str(), maxLeak);
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
