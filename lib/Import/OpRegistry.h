//===- OpRegistry.h - one entry per supported ONNX op -----------*- C++ -*-===//
//
// Internal to lib/Import. Every ONNX op memc imports has exactly one entry,
// keyed by its domain and op type: its IR builder, and, for ops that
// exporters use in shape subgraphs, its host fold (evaluation on
// compile-time constants). Each op family's file fills the registry through
// its register*Ops function; importNode is the one dispatcher, and
// getSupportedONNXOps lists the same entries.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_OPREGISTRY_H
#define MEMC_LIB_IMPORT_OPREGISTRY_H

#include "ImportContext.h"

#include "llvm/ADT/StringRef.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace memc::onnximport {

/// Builds the IR of one node; records an error through the NodeImporter
/// (unsupported/invalid) before returning failure.
using OpHandler = std::function<mlir::LogicalResult(NodeImporter &)>;

/// Evaluates one node on the host into `outputs` (one tensor per output).
/// Returns false when it does not fold (too large, an input it needs is not
/// constant, a form it does not cover): the IR builder runs then, and
/// reports what is wrong with the node. A fold may record an error itself
/// (an invalid constant shape); the node then fails.
using FoldFn = bool (*)(NodeImporter &node, std::vector<HostTensor> &outputs);

/// When the host fold is tried.
enum class FoldWhen {
  /// Every input is a compile-time constant (shape arithmetic).
  ConstantInputs,
  /// Always: the op reads only its input's static shape (Shape, Size).
  StaticShapes,
};

/// The domain of ONNX's training operators (Adam, Adagrad, Momentum).
inline constexpr const char *kTrainingDomain = "ai.onnx.preview.training";

/// The registry's spelling of a domain: "" for the default domain, which
/// models may also write "ai.onnx".
std::string canonicalDomain(llvm::StringRef domain);

struct OpEntry {
  std::string domain; ///< canonical: "" for the default domain
  std::string opType;
  OpHandler build;
  FoldFn fold = nullptr;
  FoldWhen foldWhen = FoldWhen::ConstantInputs;
};

class OpRegistry {
public:
  /// Registers `opType` of the default domain; each (domain, op type) is
  /// registered exactly once (a second registration is a memc bug and
  /// aborts).
  void add(const std::string &opType, OpHandler build, FoldFn fold = nullptr,
           FoldWhen foldWhen = FoldWhen::ConstantInputs);
  /// Registers `opType` of `domain` (no host fold: only the default
  /// domain's shape ops fold).
  void addInDomain(const std::string &domain, const std::string &opType,
                   OpHandler build);
  /// The entry of `opType` in `domain`, null when memc does not import it.
  const OpEntry *lookup(llvm::StringRef domain, llvm::StringRef opType) const;
  /// Whether memc imports any op of `domain`.
  bool hasDomain(llvm::StringRef domain) const;
  /// Every registered op, sorted: default-domain ops by their type, the
  /// others as `domain::Type`.
  std::vector<std::string> opTypes() const;

private:
  using Key = std::pair<std::string, std::string>; ///< (domain, op type)
  void insert(OpEntry entry);
  std::map<Key, OpEntry> entries_;
};

/// The registry of every op family, built on first use.
const OpRegistry &opRegistry();

/// Each op family's file registers its ops.
void registerElementwiseOps(OpRegistry &r);   // OpsElementwise.cpp
void registerReductionOps(OpRegistry &r);     // OpsReduce.cpp
void registerConstantOps(OpRegistry &r);      // OpsConstant.cpp
void registerTensorOps(OpRegistry &r);        // OpsTensor.cpp
void registerContractionOps(OpRegistry &r);   // OpsContraction.cpp
void registerSoftmaxOps(OpRegistry &r);       // OpsSoftmax.cpp
void registerNormalizationOps(OpRegistry &r); // OpsNorm.cpp
void registerConvOps(OpRegistry &r);          // OpsConv.cpp
void registerPoolOps(OpRegistry &r);          // OpsPool.cpp
void registerLayoutOps(OpRegistry &r);        // OpsLayout.cpp
void registerResizeOps(OpRegistry &r);        // OpsResize.cpp
void registerGatherScatterOps(OpRegistry &r); // OpsGatherScatter.cpp
void registerTrainingOps(OpRegistry &r);      // OpsTraining.cpp

class GraphImporter;

/// Imports one node: refuses unregistered domains and ops, checks
/// its inputs are defined, folds it on the host when its entry allows, else
/// builds its IR and checks every output it must produce. Returns false
/// after recording the error in `graph`.
bool importNode(GraphImporter &graph, const onnx::NodeProto &node);

} // namespace memc::onnximport

#endif
