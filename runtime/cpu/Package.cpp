//===- Package.cpp - A loaded memc package --------------------------------===//
//
// weights.bin is mmap'ed rather than read: a large model's weights then cost
// no copy and no startup time, and pages the program never touches are never
// read. The mapping is private and writable so that a program which (wrongly)
// writes a weight gets its own copy instead of a segfault.
//
//===----------------------------------------------------------------------===//

#include "Package.h"

#include "ElfCheck.h"
#include "InputFile.h"

#include <cerrno>
#include <cstdint>
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
constexpr uint64_t kMaxManifestBytes = 64 << 20;

std::string errnoText() { return std::strerror(errno); }

} // namespace

bool readTextFile(const std::string &path, std::string &out,
                  std::string &error) {
  return readSmallFile(path, kMaxManifestBytes, out, error);
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
    return fail(dir + (errno == ENOENT ? ": no such package directory"
                                       : ": cannot access the package "
                                         "directory: " +
                                             describeOpenError(errno)));
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

  // weights.bin: required as soon as one weight has bytes, and then it must
  // hold every weight; checked before mapping, because touching a mapped
  // page past the end of the file is SIGBUS, not an error.
  std::string weightsPath = base + "weights.bin";
  uint64_t needed = 0;
  const TensorSpec *last = nullptr;
  for (const TensorSpec &w : manifest_.weights)
    if (w.byteSize > 0 && w.offset + w.byteSize > needed) {
      needed = w.offset + w.byteSize; // no overflow: parseManifest checked
      last = &w;
    }
  InputFile weights;
  if (!weights.open(weightsPath, UINT64_MAX, error)) {
    bool missing = ::stat(weightsPath.c_str(), &st) != 0 && errno == ENOENT;
    if (needed > 0 || !missing)
      return fail(error);
  }
  uint64_t fileSize = weights.size();
  if (last && needed > fileSize)
    return fail(weightsPath + ": weight '" + last->name + "' (bytes " +
                std::to_string(last->offset) + ".." + std::to_string(needed) +
                ") lies outside the file (" + std::to_string(fileSize) +
                " bytes): the file is truncated or the manifest damaged");
  if (needed > 0) {
    // Only the bytes the weights use are mapped: a longer file is harmless.
    void *m = ::mmap(nullptr, size_t(needed), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE, weights.fd(), 0);
    if (m == MAP_FAILED)
      return fail(weightsPath + ": cannot map: " + errnoText());
    mapping_ = m;
    mappingSize_ = size_t(needed);
  }
  weights.close();
  for (const TensorSpec &w : manifest_.weights)
    weightPtrs_.push_back(w.byteSize == 0
                              ? static_cast<void *>(gEmptyWeight)
                              : static_cast<char *>(mapping_) + w.offset);

  // model.so: a regular file whose ELF structures lie within it, or dlopen
  // would map pages past its end (SIGBUS) or read garbage. The path always
  // contains a '/', so dlopen does not search the library path for it.
  std::string soPath = base + "model.so";
  {
    InputFile so;
    if (!so.open(soPath, UINT64_MAX, error) || !checkSharedObject(so, error))
      return fail(error);
  }
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

  // The program's own record of its arguments and pool sizes: manifest.txt
  // decides what memc-run allocates, so it must agree with what the code
  // was compiled for, or the program writes past the buffers it is given.
  const char *iface =
      static_cast<const char *>(::dlsym(handle, "memc_interface"));
  if (!iface)
    return fail(soPath + ": does not export memc_interface (the package was "
                         "written by an older memc or is damaged): recompile "
                         "it with this memc");
  size_t ifaceLen = ::strnlen(iface, kMaxManifestBytes);
  Manifest program;
  if (!parseInterface(std::string_view(iface, ifaceLen),
                      soPath + " (memc_interface)", program, error) ||
      !checkInterface(manifest_, program, manifestPath, "model.so", error))
    return fail(error);
  return true;
}

} // namespace rt
} // namespace memc
