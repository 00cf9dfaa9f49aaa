//===- BufferMapping.h - the pass with a plan callback ----------*- C++ -*-===//
//
// The driver builds memc-buffer-mapping with its options
// (BufferMappingOptions, from the pass declarations) and a callback that
// receives the plan the pass decided (ArenaPlanRecord).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TRANSFORMS_BUFFERMAPPING_H
#define MEMC_TRANSFORMS_BUFFERMAPPING_H

#include "memc/Transforms/Passes.h"

#include "memc/Plan/ArenaPlanRecord.h"

#include <functional>
#include <memory>

namespace memc {

/// The pass with a callback that receives the record once per planned
/// function (also when the budget is too small, before the pass fails).
std::unique_ptr<mlir::Pass>
createBufferMappingPass(const BufferMappingOptions &options,
                        std::function<void(const ArenaPlanRecord &)> onPlan);

} // namespace memc

#endif // MEMC_TRANSFORMS_BUFFERMAPPING_H
