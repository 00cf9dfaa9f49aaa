//===- HostFold.cpp - folds of shape subgraphs that op families share ----===//
//
// See HostFold.h. Each fold returns false, leaving the node to its IR
// builder, for anything it does not cover; the builder reports bad nodes.
//
//===----------------------------------------------------------------------===//
#include "HostFold.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace memc::onnximport {

using TP = onnx::TensorProto;

/// numpy broadcasting over host tensors: f(index of each input) per output.
static bool broadcastIndex(const std::vector<const HostTensor *> &ins,
                           std::vector<int64_t> &shape,
                           std::vector<std::vector<int64_t>> &indexOf) {
  size_t rank = 0;
  for (auto *t : ins) {
    rank = std::max(rank, t->shape.size());
    for (int64_t d : t->shape)
      if (d < 0 || d > kMaxFoldElements)
        return false; // the importer reports bad shapes
  }
  shape.assign(rank, 1);
  for (auto *t : ins)
    for (size_t i = 0; i < t->shape.size(); ++i) {
      int64_t &o = shape[rank - t->shape.size() + i];
      int64_t d = t->shape[i];
      if (d == o || d == 1)
        continue;
      if (o != 1)
        return false;
      o = d;
    }
  int64_t total = 1;
  for (int64_t d : shape)
    total *= d;
  if (total > kMaxFoldElements)
    return false;
  indexOf.assign(ins.size(), std::vector<int64_t>(total));
  std::vector<int64_t> idx(rank, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    for (size_t k = 0; k < ins.size(); ++k) {
      const auto &s = ins[k]->shape;
      int64_t off = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        int64_t d = idx[rank - s.size() + i];
        off = off * s[i] + (s[i] == 1 ? 0 : d);
      }
      indexOf[k][flat] = off;
    }
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++idx[i] < shape[i])
        break;
      idx[i] = 0;
    }
  }
  return true;
}

