//===- FoldBatchNorm.cpp - inference BatchNormalization into Conv ---------===//
#include "FoldBatchNorm.h"
#include "OpRegistry.h"

#include <cmath>
#include <set>

namespace memc::onnximport {
namespace {

bool isDefaultDomain(const onnx::NodeProto &node) {
  return canonicalDomain(node.domain()).empty();
}

const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                     const char *name) {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

/// Counts the reads of every tensor name in `graph` and in the subgraphs
/// of its nodes (If/Loop/Scan bodies read outer names implicitly).
void countReads(const onnx::GraphProto &graph,
                std::unordered_map<std::string, int> &reads) {
  for (const auto &node : graph.node()) {
    for (const std::string &in : node.input())
      if (!in.empty())
        ++reads[in];
    for (const auto &a : node.attribute()) {
      if (a.has_g())
        countReads(a.g(), reads);
      for (const auto &g : a.graphs())
        countReads(g, reads);
    }
  }
  for (const auto &out : graph.output())
    ++reads[out.name()];
}

/// The constants a fold may read: initializers, and the values of Constant
/// nodes (which the importer has not evaluated yet).
class ConstantView {
public:
  ConstantView(const onnx::GraphProto &graph,
               const std::unordered_map<std::string, HostTensor> &constants)
      : constants(constants) {
    for (const auto &node : graph.node()) {
      if (node.op_type() != "Constant" || !isDefaultDomain(node) ||
          node.output_size() != 1)
        continue;
      const onnx::AttributeProto *value = findAttr(node, "value");
      HostTensor t;
      if (value && value->has_t() && decodeInlineTensor(value->t(), t))
        fromNodes.emplace(node.output(0), std::move(t));
    }
  }

  /// The f32 constant `name` of rank `rank` (any rank when < 0).
  const HostTensor *f32(const std::string &name, int64_t rank) const {
    const HostTensor *t = nullptr;
    if (auto it = constants.find(name); it != constants.end())
      t = &it->second;
    else if (auto it = fromNodes.find(name); it != fromNodes.end())
      t = &it->second;
    if (!t || t->elemType != onnx::TensorProto::FLOAT ||
        (rank >= 0 && static_cast<int64_t>(t->shape.size()) != rank))
      return nullptr;
    return t;
  }

private:
  const std::unordered_map<std::string, HostTensor> &constants;
  std::unordered_map<std::string, HostTensor> fromNodes;
};

/// Whether `bn` is an inference-mode BatchNormalization of which only Y is
/// used.
bool isInferenceBatchNorm(const onnx::NodeProto &bn) {
  if (bn.op_type() != "BatchNormalization" || !isDefaultDomain(bn) ||
      bn.input_size() != 5 || bn.output_size() < 1 || bn.output(0).empty())
    return false;
  for (int i = 1; i < bn.output_size(); ++i)
    if (!bn.output(i).empty())
      return false;
  const onnx::AttributeProto *training = findAttr(bn, "training_mode");
  const onnx::AttributeProto *isTest = findAttr(bn, "is_test");
  const onnx::AttributeProto *spatial = findAttr(bn, "spatial");
  return !(training && training->i() != 0) && !(isTest && isTest->i() == 0) &&
         !(spatial && spatial->i() != 1);
}

} // namespace

unsigned
foldBatchNormIntoConv(onnx::GraphProto &graph,
                      std::unordered_map<std::string, HostTensor> &constants) {
  std::unordered_map<std::string, int> reads;
  countReads(graph, reads);
  std::unordered_map<std::string, int> producer;
  std::set<std::string> taken;
  for (const auto &tp : graph.initializer())
    taken.insert(tp.name());
  for (const auto &vi : graph.input())
    taken.insert(vi.name());
  for (int i = 0; i < graph.node_size(); ++i)
    for (const std::string &out : graph.node(i).output()) {
      producer[out] = i;
      taken.insert(out);
    }
  auto freshName = [&](const std::string &base) {
    std::string name = base;
    for (unsigned n = 1; taken.count(name) || constants.count(name); ++n)
      name = base + "_" + std::to_string(n);
    taken.insert(name);
    return name;
  };

  ConstantView view(graph, constants);
  std::vector<bool> erased(graph.node_size(), false);
  unsigned folded = 0;
  for (int b = 0; b < graph.node_size(); ++b) {
    const onnx::NodeProto &bn = graph.node(b);
    if (!isInferenceBatchNorm(bn))
      continue;
    auto p = producer.find(bn.input(0));
    if (p == producer.end() || reads[bn.input(0)] != 1)
      continue;
    onnx::NodeProto &conv = *graph.mutable_node(p->second);
    if (conv.op_type() != "Conv" || !isDefaultDomain(conv) ||
        conv.input_size() < 2 || conv.output_size() != 1)
      continue;
    const HostTensor *w = view.f32(conv.input(1), -1);
    if (!w || w->shape.size() < 3)
      continue;
    int64_t channels = w->shape[0];
    bool hasBias = conv.input_size() > 2 && !conv.input(2).empty();
    const HostTensor *bias = hasBias ? view.f32(conv.input(2), 1) : nullptr;
    const HostTensor *params[4];
    bool ok = !hasBias || (bias && bias->shape[0] == channels);
    for (int i = 0; i < 4 && ok; ++i) {
      params[i] = view.f32(bn.input(i + 1), 1);
      ok = params[i] && params[i]->shape[0] == channels;
    }
    if (!ok)
      continue;

    const onnx::AttributeProto *epsAttr = findAttr(bn, "epsilon");
    double eps = epsAttr ? epsAttr->f() : 1e-5f;
    std::vector<double> scale = params[0]->toDoubles(),
                        beta = params[1]->toDoubles(),
                        mean = params[2]->toDoubles(),
                        var = params[3]->toDoubles();
    std::vector<double> newBias(channels);
    std::vector<double> s(channels);
    for (int64_t c = 0; c < channels; ++c) {
      s[c] = scale[c] / std::sqrt(var[c] + eps);
      double b0 = bias ? bias->getDouble(c) : 0.0;
      newBias[c] = (b0 - mean[c]) * s[c] + beta[c];
    }
    std::vector<double> weights = w->toDoubles();
    int64_t perChannel = static_cast<int64_t>(weights.size()) / channels;
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < perChannel; ++i)
        weights[c * perChannel + i] *= s[c];

    std::string wName = freshName(conv.input(1) + "_bn_folded");
    std::string bName = freshName(
        (hasBias ? conv.input(2) : conv.input(1) + "_bias") + "_bn_folded");
    // Element pointers into `constants` stay valid across insertions.
    constants[wName] =
        HostTensor::fromDoubles(onnx::TensorProto::FLOAT, w->shape, weights);
    constants[bName] =
        HostTensor::fromDoubles(onnx::TensorProto::FLOAT, {channels}, newBias);
    conv.set_input(1, wName);
    if (conv.input_size() > 2)
      conv.set_input(2, bName);
    else
      conv.add_input(bName);
    conv.set_output(0, bn.output(0));
    erased[b] = true;
    ++folded;
  }
  if (!folded)
    return 0;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph.node_size(); ++i)
    if (!erased[i])
      kept.Add(std::move(*graph.mutable_node(i)));
  graph.mutable_node()->Swap(&kept);
  return folded;
}

} // namespace memc::onnximport
