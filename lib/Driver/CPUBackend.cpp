//===- CPUBackend.cpp - --target=cpu: LLVM dialect -> model.so ------------===//
#include "CompileSession.h"
#include "OutputPath.h"
#include "Package.h"
#include "TargetBackend.h"

#include "memc/Driver/Pipelines.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Target/CPUTarget.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"

namespace memc {
namespace {

class CPUBackend final : public TargetBackend {
public:
  const char *name() const override { return package::kTargetCPU; }

  ExitCode checkOptions(const CompilerOptions &options,
                        std::string &error) const override {
    if (options.emit == EmitKind::PTX) {
      error = "--emit=ptx needs --target=cuda";
      return ExitUsage;
    }
    return ExitOK;
  }

  bool fusedAttentionAsKernel() const override { return false; }
  bool fusesGemmEpilogues() const override { return true; }

  unsigned numCodegenPhases(EmitKind emit) const override {
    return emit == EmitKind::LLVMDialect ? 1 : emit == EmitKind::LLVMIR ? 2 : 3;
  }

  ExitCode generate(CompileSession &s) override {
    const CompilerOptions &options = s.options;
    s.progress.begin("lower to LLVM dialect");
    if (ExitCode rc = s.runPasses(
            "lower to LLVM dialect",
            [](mlir::OpPassManager &pm) { buildLowerToLLVMPipeline(pm); });
        rc != ExitOK)
      return rc;
    s.progress.end();
    if (options.emit == EmitKind::LLVMDialect)
      return s.finishWithText(
          [&](llvm::raw_ostream &os) { s.printModule(os); });

    s.progress.begin("LLVM optimize (O" + std::to_string(options.optLevel) +
                     ")");
    std::string error;
    llvm::LLVMContext llvmContext;
    CPUTargetOptions targetOptions;
    targetOptions.cpu = options.cpu;
    targetOptions.optLevel = options.optLevel;
    std::unique_ptr<llvm::Module> llvmModule =
        translateAndOptimize(*s.module, llvmContext, targetOptions, error);
    if (!llvmModule)
      return s.fail(ExitCodegen, options.input + ": " + error);
    // model.so carries its own interface, which memc-run checks manifest.txt
    // against before it allocates anything (Package.h).
    if (!embedInterface(*s.module, *llvmModule, s.interface.args, error))
      return s.fail(ExitInternal, options.input + ": " + error);
    s.progress.end();
    if (options.emit == EmitKind::LLVMIR)
      return s.finishWithText(
          [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });

    s.progress.begin("codegen + link");
    StagedOutput staged(options.output, OutputKind::Package, options.input);
    if (ExitCode rc = staged.create(error); rc != ExitOK)
      return s.fail(rc, error);
    if (!emitSharedObject(*llvmModule, targetOptions, staged.path(),
                          staged.path() + "/" + package::kModelFile, error))
      return s.fail(ExitCodegen, options.input + ": " + error);
    llvm::SmallString<256> absIn(options.input);
    llvm::sys::fs::make_absolute(absIn);
    if (!writePackageFiles(staged.path(), std::string(absIn), s.interface.args,
                           s.interface.arenaBytes, s.interface.hostPoolBytes,
                           error, package::kTargetCPU, s.interface.train) ||
        (s.interface.train &&
         !copyTrainModel(staged.path(), options.input, error)))
      return s.fail(ExitOutput, error);
    if (ExitCode side = s.writeSideOutputs(); side != ExitOK)
      return side;
    if (ExitCode rc = staged.commit(error); rc != ExitOK)
      return s.fail(rc, error);
    s.progress.end(options.output);
    return ExitOK;
  }
};

} // namespace

std::unique_ptr<TargetBackend> createCPUBackend() {
  return std::make_unique<CPUBackend>();
}

} // namespace memc
