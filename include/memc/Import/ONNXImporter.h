//===- ONNXImporter.h - ONNX model -> einsum IR -----------------*- C++ -*-===//
//
// Reads an ONNX model (protobuf, external data, shape inference), folds the
// shape subgraphs exporters emit, and builds one `func.func @main_graph` of
// einsum and tensor ops on statically shaped tensors. Large initializers
// become function arguments (weights) whose bytes the caller writes to the
// package; small ones become constants.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_IMPORT_ONNXIMPORTER_H
#define MEMC_IMPORT_ONNXIMPORTER_H

#include "memc/ExitCodes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace memc {

struct ImportOptions {
  /// --shape NAME=1x128: pins the dims of a graph input.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Initializers with more elements than this become weight arguments.
  int64_t maxInlineConstantElements = 256;
};

/// One program argument, in the order of @main_graph's parameters.
struct ProgramArg {
  enum Kind { Input, Weight, Output } kind;
  std::string name;
  std::string dtype; ///< manifest spelling: f32, i64, bool, ...
  std::vector<int64_t> shape;
  std::string data; ///< weights only: the raw little-endian bytes
};

/// Dims as the manifest and --shape spell them: `1x128x64`, `scalar` for
/// rank 0.
std::string formatDims(const std::vector<int64_t> &shape);

struct ImportResult {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  /// Inputs, then weights, then outputs (after bufferization the outputs
  /// become trailing out-parameters, in this order).
  std::vector<ProgramArg> args;
};

struct ImportError {
  ExitCode code = ExitOK;
  std::string message; ///< one line: file, node, op, opset, reason
};

/// Imports `path`. On failure returns false and fills `error`.
bool importONNXModel(const std::string &path, const ImportOptions &options,
                     mlir::MLIRContext &context, ImportResult &result,
                     ImportError &error);

/// Imports a serialized model held in memory; `name` stands for the file in
/// messages and locates external data.
bool importONNXModelFromBytes(const std::string &bytes, const std::string &name,
                              const ImportOptions &options,
                              mlir::MLIRContext &context, ImportResult &result,
                              ImportError &error);

/// The ONNX op types the importer handles (for --list-ops and docs).
std::vector<std::string> getSupportedONNXOps();

} // namespace memc

#endif
