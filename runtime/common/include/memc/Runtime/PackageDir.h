//===- PackageDir.h - The files every memc package has ----------*- C++ -*-===//
//
// What the CPU and the CUDA runtime read alike from a package directory
// (docs/package-format.md): the directory itself, manifest.txt and
// weights.bin. Every failure is one line naming the file. The program
// (model.so, or the launch plan and kernels) is each runtime's own.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_PACKAGEDIR_H
#define MEMC_RUNTIME_PACKAGEDIR_H

#include "memc/Runtime/Manifest.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace memc {
namespace rt {

/// Checks that `dir` exists and is a directory; otherwise `error` is
/// "<dir>: no such package directory", "<dir>: cannot access the package
/// directory: <why>" or "<dir>: not a package directory (...)".
bool checkPackageDir(const std::string &dir, std::string &error);

/// Reads a package's text file (manifest.txt, launch_plan.txt): a regular
/// file of at most package::kMaxManifestBytes; "<path>: <why>" on failure.
bool readTextFile(const std::string &path, std::string &out,
                  std::string &error);

/// Reads and parses `dir`/manifest.txt (errors as readTextFile's and
/// parseManifest's). Checks the file, not the target: each runtime says in
/// its own words that a package is for the other one.
bool readManifest(const std::string &dir, Manifest &out, std::string &error);

/// weights.bin, mapped privately. Only the bytes the manifest's weights use
/// are mapped: a longer file is harmless, a shorter one an error found
/// before mapping (touching a mapped page past the end of a file is SIGBUS,
/// not an error).
class WeightsFile {
public:
  enum class Access {
    ReadOnly,
    /// Writable: a program that (wrongly) writes a weight gets its own copy
    /// instead of a segfault.
    CopyOnWrite,
  };

  WeightsFile() = default;
  ~WeightsFile() { unmap(); }
  WeightsFile(const WeightsFile &) = delete;
  WeightsFile &operator=(const WeightsFile &) = delete;

  /// Maps `dir`/weights.bin for the weights of `m`. The file is required as
  /// soon as one weight has bytes, and must then hold every weight; one
  /// that exists but cannot be read (a FIFO, a directory, no permission) is
  /// an error even when no weight needs it. On failure `error` names the
  /// file and nothing is mapped.
  bool map(const std::string &dir, const Manifest &m, Access access,
           std::string &error);
  void unmap();

  /// The bytes of weight `w` (a weight of the manifest map() was given):
  /// never null and 64-byte aligned, also for a weight of zero bytes.
  void *data(const TensorSpec &w) const;
  /// Bytes mapped: the end of the last weight.
  uint64_t size() const { return size_; }
  /// The first mapped byte (null when nothing is mapped).
  const void *begin() const { return mapping_; }

private:
  void *mapping_ = nullptr;
  uint64_t size_ = 0;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_PACKAGEDIR_H
