//===- Passes.h - memc's conversion passes ----------------------*- C++ -*-===//
#ifndef MEMC_CONVERSION_PASSES_H
#define MEMC_CONVERSION_PASSES_H

#include "memc/Conversion/EinsumToLinalg.h"

namespace memc {
#define GEN_PASS_REGISTRATION
#include "memc/Conversion/Passes.h.inc"
} // namespace memc

#endif // MEMC_CONVERSION_PASSES_H