bool foldPointwise(NodeImporter &n, std::vector<HostTensor> &out) {
  const std::string &op = n.node().op_type();
  // Variadic Min/Max with one input and float ops on f16 are left to IR.
  if ((op == "Min" || op == "Max") && n.numInputs() != 2)
    return false;
  std::vector<const HostTensor *> ins;
  for (unsigned i = 0; i < n.numInputs(); ++i) {
    const HostTensor *t = n.constInput(i);
    if (!t)
      return false;
    ins.push_back(t);
  }
  if (ins.empty())
    return false;
  std::vector<int64_t> shape;
  std::vector<std::vector<int64_t>> at;
  if (!broadcastIndex(ins, shape, at))
    return false;
  int64_t total = at[0].size();
  bool isF = ins[0]->isFloat();
  int32_t outType = ins[0]->elemType;
  bool cmp = op == "Equal" || op == "Less" || op == "Greater" ||
             op == "LessOrEqual" || op == "GreaterOrEqual";
  if (cmp || op == "Not" || op == "And" || op == "Or")
    outType = TP::BOOL;
  if (op == "Where")
    outType = ins[1]->elemType, isF = ins[1]->isFloat();
  if (op == "Cast") {
    outType = n.attrInt("to", 0);
    if (!onnxElemType(n.ctx(), outType))
      return false;
  }
  std::vector<double> fv(total);
  std::vector<int64_t> iv(total);
  for (int64_t j = 0; j < total; ++j) {
    auto D = [&](int k) { return ins[k]->getDouble(at[k][j]); };
    auto I = [&](int k) { return ins[k]->getInt(at[k][j]); };
    if (op == "Cast") {
      fv[j] = D(0);
      iv[j] = ins[0]->isFloat() ? (int64_t)D(0) : I(0);
      continue;
    }
    if (op == "Where") {
      bool c = I(0) != 0;
      fv[j] = c ? D(1) : D(2);
      iv[j] = c ? I(1) : I(2);
      continue;
    }
    if (cmp) {
      double a = isF ? D(0) : I(0), b = isF ? D(1) : I(1);
      if (!isF) { // compare exactly as integers
        int64_t x = I(0), y = I(1);
        iv[j] = op == "Equal" ? x == y : op == "Less" ? x < y
                : op == "Greater" ? x > y : op == "LessOrEqual" ? x <= y
                : x >= y;
      } else {
        iv[j] = op == "Equal" ? a == b : op == "Less" ? a < b
                : op == "Greater" ? a > b : op == "LessOrEqual" ? a <= b
                : a >= b;
      }
      continue;
    }
    if (op == "Not") { iv[j] = !I(0); continue; }
    if (op == "And") { iv[j] = I(0) && I(1); continue; }
    if (op == "Or") { iv[j] = I(0) || I(1); continue; }
    if (isF) {
      double a = D(0), b = ins.size() > 1 ? D(1) : 0;
      if (op == "Add") fv[j] = a + b;
      else if (op == "Sub") fv[j] = a - b;
      else if (op == "Mul") fv[j] = a * b;
      else if (op == "Div") fv[j] = a / b;
      else if (op == "Neg") fv[j] = -a;
      else if (op == "Abs") fv[j] = std::fabs(a);
      else if (op == "Sqrt") fv[j] = std::sqrt(a);
      else if (op == "Min") fv[j] = std::min(a, b);
      else if (op == "Max") fv[j] = std::max(a, b);
      else return false;
    } else {
      int64_t a = I(0), b = ins.size() > 1 ? I(1) : 0;
      if (op == "Add") iv[j] = a + b;
      else if (op == "Sub") iv[j] = a - b;
      else if (op == "Mul") iv[j] = a * b;
      else if (op == "Div") { if (!b) return false; iv[j] = a / b; }
      else if (op == "Neg") iv[j] = -a;
      else if (op == "Abs") iv[j] = a < 0 ? -a : a;
      else if (op == "Min") iv[j] = std::min(a, b);
      else if (op == "Max") iv[j] = std::max(a, b);
      else return false;
    }
  }
  bool outF = outType == TP::FLOAT || outType == TP::DOUBLE ||
              outType == TP::FLOAT16 || outType == TP::BFLOAT16;
  bool srcF = isF && !cmp && op != "Not" && op != "And" && op != "Or";
  if (op == "Cast")
    srcF = ins[0]->isFloat();
  if (outF)
    out.push_back(HostTensor::fromDoubles(
        outType, shape, srcF ? fv : std::vector<double>(iv.begin(), iv.end())));
  else if (srcF) {
    std::vector<int64_t> t(total);
    for (int64_t j = 0; j < total; ++j)
      t[j] = outType == TP::BOOL ? fv[j] != 0 : (int64_t)fv[j];
    out.push_back(HostTensor::fromInts(outType, shape, t));
  } else
    out.push_back(HostTensor::fromInts(outType, shape, iv));
  return true;
}

//===----------------------------------------------------------------------===//
// Shape-only ops: the same bytes, a new shape
//===----------------------------------------------------------------------===//

/// `x` with the shape `shape`, computed by the IR builder's rules on host
/// values; false (the builder reports it) when `shape` does not hold x's
/// elements.
static bool withShape(const HostTensor &x, std::vector<int64_t> shape,
                      std::vector<HostTensor> &out) {
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > x.numel())
      return false; // let the importer report it
    total *= d;
  }
  if (total != x.numel())
    return false;
  HostTensor r = x;
  r.shape = std::move(shape);
  out.push_back(std::move(r));
  return true;
}

bool foldIdentity(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  if (!x || n.wantsOutput(1)) // Dropout's mask
    return false;
  return withShape(*x, x->shape, out);
}

bool foldReshape(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  const HostTensor *s = n.constInput(1);
  if (!x || !s || n.opset() < 5)
    return false;
  std::vector<int64_t> in = x->shape;
  std::vector<int64_t> shape = s->toInts();
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !n.attrInt("allowzero", 0) && i < in.size())
      shape[i] = in[i];
    if (shape[i] == -1)
      inferred = i;
    else
      known *= shape[i];
  }
  if (inferred >= 0 && known)
    shape[inferred] = x->numel() / known;
  return withShape(*x, shape, out);
}

/// Squeeze/Unsqueeze axes: input 1 from opset 13, the attribute before.
static bool squeezeAxes(NodeImporter &n, std::vector<int64_t> &axes) {
  if (n.opset() < 13) {
    axes = n.attrInts("axes");
    return true;
  }
  if (const HostTensor *a = n.constInput(1))
    axes = a->toInts();
  else if (n.hasInput(1))
    return false;
  return true;
}

