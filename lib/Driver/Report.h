//===- Report.h - memc --report=FILE.json ------------------------*- C++ -*-===//
#ifndef MEMC_DRIVER_REPORT_H
#define MEMC_DRIVER_REPORT_H

#include "memc/Plan/ArenaPlanRecord.h"

#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>

namespace memc {

/// What the driver knows besides the plan.
struct ReportContext {
  std::string model;
  std::string target = "cpu";
  uint64_t weightsBytes = 0;
  uint64_t ioBytes = 0;
  /// Attention cascades rewritten by FuseMax (0 also with --no-fusemax).
  int64_t fusedAttention = 0;
  llvm::json::Array fusemaxCascades;
  /// A train step's `train` object (TrainSummary.h); null for inference.
  std::optional<llvm::json::Object> train;
};

/// The report as JSON: sizes in bytes, the baselines, the mapper's choice,
/// the verification result, spills and their modeled cost, and one entry
/// per buffer (producing op, type, size, interval, uses, arena offset or
/// host offset with staging slots).
llvm::json::Object buildReport(const ReportContext &context,
                               const ArenaPlanRecord &record);

} // namespace memc

#endif
