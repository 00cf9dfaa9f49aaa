//===- OpRegistry.cpp - one entry per supported ONNX op, one dispatcher ---===//
#include "OpRegistry.h"
#include "GraphImporter.h"

#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

namespace memc::onnximport {

std::string canonicalDomain(StringRef domain) {
  return domain == "ai.onnx" ? std::string() : domain.str();
}

void OpRegistry::insert(OpEntry entry) {
  Key key{entry.domain, entry.opType};
  if (!entries_.emplace(key, std::move(entry)).second)
    llvm::report_fatal_error(llvm::Twine("memc importer: op '") + key.first +
                             "::" + key.second + "' registered twice");
}

void OpRegistry::add(const std::string &opType, OpHandler build, FoldFn fold,
                     FoldWhen foldWhen) {
  insert(OpEntry{"", opType, std::move(build), fold, foldWhen});
}

void OpRegistry::addInDomain(const std::string &domain,
                             const std::string &opType, OpHandler build) {
  insert(OpEntry{canonicalDomain(domain), opType, std::move(build)});
}

const OpEntry *OpRegistry::lookup(StringRef domain, StringRef opType) const {
  auto it = entries_.find(Key{canonicalDomain(domain), opType.str()});
  return it == entries_.end() ? nullptr : &it->second;
}

bool OpRegistry::hasDomain(StringRef domain) const {
  auto it = entries_.lower_bound(Key{canonicalDomain(domain), ""});
  return it != entries_.end() && it->first.first == canonicalDomain(domain);
}

std::vector<std::string> OpRegistry::opTypes() const {
  std::vector<std::string> ops;
  for (const auto &kv : entries_)
    ops.push_back(kv.first.first.empty()
                      ? kv.first.second
                      : kv.first.first + "::" + kv.first.second);
  return ops;
}

const OpRegistry &opRegistry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    registerElementwiseOps(r);
    registerReductionOps(r);
    registerConstantOps(r);
    registerTensorOps(r);
    registerContractionOps(r);
    registerSoftmaxOps(r);
    registerNormalizationOps(r);
    registerConvOps(r);
    registerPoolOps(r);
    registerLayoutOps(r);
    registerResizeOps(r);
    registerGatherScatterOps(r);
    registerTrainingOps(r);
    return r;
  }();
  return registry;
}

/// Shape subgraphs fold on the host: every input known, or the op only
/// reads static shapes. False when the node is left to its IR builder.
static bool tryFold(const OpEntry &entry, GraphImporter &graph,
                    const onnx::NodeProto &node, NodeImporter &ni) {
  if (!entry.fold)
    return false;
  bool allConst = true;
  for (int i = 0; i < node.input_size(); ++i)
    if (!node.input(i).empty() && !graph.constants.count(node.input(i)))
      allConst = false;
  if (!allConst && entry.foldWhen != FoldWhen::StaticShapes)
    return false;
  std::vector<HostTensor> folded;
  if (!entry.fold(ni, folded))
    return false;
  for (size_t i = 0; i < folded.size(); ++i)
    ni.setConstOutput(i, std::move(folded[i]));
  return true;
}

bool importNode(GraphImporter &graph, const onnx::NodeProto &node) {
  // Each domain has its own opset version (the training ops' is 1).
  NodeImporter ni(graph, node, graph.opsetOf(node.domain()));
  const OpRegistry &registry = opRegistry();
  if (!registry.hasDomain(node.domain())) {
    (void)ni.unsupported("operator domain '" + node.domain() +
                         "' is not supported");
    return false;
  }
  const OpEntry *entry = registry.lookup(node.domain(), node.op_type());
  if (!entry) {
    (void)ni.unsupported("unsupported operator '" + node.op_type() + "'");
    return false;
  }
  for (int i = 0; i < node.input_size(); ++i)
    if (!node.input(i).empty() && !graph.values.count(node.input(i)) &&
        !graph.constants.count(node.input(i))) {
      (void)ni.invalid("input '" + node.input(i) + "' is not defined");
      return false;
    }
  if (tryFold(*entry, graph, node, ni))
    return true;
  if (graph.error.code != ExitOK)
    return false;
  if (failed(entry->build(ni)) || graph.error.code != ExitOK) {
    if (graph.error.code == ExitOK)
      (void)ni.unsupported("the importer could not lower this node");
    return false;
  }
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty() &&
        !(graph.values.count(node.output(i)) && graph.values[node.output(i)]) &&
        !graph.constants.count(node.output(i))) {
      (void)ni.unsupported("output " + std::to_string(i) +
                           " is not produced by memc's importer");
      return false;
    }
  return true;
}

} // namespace memc::onnximport

std::vector<std::string> memc::getSupportedONNXOps() {
  return memc::onnximport::opRegistry().opTypes();
}
