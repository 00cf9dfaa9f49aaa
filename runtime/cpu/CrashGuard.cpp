//===- CrashGuard.cpp - A crash as one line and an exit code --------------===//
//
// The text is formatted when the guard is set up, into static buffers, so
// that the handler only calls write(2) and _exit(2), which are
// async-signal-safe.
//
//===----------------------------------------------------------------------===//

#include "CrashGuard.h"

#include "memc/ExitCodes.h"

#include <algorithm>
#include <cstring>
#include <unistd.h>

namespace memc {
namespace rt {

char CrashGuard::prefix_[1024];
char CrashGuard::suffix_[256];
size_t CrashGuard::prefixLen_ = 0;
size_t CrashGuard::suffixLen_ = 0;
int CrashGuard::exitCode_ = ExitInternal;
alignas(16) char CrashGuard::altStack_[1 << 16];

CrashGuard::CrashGuard(const std::string &prefix, const std::string &suffix,
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

CrashGuard::~CrashGuard() {
  for (size_t i = 0; i < kSignals; ++i)
    ::sigaction(kSignalList[i], &old_[i], nullptr);
  if (haveAltStack_)
    ::sigaltstack(&oldStack_, nullptr);
}

void CrashGuard::onSignal(int sig) {
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

} // namespace rt
} // namespace memc
