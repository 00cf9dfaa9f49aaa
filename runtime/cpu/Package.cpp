//===- Package.cpp - A loaded memc package --------------------------------===//
//
// weights.bin is mmap'ed rather than read: a large model's weights then cost
// no copy and no startup time, and pages the program never touches are never
// read. The mapping is private and writable so that a program which (wrongly)
// writes a weight gets its own copy instead of a segfault.
//
//===----------------------------------------------------------------------===//

#include "Package.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memc {
namespace rt {

namespace {

/// What zero-byte weights point at: a valid, aligned, never-written address.
alignas(64) unsigned char gEmptyWeight[64];

/// A manifest is a few lines per tensor; anything bigger is not a manifest.
constexpr off_t kMaxManifestBytes = 64 << 20;

std::string errnoText() { return std::strerror(errno); }

} // namespace

bool readTextFile(const std::string &path, std::string &out,
                  std::string &error) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + errnoText();
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file";
    ::close(fd);
    return false;
  }
  if (st.st_size > kMaxManifestBytes) {
    error = path + ": too large (" + std::to_string(st.st_size) + " bytes)";
    ::close(fd);
    return false;
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      error = path + ": cannot read: " + errnoText();
      ::close(fd);
      return false;
    }
    if (got == 0)
      break;
    out.append(buf, size_t(got));
  }
  ::close(fd);
  return true;
}

Package::~Package() { unload(); }

void Package::unload() {
  // dlclose is deliberately skipped: a program may have registered thread
  // locals or atexit handlers, and unloading buys nothing in a tool that is
  // about to exit. The handle stays valid for the process lifetime.
  dlHandle_ = nullptr;
  entry_ = nullptr;
  if (mapping_)
    ::munmap(mapping_, mappingSize_);
  mapping_ = nullptr;
  mappingSize_ = 0;
  weightPtrs_.clear();
  manifest_ = Manifest();
  dir_.clear();
}

uint64_t Package::weightsBytes() const {
  uint64_t total = 0;
  for (const TensorSpec &w : manifest_.weights)
    total += w.byteSize;
  return total;
}

bool Package::load(const std::string &dir, std::string &error) {
  unload();
  auto fail = [&](const std::string &what) {
    error = what;
    unload();
    return false;
  };

  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return fail(dir + ": no such package directory (" + errnoText() + ")");
  if (!S_ISDIR(st.st_mode))
    return fail(dir + ": not a package directory (memc -o writes a directory "
                      "with model.so, manifest.txt and weights.bin)");
  dir_ = dir;
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  base += '/';

  // manifest.txt
  std::string manifestPath = base + "manifest.txt";
  std::string text;
  if (!readTextFile(manifestPath, text, error))
    return fail(error);
  if (!parseManifest(text, manifestPath, manifest_, error))
    return fail(error);
  if (manifest_.target != "cpu")
    return fail(manifestPath + ": compiled with --target=" + manifest_.target +
                "; run it with memc-run --device " + manifest_.target);

  // weights.bin: required as soon as one weight has bytes.
  std::string weightsPath = base + "weights.bin";
  bool needWeights = false;
  for (const TensorSpec &w : manifest_.weights)
    needWeights |= w.byteSize > 0;
  int fd = ::open(weightsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && (needWeights || errno != ENOENT))
    return fail(weightsPath + ": cannot open: " + errnoText());
  uint64_t fileSize = 0;
  if (fd >= 0) {
    struct stat wst;
    if (::fstat(fd, &wst) != 0 || !S_ISREG(wst.st_mode)) {
      ::close(fd);
      return fail(weightsPath + ": not a regular file");
    }
    fileSize = uint64_t(wst.st_size);
    if (fileSize > 0) {
      void *m = ::mmap(nullptr, size_t(fileSize), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        std::string why = errnoText();
        ::close(fd);
        return fail(weightsPath + ": cannot map: " + why);
      }
      mapping_ = m;
      mappingSize_ = size_t(fileSize);
    }
    ::close(fd);
  }
  for (const TensorSpec &w : manifest_.weights) {
    if (w.byteSize == 0) {
      weightPtrs_.push_back(gEmptyWeight);
      continue;
    }
    if (w.offset > fileSize || w.byteSize > fileSize - w.offset)
      return fail(weightsPath + ": weight '" + w.name + "' (bytes " +
                  std::to_string(w.offset) + ".." +
                  std::to_string(w.offset + w.byteSize) +
                  ") lies outside the file (" + std::to_string(fileSize) +
                  " bytes)");
    weightPtrs_.push_back(static_cast<char *>(mapping_) + w.offset);
  }

  // model.so. The path always contains a '/', so dlopen does not search
  // the library path for it.
  std::string soPath = base + "model.so";
  if (::stat(soPath.c_str(), &st) != 0)
    return fail(soPath + ": cannot open: " + errnoText());
  dlerror();
  void *handle = ::dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    std::string msg = why ? why : "unknown dlopen error";
    // dlerror usually starts with the path; do not print it twice.
    if (msg.compare(0, soPath.size() + 2, soPath + ": ") == 0)
      msg = msg.substr(soPath.size() + 2);
    return fail(soPath + ": cannot load: " + msg);
  }
  dlHandle_ = handle;
  dlerror();
  void *sym = ::dlsym(handle, "memc_entry");
  if (!sym)
    return fail(soPath + ": does not export memc_entry");
  entry_ = reinterpret_cast<EntryFn>(sym);
  return true;
}

} // namespace rt
} // namespace memc
