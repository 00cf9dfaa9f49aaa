//===- Package.cpp - manifest.txt and weights.bin -------------------------===//
#include "Package.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/Module.h"

#include <fstream>
#include <sstream>

namespace memc {

std::string formatInterface(const std::vector<ProgramArg> &args,
                            uint64_t arenaBytes, uint64_t hostPoolBytes) {
  std::ostringstream os;
  os << "memc-interface 1\n";
  os << "arena_bytes " << arenaBytes << "\n";
  os << "host_pool_bytes " << hostPoolBytes << "\n";
  for (const ProgramArg &a : args)
    os << (a.kind == ProgramArg::Input    ? "input"
           : a.kind == ProgramArg::Weight ? "weight"
                                          : "output")
       << " " << a.name << " " << a.dtype << " " << formatDims(a.shape) << "\n";
  return os.str();
}

bool embedInterface(mlir::ModuleOp module, llvm::Module &llvmModule,
                    const std::vector<ProgramArg> &args, std::string &error) {
  uint64_t arenaBytes = 0, hostPoolBytes = 0;
  if (auto attr = module->getAttrOfType<mlir::IntegerAttr>("memc.arena_bytes"))
    arenaBytes = attr.getInt();
  if (auto attr =
          module->getAttrOfType<mlir::IntegerAttr>("memc.host_pool_bytes"))
    hostPoolBytes = attr.getInt();
  // memc_entry passes one pointer per argument, then the arena and the host
  // pool when they are non-zero (the runtime's order): the interface must
  // list exactly the model function's parameters.
  if (auto func = module.lookupSymbol<mlir::LLVM::LLVMFuncOp>("main_graph")) {
    size_t expected =
        args.size() + (arenaBytes > 0 ? 1 : 0) + (hostPoolBytes > 0 ? 1 : 0);
    if (func.getNumArguments() != expected) {
      error = "internal: @main_graph takes " +
              std::to_string(func.getNumArguments()) +
              " pointers but the package interface lists " +
              std::to_string(expected);
      return false;
    }
  }
  if (llvmModule.getNamedValue("memc_interface")) {
    error = "internal: the program already defines memc_interface";
    return false;
  }
  llvm::Constant *text = llvm::ConstantDataArray::getString(
      llvmModule.getContext(), formatInterface(args, arenaBytes, hostPoolBytes),
      /*AddNull=*/true);
  auto *global = new llvm::GlobalVariable(
      llvmModule, text->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, text, "memc_interface");
  global->setVisibility(llvm::GlobalValue::DefaultVisibility);
  global->setAlignment(llvm::Align(1));
  return true;
}

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
