//===- GraphChecks.h - a model's structure, checked before import -*- C++ -*-===//
//
// The importer and ONNX's own shape inference assume a well-formed graph;
// a hostile or broken file must fail here with one line, not crash later.
// These are ONNX checker rules (the floor) plus memc's own: opsets, unique
// names, one writer per tensor, byte sizes that fit in 63 bits, numbers in
// the external-data fields.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_GRAPHCHECKS_H
#define MEMC_LIB_IMPORT_GRAPHCHECKS_H

#include "memc/Import/ONNXImporter.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

namespace memc::onnximport {

/// Checks the graph's structure (opset imports, unique input, output and
/// initializer names, one writer per tensor, no node writing a graph input
/// or initializer, ops that exist at the model's opset, byte sizes). Fills
/// `error` (exit 7, or 5 for an opset newer than memc's ONNX) and returns
/// false on the first violation.
bool checkGraphStructure(const onnx::ModelProto &model,
                         const std::string &path, ImportError &error);

/// A non-negative decimal integer that fits in int64 (an external-data
/// offset or length); nullopt for anything else ("", "abc", "-1",
/// "99999999999999999999", "12x").
std::optional<int64_t> parseNonNegativeInt64(const std::string &text);

/// numel * elemBytes of `shape`, nullopt when a dim is negative or the
/// product overflows int64.
std::optional<int64_t> checkedByteSize(const std::vector<int64_t> &shape,
                                       int64_t elemBytes);

} // namespace memc::onnximport

#endif
