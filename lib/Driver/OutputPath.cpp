//===- OutputPath.cpp - where memc may write, and how ---------------------===//
#include "OutputPath.h"

#include "memc/Runtime/PackageFormat.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

namespace memc {

namespace {

constexpr const char kTempMarker[] = ".memc-tmp-";

//===----------------------------------------------------------------------===//
// Removal that is safe inside a signal handler: only system calls, no
// allocation, no stdio.
//===----------------------------------------------------------------------===//

struct LinuxDirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

bool isDotOrDotDot(const char *name) {
  return name[0] == '.' &&
         (name[1] == 0 || (name[1] == '.' && name[2] == 0));
}

/// Removes `name` under `parentFd`, recursively. A package is two levels
/// deep at most; the depth cap only guards the stack.
void removeTreeAt(int parentFd, const char *name, int depth) {
  if (unlinkat(parentFd, name, 0) == 0 || errno == ENOENT)
    return;
  if (depth > 16)
    return;
  int fd = openat(parentFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                      O_CLOEXEC);
  if (fd < 0)
    return;
  // Removing entries while reading the directory may hide others from the
  // same pass: read it again until a pass removes nothing.
  for (int pass = 0; pass < 8; ++pass) {
    alignas(8) char buf[4096];
    bool removed = false;
    lseek(fd, 0, SEEK_SET);
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0)
        break;
      for (long pos = 0; pos < n;) {
        auto *entry = reinterpret_cast<LinuxDirent64 *>(buf + pos);
        pos += entry->reclen;
        if (isDotOrDotDot(entry->name))
          continue;
        removeTreeAt(fd, entry->name, depth + 1);
        removed = true;
      }
    }
    if (!removed)
      break;
  }
  close(fd);
  unlinkat(parentFd, name, AT_REMOVEDIR);
}

void removeTree(const char *path) { removeTreeAt(AT_FDCWD, path, 0); }

//===----------------------------------------------------------------------===//
// The temporaries of this process, for the signal handler.
//===----------------------------------------------------------------------===//

constexpr int kSlots = 8;
constexpr size_t kPathMax = 4096;
char slotPaths[kSlots][kPathMax];
std::atomic<bool> slotUsed[kSlots];

void onFatalSignal(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (slotUsed[i].load())
      removeTree(slotPaths[i]);
  // Die of the signal, as the parent expects.
  signal(sig, SIG_DFL);
  raise(sig);
}

void installHandlers() {
  static bool installed = [] {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = onFatalSignal;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old;
      // Keep an inherited "ignore" (nohup): the user asked for it.
      if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN)
        continue;
      sigaction(sig, &action, nullptr);
    }
    return true;
  }();
  (void)installed;
}

int registerTemporary(const std::string &path) {
  if (path.size() >= kPathMax)
    return -1;
  installHandlers();
  // Only the main thread registers; the handler reads a slot's path only
  // after its flag is set, so it never sees half a path.
  for (int i = 0; i < kSlots; ++i) {
    if (slotUsed[i].load())
      continue;
    memcpy(slotPaths[i], path.c_str(), path.size() + 1);
    slotUsed[i].store(true);
    return i;
  }
  return -1;
}

void unregisterTemporary(int slot) {
  if (slot >= 0)
    slotUsed[slot].store(false);
}

//===----------------------------------------------------------------------===//
// Paths
//===----------------------------------------------------------------------===//

std::string parentOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// The canonical absolute path of an existing file, or "".
std::string realPath(const std::string &path) {
  char *resolved = ::realpath(path.c_str(), nullptr);
  if (!resolved)
    return "";
  std::string result(resolved);
  free(resolved);
  return result;
}

/// True when `inner` is `outer` or below it (both canonical).
bool isWithin(const std::string &inner, const std::string &outer) {
  if (inner.empty() || outer.empty())
    return false;
  if (outer == "/")
    return true;
  return inner == outer || (inner.size() > outer.size() &&
                            inner.compare(0, outer.size(), outer) == 0 &&
                            inner[outer.size()] == '/');
}

bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/// "TARGET.memc-tmp-PID-XXXXXX", not yet existing.
std::string uniqueTemporary(const std::string &target) {
  static std::mt19937_64 rng(std::random_device{}() ^ (uint64_t)getpid());
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (;;) {
    std::string path =
        target + kTempMarker + std::to_string(getpid()) + "-";
    for (int i = 0; i < 6; ++i)
      path += alphabet[rng() % (sizeof alphabet - 1)];
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 && errno == ENOENT)
      return path;
  }
}

/// Creates every missing directory of `dir`.
bool makeDirectories(const std::string &dir, std::string &error) {
  struct stat st;
  if (dir.empty() || stat(dir.c_str(), &st) == 0)
    return true;
  if (!makeDirectories(parentOf(dir), error))
    return false;
  if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    error = "cannot create " + dir + ": " + strerror(errno);
    return false;
  }
  return true;
}

} // namespace