bool foldSqueeze(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  std::vector<int64_t> axes;
  if (!x || !squeezeAxes(n, axes))
    return false;
  const std::vector<int64_t> &in = x->shape;
  int64_t rank = in.size();
  std::vector<bool> drop(rank, axes.empty());
  if (axes.empty())
    for (int64_t i = 0; i < rank; ++i)
      drop[i] = in[i] == 1;
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      return false; // the importer reports the axis
    drop[a < 0 ? a + rank : a] = true;
  }
  std::vector<int64_t> s;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i])
      s.push_back(in[i]);
  return withShape(*x, s, out);
}

bool foldUnsqueeze(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  std::vector<int64_t> axes;
  if (!x || !squeezeAxes(n, axes))
    return false;
  const std::vector<int64_t> &in = x->shape;
  int64_t outRank = in.size() + axes.size();
  std::vector<bool> inserted(outRank, false);
  for (int64_t a : axes) {
    if (a < -outRank || a >= outRank || inserted[a < 0 ? a + outRank : a])
      return false; // the importer reports the axis
    inserted[a < 0 ? a + outRank : a] = true;
  }
  std::vector<int64_t> s;
  size_t j = 0;
  for (int64_t i = 0; i < outRank; ++i)
    s.push_back(inserted[i] ? 1 : in[j++]);
  return withShape(*x, s, out);
}

bool foldFlatten(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  if (!x)
    return false;
  int64_t rank = x->shape.size();
  int64_t axis = n.attrInt("axis", 1);
  if (axis < 0)
    axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) *= x->shape[i];
  return withShape(*x, {outer, inner}, out);
}

/// Gathers elements of `x` at flat indices `src` into a tensor of `shape`.
HostTensor pickElements(const HostTensor &x, std::vector<int64_t> shape,
                       const std::vector<int64_t> &src) {
  HostTensor r;
  r.elemType = x.elemType;
  r.shape = std::move(shape);
  size_t eb = x.elemBytes();
  r.raw.resize(src.size() * eb);
  for (size_t i = 0; i < src.size(); ++i)
    std::memcpy(&r.raw[i * eb], &x.raw[src[i] * eb], eb);
  return r;
}

static std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

bool foldConcat(NodeImporter &n, std::vector<HostTensor> &out) {
  std::vector<const HostTensor *> ins;
  for (unsigned i = 0; i < n.numInputs(); ++i) {
    const HostTensor *t = n.constInput(i);
    if (!t || t->elemType != n.constInput(0)->elemType)
      return false;
    ins.push_back(t);
  }
  int64_t rank = ins[0]->shape.size();
  int64_t axis = n.attrInt("axis", 0);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return false;
  std::vector<int64_t> shape = ins[0]->shape;
  shape[axis] = 0;
  for (auto *t : ins) {
    if ((int64_t)t->shape.size() != rank)
      return false;
    shape[axis] += t->shape[axis];
  }
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  HostTensor r;
  r.elemType = ins[0]->elemType;
  r.shape = shape;
  size_t eb = ins[0]->elemBytes();
  for (int64_t o = 0; o < outer; ++o)
    for (auto *t : ins) {
      int64_t chunk = t->numel() / std::max<int64_t>(outer, 1) * eb;
      r.raw.append(t->raw, o * chunk, chunk);
    }
  out.push_back(std::move(r));
  return true;
}

bool foldGather(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  if (!x || x->numel() > kMaxFoldElements)
    return false;
  std::vector<int64_t> in = x->shape;
  int64_t rank = in.size();
  const HostTensor *idx = n.constInput(1);
  if (!idx)
    return false;
  int64_t axis = n.attrInt("axis", 0);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return false;
  std::vector<int64_t> ids = idx->toInts();
  int64_t outer = 1, inner = 1, dim = in[axis];
  for (int64_t i = 0; i < axis; ++i)
    outer *= in[i];
  for (int64_t i = axis + 1; i < rank; ++i)
    inner *= in[i];
  std::vector<int64_t> src;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t id : ids) {
      if (id < -dim || id >= dim)
        return false;
      if (id < 0)
        id += dim;
      for (int64_t k = 0; k < inner; ++k)
        src.push_back((o * dim + id) * inner + k);
    }
  std::vector<int64_t> shape(in.begin(), in.begin() + axis);
  shape.insert(shape.end(), idx->shape.begin(), idx->shape.end());
  shape.insert(shape.end(), in.begin() + axis + 1, in.end());
  out.push_back(pickElements(*x, shape, src));
  return true;
}

