//===- CUDAPackage.cpp - what --target=cuda writes ------------------------===//
//
// GEMMs run on cuBLAS, a library the GPU machine may lack or whose version
// its driver may not run. So a package whose plan calls cuBLAS also carries
// the same program with GEMMs as memc's own kernels (compiled from the same
// bufferized module without memc-contractions-to-blas): one more compile of
// the kernels, a few kilobytes of PTX, and a package that runs on any
// machine with a driver.
//
//===----------------------------------------------------------------------===//
#include "CUDAPackage.h"

#include "dialects/memc/ProgramInterface.h"

#include "memc/Driver/Pipelines.h"

#include "memc/Runtime/PackageFormat.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"

using namespace mlir;

namespace memc {

namespace {

/// Runs `build`'s passes on `module`; the first error diagnostic's first
/// line on failure.
bool runPipeline(ModuleOp module,
                 llvm::function_ref<void(OpPassManager &)> build,
                 std::string &error) {
  std::string first;
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error && first.empty())
      first = d.str();
    return success();
  });
  PassManager pm(module.getContext());
  build(pm);
  if (succeeded(pm.run(module)))
    return true;
  error = first.empty() ? "a pass failed" : first.substr(0, first.find('\n'));
  return false;
}

/// One program (with or without cuBLAS) into `dir`.
bool writeVariant(ModuleOp bufferized, const CompilerOptions &options,
                  bool cublas, const std::string &dir, CUDAProgram &program,
                  std::string &error) {
  OwningOpRef<ModuleOp> module = bufferized.clone();
  GPUPipelineOptions gpu = gpuPipelineOptions(options);
  gpu.cublas = cublas;
  if (!lowerForCUDA(*module, gpu, program, error) ||
      !writeCUDAPackageFiles(dir, program, options.cudaArch, error))
    return false;
  if (!options.cudaHostKernels || program.ptx.empty())
    return true;
  // The same passes on the same module outline the same kernels under the
  // same names as in the PTX.
  OwningOpRef<ModuleOp> host = bufferized.clone();
  if (!runPipeline(
          *host, [&](OpPassManager &pm) { buildGPUKernelsPipeline(pm, gpu); },
          error)) {
    error = "--cuda-host-kernels: " + error;
    return false;
  }
  return emitHostKernels(*host, dir, dir + "/" + package::kHostKernelsFile,
                         error);
}

} // namespace

GPUPipelineOptions gpuPipelineOptions(const CompilerOptions &options) {
  GPUPipelineOptions gpu;
  gpu.chip = options.cudaArch;
  gpu.cublas = options.cudaCublas;
  gpu.tensorCores = options.cudaTensorCores.value_or(true);
  return gpu;
}

bool lowerForCUDA(ModuleOp module, const GPUPipelineOptions &gpu,
                  CUDAProgram &program, std::string &error) {
  if (!runPipeline(
          module, [&](OpPassManager &pm) { buildLowerToGPUPipeline(pm, gpu); },
          error)) {
    error = "lower to GPU failed: " + error;
    return false;
  }
  if (!buildCUDAProgram(module, getEntryName(module), gpu.chip, program, error)) {
    error = "--target=cuda: " + error;
    return false;
  }
  return true;
}

bool writeCUDAPackage(ModuleOp module, const CompilerOptions &options,
                      const std::string &dir, uint64_t &arenaBytes,
                      uint64_t &hostPoolBytes, std::string &summary,
                      std::string &error) {
  CUDAProgram program;
  if (!writeVariant(module, options, options.cudaCublas, dir, program, error))
    return false;
  arenaBytes = program.arenaBytes;
  hostPoolBytes = program.hostPoolBytes;
  summary = std::to_string(program.numLaunches) + " launches, " +
            std::to_string(program.numGemms) + " cuBLAS GEMMs";
  if (program.numSpills || program.numFetches)
    summary += ", " + std::to_string(program.numSpills) + " spills and " +
               std::to_string(program.numFetches) +
               " fetches through a host pool of " +
               std::to_string(program.hostPoolBytes) + " bytes";
  if (program.numSvds)
    summary += ", " + std::to_string(program.numSvds) + " cuSOLVER SVDs";
  if (program.numGemms == 0)
    return true;
  std::string fallbackDir = dir + "/" + package::kNoCublasDir;
  if (std::error_code ec = llvm::sys::fs::create_directory(fallbackDir)) {
    error = "cannot create " + fallbackDir + ": " + ec.message();
    return false;
  }
  CUDAProgram fallback;
  if (!writeVariant(module, options, /*cublas=*/false, fallbackDir, fallback,
                    error))
    return false;
  arenaBytes = std::max(arenaBytes, fallback.arenaBytes);
  hostPoolBytes = std::max(hostPoolBytes, fallback.hostPoolBytes);
  summary +=
      "; without cuBLAS: " + std::to_string(fallback.numLaunches) + " launches";
  return true;
}

} // namespace memc
