//===- CPUTarget.h - LLVM dialect -> host object -> model.so ----*- C++ -*-===//
#ifndef MEMC_TARGET_CPUTARGET_H
#define MEMC_TARGET_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <memory>
#include <string>

namespace memc {

struct CPUTargetOptions {
  /// "native" (the host CPU and its features) or an LLVM CPU name.
  std::string cpu = "native";
  unsigned optLevel = 3;
};

/// Translates an LLVM-dialect module to LLVM IR for the host target and
/// optimizes it. Returns null and fills `error` on failure.
std::unique_ptr<llvm::Module>
translateAndOptimize(mlir::ModuleOp module, llvm::LLVMContext &llvmContext,
                     const CPUTargetOptions &options, std::string &error);

/// Emits `module` as an object file and links it into the shared object
/// `soPath` with the system C compiler driver (cc). `workDir` holds the
/// intermediate object.
bool emitSharedObject(llvm::Module &module, const CPUTargetOptions &options,
                      const std::string &workDir, const std::string &soPath,
                      std::string &error);

} // namespace memc

#endif
