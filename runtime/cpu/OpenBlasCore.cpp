//===- OpenBlasCore.cpp - OpenBLAS's kernels for CPUs it does not know ----===//
//
// Debian 12's OpenBLAS 0.3.21 does not know family 6 model 207 (Xeon
// "Emerald Rapids", the machines memc is developed and tested on) and ran
// every GEMM and GEMV memc hands it there (train steps, attention tiles
// memc's own kernel does not take, decode steps' single rows, classifier
// heads) with Prescott's SSE3 kernels on an AVX-512 CPU.
//
// OPENBLAS_CORETYPE would name the kernels, but the library reads it in its
// constructor, before any of ours, and glibc resets the environment after
// an executable's .preinit_array has run, so nothing can set it in time.
// A DYNAMIC_ARCH build exports how it chose: gotoblas_dynamic_quit() drops
// the choice and gotoblas_dynamic_init() makes it again from
// OPENBLAS_CORETYPE, so the runtime names the core for a moment and has it
// choose again, at load time, before any BLAS call. Its work buffers have
// one size whatever the core (BUFFER_SIZE, fixed when it is built), and are
// allocated at the first call. Other builds lack the two functions (weak
// here) and are left as they are.
//
// The kernels named are the best OpenBLAS has for sgemm on CPUs with those
// features (its later cores, Cooperlake and Sapphire Rapids, add bf16
// only), and the features are the ones those kernels use, checked with the
// OS's support for their registers (__builtin_cpu_supports).
//
//===----------------------------------------------------------------------===//
#include "OpenBlasCore.h"

#include <cstdlib>
#include <strings.h>

extern "C" char *openblas_get_corename(void);
extern "C" void gotoblas_dynamic_init(void) __attribute__((weak));
extern "C" void gotoblas_dynamic_quit(void) __attribute__((weak));

namespace memc::rt {

const char *openBlasCoreForThisCpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
  return nullptr;
}

const char *openBlasCoreToSwitchTo(const char *loaded,
                                   const char *coreTypeVariable,
                                   const char *cpuCore) {
  if (!loaded || coreTypeVariable || !cpuCore)
    return nullptr;
  return strcasecmp(loaded, "Prescott") == 0 ? cpuCore : nullptr;
}

const char *useOpenBlasKernelsForThisCpu() {
  const char *core = openBlasCoreToSwitchTo(openblas_get_corename(),
                                            std::getenv("OPENBLAS_CORETYPE"),
                                            openBlasCoreForThisCpu());
  if (core && gotoblas_dynamic_init && gotoblas_dynamic_quit) {
    setenv("OPENBLAS_CORETYPE", core, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
  }
  return openblas_get_corename();
}

} // namespace memc::rt
