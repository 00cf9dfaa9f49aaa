//===- HostFold.cpp - evaluate shape subgraphs at compile time ------------===//
//
// PyTorch exports compute reshape targets, slice bounds and masks with
// Shape -> Gather -> Unsqueeze -> Concat chains and friends. With static
// shapes all of these are known at compile time: they are evaluated here on
// small host tensors, so the ops that consume them (Reshape, Slice, Expand,
// ...) see constants. Only small tensors are folded; anything else is left
// to the regular importers, which build IR.
//
//===----------------------------------------------------------------------===//
#include "ImportContext.h"

#include <cmath>

using namespace mlir;

namespace memc::onnximport {

using TP = onnx::TensorProto;
static constexpr int64_t kMaxFoldElements = 1 << 16;

static HostTensor fromTensorProto(const onnx::TensorProto &tp, bool &ok) {
  HostTensor t;
  ok = decodeInlineTensor(tp, t);
  return t;
}

static bool foldConstant(NodeImporter &n, std::vector<HostTensor> &out) {
  const auto &node = n.node();
  for (const auto &a : node.attribute()) {
    const std::string &name = a.name();
    if (name == "value") {
      bool ok;
      HostTensor t = fromTensorProto(a.t(), ok);
      if (!ok)
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

static bool foldPointwise(NodeImporter &n, std::vector<HostTensor> &out) {
  const std::string &op = n.node().op_type();
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

/// Ops that only change the shape: the same bytes, a new shape. The shape
/// comes from the regular importer's rules, recomputed here on host values.
static bool foldReshapeLike(NodeImporter &n, std::vector<HostTensor> &out) {
  const std::string &op = n.node().op_type();
  const HostTensor *x = n.constInput(0);
  if (!x)
    return false;
  HostTensor r = *x;
  std::vector<int64_t> in = x->shape;
  int64_t rank = in.size();
  if (op == "Identity" || op == "Dropout") {
    if (n.wantsOutput(1))
      return false;
  } else if (op == "Reshape") {
    const HostTensor *s = n.constInput(1);
    if (!s || n.opset() < 5)
      return false;
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
    r.shape = shape;
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    std::vector<int64_t> axes;
    if (n.opset() >= 13) {
      if (const HostTensor *a = n.constInput(1))
        axes = a->toInts();
      else if (n.hasInput(1))
        return false;
    } else {
      axes = n.attrInts("axes");
    }
    if (op == "Unsqueeze") {
      int64_t outRank = rank + axes.size();
      std::vector<bool> ins(outRank, false);
      for (int64_t a : axes)
        ins[a < 0 ? a + outRank : a] = true;
      std::vector<int64_t> s;
      size_t j = 0;
      for (int64_t i = 0; i < outRank; ++i)
        s.push_back(ins[i] ? 1 : in[j++]);
      r.shape = s;
    } else {
      std::vector<bool> drop(rank, axes.empty());
      if (axes.empty())
        for (int64_t i = 0; i < rank; ++i)
          drop[i] = in[i] == 1;
      for (int64_t a : axes)
        drop[a < 0 ? a + rank : a] = true;
      std::vector<int64_t> s;
      for (int64_t i = 0; i < rank; ++i)
        if (!drop[i])
          s.push_back(in[i]);
      r.shape = s;
    }
  } else if (op == "Flatten") {
    int64_t axis = n.attrInt("axis", 1);
    if (axis < 0)
      axis += rank;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i)
      (i < axis ? outer : inner) *= in[i];
    r.shape = {outer, inner};
  } else {
    return false;
  }
  int64_t total = 1;
  for (int64_t d : r.shape) {
    if (d < 0 || d > x->numel())
      return false; // let the importer report it
    total *= d;
  }
  if (total != x->numel())
    return false;
  out.push_back(std::move(r));
  return true;
}

/// Gathers elements of `x` at flat indices `src` into a tensor of `shape`.
static HostTensor pick(const HostTensor &x, std::vector<int64_t> shape,
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

/// Trilu of a constant: how `torch.tril(torch.ones(T, T))` in forward()
/// exports a causal mask. Folded, the mask is a constant whose triangle the
/// importer records, so FuseMax can fuse the attention it masks. The result
/// is no larger than the constant already in the model, hence the larger
/// limit than for other folds.
static bool foldTrilu(NodeImporter &n, std::vector<HostTensor> &out) {
  constexpr int64_t kMaxTriluElements = int64_t(1) << 24;
  const HostTensor *x = n.constInput(0);
  if (!x || x->shape.size() < 2 || x->numel() > kMaxTriluElements)
    return false;
  int64_t k = 0;
  if (n.hasInput(1)) {
    const HostTensor *kt = n.constInput(1);
    if (!kt || kt->numel() != 1)
      return false;
    k = kt->getInt(0);
  }
  bool upper = n.attrInt("upper", 1) != 0;
  int64_t rows = x->shape[x->shape.size() - 2],
          cols = x->shape[x->shape.size() - 1];
  size_t eb = x->elemBytes();
  HostTensor r = *x;
  for (int64_t e = 0; e < x->numel(); ++e) {
    int64_t j = e % cols, i = e / cols % rows;
    if (upper ? j - i < k : j - i > k)
      std::fill_n(r.raw.begin() + e * eb, eb, '\0'); // 0 in every type
  }
  out.push_back(std::move(r));
  return true;
}

static bool foldDataMovement(NodeImporter &n, std::vector<HostTensor> &out) {
  const std::string &op = n.node().op_type();
  if (op == "Trilu")
    return foldTrilu(n, out);
  if (op == "Concat") {
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
  const HostTensor *x = n.constInput(0);
  if (!x || x->numel() > kMaxFoldElements)
    return false;
  std::vector<int64_t> in = x->shape;
  int64_t rank = in.size();
  if (op == "Gather") {
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
    out.push_back(pick(*x, shape, src));
    return true;
  }
  if (op == "Slice" && n.opset() >= 10) {
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
    out.push_back(pick(*x, count, src));
    return true;
  }
  if (op == "Transpose") {
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
    out.push_back(pick(*x, shape, src));
    return true;
  }
  if (op == "Expand") {
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
    out.push_back(pick(*x, shape, at[0]));
    return true;
  }
  return false;
}

bool foldOnHost(NodeImporter &n, std::vector<HostTensor> &out) {
  const std::string &op = n.node().op_type();
  if (op == "Constant")
    return foldConstant(n, out);
  if (op == "Shape" || op == "Size") {
    Value v = n.input(0);
    if (!v)
      return false;
    std::vector<int64_t> s = NodeImporter::shapeOf(v);
    if (op == "Size") {
      int64_t total = 1;
      for (int64_t d : s)
        total *= d;
      out.push_back(HostTensor::fromInts(TP::INT64, {}, {total}));
      return true;
    }
    int64_t rank = s.size();
    int64_t start = n.attrInt("start", 0), end = n.attrInt("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
    std::vector<int64_t> v2(s.begin() + start, s.begin() + std::max(start, end));
    out.push_back(HostTensor::fromInts(TP::INT64, {(int64_t)v2.size()}, v2));
    return true;
  }
  if (op == "ConstantOfShape") {
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
      bool ok;
      value = fromTensorProto(a->t(), ok);
      if (!ok || value.numel() != 1)
        return false;
    }
    out.push_back(pick(value, shape, std::vector<int64_t>(total, 0)));
    return true;
  }
  if (op == "Range") {
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
    } else {
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
    }
    return true;
  }
  // Everything else needs every input known.
  for (unsigned i = 0; i < n.numInputs(); ++i)
    if (n.hasInput(i) && !n.constInput(i))
      return false;
  static const char *pointwiseOps[] = {
      "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Sqrt", "Min", "Max",
      "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not",
      "And", "Or", "Where", "Cast"};
  for (const char *p : pointwiseOps)
    if (op == p) {
      // Variadic Min/Max with one input and float ops on f16 are left to IR.
      if ((op == "Min" || op == "Max") && n.numInputs() != 2)
        return false;
      return foldPointwise(n, out);
    }
  if (foldReshapeLike(n, out))
    return true;
  return foldDataMovement(n, out);
}

} // namespace memc::onnximport
