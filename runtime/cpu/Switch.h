//===- Switch.h - a kernel choice users and tests can turn off --*- C++ -*-===//
//
// MEMC_PACKED_WEIGHTS=0 and MEMC_WINOGRAD=0 turn a kernel choice off for a
// process (to compare with it, or rule it out); tests turn the same choice
// off and on again in one process, after the variable has been read. No
// MLIR here.
//
//===----------------------------------------------------------------------===//

#ifndef MEMC_RUNTIME_CPU_SWITCH_H
#define MEMC_RUNTIME_CPU_SWITCH_H

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace memc::rt {

/// On unless its environment variable is "0" (read at the first question)
/// or a test has turned it off.
class Switch {
public:
  explicit Switch(const char *variable) : variable(variable) {}

  bool on() const {
    if (!allowed.load(std::memory_order_relaxed))
      return false;
    int env = fromEnvironment.load(std::memory_order_relaxed);
    if (env < 0) {
      // Threads that race here read the same variable.
      const char *s = std::getenv(variable);
      env = s && std::strcmp(s, "0") == 0 ? 0 : 1;
      fromEnvironment.store(env, std::memory_order_relaxed);
    }
    return env == 1;
  }
  /// false: off whatever the environment says; true: as it says.
  void allow(bool on) { allowed.store(on, std::memory_order_relaxed); }

private:
  const char *variable;
  mutable std::atomic<int> fromEnvironment{-1};
  std::atomic<bool> allowed{true};
};

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_SWITCH_H
