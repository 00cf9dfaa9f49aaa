//===- CallProfile.h - memc-run --profile on the CPU ------------*- C++ -*-===//
//
// Where a CPU run's time goes, by runtime call: each GEMM entry point by
// its shape, memrefCopy, each memc_rt_parallel_for by the kernel it runs. Off
// unless memc-run --profile starts it; then the calls of the thread that
// started it are timed (the pool's workers run parts of those same calls), and
// a call inside another timed call counts for the outer one only.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_CALLPROFILE_H
#define MEMC_RUNTIME_CPU_CALLPROFILE_H

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace memc {
namespace rt {

/// One runtime call site's total over a profile.
struct ProfileEntry {
  /// "ENTRY m M n N k K" (a GEMM entry point, memc_rt_ left out),
  /// "memrefCopy", or "parallel_for KERNEL" (the generated kernel's
  /// symbol, or FILE+0xOFFSET when it has none).
  std::string what;
  int64_t calls = 0;
  double ms = 0;
};

/// Starts timing this thread's runtime calls, from zero.
void startCallProfile();
/// Stops, and returns what was timed since the start, most time first.
std::vector<ProfileEntry> stopCallProfile();

/// memc-run --profile's lines for `entries` over `runs` runs that took
/// `totalMs` in all:
///   profile_runs: R
///   profile_ms_per_run: T (runtime calls C: X ms; outside them Y ms)
///   profile: P% X ms N/run WHAT
/// for the `top` entries with the most time (all when top <= 0), P the
/// share of T, X and N per run.
std::string formatCallProfile(const std::vector<ProfileEntry> &entries,
                              int64_t runs, double totalMs, int top);

/// Times the runtime call it lives in while a profile runs on this thread
/// and no other timed call encloses it. One relaxed load when none runs.
class ProfiledCall {
public:
  /// An entry point (`entry` a string literal), a GEMM's shape m x n x k
  /// (zeros for other calls).
  ProfiledCall(const char *entry, int64_t m, int64_t n, int64_t k);
  /// A parallel loop running `kernel`.
  explicit ProfiledCall(const void *kernel);
  ~ProfiledCall();
  ProfiledCall(const ProfiledCall &) = delete;
  ProfiledCall &operator=(const ProfiledCall &) = delete;

private:
  void begin();
  const char *entry_ = nullptr;
  const void *kernel_ = nullptr;
  int64_t m_ = 0, n_ = 0, k_ = 0;
  bool entered_ = false; ///< begin() counted this call in the depth
  bool timed_ = false;   ///< the outermost: its time is recorded
  std::chrono::steady_clock::time_point start_;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_CALLPROFILE_H
