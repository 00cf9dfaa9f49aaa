//===- TrainedModel.h - memc-run --save-model -------------------*- C++ -*-===//
//
// A train package keeps the ONNX model it was compiled from (model.onnx);
// --save-model writes it back with every trainable weight's initializer
// holding the trained bytes, so the result runs anywhere ONNX does (and
// compiles with memc again). The model is loaded before the first step:
// a package whose model.onnx is missing or does not hold its trainable
// weights is reported before any training time is spent. The protobuf
// types stay inside TrainedModel.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_TRAINEDMODEL_H
#define MEMC_RUNTIME_TRAINEDMODEL_H

#include "memc/Runtime/Manifest.h"

#include <memory>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
} // namespace onnx

namespace memc {
namespace rt {

/// An ONNX value name as the manifest spells it: whitespace becomes '_',
/// and the empty name "_" (as the importer does).
std::string manifestName(const std::string &onnxName);

class TrainedModel {
public:
  TrainedModel();
  ~TrainedModel();
  TrainedModel(const TrainedModel &) = delete;
  TrainedModel &operator=(const TrainedModel &) = delete;

  /// Loads the ONNX model `path` and finds, for each trainable weight of
  /// `m`, the graph initializers of that name (manifestName), which must
  /// exist and have its dtype and shape. Errors read "<path>: <what>" (a
  /// damaged package: memc-run exits 21).
  bool load(const std::string &path, const Manifest &m, std::string &error);

  /// Writes the model to `outPath` (atomically, OutputFile) with each
  /// trainable weight's initializers holding data[i] (one pointer per
  /// trainable weight, manifest order) as raw_data: typed value fields and
  /// external data references are dropped, dims and data_type kept.
  /// Errors read "<outPath>: <what>" (memc-run exits 10).
  bool write(const std::string &outPath, const std::vector<const void *> &data,
             std::string &error);

private:
  std::unique_ptr<onnx::ModelProto> model_;
  /// Per trainable weight: its byte size and its initializers' indices.
  struct Target {
    uint64_t bytes = 0;
    std::vector<int> initializers;
  };
  std::vector<Target> targets_;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_TRAINEDMODEL_H
