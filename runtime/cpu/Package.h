//===- Package.h - A loaded memc package ------------------------*- C++ -*-===//
//
// Loads what `memc MODEL -o PKG` wrote (docs/package-format.md): parses
// manifest.txt and maps weights.bin (private, copy-on-write) with
// runtime/common's PackageDir.h, dlopens model.so, finds memc_entry and
// checks the manifest against the program's memc_interface. Every failure
// is one line naming the file.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_PACKAGE_H
#define MEMC_RUNTIME_CPU_PACKAGE_H

#include "memc/Runtime/Manifest.h"
#include "memc/Runtime/PackageDir.h"

#include <string>

namespace memc {
namespace rt {

/// The program's one entry point: one pointer per input, weight, state, step
/// and output (each group in manifest order), plus the arena when
/// arena_bytes > 0 and the host pool when host_pool_bytes > 0.
using EntryFn = void (*)(void **args);

class Package {
public:
  Package() = default;
  ~Package();
  Package(const Package &) = delete;
  Package &operator=(const Package &) = delete;

  /// Loads the package in directory `dir`. On failure returns false and sets
  /// `error` to "<file>: <what>" naming the offending file; the object is
  /// then empty.
  bool load(const std::string &dir, std::string &error);

  const std::string &dir() const { return dir_; }
  const Manifest &manifest() const { return manifest_; }
  EntryFn entry() const { return entry_; }
  /// Address of weight `i`'s bytes (64-byte aligned, never null).
  void *weightData(size_t i) const {
    return weights_.data(manifest_.weights[i]);
  }
  /// Sum of the manifest's weight byte sizes.
  uint64_t weightsBytes() const;

private:
  void unload();

  std::string dir_;
  Manifest manifest_;
  void *dlHandle_ = nullptr;
  EntryFn entry_ = nullptr;
  WeightsFile weights_;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_PACKAGE_H
