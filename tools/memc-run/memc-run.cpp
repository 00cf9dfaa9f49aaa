//===- memc-run.cpp - Runs a package written by memc ----------------------===//
//
// A thin wrapper: everything memc-run does lives in runtime/cpu/Runner.cpp
// and, for --device cuda, runtime/cuda/CudaRunner.cpp (with what both share
// in runtime/common), so that the unit tests exercise it in-process. This
// executable's job is to export the CPU runtime's C symbols (memc_rt_*,
// _mlir_memref_to_llvm_*, memrefCopy) to the model.so it dlopens; see
// CMakeLists.txt.
//
//===----------------------------------------------------------------------===//

#include "CudaRunner.h"
#include "Runner.h"
#include "memc/ExitCodes.h"
#include "memc/Runtime/PackageFormat.h"

#include <cstdio>

int main(int argc, char **argv) {
  memc::rt::RunOptions opts;
  std::string error;
  if (memc::rt::parseRunOptions(argc, argv, opts, error) == memc::ExitOK &&
      !opts.help && opts.device == memc::package::kTargetCUDA)
    return memc::cuda::runCudaPackage(opts, stdout, stderr);
  return memc::rt::memcRunMain(argc, argv, stdout, stderr);
}
