//===- ONNXImporter.h - ONNX model -> einsum IR -----------------*- C++ -*-===//
//
// Reads an ONNX model (protobuf, external data, shape inference), folds the
// shape subgraphs exporters emit, and builds one entry function
// (`func.func @main_graph`) of einsum and tensor ops on statically shaped
// tensors. Large initializers become parameters: globals that hold their
// bytes in the module; small ones become constants.
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

/// --train's choice of trainable initializers (DESIGN.md "Training").
struct TrainableSpec {
  bool enabled = false; ///< --train: trainable initializers are parameters
  /// Empty: every f32 initializer (--trainable=all); else these names.
  std::vector<std::string> names;
  /// --frozen: initializers whose name matches stay frozen ("" none).
  std::string frozenRegex;
};

struct ImportOptions {
  /// --shape NAME=1x128: pins the dims of a graph input.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Initializers with more elements than this become weight arguments.
  int64_t maxInlineConstantElements = 256;
  /// With trainable.enabled, the chosen f32 initializers become mutable
  /// trainable parameters whatever their size, and no host fold ever reads
  /// them (constant folding never folds through a trainable value).
  TrainableSpec trainable;
  /// --decode: the rows of one call and the KV caches' capacity (0: not
  /// given). An export with past keys/values (graph inputs a Concat extends
  /// into a graph output) gets its dynamic dims from them: the ids'
  /// sequence and a position input's last dim are `rows`, each past's
  /// concatenated dim `capacity - rows`; its past inputs are marked
  /// `memc.past_kv`. A plain export is imported as it is.
  struct DecodeShapes {
    int64_t rows = 0, capacity = 0;
  } decode;
};


/// Dims as the manifest and --shape spell them: `1x128x64`, `scalar` for
/// rank 0.
std::string formatDims(const std::vector<int64_t> &shape);

/// The imported program: one module whose entry (`memc.entry`) takes the
/// graph inputs and returns the graph outputs, named through the memc
/// dialect's interface attributes; large initializers are parameters
/// (ml_program.global with dense_resource values) that it reads.
struct ImportResult {
  mlir::OwningOpRef<mlir::ModuleOp> module;
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
/// messages and locates external data. Models over 2 GiB (protobuf's limit)
/// keep their weights in external data.
bool importONNXModelFromBytes(llvm::StringRef bytes, const std::string &name,
                              const ImportOptions &options,
                              mlir::MLIRContext &context, ImportResult &result,
                              ImportError &error);

/// What --decode needs to know of a model before compiling its programs.
struct DecodeExportInfo {
  /// The rows per call the ids' sequence dimension fixes (0: dynamic).
  int64_t fixedRows = 0;
};
/// Reads `path`'s graph for DecodeExportInfo. On failure returns false and
/// fills `error`.
bool inspectDecodeExport(const std::string &path, DecodeExportInfo &info,
                         ImportError &error);

/// The ONNX op types the importer handles (for --list-ops and docs).
std::vector<std::string> getSupportedONNXOps();

} // namespace memc

#endif
