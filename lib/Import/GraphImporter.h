//===- GraphImporter.h - one ONNX graph -> one func.func --------*- C++ -*-===//
#ifndef MEMC_LIB_IMPORT_GRAPHIMPORTER_H
#define MEMC_LIB_IMPORT_GRAPHIMPORTER_H

#include "ImportContext.h"

#include "dialects/memc/ProgramInterface.h"

#include <map>
#include <set>

#include <unordered_map>

namespace memc::onnximport {

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &ctx, std::string path,
                const ImportOptions &options, ImportError &error);

  bool run(onnx::ModelProto &model, ImportResult &result);

  /// The IR value named `name`; host constants are materialized on first use.
  mlir::Value lookup(const std::string &name);
  void fail(ExitCode code, const std::string &message);
  void fail(ExitCode code, const onnx::NodeProto &node, int64_t opset,
            const std::string &why);

  mlir::OpBuilder builder;
  std::string path;
  const ImportOptions &options;
  ImportError &error;
  /// The default domain's opset version (0 when the model imports none).
  int64_t opset = 0;
  /// opset_import's version of every domain, keyed by canonicalDomain.
  std::map<std::string, int64_t> domainOpsets;
  /// The opset version `domain` is imported at, 0 when it is not.
  int64_t opsetOf(const std::string &domain) const {
    auto it = domainOpsets.find(domain == "ai.onnx" ? "" : domain);
    return it == domainOpsets.end() ? 0 : it->second;
  }
  mlir::func::FuncOp func;
  std::unordered_map<std::string, mlir::Value> values;
  std::unordered_map<std::string, HostTensor> constants;
  /// --train: running statistics of training-mode BatchNormalization
  /// (mutable, never trained), and the node that reads each.
  std::map<std::string, std::string> runningStats;
  /// Symbols taken in the module: the entry's, then the parameters'.
  std::set<std::string> symbolNames{std::string(kDefaultEntryName)};

private:
  mlir::Value materialize(const std::string &name, const HostTensor &t);
  /// --train: the initializers `spec` makes trainable, in graph order
  /// (exit 11 for a name that is no f32 initializer).
  bool chooseTrainable(const onnx::GraphProto &graph,
                       const TrainableSpec &spec, std::vector<std::string> &out);
  /// A trainable initializer: a mutable `memc.trainable` parameter global
  /// and its load at the entry's start. `trainable` false: a mutable
  /// parameter that the step updates by other means than gradients (a
  /// BatchNormalization running statistic).
  mlir::Value materializeTrainable(const std::string &name,
                                   const HostTensor &t, bool trainable = true);
  /// The initializers that BatchNormalization nodes (only training-mode
  /// ones with `trainingOnly`) read as running mean and variance, with the
  /// node that reads each.
  std::map<std::string, std::string>
  findRunningStatistics(const onnx::GraphProto &graph, bool trainingOnly) const;
  bool readInitializer(const onnx::TensorProto &tp, HostTensor &out);
  /// A graph output's declared element type and static dims must be what
  /// the graph computes (exit 7 otherwise).
  bool checkDeclaredType(const onnx::ValueInfoProto &vi,
                         mlir::RankedTensorType computed);
  /// README: tensors with a zero-size dimension are refused (exit 5); a
  /// byte size that overflows int64 is an invalid model (exit 7).
  bool checkTensorSizes();
};

} // namespace memc::onnximport

#endif
