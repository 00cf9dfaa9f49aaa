//===- Package.h - writing a compiled package -------------------*- C++ -*-===//
#ifndef MEMC_LIB_DRIVER_PACKAGE_H
#define MEMC_LIB_DRIVER_PACKAGE_H

#include "memc/Import/ONNXImporter.h"

#include <string>
#include <vector>

namespace memc {
/// Writes manifest.txt and weights.bin (docs/package-format.md) into `dir`.
/// A `target` other than cpu is written as a `target` line.
bool writePackageFiles(const std::string &dir, const std::string &modelPath,
                       const std::vector<ProgramArg> &args, uint64_t arenaBytes,
                       uint64_t hostPoolBytes, std::string &error,
                       const std::string &target = "cpu");
} // namespace memc

#endif
