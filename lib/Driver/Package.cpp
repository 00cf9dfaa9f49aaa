//===- Package.cpp - manifest.txt and weights.bin -------------------------===//
#include "Package.h"

#include <fstream>

namespace memc {

bool writePackageFiles(const std::string &dir, const std::string &modelPath,
                       const std::vector<ProgramArg> &args, uint64_t arenaBytes,
                       uint64_t hostPoolBytes, std::string &error,
                       const std::string &target) {
  std::ofstream manifest(dir + "/manifest.txt");
  std::ofstream weights(dir + "/weights.bin", std::ios::binary);
  if (!manifest || !weights) {
    error = "cannot write the package files in " + dir;
    return false;
  }
  manifest << "memc-package 1\n";
  manifest << "model " << modelPath << "\n";
  if (target != "cpu")
    manifest << "target " << target << "\n";
  manifest << "arena_bytes " << arenaBytes << "\n";
  if (hostPoolBytes > 0)
    manifest << "host_pool_bytes " << hostPoolBytes << "\n";
  int64_t offset = 0;
  static const char zeros[64] = {};
  for (const ProgramArg &a : args) {
    const char *kind = a.kind == ProgramArg::Input    ? "input"
                       : a.kind == ProgramArg::Weight ? "weight"
                                                      : "output";
    manifest << kind << " " << a.name << " " << a.dtype << " "
             << formatDims(a.shape);
    if (a.kind == ProgramArg::Weight) {
      // 64-byte alignment: the runtime maps the file and passes pointers.
      int64_t pad = (64 - offset % 64) % 64;
      weights.write(zeros, pad);
      offset += pad;
      manifest << " " << offset << " " << a.data.size();
      weights.write(a.data.data(), a.data.size());
      offset += a.data.size();
    }
    manifest << "\n";
  }
  if (!manifest.good() || !weights.good()) {
    error = "writing the package files in " + dir + " failed";
    return false;
  }
  return true;
}

} // namespace memc
