//===- Package.h - writing a compiled package -------------------*- C++ -*-===//
#ifndef MEMC_LIB_DRIVER_PACKAGE_H
#define MEMC_LIB_DRIVER_PACKAGE_H

#include "PackageInterface.h"

#include "memc/Runtime/PackageFormat.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace memc {
/// The program's interface as model.so declares it (docs/package-format.md):
/// "memc-interface 1", arena_bytes, host_pool_bytes, then one
/// `input|weight|output <name> <dtype> <dims>` line per argument.
std::string formatInterface(const std::vector<ProgramArg> &args,
                            uint64_t arenaBytes, uint64_t hostPoolBytes);

/// Adds the exported constant C string `memc_interface` to `llvmModule`:
/// formatInterface of `args` and of the pool sizes `module` (the LLVM
/// dialect module it was translated from) was planned with. memc-run
/// compares manifest.txt with it, since the manifest is only a file beside
/// the code and may be damaged. Fails (a memc bug) when the model function
/// takes another number of arguments than the interface lists.
bool embedInterface(mlir::ModuleOp module, llvm::Module &llvmModule,
                    const std::vector<ProgramArg> &args, std::string &error);

/// Writes manifest.txt and weights.bin (docs/package-format.md) into `dir`.
/// A `target` other than cpu is written as a `target` line.
bool writePackageFiles(const std::string &dir, const std::string &modelPath,
                       const std::vector<ProgramArg> &args, uint64_t arenaBytes,
                       uint64_t hostPoolBytes, std::string &error,
                       const std::string &target = package::kTargetCPU,
                       const std::optional<TrainFacts> &train = std::nullopt);
/// A train package keeps the ONNX model it came from (kTrainModelFile):
/// memc-run --save-model writes it back with the trained weights.
bool copyTrainModel(const std::string &dir, const std::string &model,
                    std::string &error);
} // namespace memc

#endif
