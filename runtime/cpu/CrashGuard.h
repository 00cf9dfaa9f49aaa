//===- CrashGuard.h - A crash as one line and an exit code ------*- C++ -*-===//
//
// memc-run calls code it did not compile itself (model.so, and the dynamic
// loader on a possibly damaged file); a crash there must still end as one
// error line and a documented exit code, not a core dump. Shared by the
// inference runner (Runner.cpp) and the train runner (TrainRunner.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_CRASHGUARD_H
#define MEMC_RUNTIME_CPU_CRASHGUARD_H

#include <csignal>
#include <cstddef>
#include <string>

namespace memc {
namespace rt {

/// While alive, turns a crash (SIGSEGV, SIGBUS, SIGFPE, SIGILL) into one
/// line "<prefix><signal name><suffix>" and exit code `exitCode`: a crash of
/// the compiled program is a memc bug (ExitInternal), one while the dynamic
/// loader reads model.so a damaged package (ExitBadPackage), and either way
/// scripts should see a clear line and a code below 128, not a core dump.
/// Handlers and the alternate signal stack (so that a stack overflow is
/// reported too) are restored on exit. One at a time: the handler's text
/// is process-wide.
class CrashGuard {
public:
  CrashGuard(const std::string &prefix, const std::string &suffix,
             int exitCode);
  ~CrashGuard();
  CrashGuard(const CrashGuard &) = delete;
  CrashGuard &operator=(const CrashGuard &) = delete;

private:
  static constexpr size_t kSignals = 4;
  static constexpr int kSignalList[kSignals] = {SIGSEGV, SIGBUS, SIGFPE,
                                                SIGILL};

  /// Async-signal-safe: write(2) of preformatted text, then _exit.
  static void onSignal(int sig);

  static char prefix_[1024], suffix_[256];
  static size_t prefixLen_, suffixLen_;
  static int exitCode_;
  alignas(16) static char altStack_[1 << 16];
  struct sigaction old_[kSignals];
  stack_t oldStack_ = {};
  bool haveAltStack_ = false;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_CRASHGUARD_H
