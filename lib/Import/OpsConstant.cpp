//===- OpsConstant.cpp - Constant, ConstantOfShape, Range, Shape, Size ----===//
//
// Ops whose values are known at compile time under static shapes: they
// fold on the host (HostFold.h) into constants the next ops read. Their IR
// builders only report the forms that do not fold.
//
//===----------------------------------------------------------------------===//
#include "HostFold.h"
#include "OpRegistry.h"

#include <cmath>

using namespace mlir;

namespace memc::onnximport {

using TP = onnx::TensorProto;

static bool foldConstant(NodeImporter &n, std::vector<HostTensor> &out) {
  for (const auto &a : n.node().attribute()) {
    const std::string &name = a.name();
    if (name == "value") {
      HostTensor t;
      if (!decodeInlineTensor(a.t(), t))
        return false;
      out.push_back(std::move(t));
      return true;
    }
    if (name == "value_float") {
      out.push_back(HostTensor::fromDoubles(TP::FLOAT, {}, {a.f()}));
      return true;
    }
    if (name == "value_floats") {
      std::vector<double> v(a.floats().begin(), a.floats().end());
      out.push_back(HostTensor::fromDoubles(TP::FLOAT, {(int64_t)v.size()}, v));
      return true;
    }
    if (name == "value_int") {
      out.push_back(HostTensor::fromInts(TP::INT64, {}, {a.i()}));
      return true;
    }
    if (name == "value_ints") {
      std::vector<int64_t> v(a.ints().begin(), a.ints().end());
      out.push_back(HostTensor::fromInts(TP::INT64, {(int64_t)v.size()}, v));
      return true;
    }
  }
  return false;
}

/// Shape and Size read only the input's static shape: they fold whether or
/// not the input itself is known.
static bool foldShape(NodeImporter &n, std::vector<HostTensor> &out) {
  Value v = n.input(0);
  if (!v)
    return false;
  std::vector<int64_t> s = NodeImporter::shapeOf(v);
  int64_t rank = s.size();
  int64_t start = n.attrInt("start", 0), end = n.attrInt("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<int64_t> dims(s.begin() + start,
                            s.begin() + std::max(start, end));
  out.push_back(HostTensor::fromInts(TP::INT64, {(int64_t)dims.size()}, dims));
  return true;
}

static bool foldSize(NodeImporter &n, std::vector<HostTensor> &out) {
  Value v = n.input(0);
  if (!v)
    return false;
  int64_t total = 1;
  for (int64_t d : NodeImporter::shapeOf(v))
    total *= d;
  out.push_back(HostTensor::fromInts(TP::INT64, {}, {total}));
  return true;
}

static bool foldConstantOfShape(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *s = n.constInput(0);
  if (!s)
    return false;
  std::vector<int64_t> shape = s->toInts();
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      (void)n.invalid("negative dimension " + std::to_string(d));
      return false;
    }
    if (d > kMaxFoldElements || (total *= d) > kMaxFoldElements)
      return false;
  }
  HostTensor value = HostTensor::fromDoubles(TP::FLOAT, {1}, {0.0});
  if (const auto *a = n.attr("value")) {
    value = HostTensor();
    if (!decodeInlineTensor(a->t(), value) || value.numel() != 1)
      return false;
  }
  out.push_back(pickElements(value, shape, std::vector<int64_t>(total, 0)));
  return true;
}

static bool foldRange(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *s = n.constInput(0), *l = n.constInput(1),
                   *d = n.constInput(2);
  if (!s || !l || !d)
    return false;
  if (s->isFloat()) {
    double a = s->getDouble(0), b = l->getDouble(0), st = d->getDouble(0);
    if (st == 0)
      return false;
    int64_t count = std::max<int64_t>(0, (int64_t)std::ceil((b - a) / st));
    if (count > kMaxFoldElements)
      return false;
    std::vector<double> v(count);
    for (int64_t i = 0; i < count; ++i)
      v[i] = a + i * st;
    out.push_back(HostTensor::fromDoubles(s->elemType, {count}, v));
    return true;
  }
  int64_t a = s->getInt(0), b = l->getInt(0), st = d->getInt(0);
  if (st == 0)
    return false;
  int64_t count = std::max<int64_t>(0, (b - a + st + (st > 0 ? -1 : 1)) / st);
  if (count > kMaxFoldElements)
    return false;
  std::vector<int64_t> v(count);
  for (int64_t i = 0; i < count; ++i)
    v[i] = a + i * st;
  out.push_back(HostTensor::fromInts(s->elemType, {count}, v));
  return true;
}

/// The IR builder of an op that only folds: `why` it did not.
static OpHandler onlyFolds(const char *why) {
  return [why](NodeImporter &n) { return n.unsupported(why); };
}

void registerConstantOps(OpRegistry &r) {
  r.add("Constant", onlyFolds("this Constant form (sparse or string values)"),
        foldConstant);
  // Non-constant shapes cannot occur with static shapes.
  r.add("ConstantOfShape", onlyFolds("ConstantOfShape with a runtime shape"),
        foldConstantOfShape);
  r.add("Range", onlyFolds("Range with runtime bounds"), foldRange);
  r.add("Shape", onlyFolds("Shape of a value without a static shape"),
        foldShape, FoldWhen::StaticShapes);
  r.add("Size", onlyFolds("Shape of a value without a static shape"), foldSize,
        FoldWhen::StaticShapes);
}

} // namespace memc::onnximport
