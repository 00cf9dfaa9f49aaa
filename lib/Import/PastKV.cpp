//===- PastKV.cpp - an export's past keys and values ----------------------===//
#include "PastKV.h"

using namespace memc::onnximport;

namespace {

int64_t rankOf(const onnx::ValueInfoProto &vi) {
  const auto &t = vi.type().tensor_type();
  return t.has_shape() ? t.shape().dim_size() : -1;
}

bool isIntegerInput(const onnx::ValueInfoProto &vi) {
  int e = vi.type().tensor_type().elem_type();
  return e == onnx::TensorProto::INT64 || e == onnx::TensorProto::INT32;
}

} // namespace

bool memc::onnximport::findPastKV(const onnx::GraphProto &graph,
                                  PastKV &found, std::string &error) {
  std::set<std::string> initializers, outputs;
  for (const auto &t : graph.initializer())
    initializers.insert(t.name());
  for (const auto &o : graph.output())
    outputs.insert(o.name());
  std::map<std::string, const onnx::ValueInfoProto *> inputs;
  for (const auto &vi : graph.input())
    if (!initializers.count(vi.name()) && vi.type().has_tensor_type()) {
      inputs[vi.name()] = &vi;
      if (!isIntegerInput(vi))
        continue;
      if (found.ids.empty() && rankOf(vi) == 2)
        found.ids = vi.name();
      else
        found.positions.insert(vi.name());
    }

  for (const auto &node : graph.node()) {
    if (node.op_type() != "Concat" || node.input_size() != 2 ||
        node.output_size() != 1 || !outputs.count(node.output(0)))
      continue;
    auto past = inputs.find(node.input(0));
    if (past == inputs.end() || isIntegerInput(*past->second))
      continue;
    int64_t rank = rankOf(*past->second), axis = 0;
    for (const auto &a : node.attribute())
      if (a.name() == "axis")
        axis = a.i();
    if (rank <= 0 || axis < -rank || axis >= rank)
      continue;
    found.pastAxis[past->first] = axis < 0 ? axis + rank : axis;
  }
  if (found.pastAxis.empty())
    return true;

  // Values computed from a past (in node order, which ONNX makes
  // topological); none may have its shape read as a number.
  std::map<std::string, std::string> fromPast; // value -> its past
  for (const auto &[name, axis] : found.pastAxis)
    fromPast[name] = name;
  for (const auto &node : graph.node()) {
    std::string past;
    for (const auto &in : node.input())
      if (auto it = fromPast.find(in); it != fromPast.end())
        past = it->second;
    if (past.empty())
      continue;
    if (node.op_type() == "Shape" || node.op_type() == "Size") {
      error = "node '" + (node.name().empty() ? node.output(0) : node.name()) +
              "' (" + node.op_type() + ") reads the length of the past '" +
              past +
              "', which memc keeps in a KV cache whose filled length is "
              "known only at run time: export the positions as an input";
      return false;
    }
    for (const auto &out : node.output())
      fromPast[out] = past;
  }
  return true;
}
