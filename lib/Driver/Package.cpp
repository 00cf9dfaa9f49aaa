//===- Package.cpp - manifest.txt and weights.bin -------------------------===//
#include "Package.h"

#include "dialects/memc/ProgramInterface.h"
#include "memc/Import/ONNXImporter.h"

#include "memc/Runtime/PackageFormat.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"

#include <fstream>
#include <sstream>

namespace memc {

namespace {
const char *recordOf(ProgramArg::Kind kind) {
  switch (kind) {
  case ProgramArg::Input:
    return package::kInputRecord;
  case ProgramArg::Weight:
    return package::kWeightRecord;
  case ProgramArg::State:
    return package::kStateRecord;
  case ProgramArg::Step:
    return package::kStepRecord;
  case ProgramArg::KVCache:
    return package::kKVRecord;
  case ProgramArg::Output:
    break;
  }
  return package::kOutputRecord;
}

/// What follows `<kind> <name> <dtype> <dims>` in both the manifest and the
/// interface: a trainable weight's flag, a state's weight.
std::string trainSuffix(const ProgramArg &a) {
  if (a.kind == ProgramArg::Weight && a.trainable)
    return std::string(" ") + package::kTrainableFlag;
  if (a.kind == ProgramArg::State)
    return " " + a.stateOf;
  return "";
}
} // namespace

std::string formatInterface(const std::vector<ProgramArg> &args,
                            uint64_t arenaBytes, uint64_t hostPoolBytes) {
  std::ostringstream os;
  os << package::kInterfaceMagic << " " << package::kInterfaceVersion << "\n";
  os << package::kArenaBytesRecord << " " << arenaBytes << "\n";
  os << package::kHostPoolBytesRecord << " " << hostPoolBytes << "\n";
  for (const ProgramArg &a : args)
    os << recordOf(a.kind) << " " << a.name << " " << a.dtype << " "
       << formatDims(a.shape) << trainSuffix(a) << "\n";
  return os.str();
}

bool embedInterface(mlir::ModuleOp module, llvm::Module &llvmModule,
                    const std::vector<ProgramArg> &args, std::string &error) {
  uint64_t arenaBytes = getArenaBytes(module).value_or(0);
  uint64_t hostPoolBytes = getHostPoolBytes(module).value_or(0);
  // memc_entry passes one pointer per argument, then the arena and the host
  // pool when they are non-zero (the runtime's order): the interface must
  // list exactly the model function's parameters.
  if (auto func =
          module.lookupSymbol<mlir::LLVM::LLVMFuncOp>(getEntryName(module))) {
    size_t expected =
        args.size() + (arenaBytes > 0 ? 1 : 0) + (hostPoolBytes > 0 ? 1 : 0);
    if (func.getNumArguments() != expected) {
      error = "internal: @" + getEntryName(module).str() + " takes " +
              std::to_string(func.getNumArguments()) +
              " pointers but the package interface lists " +
              std::to_string(expected);
      return false;
    }
  }
  if (llvmModule.getNamedValue(package::kInterfaceSymbol)) {
    error = "internal: the program already defines memc_interface";
    return false;
  }
  llvm::Constant *text = llvm::ConstantDataArray::getString(
      llvmModule.getContext(), formatInterface(args, arenaBytes, hostPoolBytes),
      /*AddNull=*/true);
  auto *global = new llvm::GlobalVariable(
      llvmModule, text->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, text, package::kInterfaceSymbol);
  global->setVisibility(llvm::GlobalValue::DefaultVisibility);
  global->setAlignment(llvm::Align(1));
  return true;
}

bool copyTrainModel(const std::string &dir, const std::string &model,
                    std::string &error) {
  if (std::error_code ec = llvm::sys::fs::copy_file(
          model, dir + "/" + package::kTrainModelFile)) {
    error = "cannot copy " + model + " into the package: " + ec.message();
    return false;
  }
  return true;
}

bool writePackageFiles(const std::string &dir, const std::string &modelPath,
                       const std::vector<ProgramArg> &args, uint64_t arenaBytes,
                       uint64_t hostPoolBytes, std::string &error,
                       const std::string &target,
                       const std::optional<TrainFacts> &train) {
  std::ofstream manifest(dir + "/" + package::kManifestFile);
  std::ofstream weights(dir + "/" + package::kWeightsFile, std::ios::binary);
  if (!manifest || !weights) {
    error = "cannot write the package files in " + dir;
    return false;
  }
  manifest << package::kManifestMagic << " " << package::kManifestVersion
           << "\n";
  manifest << package::kModelRecord << " " << modelPath << "\n";
  if (target != package::kTargetCPU)
    manifest << package::kTargetRecord << " " << target << "\n";
  if (train)
    manifest << package::kTrainRecord << " " << train->loss << " "
             << train->optimizer << "\n";
  manifest << package::kArenaBytesRecord << " " << arenaBytes << "\n";
  if (hostPoolBytes > 0)
    manifest << package::kHostPoolBytesRecord << " " << hostPoolBytes << "\n";
  int64_t offset = 0;
  static const char zeros[package::kWeightAlignment] = {};
  for (const ProgramArg &a : args) {
    manifest << recordOf(a.kind) << " " << a.name << " " << a.dtype << " "
             << formatDims(a.shape);
    if (a.kind == ProgramArg::Weight) {
      // 64-byte alignment: the runtime maps the file and passes pointers.
      int64_t pad = (package::kWeightAlignment -
                     offset % package::kWeightAlignment) %
                    package::kWeightAlignment;
      weights.write(zeros, pad);
      offset += pad;
      manifest << " " << offset << " " << a.data.size();
      weights.write(a.data.data(), a.data.size());
      offset += a.data.size();
    }
    manifest << trainSuffix(a) << "\n";
  }
  if (!manifest.good() || !weights.good()) {
    error = "writing the package files in " + dir + " failed";
    return false;
  }
  return true;
}

} // namespace memc