bool isMemcPackage(const std::string &dir) {
  std::string manifest = dir + "/" + package::kManifestFile;
  struct stat st;
  if (stat(manifest.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return false;
  std::ifstream in(manifest);
  std::string line;
  return std::getline(in, line) &&
         line.rfind(std::string(package::kManifestMagic) + " ", 0) == 0;
}

ExitCode checkOutputPath(const std::string &target, OutputKind kind,
                         const std::string &input, std::string &error) {
  if (kind == OutputKind::Package && (target.empty() || target == "-")) {
    error = target.empty() ? "-o PACKAGE_DIR is required"
                           : "-o -: a package is a directory and cannot go to "
                             "stdout (stdout is for --emit=IR)";
    return ExitUsage;
  }
  if (kind == OutputKind::Text && (target.empty() || target == "-"))
    return ExitOK;
  struct stat st;
  if (lstat(target.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return ExitOK; // a new path: nothing to lose
    error = target + ": " + strerror(errno);
    return ExitOutput;
  }
  if (kind == OutputKind::Package) {
    if (S_ISLNK(st.st_mode)) {
      error = target + " is a symbolic link; memc replaces only a package "
                       "directory it wrote (give the link's target)";
      return ExitOutput;
    }
    if (!S_ISDIR(st.st_mode)) {
      error = target + " exists and is not a directory; memc writes a "
                       "package directory there only if it is free or holds "
                       "a memc package";
      return ExitOutput;
    }
    if (!input.empty() && isWithin(realPath(input), realPath(target))) {
      error = target + " holds the input model " + input +
              "; memc will not replace it (choose another -o)";
      return ExitOutput;
    }
    if (!isMemcPackage(target)) {
      error = target + " exists and is not a memc package (no manifest.txt "
                       "with a memc-package header); memc replaces only its "
                       "own packages, so nothing was written (remove it or "
                       "choose another -o)";
      return ExitOutput;
    }
    return ExitOK;
  }
  // A text file.
  if (S_ISDIR(st.st_mode)) {
    error = target + " is a directory; this output is a file";
    return ExitOutput;
  }
  if (!input.empty() && sameFile(target, input)) {
    error = target + " is the input model; memc will not overwrite it";
    return ExitOutput;
  }
  return ExitOK;
}

void sweepStaleTemporaries(const std::string &dir) {
  DIR *d = opendir(dir.c_str());
  if (!d)
    return;
  std::vector<std::string> stale;
  while (struct dirent *entry = readdir(d)) {
    const char *marker = strstr(entry->d_name, kTempMarker);
    if (!marker)
      continue;
    const char *digits = marker + sizeof kTempMarker - 1;
    char *end = nullptr;
    errno = 0;
    long pid = strtol(digits, &end, 10);
    if (end == digits || *end != '-' || errno || pid <= 0 || pid == getpid())
      continue;
    // ESRCH: no such process. EPERM means it lives (another user's).
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
      stale.push_back(dir + "/" + entry->d_name);
  }
  closedir(d);
  for (const std::string &path : stale)
    removeTree(path.c_str());
}

StagedOutput::StagedOutput(std::string target, OutputKind kind,
                           std::string input)
    : target(std::move(target)), input(std::move(input)), kind(kind) {}

StagedOutput::~StagedOutput() {
  if (!committed && !inPlace && !temp.empty())
    removeTree(temp.c_str());
  unregisterTemporary(slot);
}

ExitCode StagedOutput::create(std::string &error) {
  if (ExitCode rc = checkOutputPath(target, kind, input, error); rc != ExitOK)
    return rc;
  struct stat st;
  if (kind == OutputKind::Text && stat(target.c_str(), &st) == 0 &&
      !S_ISREG(st.st_mode)) {
    // /dev/null, a FIFO: write it as it is; renaming over it would replace
    // the device node.
    inPlace = true;
    temp = target;
    return ExitOK;
  }
  // Stage beside what a symbolic link names, so the link stays a link.
  std::string base = target;
  if (kind == OutputKind::Text) {
    std::string resolved = realPath(target);
    if (!resolved.empty())
      base = resolved;
  }
  std::string parent = parentOf(base);
  if (!makeDirectories(parent, error))
    return ExitOutput;
  sweepStaleTemporaries(parent);
  temp = uniqueTemporary(base);
  target = base;
  slot = registerTemporary(temp);
  if (kind == OutputKind::Package && mkdir(temp.c_str(), 0777) != 0) {
    error = "cannot create " + temp + ": " + strerror(errno);
    temp.clear();
    return ExitOutput;
  }
  return ExitOK;
}

ExitCode StagedOutput::commit(std::string &error) {
  if (inPlace) {
    committed = true;
    return ExitOK;
  }
  // The target may have changed since create(): check again.
  if (ExitCode rc = checkOutputPath(target, kind, input, error); rc != ExitOK)
    return rc;
  if (kind == OutputKind::Text) {
    // rename(2) replaces a file atomically.
    if (rename(temp.c_str(), target.c_str()) != 0) {
      error = "cannot move the output to " + target + ": " + strerror(errno);
      return ExitOutput;
    }
    committed = true;
    return ExitOK;
  }
  // A package directory: claim a free name, or swap with the old package in
  // one step, then remove the old one from the temporary's name.
  if (renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(),
                RENAME_NOREPLACE) == 0) {
    committed = true;
    return ExitOK;
  }
  if (errno == EEXIST &&
      renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(),
                RENAME_EXCHANGE) == 0) {
    // `temp` now names the old package; the destructor removes it.
    return ExitOK;
  }
  if (errno == EINVAL || errno == ENOSYS) {
    // No renameat2 on this file system: move the old package aside first
    // (readers may see no package for that moment).
    struct stat st;
    if (lstat(target.c_str(), &st) != 0 &&
        rename(temp.c_str(), target.c_str()) == 0) {
      committed = true;
      return ExitOK;
    }
    std::string aside = uniqueTemporary(target);
    if (rename(target.c_str(), aside.c_str()) == 0) {
      if (rename(temp.c_str(), target.c_str()) == 0) {
        removeTree(aside.c_str());
        committed = true;
        return ExitOK;
      }
      (void)rename(aside.c_str(), target.c_str());
    }
  }
  error = "cannot move the package to " + target + ": " + strerror(errno);
  return ExitOutput;
}

} // namespace memc
