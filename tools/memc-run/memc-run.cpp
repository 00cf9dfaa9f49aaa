//===- memc-run.cpp - Runs a package written by memc ----------------------===//
//
// A thin wrapper: everything memc-run does lives in runtime/cpu/Runner.cpp so
// that the unit tests exercise it in-process. This executable's job is to
// export the runtime's C symbols (memc_rt_*, _mlir_memref_to_llvm_*,
// memrefCopy) to the model.so it dlopens; see CMakeLists.txt.
//
//===----------------------------------------------------------------------===//

#include "Runner.h"

#include <cstdio>

int main(int argc, char **argv) {
  return memc::rt::memcRunMain(argc, argv, stdout, stderr);
}
