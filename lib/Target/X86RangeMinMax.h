//===- X86RangeMinMax.h - IEEE maximum/minimum as VRANGEPS ------*- C++ -*-===//
#ifndef MEMC_LIB_TARGET_X86RANGEMINMAX_H
#define MEMC_LIB_TARGET_X86RANGEMINMAX_H

#include "llvm/IR/Module.h"

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace memc {

/// On a target with AVX-512DQ, replaces every llvm.maximum and
/// llvm.minimum of 16 floats (8 and 4 with AVX-512VL too) in `module` by
/// VRANGEPS, with a compare and a select that return a NaN when either
/// operand is one: the same results, bit for bit on every non-NaN input,
/// in three instructions instead of six or seven. Returns how many it
/// replaced (none on other targets).
unsigned lowerMinMaxToRange(llvm::Module &module,
                            const llvm::TargetMachine &tm);

} // namespace memc

#endif