bool foldSlice(NodeImporter &n, std::vector<HostTensor> &out) {
  if (n.opset() < 10) // starts/ends are attributes before
    return false;
  const HostTensor *x = n.constInput(0);
  if (!x || x->numel() > kMaxFoldElements)
    return false;
  std::vector<int64_t> in = x->shape;
  int64_t rank = in.size();
  const HostTensor *s = n.constInput(1), *e = n.constInput(2);
  if (!s || !e || (n.hasInput(3) && !n.constInput(3)) ||
      (n.hasInput(4) && !n.constInput(4)))
    return false;
  std::vector<int64_t> starts = s->toInts(), ends = e->toInts(), axes, steps;
  if (n.hasInput(3))
    axes = n.constInput(3)->toInts();
  else
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (n.hasInput(4))
    steps = n.constInput(4)->toInts();
  else
    steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || ends.size() != starts.size() ||
      steps.size() != starts.size())
    return false;
  std::vector<int64_t> begin(rank, 0), step(rank, 1), count(in);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= rank || steps[i] == 0)
      return false;
    int64_t dim = in[a], st = steps[i], b0 = starts[i], e0 = ends[i];
    if (b0 < 0) b0 += dim;
    if (e0 < 0) e0 += dim;
    if (st > 0) {
      b0 = std::clamp<int64_t>(b0, 0, dim);
      e0 = std::clamp<int64_t>(e0, 0, dim);
      count[a] = e0 > b0 ? (e0 - b0 + st - 1) / st : 0;
    } else {
      b0 = std::clamp<int64_t>(b0, -1, dim - 1);
      e0 = std::clamp<int64_t>(e0, -1, dim - 1);
      count[a] = b0 > e0 ? (b0 - e0 + (-st) - 1) / (-st) : 0;
    }
    begin[a] = b0;
    step[a] = st;
  }
  std::vector<int64_t> strides = stridesOf(in), src;
  int64_t total = 1;
  for (int64_t c : count)
    total *= c;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t f = 0; f < total; ++f) {
    int64_t off = 0;
    for (int64_t i = 0; i < rank; ++i)
      off += (begin[i] + idx[i] * step[i]) * strides[i];
    src.push_back(off);
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++idx[i] < count[i])
        break;
      idx[i] = 0;
    }
  }
  out.push_back(pickElements(*x, count, src));
  return true;
}

bool foldTranspose(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  if (!x || x->numel() > kMaxFoldElements)
    return false;
  std::vector<int64_t> in = x->shape;
  int64_t rank = in.size();
  std::vector<int64_t> perm = n.attrInts("perm");
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if ((int64_t)perm.size() != rank)
    return false;
  std::vector<int64_t> shape, strides = stridesOf(in), src;
  for (int64_t p : perm)
    shape.push_back(in[p]);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t f = 0; f < x->numel(); ++f) {
    int64_t off = 0;
    for (int64_t i = 0; i < rank; ++i)
      off += idx[i] * strides[perm[i]];
    src.push_back(off);
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++idx[i] < shape[i])
        break;
      idx[i] = 0;
    }
  }
  out.push_back(pickElements(*x, shape, src));
  return true;
}

bool foldExpand(NodeImporter &n, std::vector<HostTensor> &out) {
  const HostTensor *x = n.constInput(0);
  if (!x || x->numel() > kMaxFoldElements)
    return false;
  const HostTensor *s = n.constInput(1);
  if (!s)
    return false;
  // Broadcast x against a tensor of the requested shape.
  std::vector<int64_t> target = s->toInts();
  HostTensor dummy;
  dummy.elemType = TP::BOOL;
  dummy.shape = target;
  std::vector<int64_t> shape;
  std::vector<std::vector<int64_t>> at;
  if (!broadcastIndex({x, &dummy}, shape, at))
    return false;
  out.push_back(pickElements(*x, shape, at[0]));
  return true;
}

} // namespace memc::onnximport
