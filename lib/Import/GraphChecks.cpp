//===- GraphChecks.cpp - a model's structure, checked before import -------===//
#include "GraphChecks.h"
#include "ImportContext.h"

#include <onnx/defs/schema.h>

#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace memc::onnximport {

std::optional<int64_t> parseNonNegativeInt64(const std::string &text) {
  if (text.empty() || text.size() > 19)
    return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    int digit = c - '0';
    if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<int64_t> checkedByteSize(const std::vector<int64_t> &shape,
                                       int64_t elemBytes) {
  int64_t bytes = elemBytes;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (d != 0 && bytes > std::numeric_limits<int64_t>::max() / d)
      return std::nullopt;
    bytes *= d;
  }
  return bytes;
}

namespace {

bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

std::string describe(const onnx::NodeProto &node, int64_t opset) {
  std::string name = node.name().empty() ? "(unnamed)" : node.name();
  return "node '" + name + "' (" + node.op_type() + ", opset " +
         std::to_string(opset) + ")";
}

/// The static dims of a value_info's tensor type (nullopt when any is
/// symbolic or the type has no shape).
std::optional<std::vector<int64_t>>
staticDims(const onnx::ValueInfoProto &vi) {
  if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
    return std::nullopt;
  std::vector<int64_t> dims;
  for (const auto &d : vi.type().tensor_type().shape().dim()) {
    if (!d.has_dim_value())
      return std::nullopt;
    dims.push_back(d.dim_value());
  }
  return dims;
}

class StructureChecker {
public:
  StructureChecker(const std::string &path, ImportError &error)
      : path(path), error(error) {}

  bool fail(ExitCode code, const std::string &why) {
    error = {code, path + ": " + why};
    return false;
  }
  bool invalid(const std::string &why) { return fail(ExitInvalidModel, why); }

  bool checkOpsets(const onnx::ModelProto &model, int64_t &opset) {
    bool found = false;
    std::unordered_set<std::string> domains;
    for (const auto &imp : model.opset_import()) {
      std::string domain = imp.domain() == "ai.onnx" ? "" : imp.domain();
      if (!domains.insert(domain).second)
        return invalid("opset_import lists domain '" + imp.domain() +
                       "' twice");
      if (domain.empty()) {
        found = true;
        opset = imp.version();
        if (opset <= 0)
          return invalid("opset_import of the default domain has version " +
                         std::to_string(opset) + "; ONNX opsets start at 1");
      }
    }
    for (const auto &node : model.graph().node())
      if (isDefaultDomain(node.domain()) && !found)
        return invalid(describe(node, 0) +
                       ": the model imports no opset of the default ONNX "
                       "domain (opset_import has no entry for \"\")");
    return true;
  }

  bool checkGraph(const onnx::GraphProto &graph, int64_t opset) {
    // Names and what defines them.
    std::unordered_map<std::string, std::string> definedBy;
    for (const auto &tp : graph.initializer()) {
      if (tp.name().empty())
        return invalid("an initializer has no name");
      if (!definedBy.emplace(tp.name(), "initializer").second)
        return invalid("initializer '" + tp.name() + "' is defined twice");
      // Element types memc lacks count one byte here; import refuses them.
      size_t eb = std::max<size_t>(1, onnxElemBytes(tp.data_type()));
      std::vector<int64_t> dims(tp.dims().begin(), tp.dims().end());
      if (!checkedByteSize(dims, eb))
        return invalid("initializer '" + tp.name() + "' has shape " +
                       formatDims(dims) +
                       ", whose byte size is negative or overflows");
    }
    std::unordered_set<std::string> inputs;
    for (const auto &vi : graph.input()) {
      if (vi.name().empty())
        return invalid("a graph input has no name");
      if (!inputs.insert(vi.name()).second)
        return invalid("graph input '" + vi.name() + "' is listed twice");
      // An input with an initializer of the same name is an overridable
      // constant (IR version < 4 requires it): not a second definition.
      definedBy.emplace(vi.name(), "graph input");
      if (auto dims = staticDims(vi);
          dims && vi.type().tensor_type().elem_type() &&
          !checkedByteSize(*dims, std::max<size_t>(
                                      1, onnxElemBytes(vi.type()
                                                           .tensor_type()
                                                           .elem_type()))))
        return invalid("graph input '" + vi.name() + "' has shape " +
                       formatDims(*dims) +
                       ", whose byte size is negative or overflows");
    }
    for (const auto &node : graph.node()) {
      if (isDefaultDomain(node.domain()) && opset > 0 &&
          !onnx::OpSchemaRegistry::Schema(node.op_type(), (int)opset, "")) {
        if (onnx::OpSchemaRegistry::Schema(node.op_type(), ""))
          return invalid(describe(node, opset) + ": " + node.op_type() +
                         " first appears in opset " +
                         std::to_string(earliestVersion(node.op_type())) +
                         ", newer than the model's opset " +
                         std::to_string(opset));
      }
      bool anyOutput = false;
      for (const std::string &out : node.output()) {
        if (out.empty())
          continue;
        anyOutput = true;
        auto [it, fresh] = definedBy.emplace(out, describe(node, opset));
        if (!fresh)
          return invalid(describe(node, opset) + ": output '" + out +
                         "' is already defined by " + it->second +
                         " (a tensor has exactly one writer)");
      }
      if (!anyOutput && isDefaultDomain(node.domain()))
        return invalid(describe(node, opset) + ": the node has no outputs");
    }
    std::unordered_set<std::string> outputs;
    for (const auto &vi : graph.output()) {
      if (vi.name().empty())
        return invalid("a graph output has no name");
      if (!outputs.insert(vi.name()).second)
        return invalid("graph output '" + vi.name() + "' is listed twice");
      if (!definedBy.count(vi.name()))
        return invalid("graph output '" + vi.name() +
                       "' is not produced by any node, input or "
                       "initializer");
    }
    return true;
  }

private:
  /// The first opset that defines `op` in the default domain.
  static int64_t earliestVersion(const std::string &op) {
    for (int v = 1; v <= 1000; ++v)
      if (onnx::OpSchemaRegistry::Schema(op, v, ""))
        return v;
    return 0;
  }

  const std::string &path;
  ImportError &error;
};

} // namespace

bool checkGraphStructure(const onnx::ModelProto &model,
                         const std::string &path, ImportError &error) {
  StructureChecker checker(path, error);
  int64_t opset = 0;
  return checker.checkOpsets(model, opset) &&
         checker.checkGraph(model.graph(), opset);
}

} // namespace memc::onnximport
