//===- OpenBlasCore.h - OpenBLAS off its SSE3 fallback ---------*- C++ -*-===//
//
// OpenBLAS (a DYNAMIC_ARCH build such as Debian 12's 0.3.21) picks its
// kernels as it loads, by the CPU's family and model, and falls back to
// Prescott's SSE3 kernels for a model it does not know. When it did so on
// a CPU with AVX2, the runtime switches it to the kernels for the CPU's
// features as it loads (OpenBlasCore.cpp), unless OPENBLAS_CORETYPE chose.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_OPENBLASCORE_H
#define MEMC_RUNTIME_CPU_OPENBLASCORE_H

namespace memc::rt {

/// OpenBLAS's best kernels for single precision on this CPU, as an
/// OPENBLAS_CORETYPE value: "SkylakeX" with AVX-512 (F, BW, DQ, VL, CD),
/// "Haswell" with AVX2 and FMA, null otherwise.
const char *openBlasCoreForThisCpu();

/// The core OpenBLAS should be switched to, or null to leave it: `cpuCore`
/// (openBlasCoreForThisCpu()) when the `loaded` core is OpenBLAS's
/// fallback, "Prescott", and the caller set no OPENBLAS_CORETYPE
/// (`coreTypeVariable` null).
const char *openBlasCoreToSwitchTo(const char *loaded,
                                   const char *coreTypeVariable,
                                   const char *cpuCore);

/// Switches the loaded OpenBLAS as openBlasCoreToSwitchTo says, before any
/// BLAS call (the runtime calls it once, as it loads); returns the core
/// OpenBLAS then runs, as openblas_get_corename() names it.
const char *useOpenBlasKernelsForThisCpu();

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_OPENBLASCORE_H
