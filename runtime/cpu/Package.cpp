//===- Package.cpp - A loaded memc package --------------------------------===//
//
// manifest.txt and weights.bin are read as for any package
// (runtime/common's PackageDir.h); weights.bin is mapped private and
// writable, so that a program which (wrongly) writes a weight gets its own
// copy instead of a segfault. What is the CPU's own is model.so: checked
// before dlopen, then its interface against the manifest.
//
//===----------------------------------------------------------------------===//

#include "Package.h"

#include "ElfCheck.h"
#include "PackedGemm.h"
#include "memc/Runtime/InputFile.h"
#include "memc/Runtime/PackageFormat.h"

#include <cstring>
#include <dlfcn.h>

namespace memc {
namespace rt {

Package::~Package() { unload(); }

void Package::unload() {
  // dlclose is deliberately skipped: a program may have registered thread
  // locals or atexit handlers, and unloading buys nothing in a tool that is
  // about to exit. The handle stays valid for the process lifetime.
  dlHandle_ = nullptr;
  entry_ = nullptr;
  // Packed copies are cached by address; another package may be mapped here.
  if (weights_.begin())
    forgetPackedWeights(weights_.begin(), size_t(weights_.size()));
  weights_.unmap();
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

  if (!checkPackageDir(dir, error))
    return fail(error);
  dir_ = dir;

  // manifest.txt
  std::string manifestPath = joinPath(dir, package::kManifestFile);
  if (!readManifest(dir, manifest_, error))
    return fail(error);
  if (manifest_.target != package::kTargetCPU)
    return fail(manifestPath + ": compiled with --target=" + manifest_.target +
                "; run it with memc-run --device " + manifest_.target);

  // weights.bin
  if (!weights_.map(dir, manifest_, WeightsFile::Access::CopyOnWrite, error))
    return fail(error);

  // model.so: a regular file whose ELF structures lie within it, or dlopen
  // would map pages past its end (SIGBUS) or read garbage. The path always
  // contains a '/', so dlopen does not search the library path for it.
  std::string soPath = joinPath(dir, package::kModelFile);
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
  void *sym = ::dlsym(handle, package::kEntrySymbol);
  if (!sym)
    return fail(soPath + ": does not export " + package::kEntrySymbol);
  entry_ = reinterpret_cast<EntryFn>(sym);

  // The program's own record of its arguments and pool sizes: manifest.txt
  // decides what memc-run allocates, so it must agree with what the code
  // was compiled for, or the program writes past the buffers it is given.
  const char *iface =
      static_cast<const char *>(::dlsym(handle, package::kInterfaceSymbol));
  if (!iface)
    return fail(soPath + ": does not export " + package::kInterfaceSymbol +
                " (the package was written by an older memc or is damaged): "
                "recompile it with this memc");
  size_t ifaceLen = ::strnlen(iface, package::kMaxManifestBytes);
  Manifest program;
  if (!parseInterface(std::string_view(iface, ifaceLen),
                      soPath + " (" + package::kInterfaceSymbol + ")", program,
                      error) ||
      !checkInterface(manifest_, program, manifestPath, package::kModelFile,
                      error))
    return fail(error);
  return true;
}

} // namespace rt
} // namespace memc
