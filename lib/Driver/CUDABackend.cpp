//===- CUDABackend.cpp - --target=cuda: kernels, PTX, launch plan ---------===//
#include "CUDAPackage.h"
#include "CompileSession.h"
#include "OutputPath.h"
#include "Package.h"
#include "TargetBackend.h"

#include "memc/Runtime/PackageFormat.h"
#include "memc/Target/CUDATarget.h"

#include "llvm/Support/FileSystem.h"

namespace memc {
namespace {

class CUDABackend final : public TargetBackend {
public:
  const char *name() const override { return package::kTargetCUDA; }

  ExitCode checkOptions(const CompilerOptions &options,
                        std::string &error) const override {
    if (!isSupportedCUDAArch(options.cudaArch)) {
      std::string known;
      for (llvm::StringRef a : getSupportedCUDAArchs())
        known += (known.empty() ? "" : " ") + a.str();
      error = "--cuda-arch=" + options.cudaArch +
              ": unknown CUDA architecture (known: " + known + ")";
      return ExitUsage;
    }
    if (options.cudaTensorCores.value_or(false) &&
        !cudaArchHasTF32MMA(options.cudaArch)) {
      error = "--cuda-attention=tensor-cores needs sm_80 or later (TF32 "
              "mma.sync); --cuda-arch=" +
              options.cudaArch + " has none";
      return ExitUsage;
    }
    if (options.emit == EmitKind::LLVMDialect ||
        options.emit == EmitKind::LLVMIR) {
      error = "--emit=llvm and --emit=llvm-ir are the CPU target's stages; "
              "with --target=cuda use --emit=ptx";
      return ExitUsage;
    }
    return ExitOK;
  }

  bool fusedAttentionAsKernel() const override { return true; }
  bool fusesGemmEpilogues() const override { return false; }

  unsigned numCodegenPhases(EmitKind) const override { return 1; }

  ExitCode generate(CompileSession &s) override {
    return s.options.emit == EmitKind::PTX ? emitPTX(s) : emitPackage(s);
  }

private:
  ExitCode emitPTX(CompileSession &s) {
    const CompilerOptions &options = s.options;
    const std::string &in = options.input;
    std::string error;
    s.progress.begin("lower to GPU (" + options.cudaArch + ")");
    CUDAProgram program;
    if (!lowerForCUDA(*s.module, gpuPipelineOptions(options), program, error))
      return s.fail(ExitCodegen, in + ": " + error);
    s.progress.end(std::to_string(program.numLaunches) + " launches");
    if (program.ptx.empty())
      return s.fail(ExitCodegen, in + ": --emit=ptx: the model needs no "
                                      "kernels (every op is a GEMM call)");
    if (options.output.empty() || options.output == "-") {
      llvm::outs() << program.ptx;
      return s.writeSideOutputs();
    }
    StagedOutput staged(options.output, OutputKind::Text, in);
    if (ExitCode rc = staged.create(error); rc != ExitOK)
      return s.fail(rc, error);
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(staged.path(), ec);
      if (!ec)
        os << program.ptx;
      if (ec || (os.close(), os.has_error()))
        return s.fail(ExitOutput, "cannot write " + options.output);
    }
    // ptxas, when installed, sees the PTX before anyone loads it.
    if (!validatePTX(staged.path(), options.cudaArch, error))
      return s.fail(ExitCodegen, in + ": " + error);
    ExitCode rc = staged.commit(error);
    return rc == ExitOK ? s.writeSideOutputs() : s.fail(rc, error);
  }

  ExitCode emitPackage(CompileSession &s) {
    const CompilerOptions &options = s.options;
    const std::string &in = options.input;
    std::string error;
    s.progress.begin("lower to GPU (" + options.cudaArch + ") + package");
    StagedOutput staged(options.output, OutputKind::Package, in);
    if (ExitCode rc = staged.create(error); rc != ExitOK)
      return s.fail(rc, error);
    uint64_t arenaBytes = 0, hostPoolBytes = 0;
    std::string summary;
    if (!writeCUDAPackage(*s.module, options, staged.path(), arenaBytes,
                          hostPoolBytes, summary, error))
      return s.fail(ExitCodegen, in + ": " + error);
    llvm::SmallString<256> absIn(in);
    llvm::sys::fs::make_absolute(absIn);
    if (!writePackageFiles(staged.path(), std::string(absIn), s.interface.args,
                           arenaBytes, hostPoolBytes, error, name(),
                           s.interface.train) ||
        (s.interface.train && !copyTrainModel(staged.path(), in, error)))
      return s.fail(ExitOutput, error);
    if (ExitCode rc = staged.commit(error); rc != ExitOK)
      return s.fail(rc, error);
    s.progress.end(summary);
    return s.writeSideOutputs();
  }
};

} // namespace

std::unique_ptr<TargetBackend> createCUDABackend() {
  return std::make_unique<CUDABackend>();
}

} // namespace memc
