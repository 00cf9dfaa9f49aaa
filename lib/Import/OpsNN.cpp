//===- OpsNN.cpp - ONNX neural-network ops -> einsum cascades -------------===//
//
// Contractions (MatMul, Gemm, Einsum), normalizations (Softmax, LogSoftmax,
// Hardmax, ArgMax/ArgMin, LayerNormalization, BatchNormalization,
// InstanceNormalization, LRN), windowed ops (Conv, ConvTranspose, MaxPool
// with Indices, AveragePool, LpPool, the global pools), resampling (Resize,
// Upsample) and data movement (Pad, Trilu, DepthToSpace, SpaceToDepth).
//
// f16/bf16 inputs of contractions, normalizations and average pools are
// computed in f32 and rounded back. Gathers with host-known indices (Resize,
// reflect padding, kernel flips) are exact: a strided slice, a repeat, or a
// select/max einsum over a one-hot matrix, never a multiply by 0/1.
//
// Windows are einsum index expressions `o * stride + k * dilation` over a
// padded input (tensor.pad), so every window index stays in bounds; the
// kernel rank `k` gets its extent from a plain use: the convolution weight,
// or for pools a small constant window tensor of shape kernel_shape.
//
//===----------------------------------------------------------------------===//
#include "ImportContext.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

using TP = onnx::TensorProto;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

static Type elemOf(Value v) {
  return NodeImporter::typeOf(v).getElementType();
}
static std::vector<int64_t> shapeOf(Value v) {
  return NodeImporter::shapeOf(v);
}
static int64_t product(ArrayRef<int64_t> s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}
static std::string joinInts(ArrayRef<int64_t> v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

/// f16/bf16 are computed in f32 by the normalizations and pools (sums of
/// many terms would lose too much precision), then rounded back.
static Type computeElem(Type t) {
  if (t.isF16() || t.isBF16())
    return Float32Type::get(t.getContext());
  return t;
}

/// One einsum.einsum op; `names` are the rank names.
static Value einsumOp(NodeImporter &ni, ArrayRef<int64_t> shape, Type elem,
                      ValueRange ins, ArrayRef<AffineMap> maps,
                      ArrayRef<std::string> names, ComputeOp compute,
                      ReduceOp reduce) {
  SmallVector<StringRef> refs(names.begin(), names.end());
  auto type = RankedTensorType::get(shape, elem);
  return EinsumOp::create(ni.b(), ni.loc(), type, ins, maps, refs, compute,
                          reduce);
}

/// tensor.pad of `x` with the constant `value`, static low/high amounts.
static Value padConst(NodeImporter &ni, Value x, ArrayRef<int64_t> low,
                      ArrayRef<int64_t> high, double value) {
  bool any = false;
  for (size_t i = 0; i < low.size(); ++i)
    any |= low[i] != 0 || high[i] != 0;
  if (!any)
    return x;
  std::vector<int64_t> shape = shapeOf(x);
  Type elem = elemOf(x);
  SmallVector<OpFoldResult> lo, hi;
  for (size_t i = 0; i < shape.size(); ++i) {
    shape[i] += low[i] + high[i];
    lo.push_back(ni.b().getIndexAttr(low[i]));
    hi.push_back(ni.b().getIndexAttr(high[i]));
  }
  Value pv = arith::ConstantOp::create(ni.b(), ni.loc(), elem,
                                       NodeImporter::scalarAttr(elem, value));
  return tensor::PadOp::create(ni.b(), ni.loc(),
                               RankedTensorType::get(shape, elem), x,
                               ArrayRef<OpFoldResult>(lo),
                               ArrayRef<OpFoldResult>(hi), pv);
}

/// reduce_{axes} compute(x, y), y broadcasting to x (same rank, each dim
/// equal or 1): one einsum op, e.g. sum of (x - mean)^2.
static Value reduceBinary(NodeImporter &ni, ComputeOp compute, ReduceOp red,
                          Value x, Value y, ArrayRef<int64_t> axes,
                          bool keepDims) {
  std::vector<int64_t> xs = shapeOf(x), ys = shapeOf(y);
  size_t rank = xs.size();
  MLIRContext *c = ni.ctx();
  SmallVector<bool> reduced(rank, false);
  for (int64_t a : axes)
    reduced[a] = true;
  SmallVector<AffineExpr> yExprs, outExprs;
  std::vector<int64_t> outShape, keptShape;
  std::vector<std::string> names;
  for (size_t i = 0; i < rank; ++i) {
    names.push_back("d" + std::to_string(i));
    yExprs.push_back(ys[i] == 1 && xs[i] != 1 ? getAffineConstantExpr(0, c)
                                              : getAffineDimExpr(i, c));
    if (!reduced[i]) {
      outExprs.push_back(getAffineDimExpr(i, c));
      outShape.push_back(xs[i]);
    }
    keptShape.push_back(reduced[i] ? 1 : xs[i]);
  }
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, c),
                                 AffineMap::get(rank, 0, yExprs, c),
                                 AffineMap::get(rank, 0, outExprs, c)};
  Value r = einsumOp(ni, outShape, elemOf(x), ValueRange{x, y}, maps, names,
                     compute, axes.empty() ? ReduceOp::none : red);
  return keepDims ? ni.reshape(r, keptShape) : r;
}

/// Mean over `axes` with kept dims: sum / count.
static Value meanKeep(NodeImporter &ni, Value x, ArrayRef<int64_t> axes) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t count = 1;
  for (int64_t a : axes)
    count *= s[a];
  Value sum = ni.reduce(ReduceOp::add, x, axes, /*keepDims=*/true);
  return ni.elementwise(ComputeOp::div,
                        {sum, ni.scalar(elemOf(x), count)});
}

//===----------------------------------------------------------------------===//
// MatMul, Gemm
//===----------------------------------------------------------------------===//

static LogicalResult importMatMul(NodeImporter &ni) {
  Value a = ni.input(0), b = ni.input(1);
  if (!a || !b)
    return ni.invalid("MatMul needs two inputs");
  if (elemOf(a) != elemOf(b))
    return ni.invalid("MatMul operands have different element types");
  if (elemOf(a).isInteger(1))
    return ni.unsupported("MatMul of bool tensors");
  Type elem = elemOf(a), ce = computeElem(elem);
  Value r = ni.matmul(ni.cast(a, ce), ni.cast(b, ce));
  if (!r)
    return failure();
  ni.setOutput(0, ni.cast(r, elem));
  return success();
}

static LogicalResult importGemm(NodeImporter &ni) {
  Value a = ni.input(0), b = ni.input(1);
  if (!a || !b)
    return ni.invalid("Gemm needs inputs A and B");
  Type elem = elemOf(a);
  if (elemOf(b) != elem)
    return ni.invalid("Gemm operands have different element types");
  if (elem.isInteger(1))
    return ni.unsupported("Gemm of bool tensors");
  std::vector<int64_t> sa = shapeOf(a), sb = shapeOf(b);
  if (sa.size() != 2 || sb.size() != 2)
    return ni.invalid("Gemm inputs A and B must be 2-D");
  bool transA = ni.attrInt("transA", 0) != 0;
  bool transB = ni.attrInt("transB", 0) != 0;
  double alpha = ni.attrFloat("alpha", 1.0f);
  double beta = ni.attrFloat("beta", 1.0f);
  int64_t m = transA ? sa[1] : sa[0], k = transA ? sa[0] : sa[1];
  int64_t kb = transB ? sb[1] : sb[0], n = transB ? sb[0] : sb[1];
  if (k != kb)
    return ni.invalid("Gemm inner dimensions differ (" + std::to_string(k) +
                      " vs " + std::to_string(kb) + ")");
  bool isF = isa<FloatType>(elem);
  if (!isF && (alpha != 1.0 || (ni.hasInput(2) && beta != 1.0)))
    return ni.unsupported("integer Gemm with alpha or beta other than 1");
  MLIRContext *c = ni.ctx();
  AffineExpr dm = getAffineDimExpr(0, c), dn = getAffineDimExpr(1, c),
             dk = getAffineDimExpr(2, c);
  SmallVector<AffineExpr> ae = {dm, dk}, be = {dk, dn}, oe = {dm, dn};
  if (transA)
    std::swap(ae[0], ae[1]);
  if (transB)
    std::swap(be[0], be[1]);
  SmallVector<AffineMap> maps = {AffineMap::get(3, 0, ae, c),
                                 AffineMap::get(3, 0, be, c),
                                 AffineMap::get(3, 0, oe, c)};
  Type ce = computeElem(elem);
  Value y = einsumOp(ni, {m, n}, ce,
                     ValueRange{ni.cast(a, ce), ni.cast(b, ce)}, maps,
                     {"m", "n", "k"}, ComputeOp::mul, ReduceOp::add);
  if (alpha != 1.0)
    y = ni.elementwise(ComputeOp::mul, {y, ni.scalar(ce, alpha)});
  if (ni.hasInput(2)) {
    Value cv = ni.input(2);
    if (elemOf(cv) != elem)
      return ni.invalid("Gemm input C has a different element type");
    std::vector<int64_t> sc = shapeOf(cv);
    if (sc.size() > 2)
      return ni.invalid("Gemm input C has rank > 2");
    // Unidirectional broadcast of C to (M, N).
    for (size_t i = 0; i < sc.size(); ++i) {
      int64_t target = (sc.size() == 2 && i == 0) ? m : n;
      if (sc[i] != 1 && sc[i] != target)
        return ni.invalid("Gemm input C of shape " + joinInts(sc) +
                          " does not broadcast to (" + std::to_string(m) +
                          ", " + std::to_string(n) + ")");
    }
    cv = ni.cast(cv, ce);
    if (beta != 1.0)
      cv = ni.elementwise(ComputeOp::mul, {cv, ni.scalar(ce, beta)});
    y = ni.elementwise(ComputeOp::add, {y, cv});
  }
  if (!y)
    return failure();
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

namespace {
struct EinsumTerm {
  std::vector<int> letters; ///< character codes
  bool ellipsis = false;
  size_t ellipsisPos = 0; ///< position among `letters`
};
} // namespace

static bool parseEinsumTerm(const std::string &s, EinsumTerm &t) {
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "...") == 0) {
      if (t.ellipsis)
        return false;
      t.ellipsis = true;
      t.ellipsisPos = t.letters.size();
      i += 3;
    } else if (std::isalpha((unsigned char)s[i])) {
      t.letters.push_back((unsigned char)s[i]);
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

static constexpr int kEllipsisBase = 1000;

static std::string einsumRankName(int id) {
  if (id < kEllipsisBase)
    return std::string(1, static_cast<char>(id));
  return "e" + std::to_string(id - kEllipsisBase);
}

/// One einsum op: out[outLabels] = reduce_add prod(operands[labels]).
static Value buildEinsumStep(NodeImporter &ni, ArrayRef<Value> ops,
                             ArrayRef<std::vector<int>> labels,
                             const std::vector<int> &outLabels) {
  MLIRContext *c = ni.ctx();
  std::vector<int> ranks = outLabels;
  std::map<int, int64_t> extent;
  for (size_t i = 0; i < ops.size(); ++i) {
    std::vector<int64_t> s = shapeOf(ops[i]);
    for (size_t d = 0; d < s.size(); ++d) {
      int id = labels[i][d];
      if (std::find(ranks.begin(), ranks.end(), id) == ranks.end())
        ranks.push_back(id);
      auto it = extent.find(id);
      if (it == extent.end() || it->second == 1)
        extent[id] = s[d];
    }
  }
  auto pos = [&](int id) {
    return (unsigned)(std::find(ranks.begin(), ranks.end(), id) -
                      ranks.begin());
  };
  SmallVector<AffineMap> maps;
  for (size_t i = 0; i < ops.size(); ++i) {
    std::vector<int64_t> s = shapeOf(ops[i]);
    SmallVector<AffineExpr> e;
    for (size_t d = 0; d < s.size(); ++d) {
      int id = labels[i][d];
      e.push_back(s[d] == 1 && extent[id] != 1
                      ? getAffineConstantExpr(0, c)
                      : getAffineDimExpr(pos(id), c));
    }
    maps.push_back(AffineMap::get(ranks.size(), 0, e, c));
  }
  SmallVector<AffineExpr> oe;
  std::vector<int64_t> outShape;
  for (int id : outLabels) {
    oe.push_back(getAffineDimExpr(pos(id), c));
    outShape.push_back(extent[id]);
  }
  maps.push_back(AffineMap::get(ranks.size(), 0, oe, c));
  std::vector<std::string> names;
  for (int id : ranks)
    names.push_back(einsumRankName(id));
  ComputeOp compute = ops.size() == 1 ? ComputeOp::copy : ComputeOp::mul;
  ReduceOp reduce =
      ranks.size() > outLabels.size() ? ReduceOp::add : ReduceOp::none;
  return einsumOp(ni, outShape, elemOf(ops[0]), ops, maps, names, compute,
                  reduce);
}

static LogicalResult importEinsum(NodeImporter &ni) {
  std::string eq;
  for (char ch : ni.attrString("equation", ""))
    if (!std::isspace((unsigned char)ch))
      eq += ch;
  if (eq.empty())
    return ni.invalid("Einsum has no equation");
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  bool explicitOut = arrow != std::string::npos;
  std::string rhs = explicitOut ? eq.substr(arrow + 2) : "";

  std::vector<EinsumTerm> terms;
  {
    size_t start = 0;
    while (true) {
      size_t comma = lhs.find(',', start);
      EinsumTerm t;
      if (!parseEinsumTerm(lhs.substr(start, comma - start), t))
        return ni.invalid("Einsum equation '" + eq + "' is malformed");
      terms.push_back(t);
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
  }
  unsigned n = ni.numInputs();
  if (n == 0 || terms.size() != n)
    return ni.invalid("Einsum equation names " +
                      std::to_string(terms.size()) + " operand(s), the node has " +
                      std::to_string(n));
  std::vector<Value> vals;
  for (unsigned i = 0; i < n; ++i) {
    Value v = ni.input(i);
    if (!v)
      return ni.invalid("Einsum operand " + std::to_string(i) + " is missing");
    vals.push_back(v);
  }
  Type elem = elemOf(vals[0]);
  for (Value v : vals)
    if (elemOf(v) != elem)
      return ni.invalid("Einsum operands have different element types");
  if (elem.isInteger(1))
    return ni.unsupported("Einsum on bool tensors");

  // Expand each operand's labels; ellipsis dims are right-aligned over the
  // broadcast ellipsis of E dims and named kEllipsisBase + j.
  int64_t E = 0;
  std::vector<int64_t> ellCount(n, 0);
  for (unsigned i = 0; i < n; ++i) {
    int64_t rank = shapeOf(vals[i]).size();
    int64_t nl = terms[i].letters.size();
    if (terms[i].ellipsis ? rank < nl : rank != nl)
      return ni.invalid("Einsum operand " + std::to_string(i) + " has rank " +
                        std::to_string(rank) + ", its subscripts name " +
                        std::to_string(nl) + " dimension(s)");
    ellCount[i] = terms[i].ellipsis ? rank - nl : 0;
    E = std::max(E, ellCount[i]);
  }
  std::vector<std::vector<int>> labels(n);
  std::map<int, int64_t> extent;
  std::map<int, int> letterCount;
  for (unsigned i = 0; i < n; ++i) {
    const EinsumTerm &t = terms[i];
    for (size_t p = 0; p <= t.letters.size(); ++p) {
      if (t.ellipsis && p == t.ellipsisPos)
        for (int64_t j = 0; j < ellCount[i]; ++j)
          labels[i].push_back(kEllipsisBase + (E - ellCount[i] + j));
      if (p < t.letters.size()) {
        labels[i].push_back(t.letters[p]);
        ++letterCount[t.letters[p]];
      }
    }
    std::vector<int64_t> s = shapeOf(vals[i]);
    for (size_t d = 0; d < s.size(); ++d) {
      int id = labels[i][d];
      auto it = extent.find(id);
      if (it == extent.end() || it->second == s[d]) {
        extent[id] = s[d];
        continue;
      }
      if (id < kEllipsisBase) {
        if (it->second == 1 || s[d] == 1)
          return ni.unsupported("Einsum broadcasting of the size-1 "
                                "dimension labelled '" +
                                einsumRankName(id) + "'");
        return ni.invalid("Einsum dimension '" + einsumRankName(id) +
                          "' has sizes " + std::to_string(it->second) +
                          " and " + std::to_string(s[d]));
      }
      if (it->second == 1)
        it->second = s[d];
      else if (s[d] != 1)
        return ni.invalid("Einsum '...' dimensions cannot be broadcast");
    }
  }

  std::vector<int> outLabels;
  if (explicitOut) {
    EinsumTerm t;
    if (!parseEinsumTerm(rhs, t))
      return ni.invalid("Einsum equation '" + eq + "' is malformed");
    if (!t.ellipsis && E > 0)
      return ni.unsupported("Einsum output without '...' while the "
                            "operands' '...' covers dimensions");
    std::set<int> seen;
    for (size_t p = 0; p <= t.letters.size(); ++p) {
      if (t.ellipsis && p == t.ellipsisPos)
        for (int64_t j = 0; j < E; ++j)
          outLabels.push_back(kEllipsisBase + j);
      if (p < t.letters.size()) {
        int id = t.letters[p];
        if (!extent.count(id))
          return ni.invalid("Einsum output label '" + einsumRankName(id) +
                            "' appears in no operand");
        if (!seen.insert(id).second)
          return ni.invalid("Einsum output label '" + einsumRankName(id) +
                            "' is repeated");
        outLabels.push_back(id);
      }
    }
  } else {
    for (int64_t j = 0; j < E; ++j)
      outLabels.push_back(kEllipsisBase + j);
    for (auto &[id, count] : letterCount) // std::map: ASCII order
      if (count == 1)
        outLabels.push_back(id);
  }

  Type ce = computeElem(elem); // f16/bf16 accumulate in f32
  for (Value &v : vals)
    v = ni.cast(v, ce);
  Value result;
  if (n <= 2) {
    result = buildEinsumStep(ni, vals, labels, outLabels);
  } else {
    // Left to right, pairwise; a step keeps the labels still needed.
    Value cur = vals[0];
    std::vector<int> curLabels = labels[0];
    for (unsigned i = 1; i < n; ++i) {
      std::vector<int> keep;
      if (i + 1 == n) {
        keep = outLabels;
      } else {
        std::set<int> needed(outLabels.begin(), outLabels.end());
        for (unsigned j = i + 1; j < n; ++j)
          needed.insert(labels[j].begin(), labels[j].end());
        for (const auto *ls : {&curLabels, &labels[i]})
          for (int id : *ls)
            if (needed.count(id) &&
                std::find(keep.begin(), keep.end(), id) == keep.end())
              keep.push_back(id);
      }
      cur = buildEinsumStep(ni, {cur, vals[i]}, {curLabels, labels[i]}, keep);
      curLabels = keep;
    }
    result = cur;
  }
  ni.setOutput(0, ni.cast(result, elem));
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax, LogSoftmax, Hardmax
//===----------------------------------------------------------------------===//

/// The normalized axes: opset < 13 coerces to 2-D at `axis` (default 1),
/// i.e. all axes from `axis` on; opset >= 13 normalizes along `axis`
/// (default -1).
static std::optional<std::vector<int64_t>> softmaxAxes(NodeImporter &ni,
                                                       int64_t rank) {
  bool v13 = ni.opset() >= 13;
  if (rank == 0) {
    (void)ni.invalid("input must have rank >= 1");
    return std::nullopt;
  }
  auto axis = ni.normAxis(ni.attrInt("axis", v13 ? -1 : 1), rank);
  if (!axis)
    return std::nullopt;
  std::vector<int64_t> axes;
  for (int64_t i = *axis; i < (v13 ? *axis + 1 : rank); ++i)
    axes.push_back(i);
  return axes;
}

static LogicalResult importSoftmax(NodeImporter &ni, bool log) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  auto axes = softmaxAxes(ni, shapeOf(x).size());
  if (!axes)
    return failure();
  Value xc = ni.cast(x, computeElem(elem));
  // GM = max x; SN = exp(x - GM); SD = sum SN; y = SN / SD
  // (LogSoftmax: y = x - GM - log SD).
  Value gm = ni.reduce(ReduceOp::max, xc, *axes, /*keepDims=*/true);
  Value sn = ni.elementwise(ComputeOp::sub_exp, {xc, gm});
  Value sd = ni.reduce(ReduceOp::add, sn, *axes, /*keepDims=*/true);
  Value y;
  if (!log) {
    y = ni.elementwise(ComputeOp::div, {sn, sd});
  } else {
    Value d = ni.elementwise(ComputeOp::sub, {xc, gm});
    y = ni.elementwise(ComputeOp::sub,
                       {d, ni.elementwise(ComputeOp::log, {sd})});
  }
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

/// An int64 index tensor along `axis` of a rank-`rank` tensor: shape
/// [n, 1, ..., 1] (rank - axis dims) so it broadcasts along `axis`.
static Value iotaAlong(NodeImporter &ni, int64_t n, int64_t rank,
                       int64_t axis, int32_t elemType) {
  std::vector<int64_t> shape(rank - axis, 1), v(n);
  shape[0] = n;
  for (int64_t i = 0; i < n; ++i)
    v[i] = i;
  return ni.constant(HostTensor::fromInts(elemType, shape, v));
}

/// The index of the first (or last) maximum (or minimum) of `x` along
/// `axis`, as i64 with the axis kept. NaN counts as the extreme value, as
/// numpy's argmax does: the first NaN wins.
static Value argExtreme(NodeImporter &ni, Value x, int64_t axis, bool isMax,
                        bool last) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size(), n = s[axis];
  Type elem = elemOf(x);
  Type i64 = IntegerType::get(ni.ctx(), 64);
  Value ext = ni.reduce(isMax ? ReduceOp::max : ReduceOp::min, x, {axis},
                        /*keepDims=*/true);
  Value mask = ni.elementwise(ComputeOp::eq, {x, ext});
  if (isa<FloatType>(elem)) {
    // With a NaN the extreme is NaN and no element equals it: the NaNs are
    // the extreme positions then (and there are none otherwise).
    mask = ni.elementwise(ComputeOp::or_,
                          {mask, ni.elementwise(ComputeOp::isnan, {x})});
  }
  Value iota = iotaAlong(ni, n, rank, axis, TP::INT64);
  Value none = ni.scalar(i64, last ? -1 : n);
  Value cand = ni.elementwise(ComputeOp::select, {mask, iota, none});
  return ni.reduce(last ? ReduceOp::max : ReduceOp::min, cand, {axis},
                   /*keepDims=*/true);
}

static LogicalResult importHardmax(NodeImporter &ni) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  auto axes = softmaxAxes(ni, rank);
  if (!axes)
    return failure();
  if (product(s) == 0)
    return ni.unsupported("Hardmax of an empty tensor");
  // Along one axis; opset < 13 flattens the trailing axes into one.
  Value v = x;
  int64_t axis = axes->front();
  if (axes->size() > 1) {
    std::vector<int64_t> s2(s.begin(), s.begin() + axis);
    s2.push_back(product(ArrayRef<int64_t>(s).drop_front(axis)));
    v = ni.reshape(x, s2);
  }
  std::vector<int64_t> vs = shapeOf(v);
  Value idx = argExtreme(ni, v, axis, /*isMax=*/true, /*last=*/false);
  Value iota = iotaAlong(ni, vs[axis], vs.size(), axis, TP::INT64);
  Value hit = ni.elementwise(ComputeOp::eq, {iota, idx});
  Value y = ni.elementwise(ComputeOp::select,
                           {hit, ni.scalar(elem, 1),
                            ni.scalar(elem, 0)});
  y = ni.broadcastTo(y, vs); // select broadcasts hit's shape already
  ni.setOutput(0, ni.reshape(y, s));
  return success();
}

static LogicalResult importArgExtreme(NodeImporter &ni, bool isMax) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (elem.isInteger(1))
    return ni.unsupported("ArgMax/ArgMin of bool tensors");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank == 0)
    return ni.invalid("input must have rank >= 1");
  auto axis = ni.normAxis(ni.attrInt("axis", 0), rank);
  if (!axis)
    return failure();
  if (s[*axis] == 0)
    return ni.invalid("ArgMax/ArgMin over an empty axis");
  bool keep = ni.attrInt("keepdims", 1) != 0;
  bool last = ni.attrInt("select_last_index", 0) != 0;
  Value idx = argExtreme(ni, x, *axis, isMax, last);
  if (!keep) {
    std::vector<int64_t> s2;
    for (int64_t i = 0; i < rank; ++i)
      if (i != *axis)
        s2.push_back(s[i]);
    idx = ni.reshape(idx, s2);
  }
  ni.setOutput(0, idx);
  return success();
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

static LogicalResult importLayerNorm(NodeImporter &ni) {
  Value x = ni.input(0), scale = ni.input(1);
  if (!x || !scale)
    return ni.invalid("LayerNormalization needs X and Scale");
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  if (ni.attrInt("stash_type", 1) != 1)
    return ni.unsupported("stash_type other than 1 (float32)");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  int64_t axisAttr = ni.attrInt("axis", -1);
  if (axisAttr == rank)
    return ni.unsupported("axis equal to the rank (normalizing no axes)");
  auto axis = ni.normAxis(axisAttr, rank);
  if (!axis)
    return failure();
  if (rank == 0)
    return ni.invalid("X must have rank >= 1");
  std::vector<int64_t> axes;
  for (int64_t i = *axis; i < rank; ++i)
    axes.push_back(i);
  double eps = ni.attrFloat("epsilon", 1e-5f);
  Type f32 = Float32Type::get(ni.ctx());
  Value xc = ni.cast(x, f32);
  int64_t count = 1;
  for (int64_t a : axes)
    count *= s[a];
  Value mean = meanKeep(ni, xc, axes);
  Value var = reduceBinary(ni, ComputeOp::sq_diff, ReduceOp::add, xc, mean,
                           axes, /*keepDims=*/true);
  var = ni.elementwise(ComputeOp::div, {var, ni.scalar(f32, count)});
  Value varEps =
      ni.elementwise(ComputeOp::add, {var, ni.scalar(f32, eps)});
  Value inv = ni.elementwise(ComputeOp::reciprocal,
                             {ni.elementwise(ComputeOp::sqrt, {varEps})});
  Value d = ni.elementwise(ComputeOp::sub, {xc, mean});
  Value norm = ni.cast(ni.elementwise(ComputeOp::mul, {d, inv}), elem);
  if (elemOf(scale) != elem ||
      (ni.hasInput(2) && elemOf(ni.input(2)) != elem))
    return ni.invalid("Scale and B must have X's element type");
  Value y = ni.hasInput(2)
                ? ni.elementwise(ComputeOp::mul_add,
                                 {norm, scale, ni.input(2)})
                : ni.elementwise(ComputeOp::mul, {norm, scale});
  if (!y)
    return failure();
  if (shapeOf(y) != s)
    return ni.invalid("Scale/B do not broadcast to X's shape");
  ni.setOutput(0, y);
  ni.setOutput(1, mean);
  ni.setOutput(2, inv);
  return success();
}

/// Per-channel parameter p of shape [C] as [C, 1, ..., 1] for a rank-`rank`
/// NC... tensor.
static Value channelParam(NodeImporter &ni, Value p, int64_t rank, Type ce) {
  std::vector<int64_t> shape(rank - 1, 1);
  shape[0] = shapeOf(p)[0];
  return ni.reshape(ni.cast(p, ce), shape);
}

static LogicalResult importBatchNorm(NodeImporter &ni) {
  if (ni.attrInt("training_mode", 0) != 0)
    return ni.unsupported("training_mode=1 (batch statistics); memc "
                          "compiles inference only");
  if (ni.opset() < 7 && ni.attrInt("is_test", 0) == 0)
    return ni.unsupported("is_test=0 (training) before opset 7");
  if (ni.attrInt("spatial", 1) != 1)
    return ni.unsupported("spatial=0 (per-activation statistics)");
  for (unsigned i = 1; i < ni.numOutputs(); ++i)
    if (ni.wantsOutput(i))
      return ni.unsupported("the training outputs (running/saved mean and "
                            "variance) are not supported");
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank < 2)
    return ni.invalid("X must have rank >= 2");
  Value params[4];
  for (unsigned i = 0; i < 4; ++i) {
    params[i] = ni.input(i + 1);
    if (!params[i])
      return ni.invalid("BatchNormalization needs scale, B, mean and var");
    std::vector<int64_t> ps = shapeOf(params[i]);
    if (ps.size() != 1 || ps[0] != s[1])
      return ni.invalid("BatchNormalization parameter " +
                        std::to_string(i + 1) + " must have shape [C]");
    if (!isa<FloatType>(elemOf(params[i])))
      return ni.invalid("BatchNormalization parameters must be floating "
                        "point");
  }
  double eps = ni.attrFloat("epsilon", 1e-5f);
  Type ce = computeElem(elem);
  // y = (x - mean) * (scale / sqrt(var + eps)) + B
  Value var = ni.cast(params[3], ce);
  Value a = ni.elementwise(
      ComputeOp::div,
      {ni.cast(params[0], ce),
       ni.elementwise(ComputeOp::sqrt,
                      {ni.elementwise(ComputeOp::add,
                                      {var, ni.scalar(ce, eps)})})});
  std::vector<int64_t> cshape(rank - 1, 1);
  cshape[0] = s[1];
  a = ni.reshape(a, cshape);
  Value mean = channelParam(ni, params[2], rank, ce);
  Value bias = channelParam(ni, params[1], rank, ce);
  Value d = ni.elementwise(ComputeOp::sub, {ni.cast(x, ce), mean});
  Value y = ni.elementwise(ComputeOp::mul_add, {d, a, bias});
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

static LogicalResult importInstanceNorm(NodeImporter &ni) {
  Value x = ni.input(0), scale = ni.input(1), bias = ni.input(2);
  if (!x || !scale || !bias)
    return ni.invalid("InstanceNormalization needs input, scale and B");
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank < 3)
    return ni.unsupported("input of rank < 3 (no spatial dimensions)");
  for (Value p : {scale, bias}) {
    std::vector<int64_t> ps = shapeOf(p);
    if (ps.size() != 1 || ps[0] != s[1])
      return ni.invalid("scale and B must have shape [C]");
  }
  double eps = ni.attrFloat("epsilon", 1e-5f);
  Type ce = computeElem(elem);
  Value xc = ni.cast(x, ce);
  std::vector<int64_t> axes;
  int64_t count = 1;
  for (int64_t i = 2; i < rank; ++i) {
    axes.push_back(i);
    count *= s[i];
  }
  Value mean = meanKeep(ni, xc, axes);
  Value var = reduceBinary(ni, ComputeOp::sq_diff, ReduceOp::add, xc, mean,
                           axes, /*keepDims=*/true);
  var = ni.elementwise(ComputeOp::div, {var, ni.scalar(ce, count)});
  Value inv = ni.elementwise(
      ComputeOp::reciprocal,
      {ni.elementwise(ComputeOp::sqrt,
                      {ni.elementwise(ComputeOp::add,
                                      {var, ni.scalar(ce, eps)})})});
  Value a = ni.elementwise(ComputeOp::mul,
                           {inv, channelParam(ni, scale, rank, ce)});
  Value d = ni.elementwise(ComputeOp::sub, {xc, mean});
  Value y = ni.elementwise(ComputeOp::mul_add,
                           {d, a, channelParam(ni, bias, rank, ce)});
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

static LogicalResult importLRN(NodeImporter &ni) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank < 2)
    return ni.invalid("input must have rank >= 2");
  if (!ni.attr("size"))
    return ni.invalid("LRN needs the size attribute");
  int64_t size = ni.attrInt("size", 1);
  if (size < 1)
    return ni.invalid("LRN size must be positive");
  double alpha = ni.attrFloat("alpha", 1e-4f);
  double beta = ni.attrFloat("beta", 0.75f);
  double bias = ni.attrFloat("bias", 1.0f);
  Type ce = computeElem(elem);
  Value xc = ni.cast(x, ce);
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  std::vector<int64_t> low(rank, 0), high(rank, 0);
  low[1] = lo;
  high[1] = hi;
  Value xp = padConst(ni, xc, low, high, 0.0);
  // sq[n, c, ...] = sum_j (xp[n, c + j, ...] - 0)^2
  MLIRContext *c = ni.ctx();
  unsigned nr = rank + 1, jr = rank;
  std::vector<std::string> names;
  SmallVector<AffineExpr> xe, oe;
  for (int64_t i = 0; i < rank; ++i) {
    names.push_back("d" + std::to_string(i));
    AffineExpr d = getAffineDimExpr(i, c);
    xe.push_back(i == 1 ? d + getAffineDimExpr(jr, c) : d);
    oe.push_back(d);
  }
  names.push_back("j");
  Value window = ni.constant(HostTensor::fromDoubles(
      onnxTypeOf(ce), {size}, std::vector<double>(size, 0.0)));
  SmallVector<AffineMap> maps = {
      AffineMap::get(nr, 0, xe, c),
      AffineMap::get(nr, 0, {getAffineDimExpr(jr, c)}, c),
      AffineMap::get(nr, 0, oe, c)};
  Value sq = einsumOp(ni, s, ce, ValueRange{xp, window}, maps, names,
                      ComputeOp::sq_diff, ReduceOp::add);
  Value t = ni.elementwise(ComputeOp::mul_add,
                           {sq, ni.scalar(ce, alpha / size),
                            ni.scalar(ce, bias)});
  Value p = ni.elementwise(ComputeOp::pow, {t, ni.scalar(ce, beta)});
  Value y = ni.elementwise(ComputeOp::div, {xc, p});
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

//===----------------------------------------------------------------------===//
// Windows: Conv and the pools
//===----------------------------------------------------------------------===//

namespace {
/// The geometry of a sliding window over the spatial dims.
struct Window {
  std::vector<int64_t> in, kernel, strides, dilations;
  std::vector<int64_t> padBegin, padEnd; ///< the model's (or auto) pads
  std::vector<int64_t> out;
  /// Padding the einsum needs: begin pads, and on the high side enough for
  /// the last window (more than padEnd with ceil_mode).
  std::vector<int64_t> lowPad, highPad;
  size_t rank() const { return in.size(); }
  int64_t effKernel(size_t i) const {
    return (kernel[i] - 1) * dilations[i] + 1;
  }
};
} // namespace

/// Reads strides, dilations, pads, auto_pad and ceil_mode; computes output
/// sizes as ONNX shape inference does.
static LogicalResult windowGeometry(NodeImporter &ni, ArrayRef<int64_t> in,
                                    ArrayRef<int64_t> kernel, bool dilations,
                                    bool ceilMode, Window &w) {
  size_t n = in.size();
  w.in.assign(in.begin(), in.end());
  w.kernel.assign(kernel.begin(), kernel.end());
  w.strides = ni.attrInts("strides", std::vector<int64_t>(n, 1));
  w.dilations = dilations ? ni.attrInts("dilations", std::vector<int64_t>(n, 1))
                          : std::vector<int64_t>(n, 1);
  if (w.strides.size() != n || w.dilations.size() != n)
    return ni.invalid("strides/dilations must have one value per spatial "
                      "dimension");
  for (size_t i = 0; i < n; ++i) {
    if (w.strides[i] < 1 || w.dilations[i] < 1)
      return ni.invalid("strides and dilations must be positive");
    if (w.kernel[i] < 1)
      return ni.invalid("kernel sizes must be positive");
  }
  std::string autoPad = ni.attrString("auto_pad", "NOTSET");
  w.padBegin.assign(n, 0);
  w.padEnd.assign(n, 0);
  w.out.assign(n, 0);
  if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * w.strides[i] + w.effKernel(i) - in[i]);
      int64_t small = total / 2, big = total - small;
      w.padBegin[i] = autoPad == "SAME_UPPER" ? small : big;
      w.padEnd[i] = autoPad == "SAME_UPPER" ? big : small;
    }
  } else if (autoPad == "NOTSET") {
    std::vector<int64_t> pads = ni.attrInts("pads", std::vector<int64_t>(2 * n, 0));
    if (pads.size() != 2 * n)
      return ni.invalid("pads must have 2 values per spatial dimension");
    for (size_t i = 0; i < n; ++i) {
      w.padBegin[i] = pads[i];
      w.padEnd[i] = pads[i + n];
      if (pads[i] < 0 || pads[i + n] < 0)
        return ni.invalid("pads must be non-negative");
    }
  } else if (autoPad != "VALID") {
    return ni.invalid("auto_pad '" + autoPad + "' is not one of NOTSET, "
                      "SAME_UPPER, SAME_LOWER, VALID");
  }
  w.lowPad = w.padBegin;
  w.highPad.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t padded = in[i] + w.padBegin[i] + w.padEnd[i];
    int64_t span = padded - w.effKernel(i);
    if (span < 0)
      return ni.invalid("the window (" + std::to_string(w.effKernel(i)) +
                        ") is larger than the padded input (" +
                        std::to_string(padded) + ")");
    int64_t positions = ceilMode ? (span + w.strides[i] - 1) / w.strides[i]
                                 : span / w.strides[i];
    w.out[i] = positions + 1;
    int64_t start = (w.out[i] - 1) * w.strides[i];
    if (ceilMode && positions * w.strides[i] > span &&
        start >= in[i] + w.padBegin[i])
      return ni.unsupported("ceil_mode makes the last window start in the "
                            "end padding (ONNX versions disagree on this "
                            "output position)");
    int64_t need = start + w.effKernel(i);
    w.highPad[i] = std::max<int64_t>(0, need - (in[i] + w.padBegin[i]));
  }
  return success();
}

/// The einsum of a window: out[n, c, o...] = reduce_k compute(x[n, c,
/// o*s + k*d ...], w[k...]), x already padded.
static Value windowEinsum(NodeImporter &ni, Value xp, Value window,
                          const Window &w, ComputeOp compute,
                          ReduceOp reduce, bool keepWindow = false) {
  MLIRContext *c = ni.ctx();
  std::vector<int64_t> xs = shapeOf(xp);
  size_t ns = w.rank();
  unsigned nr = 2 + 2 * ns;
  std::vector<std::string> names = {"n", "c"};
  for (size_t i = 0; i < ns; ++i)
    names.push_back("o" + std::to_string(i));
  for (size_t i = 0; i < ns; ++i)
    names.push_back("k" + std::to_string(i));
  SmallVector<AffineExpr> xe = {getAffineDimExpr(0, c), getAffineDimExpr(1, c)};
  SmallVector<AffineExpr> we, oe = xe;
  std::vector<int64_t> outShape = {xs[0], xs[1]};
  for (size_t i = 0; i < ns; ++i) {
    AffineExpr o = getAffineDimExpr(2 + i, c), k = getAffineDimExpr(2 + ns + i, c);
    xe.push_back(o * w.strides[i] + k * w.dilations[i]);
    we.push_back(k);
    oe.push_back(o);
    outShape.push_back(w.out[i]);
  }
  if (keepWindow) { // out[n, c, o..., k...]
    for (size_t i = 0; i < ns; ++i) {
      oe.push_back(getAffineDimExpr(2 + ns + i, c));
      outShape.push_back(w.kernel[i]);
    }
    reduce = ReduceOp::none;
  }
  SmallVector<AffineMap> maps = {AffineMap::get(nr, 0, xe, c),
                                 AffineMap::get(nr, 0, we, c),
                                 AffineMap::get(nr, 0, oe, c)};
  return einsumOp(ni, outShape, elemOf(xp), ValueRange{xp, window}, maps,
                  names, compute, reduce);
}

/// Pads the spatial dims of an NC... tensor for window `w`.
static Value padSpatial(NodeImporter &ni, Value x, const Window &w,
                        double value) {
  std::vector<int64_t> low = {0, 0}, high = {0, 0};
  low.insert(low.end(), w.lowPad.begin(), w.lowPad.end());
  high.insert(high.end(), w.highPad.begin(), w.highPad.end());
  return padConst(ni, x, low, high, value);
}

/// The checks Conv and ConvTranspose share on X and W: present, the same
/// floating-point type, equal ranks with at least one spatial dimension.
static LogicalResult checkConvOperands(NodeImporter &ni, Value x, Value wt) {
  const std::string &op = ni.node().op_type();
  if (!x || !wt)
    return ni.invalid(op + " needs X and W");
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  if (elemOf(wt) != elem)
    return ni.invalid("X and W have different element types");
  if (shapeOf(x).size() < 3)
    return ni.unsupported(op + " input of rank < 3 (no spatial dimensions)");
  if (shapeOf(wt).size() != shapeOf(x).size())
    return ni.invalid("W must have the rank of X");
  return success();
}

static LogicalResult importConv(NodeImporter &ni) {
  Value x = ni.input(0), wt = ni.input(1);
  if (failed(checkConvOperands(ni, x, wt)))
    return failure();
  Type elem = elemOf(x);
  std::vector<int64_t> xs = shapeOf(x), ws = shapeOf(wt);
  int64_t rank = xs.size();
  int64_t G = ni.attrInt("group", 1);
  int64_t N = xs[0], C = xs[1], M = ws[0];
  if (G < 1 || C % G != 0 || M % G != 0 || ws[1] != C / G)
    return ni.invalid("channels (" + std::to_string(C) + " in, " +
                      std::to_string(M) + " out, W has " +
                      std::to_string(ws[1]) + " per group) do not match "
                      "group=" + std::to_string(G));
  std::vector<int64_t> in(xs.begin() + 2, xs.end());
  std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
  if (ni.attr("kernel_shape") && ni.attrInts("kernel_shape") != kernel)
    return ni.invalid("kernel_shape " + joinInts(ni.attrInts("kernel_shape")) +
                      " does not match W's shape " + joinInts(ws));
  Window w;
  if (failed(windowGeometry(ni, in, kernel, /*dilations=*/true,
                            /*ceilMode=*/false, w)))
    return failure();
  Value bias;
  if (ni.hasInput(2)) {
    bias = ni.input(2);
    std::vector<int64_t> bs = shapeOf(bias);
    if (bs.size() != 1 || bs[0] != M)
      return ni.invalid("B must have shape [M]");
    if (elemOf(bias) != elem)
      return ni.invalid("B has a different element type");
  }
  Type ce = computeElem(elem);
  Value xp = padSpatial(ni, ni.cast(x, ce), w, 0.0);
  Value wc = ni.cast(wt, ce);
  std::vector<int64_t> ps = shapeOf(xp);
  size_t ns = in.size();
  MLIRContext *c = ni.ctx();
  // Ranks: n, g, m, c, o..., k...; X[n, g, c, o*s + k*d], W[g, m, c, k],
  // Y[n, g, m, o] (g dropped when group == 1).
  bool grouped = G > 1;
  std::vector<std::string> names = {"n"};
  if (grouped)
    names.push_back("g");
  names.push_back("m");
  names.push_back("c");
  unsigned base = names.size();
  for (size_t i = 0; i < ns; ++i)
    names.push_back("o" + std::to_string(i));
  for (size_t i = 0; i < ns; ++i)
    names.push_back("k" + std::to_string(i));
  unsigned nr = names.size();
  auto dim = [&](unsigned i) { return getAffineDimExpr(i, c); };
  unsigned rn = 0, rg = 1, rm = grouped ? 2 : 1, rc = grouped ? 3 : 2;
  SmallVector<AffineExpr> xe = {dim(rn)}, we, oe = {dim(rn)};
  std::vector<int64_t> xShape = {N}, wShape, outShape = {N};
  if (grouped) {
    xe.push_back(dim(rg));
    we.push_back(dim(rg));
    oe.push_back(dim(rg));
    xShape.push_back(G);
    wShape.push_back(G);
    outShape.push_back(G);
  }
  xe.push_back(dim(rc));
  xShape.push_back(C / G);
  we.push_back(dim(rm));
  we.push_back(dim(rc));
  wShape.push_back(M / G);
  wShape.push_back(C / G);
  oe.push_back(dim(rm));
  outShape.push_back(M / G);
  for (size_t i = 0; i < ns; ++i) {
    AffineExpr o = dim(base + i), k = dim(base + ns + i);
    xe.push_back(o * w.strides[i] + k * w.dilations[i]);
    xShape.push_back(ps[2 + i]);
    we.push_back(k);
    wShape.push_back(kernel[i]);
    oe.push_back(o);
    outShape.push_back(w.out[i]);
  }
  if (grouped) {
    xp = ni.reshape(xp, xShape);
    wc = ni.reshape(wc, wShape);
  }
  SmallVector<AffineMap> maps = {AffineMap::get(nr, 0, xe, c),
                                 AffineMap::get(nr, 0, we, c),
                                 AffineMap::get(nr, 0, oe, c)};
  Value y = einsumOp(ni, outShape, ce, ValueRange{xp, wc}, maps, names,
                     ComputeOp::mul, ReduceOp::add);
  std::vector<int64_t> yShape = {N, M};
  yShape.insert(yShape.end(), w.out.begin(), w.out.end());
  y = ni.reshape(y, yShape);
  if (bias) {
    std::vector<int64_t> bShape(rank - 1, 1);
    bShape[0] = M;
    y = ni.elementwise(ComputeOp::add,
                       {y, ni.reshape(ni.cast(bias, ce), bShape)});
  }
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

/// W with its spatial dims (from `firstSpatial` on) reversed: one einsum per
/// dim, W'[.., k', ..] = max_k select(k + k' == K - 1, W[.., k, ..], -inf),
/// which moves every value exactly (NaN and infinities included).
static Value flipSpatial(NodeImporter &ni, Value w, int64_t firstSpatial) {
  MLIRContext *c = ni.ctx();
  std::vector<int64_t> s = shapeOf(w);
  int64_t rank = s.size();
  Type elem = elemOf(w);
  for (int64_t a = firstSpatial; a < rank; ++a) {
    int64_t K = s[a];
    if (K == 1)
      continue;
    std::vector<int64_t> anti(K * K, 0);
    for (int64_t i = 0; i < K; ++i)
      anti[i * K + (K - 1 - i)] = 1;
    Value sel = ni.constant(HostTensor::fromInts(TP::BOOL, {K, K}, anti));
    // Ranks: d0..d{rank-1} (d_a is k'), then k.
    unsigned nr = rank + 1, kr = rank;
    std::vector<std::string> names;
    SmallVector<AffineExpr> we, oe;
    for (int64_t i = 0; i < rank; ++i) {
      names.push_back("d" + std::to_string(i));
      we.push_back(getAffineDimExpr(i == a ? kr : i, c));
      oe.push_back(getAffineDimExpr(i, c));
    }
    names.push_back("k");
    SmallVector<AffineMap> maps = {
        AffineMap::get(nr, 0, {getAffineDimExpr(a, c), getAffineDimExpr(kr, c)},
                       c),
        AffineMap::get(nr, 0, we, c), AffineMap::get(nr, 0, {}, c),
        AffineMap::get(nr, 0, oe, c)};
    Value lowest =
        ni.scalar(elem, -std::numeric_limits<double>::infinity());
    w = einsumOp(ni, s, elem, ValueRange{sel, w, lowest}, maps, names,
                 ComputeOp::select, ReduceOp::max);
  }
  return w;
}

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// ConvTranspose as a convolution: X upsampled by the strides (zeros in
/// between, tensor.insert_slice with strides) and padded so that
/// Y[o] = sum_k Xpp[o + k*d] * Wflipped[k].
static LogicalResult importConvTranspose(NodeImporter &ni) {
  Value x = ni.input(0), wt = ni.input(1);
  if (failed(checkConvOperands(ni, x, wt)))
    return failure();
  Type elem = elemOf(x);
  std::vector<int64_t> xs = shapeOf(x), ws = shapeOf(wt);
  int64_t rank = xs.size();
  size_t ns = rank - 2;
  int64_t G = ni.attrInt("group", 1);
  int64_t N = xs[0], C = xs[1];
  if (G < 1 || C % G != 0 || ws[0] != C)
    return ni.invalid("W's first dimension must be X's channels, divisible "
                      "by group");
  int64_t Mg = ws[1], M = Mg * G;
  std::vector<int64_t> in(xs.begin() + 2, xs.end());
  std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
  if (ni.attr("kernel_shape") && ni.attrInts("kernel_shape") != kernel)
    return ni.invalid("kernel_shape does not match W's shape");
  std::vector<int64_t> strides =
      ni.attrInts("strides", std::vector<int64_t>(ns, 1));
  std::vector<int64_t> dil = ni.attrInts("dilations", std::vector<int64_t>(ns, 1));
  std::vector<int64_t> outPad =
      ni.attrInts("output_padding", std::vector<int64_t>(ns, 0));
  if (strides.size() != ns || dil.size() != ns || outPad.size() != ns)
    return ni.invalid("strides/dilations/output_padding need one value per "
                      "spatial dimension");
  for (size_t i = 0; i < ns; ++i)
    if (strides[i] < 1 || dil[i] < 1 || outPad[i] < 0)
      return ni.invalid("strides and dilations must be positive");
  std::string autoPad = ni.attrString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER" && autoPad != "VALID")
    return ni.invalid("auto_pad '" + autoPad + "' is not valid");
  std::vector<int64_t> outShapeAttr = ni.attrInts("output_shape");
  if (outShapeAttr.size() == ns + 2)
    outShapeAttr.erase(outShapeAttr.begin(), outShapeAttr.begin() + 2);
  if (!outShapeAttr.empty() && outShapeAttr.size() != ns)
    return ni.invalid("output_shape needs one value per spatial dimension");
  std::vector<int64_t> pads = ni.attrInts("pads", std::vector<int64_t>(2 * ns, 0));
  if (pads.size() != 2 * ns)
    return ni.invalid("pads must have 2 values per spatial dimension");
  std::vector<int64_t> pb(ns), out(ns);
  for (size_t i = 0; i < ns; ++i) {
    int64_t ek = (kernel[i] - 1) * dil[i] + 1;
    int64_t full = strides[i] * (in[i] - 1) + outPad[i] + ek;
    bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
    if (!outShapeAttr.empty() || same) {
      out[i] = !outShapeAttr.empty() ? outShapeAttr[i] : in[i] * strides[i];
      int64_t total = full - out[i];
      int64_t half = floorDiv(total, 2);
      pb[i] = autoPad == "SAME_UPPER" ? half : total - half;
    } else if (autoPad == "VALID") {
      pb[i] = 0;
      out[i] = full;
    } else {
      if (pads[i] < 0 || pads[i + ns] < 0)
        return ni.invalid("pads must be non-negative");
      pb[i] = pads[i];
      out[i] = full - pads[i] - pads[i + ns];
    }
    if (out[i] < 1)
      return ni.invalid("the output would be empty");
  }
  Value bias;
  if (ni.hasInput(2)) {
    bias = ni.input(2);
    std::vector<int64_t> bs = shapeOf(bias);
    if (bs.size() != 1 || bs[0] != M)
      return ni.invalid("B must have shape [M]");
    if (elemOf(bias) != elem)
      return ni.invalid("B has a different element type");
  }
  Type ce = computeElem(elem);
  Value xc = ni.cast(x, ce);
  // Xpp[j] = X[i] at j = i*s + L, L = (K-1)*d - pb; zero elsewhere; size
  // P = out + (K-1)*d.
  std::vector<int64_t> sliceOff(rank, 0), sliceSize = xs,
      sliceStride(rank, 1);
  std::vector<int64_t> ppShape = {N, C}, insOff = {0, 0},
      insStride = {1, 1};
  bool needSlice = false;
  for (size_t i = 0; i < ns; ++i) {
    int64_t L = (kernel[i] - 1) * dil[i] - pb[i];
    int64_t P = out[i] + (kernel[i] - 1) * dil[i];
    int64_t s = strides[i];
    int64_t i0 = std::max<int64_t>(0, floorDiv(-L + s - 1, s));
    int64_t i1 = std::min<int64_t>(in[i] - 1, floorDiv(P - 1 - L, s));
    if (i0 > i1)
      return ni.unsupported("ConvTranspose whose output sees none of the "
                            "input (pads crop everything)");
    sliceOff[2 + i] = i0;
    sliceSize[2 + i] = i1 - i0 + 1;
    needSlice |= i0 != 0 || i1 != in[i] - 1;
    ppShape.push_back(P);
    insOff.push_back(i0 * s + L);
    insStride.push_back(s);
  }
  if (needSlice)
    xc = ni.slice(xc, sliceOff, sliceSize, sliceStride);
  Value zeros = ni.broadcastTo(ni.scalar(ce, 0.0), ppShape);
  Value xpp = tensor::InsertSliceOp::create(
      ni.b(), ni.loc(), xc, zeros, ValueRange{}, ValueRange{}, ValueRange{},
      insOff, shapeOf(xc), insStride);
  // W [C, M/G, k] -> [G, C/G, M/G, k], spatially flipped.
  Value wc = flipSpatial(ni, ni.cast(wt, ce), 2);
  MLIRContext *c = ni.ctx();
  std::vector<int64_t> xg = {N, G, C / G}, wg = {G, C / G, Mg},
      yg = {N, G, Mg};
  std::vector<std::string> names = {"n", "g", "m", "c"};
  for (size_t i = 0; i < ns; ++i)
    names.push_back("o" + std::to_string(i));
  for (size_t i = 0; i < ns; ++i)
    names.push_back("k" + std::to_string(i));
  unsigned nr = names.size();
  auto dim = [&](unsigned i) { return getAffineDimExpr(i, c); };
  SmallVector<AffineExpr> xe = {dim(0), dim(1), dim(3)},
                          we = {dim(1), dim(3), dim(2)},
                          oe = {dim(0), dim(1), dim(2)};
  for (size_t i = 0; i < ns; ++i) {
    AffineExpr o = dim(4 + i), k = dim(4 + ns + i);
    xe.push_back(o + k * dil[i]);
    we.push_back(k);
    oe.push_back(o);
    xg.push_back(ppShape[2 + i]);
    wg.push_back(kernel[i]);
    yg.push_back(out[i]);
  }
  SmallVector<AffineMap> maps = {AffineMap::get(nr, 0, xe, c),
                                 AffineMap::get(nr, 0, we, c),
                                 AffineMap::get(nr, 0, oe, c)};
  Value y = einsumOp(ni, yg, ce,
                     ValueRange{ni.reshape(xpp, xg), ni.reshape(wc, wg)}, maps,
                     names, ComputeOp::mul, ReduceOp::add);
  std::vector<int64_t> yShape = {N, M};
  yShape.insert(yShape.end(), out.begin(), out.end());
  y = ni.reshape(y, yShape);
  if (bias) {
    std::vector<int64_t> bShape(rank - 1, 1);
    bShape[0] = M;
    y = ni.elementwise(ComputeOp::add,
                       {y, ni.reshape(ni.cast(bias, ce), bShape)});
  }
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

/// kernel_shape of a pool, checked against the input's spatial rank.
static std::optional<std::vector<int64_t>> poolKernel(NodeImporter &ni,
                                                      int64_t rank) {
  if (rank < 3) {
    (void)ni.unsupported("pooling input of rank < 3 (no spatial dims)");
    return std::nullopt;
  }
  if (!ni.attr("kernel_shape")) {
    (void)ni.invalid("kernel_shape is required");
    return std::nullopt;
  }
  std::vector<int64_t> k = ni.attrInts("kernel_shape");
  if ((int64_t)k.size() != rank - 2) {
    (void)ni.invalid("kernel_shape must have one value per spatial dim");
    return std::nullopt;
  }
  return k;
}

/// MaxPool's Indices: the flat index (into N x C x spatial, row-major, or
/// column-major spatial with storage_order=1) of each window's first
/// maximum in scan order.
static Value maxPoolIndices(NodeImporter &ni, Value xp, Value ones, Value y,
                            const Window &w, int64_t N, int64_t C,
                            bool colMajor) {
  size_t ns = w.rank();
  Value win = windowEinsum(ni, xp, ones, w, ComputeOp::mul, ReduceOp::none,
                           /*keepWindow=*/true);
  std::vector<int64_t> yk = shapeOf(y);
  yk.insert(yk.end(), ns, 1);
  Value mask = ni.elementwise(ComputeOp::eq, {win, ni.reshape(y, yk)});
  if (isa<FloatType>(elemOf(xp)))
    mask = ni.elementwise(ComputeOp::or_,
                          {mask, ni.elementwise(ComputeOp::isnan, {win})});
  // Row-major spatial index of every (o..., k...); padding ranks last.
  const int64_t big = int64_t(1) << 62;
  std::vector<int64_t> tshape(w.out.begin(), w.out.end());
  tshape.insert(tshape.end(), w.kernel.begin(), w.kernel.end());
  int64_t total = product(tshape);
  std::vector<int64_t> table(total);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t rem = flat;
    std::vector<int64_t> coord(2 * ns);
    for (size_t i = 2 * ns; i-- > 0;) {
      coord[i] = rem % tshape[i];
      rem /= tshape[i];
    }
    int64_t idx = 0;
    bool inside = true;
    for (size_t i = 0; i < ns; ++i) {
      int64_t p = coord[i] * w.strides[i] + coord[ns + i] * w.dilations[i] -
                  w.padBegin[i];
      inside &= p >= 0 && p < w.in[i];
      idx = idx * w.in[i] + p;
    }
    table[flat] = inside ? idx : big;
  }
  Type i64 = IntegerType::get(ni.ctx(), 64);
  Value cand = ni.elementwise(
      ComputeOp::select,
      {mask, ni.constant(HostTensor::fromInts(TP::INT64, tshape, table)),
       ni.scalar(i64, (double)big)});
  std::vector<int64_t> kAxes;
  for (size_t i = 0; i < ns; ++i)
    kAxes.push_back(2 + ns + i);
  Value p = ni.reduce(ReduceOp::min, cand, kAxes, /*keepDims=*/false);
  if (colMajor) { // 2-D: h + w * H
    int64_t H = w.in[0], W = w.in[1];
    Value h = ni.elementwise(ComputeOp::div, {p, ni.scalar(i64, W)});
    Value wv = ni.elementwise(ComputeOp::mod, {p, ni.scalar(i64, W)});
    p = ni.elementwise(ComputeOp::mul_add, {wv, ni.scalar(i64, H), h});
  }
  std::vector<int64_t> base(N * C);
  int64_t step = product(w.in);
  for (int64_t i = 0; i < N * C; ++i)
    base[i] = i * step;
  std::vector<int64_t> bshape = {N, C};
  bshape.insert(bshape.end(), ns, 1);
  return ni.elementwise(
      ComputeOp::add,
      {p, ni.constant(HostTensor::fromInts(TP::INT64, bshape, base))});
}

static LogicalResult importMaxPool(NodeImporter &ni) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (elem.isInteger(1))
    return ni.unsupported("MaxPool of bool tensors");
  std::vector<int64_t> xs = shapeOf(x);
  auto kernel = poolKernel(ni, xs.size());
  if (!kernel)
    return failure();
  std::vector<int64_t> in(xs.begin() + 2, xs.end());
  Window w;
  if (failed(windowGeometry(ni, in, *kernel, /*dilations=*/true,
                            ni.attrInt("ceil_mode", 0) != 0, w)))
    return failure();
  double lowest =
      isa<FloatType>(elem)
          ? -std::numeric_limits<double>::infinity()
          : (double)APInt::getSignedMinValue(elem.getIntOrFloatBitWidth())
                .getSExtValue();
  bool colMajor = ni.attrInt("storage_order", 0) != 0;
  if (ni.wantsOutput(1) && colMajor && in.size() != 2)
    return ni.unsupported("MaxPool Indices with storage_order=1 beyond 2-D");
  Value xp = padSpatial(ni, x, w, lowest);
  Value ones = ni.constant(HostTensor::fromDoubles(
      onnxTypeOf(elem), *kernel, std::vector<double>(product(*kernel), 1.0)));
  // max_k x[o*s + k*d] * 1
  Value y = windowEinsum(ni, xp, ones, w, ComputeOp::mul, ReduceOp::max);
  ni.setOutput(0, y);
  if (ni.wantsOutput(1))
    ni.setOutput(1, maxPoolIndices(ni, xp, ones, y, w, xs[0], xs[1],
                                   colMajor));
  return success();
}

static LogicalResult importAveragePool(NodeImporter &ni) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  for (int64_t d : ni.attrInts("dilations"))
    if (d != 1)
      return ni.unsupported("AveragePool with dilations");
  std::vector<int64_t> xs = shapeOf(x);
  auto kernel = poolKernel(ni, xs.size());
  if (!kernel)
    return failure();
  std::vector<int64_t> in(xs.begin() + 2, xs.end());
  Window w;
  if (failed(windowGeometry(ni, in, *kernel, /*dilations=*/false,
                            ni.attrInt("ceil_mode", 0) != 0, w)))
    return failure();
  bool includePad = ni.attrInt("count_include_pad", 0) != 0;
  Type ce = computeElem(elem);
  Value xp = padSpatial(ni, ni.cast(x, ce), w, 0.0);
  Value window = ni.constant(HostTensor::fromDoubles(
      onnxTypeOf(ce), *kernel, std::vector<double>(product(*kernel), 0.0)));
  Value sum = windowEinsum(ni, xp, window, w, ComputeOp::add, ReduceOp::add);
  // Divisors: window elements inside the input (or inside input + pads with
  // count_include_pad), never the extra positions ceil_mode adds.
  size_t ns = in.size();
  std::vector<std::vector<int64_t>> counts(ns);
  bool uniform = true;
  int64_t full = product(*kernel);
  for (size_t i = 0; i < ns; ++i) {
    int64_t lo = includePad ? -w.padBegin[i] : 0;
    int64_t hi = includePad ? in[i] + w.padEnd[i] : in[i];
    for (int64_t o = 0; o < w.out[i]; ++o) {
      int64_t cnt = 0;
      for (int64_t j = 0; j < (*kernel)[i]; ++j) {
        int64_t p = o * w.strides[i] - w.padBegin[i] + j;
        cnt += p >= lo && p < hi;
      }
      counts[i].push_back(cnt);
      uniform &= cnt == (*kernel)[i];
    }
  }
  Value y;
  if (uniform) {
    y = ni.elementwise(ComputeOp::div, {sum, ni.scalar(ce, full)});
  } else {
    std::vector<double> div(product(w.out));
    for (int64_t flat = 0; flat < (int64_t)div.size(); ++flat) {
      int64_t rem = flat;
      double v = 1;
      for (size_t i = ns; i-- > 0;) {
        v *= counts[i][rem % w.out[i]];
        rem /= w.out[i];
      }
      div[flat] = v;
    }
    Value dv = ni.constant(HostTensor::fromDoubles(onnxTypeOf(ce), w.out, div));
    y = ni.elementwise(ComputeOp::div, {sum, dv});
  }
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

static LogicalResult importGlobalPool(NodeImporter &ni, bool isMax) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  std::vector<int64_t> xs = shapeOf(x);
  int64_t rank = xs.size();
  if (rank < 3)
    return ni.unsupported("pooling input of rank < 3 (no spatial dims)");
  std::vector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  Value y;
  if (isMax) {
    y = ni.reduce(ReduceOp::max, x, axes, /*keepDims=*/true);
  } else {
    Type ce = computeElem(elem);
    y = ni.cast(meanKeep(ni, ni.cast(x, ce), axes), elem);
  }
  ni.setOutput(0, y);
  return success();
}

/// |x|^p, with the common powers exact.
static Value absPow(NodeImporter &ni, Value x, int64_t p) {
  if (p == 1)
    return ni.elementwise(ComputeOp::abs, {x});
  if (p == 2)
    return ni.elementwise(ComputeOp::mul, {x, x});
  return ni.elementwise(ComputeOp::pow,
                        {ni.elementwise(ComputeOp::abs, {x}),
                         ni.scalar(elemOf(x), (double)p)});
}
static Value rootP(NodeImporter &ni, Value s, int64_t p) {
  if (p == 1)
    return s;
  if (p == 2)
    return ni.elementwise(ComputeOp::sqrt, {s});
  return ni.elementwise(ComputeOp::pow,
                        {s, ni.scalar(elemOf(s), 1.0 / (double)p)});
}

static LogicalResult importLpPool(NodeImporter &ni, bool global) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  if (!isa<FloatType>(elem))
    return ni.unsupported("element type must be floating point");
  if (ni.attr("p") && ni.attr("p")->type() != onnx::AttributeProto::INT)
    return ni.unsupported("a non-integer p (opset 1)");
  int64_t p = ni.attrInt("p", 2);
  if (p < 1)
    return ni.unsupported("p < 1");
  std::vector<int64_t> xs = shapeOf(x);
  int64_t rank = xs.size();
  Type ce = computeElem(elem);
  Value xa = absPow(ni, ni.cast(x, ce), p);
  Value sum;
  if (global) {
    if (rank < 3)
      return ni.unsupported("pooling input of rank < 3 (no spatial dims)");
    std::vector<int64_t> axes;
    for (int64_t i = 2; i < rank; ++i)
      axes.push_back(i);
    sum = ni.reduce(ReduceOp::add, xa, axes, /*keepDims=*/true);
  } else {
    if (ni.attrInt("ceil_mode", 0) != 0)
      return ni.unsupported("LpPool with ceil_mode");
    auto kernel = poolKernel(ni, rank);
    if (!kernel)
      return failure();
    std::vector<int64_t> in(xs.begin() + 2, xs.end());
    Window w;
    if (failed(windowGeometry(ni, in, *kernel, /*dilations=*/true,
                              /*ceilMode=*/false, w)))
      return failure();
    Value xp = padSpatial(ni, xa, w, 0.0);
    Value ones = ni.constant(HostTensor::fromDoubles(
        onnxTypeOf(ce), *kernel, std::vector<double>(product(*kernel), 1.0)));
    sum = windowEinsum(ni, xp, ones, w, ComputeOp::mul, ReduceOp::add);
  }
  ni.setOutput(0, ni.cast(rootP(ni, sum, p), elem));
  return success();
}

//===----------------------------------------------------------------------===//
// Pad, Trilu, DepthToSpace, SpaceToDepth
//===----------------------------------------------------------------------===//

static Value gatherAxisExact(NodeImporter &ni, Value x, int64_t axis,
                             const std::vector<int64_t> &idx);

/// Edge or reflect padding of one axis: concat(low part, x, high part).
static Value padAxisMode(NodeImporter &ni, Value x, int64_t axis, int64_t pb,
                         int64_t pe, bool reflect) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size(), in = s[axis];
  std::vector<int64_t> strides(rank, 1);
  auto part = [&](int64_t from, int64_t count, bool low) -> Value {
    std::vector<int64_t> off(rank, 0), size = s, target = s;
    target[axis] = count;
    if (!reflect) { // count copies of the edge element
      off[axis] = low ? 0 : in - 1;
      size[axis] = 1;
      return ni.broadcastTo(ni.slice(x, off, size, strides), target);
    }
    // x[from .. from + count) reversed
    off[axis] = from;
    size[axis] = count;
    Value sub = ni.slice(x, off, size, strides);
    std::vector<int64_t> rev(count);
    for (int64_t i = 0; i < count; ++i)
      rev[i] = count - 1 - i;
    return gatherAxisExact(ni, sub, axis, rev);
  };
  SmallVector<Value> parts;
  if (pb > 0)
    parts.push_back(part(1, pb, true));
  parts.push_back(x);
  if (pe > 0)
    parts.push_back(part(in - 1 - pe, pe, false));
  return ni.concat(parts, axis);
}

static LogicalResult importPad(NodeImporter &ni) {
  std::string mode = ni.attrString("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect")
    return ni.unsupported("Pad mode '" + mode + "'");
  Value x = ni.input(0);
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  std::vector<int64_t> pads;
  double value = 0;
  std::vector<int64_t> axes;
  if (ni.opset() < 11) {
    pads = ni.attrInts(ni.attr("pads") ? "pads" : "paddings");
    value = ni.attrFloat("value", 0.0f);
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  } else {
    auto p = ni.constInts(1, "pads");
    if (!p)
      return failure();
    pads = *p;
    if (ni.hasInput(2)) {
      const HostTensor *cv = ni.constInput(2);
      if (!cv)
        return ni.unsupported("constant_value is not a compile-time constant");
      if (cv->numel() != 1)
        return ni.invalid("constant_value must hold one value");
      value = cv->isFloat() ? cv->getDouble(0) : (double)cv->getInt(0);
      if (!cv->isFloat() && std::abs(cv->getInt(0)) > (int64_t(1) << 53))
        return ni.unsupported("integer constant_value beyond 2^53");
    }
    if (ni.hasInput(3)) {
      auto a = ni.constInts(3, "axes");
      if (!a)
        return failure();
      for (int64_t v : *a) {
        auto na = ni.normAxis(v, rank);
        if (!na)
          return failure();
        axes.push_back(*na);
      }
    } else {
      for (int64_t i = 0; i < rank; ++i)
        axes.push_back(i);
    }
  }
  size_t na = axes.size();
  if (pads.size() != 2 * na)
    return ni.invalid("pads has " + std::to_string(pads.size()) +
                      " values, expected " + std::to_string(2 * na));
  std::vector<int64_t> pb(rank, 0), pe(rank, 0);
  for (size_t i = 0; i < na; ++i) {
    pb[axes[i]] = pads[i];
    pe[axes[i]] = pads[i + na];
  }
  if (mode != "constant") {
    Value y = x;
    for (int64_t i = 0; i < rank; ++i) {
      if (pb[i] < 0 || pe[i] < 0)
        return ni.unsupported("negative pads with mode '" + mode + "'");
      if (pb[i] == 0 && pe[i] == 0)
        continue;
      if (s[i] == 0)
        return ni.unsupported("mode '" + mode + "' padding of an empty axis");
      if (mode == "reflect" && (pb[i] >= s[i] || pe[i] >= s[i]))
        return ni.unsupported("reflect pads not smaller than the axis");
      y = padAxisMode(ni, y, i, pb[i], pe[i], mode == "reflect");
    }
    ni.setOutput(0, y == x ? ni.copy(x) : y);
    return success();
  }
  // Negative pads crop first.
  bool crop = false;
  std::vector<int64_t> off(rank, 0), size = s, strides(rank, 1);
  for (int64_t i = 0; i < rank; ++i) {
    if (pb[i] < 0) {
      off[i] = -pb[i];
      size[i] += pb[i];
      pb[i] = 0;
      crop = true;
    }
    if (pe[i] < 0) {
      size[i] += pe[i];
      pe[i] = 0;
      crop = true;
    }
    if (size[i] < 0)
      return ni.invalid("negative pads remove more than the whole axis");
  }
  Value y = x;
  if (crop)
    y = ni.slice(y, off, size, strides);
  Value padded = padConst(ni, y, pb, pe, value);
  if (padded == x)
    padded = ni.copy(x);
  ni.setOutput(0, padded);
  return success();
}

static LogicalResult importTrilu(NodeImporter &ni) {
  Value x = ni.input(0);
  Type elem = elemOf(x);
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  if (rank < 2)
    return ni.invalid("Trilu input must have rank >= 2");
  bool upper = ni.attrInt("upper", 1) != 0;
  int64_t N = s[rank - 2], M = s[rank - 1];
  if (product(s) == 0)
    return ni.unsupported("zero-size tensors (the CPU backend cannot emit "
                          "a program with empty buffers yet)");
  int64_t k = 0;
  if (ni.hasInput(1)) {
    const HostTensor *kt = ni.constInput(1);
    if (!kt) {
      // A runtime k: keep where (j - i) >= k (upper) or <= k (lower).
      Value kv = ni.input(1);
      if (product(shapeOf(kv)) != 1 || shapeOf(kv).size() > 1 ||
          !elemOf(kv).isInteger(64))
        return ni.invalid("k must be an int64 scalar");
      std::vector<int64_t> diff(N * M);
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < M; ++j)
          diff[i * M + j] = j - i;
      Value d = ni.constant(HostTensor::fromInts(TP::INT64, {N, M}, diff));
      Value m = ni.elementwise(upper ? ComputeOp::ge : ComputeOp::le,
                               {d, ni.reshape(kv, {})});
      ni.setOutput(0, ni.elementwise(ComputeOp::select,
                                     {m, x, ni.scalar(elem, 0)}));
      return success();
    }
    if (kt->numel() != 1)
      return ni.invalid("k must be a scalar");
    k = kt->getInt(0);
  }
  std::vector<int64_t> mask(N * M);
  bool all = true;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < M; ++j) {
      bool keep = upper ? j - i >= k : j - i <= k;
      mask[i * M + j] = keep;
      all &= keep;
    }
  if (all) {
    ni.setOutput(0, ni.copy(x));
    return success();
  }
  Value m = ni.constant(HostTensor::fromInts(TP::BOOL, {N, M}, mask));
  Value y = ni.elementwise(ComputeOp::select,
                           {m, x, ni.scalar(elem, 0)});
  ni.setOutput(0, y);
  return success();
}

static LogicalResult importDepthToSpace(NodeImporter &ni) {
  Value x = ni.input(0);
  std::vector<int64_t> s = shapeOf(x);
  if (s.size() != 4)
    return ni.invalid("DepthToSpace input must be 4-D");
  int64_t b = ni.attrInt("blocksize", 0);
  if (b < 1 || s[1] % (b * b) != 0)
    return ni.invalid("blocksize must divide the channels by its square");
  std::string mode = ni.attrString("mode", "DCR");
  int64_t N = s[0], C = s[1], H = s[2], W = s[3], c2 = C / (b * b);
  Value y;
  if (mode == "DCR") {
    y = ni.reshape(x, {N, b, b, c2, H, W});
    y = ni.transpose(y, {0, 3, 4, 1, 5, 2});
  } else if (mode == "CRD") {
    y = ni.reshape(x, {N, c2, b, b, H, W});
    y = ni.transpose(y, {0, 1, 4, 2, 5, 3});
  } else {
    return ni.invalid("DepthToSpace mode must be DCR or CRD");
  }
  ni.setOutput(0, ni.reshape(y, {N, c2, H * b, W * b}));
  return success();
}

static LogicalResult importSpaceToDepth(NodeImporter &ni) {
  Value x = ni.input(0);
  std::vector<int64_t> s = shapeOf(x);
  if (s.size() != 4)
    return ni.invalid("SpaceToDepth input must be 4-D");
  int64_t b = ni.attrInt("blocksize", 0);
  if (b < 1 || s[2] % b != 0 || s[3] % b != 0)
    return ni.invalid("blocksize must divide the spatial dims");
  int64_t N = s[0], C = s[1], H = s[2], W = s[3];
  Value y = ni.reshape(x, {N, C, H / b, b, W / b, b});
  y = ni.transpose(y, {0, 3, 5, 1, 2, 4});
  ni.setOutput(0, ni.reshape(y, {N, C * b * b, H / b, W / b}));
  return success();
}

//===----------------------------------------------------------------------===//
// Resize, Upsample
//===----------------------------------------------------------------------===//

/// y[.., o, ..] = x[.., idx[o], ..] along `axis`, idx with values in
/// [0, in). Recognizes a strided/constant index (one copy einsum) and a
/// repeat (each index `r` times, a copy einsum then a reshape); otherwise
/// one exact select/max einsum over a host-built one-hot matrix.
static Value gatherAxisExact(NodeImporter &ni, Value x, int64_t axis,
                             const std::vector<int64_t> &idx) {
  MLIRContext *c = ni.ctx();
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size(), in = s[axis], out = idx.size();
  Type elem = elemOf(x);
  bool identity = out == in;
  for (int64_t o = 0; identity && o < out; ++o)
    identity = idx[o] == o;
  if (identity)
    return x;
  std::vector<std::string> names;
  for (int64_t i = 0; i < rank; ++i)
    names.push_back("d" + std::to_string(i));
  auto dimsExcept = [&](AffineExpr atAxis) {
    SmallVector<AffineExpr> e;
    for (int64_t i = 0; i < rank; ++i)
      e.push_back(i == axis ? atAxis : getAffineDimExpr(i, c));
    return e;
  };
  std::vector<int64_t> outShape = s;
  outShape[axis] = out;
  // Affine: idx[o] = a*o + b, a >= 0.
  int64_t a = out > 1 ? idx[1] - idx[0] : 1, b0 = idx[0];
  bool affine = a >= 0;
  for (int64_t o = 0; affine && o < out; ++o)
    affine = idx[o] == a * o + b0;
  if (affine && a >= 1) { // a strided slice
    std::vector<int64_t> off(rank, 0), strides(rank, 1);
    off[axis] = b0;
    strides[axis] = a;
    return ni.slice(x, off, outShape, strides);
  }
  if (affine) { // one index, broadcast
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank, 0, dimsExcept(getAffineConstantExpr(b0, c)), c),
        AffineMap::getMultiDimIdentityMap(rank, c)};
    return einsumOp(ni, outShape, elem, ValueRange{x}, maps, names,
                    ComputeOp::copy, ReduceOp::none);
  }
  // Repeat: idx[o] = floor((o + sh) / r) + b0, 0 <= sh < r, r >= 2.
  {
    std::vector<int64_t> runs;
    for (int64_t o = 0; o < out; ++o) {
      if (o == 0 || idx[o] != idx[o - 1])
        runs.push_back(0);
      ++runs.back();
    }
    int64_t r = 0;
    if (runs.size() >= 3)
      r = runs[1];
    else if (runs.size() == 2)
      r = std::max(runs[0], runs[1]);
    int64_t sh = r - (runs.empty() ? 0 : runs[0]);
    bool ok = r >= 2 && sh >= 0;
    for (int64_t o = 0; ok && o < out; ++o)
      ok = idx[o] == (o + sh) / r + b0;
    int64_t I = ok ? (out + sh + r - 1) / r : 0;
    if (ok && I + b0 <= in) {
      // z[.., i, t, ..] = x[.., i + b0, ..] * 1, t < r
      if (b0 != 0 || I != in) {
        std::vector<int64_t> off(rank, 0), size = s, strides(rank, 1);
        off[axis] = b0;
        size[axis] = I;
        x = ni.slice(x, off, size, strides);
      }
      std::vector<std::string> zn;
      SmallVector<AffineExpr> xe, ze;
      std::vector<int64_t> zShape;
      unsigned nr = rank + 1;
      for (int64_t i = 0; i < rank; ++i) {
        zn.push_back("d" + std::to_string(i));
        AffineExpr d = getAffineDimExpr(i, c);
        xe.push_back(d);
        ze.push_back(d);
        zShape.push_back(i == axis ? I : s[i]);
        if (i == axis) {
          ze.push_back(getAffineDimExpr(rank, c));
          zShape.push_back(r);
        }
      }
      zn.push_back("t");
      Value ones = ni.constant(HostTensor::fromDoubles(
          onnxTypeOf(elem), {r}, std::vector<double>(r, 1.0)));
      SmallVector<AffineMap> maps = {
          AffineMap::get(nr, 0, xe, c),
          AffineMap::get(nr, 0, {getAffineDimExpr(rank, c)}, c),
          AffineMap::get(nr, 0, ze, c)};
      Value z = einsumOp(ni, zShape, elem, ValueRange{x, ones}, maps, zn,
                         elem.isInteger(1) ? ComputeOp::and_
                                           : ComputeOp::mul,
                         ReduceOp::none);
      std::vector<int64_t> flat = s;
      flat[axis] = I * r;
      z = ni.reshape(z, flat);
      if (sh != 0 || I * r != out) {
        std::vector<int64_t> off(rank, 0), strides(rank, 1);
        off[axis] = sh;
        z = ni.slice(z, off, outShape, strides);
      }
      return z;
    }
  }
  // General: y[.., o, ..] = max_j select(idx[o] == j, x[.., j, ..], lowest).
  std::vector<int64_t> onehot(out * in, 0);
  for (int64_t o = 0; o < out; ++o)
    onehot[o * in + idx[o]] = 1;
  Value sel = ni.constant(HostTensor::fromInts(TP::BOOL, {out, in}, onehot));
  double lowest =
      isa<FloatType>(elem) ? -std::numeric_limits<double>::infinity()
      : elem.isInteger(1)
          ? 0.0
          : (double)APInt::getSignedMinValue(elem.getIntOrFloatBitWidth())
                .getSExtValue();
  unsigned nr = rank + 1;
  names.push_back("j");
  AffineExpr j = getAffineDimExpr(rank, c);
  SmallVector<AffineMap> maps = {
      AffineMap::get(nr, 0, {getAffineDimExpr(axis, c), j}, c),
      AffineMap::get(nr, 0, dimsExcept(j), c), AffineMap::get(nr, 0, {}, c),
      AffineMap::get(nr, 0, dimsExcept(getAffineDimExpr(axis, c)), c)};
  return einsumOp(ni, outShape, elem,
                  ValueRange{sel, x, ni.scalar(elem, lowest)}, maps,
                  names, ComputeOp::select, ReduceOp::max);
}

/// Gather with indices that may run past the ends (clamped to the edge
/// values): the input is first extended by a few edge copies so that a
/// regular pattern (a repeat) survives the clamping.
static Value gatherAxisClamped(NodeImporter &ni, Value x, int64_t axis,
                               std::vector<int64_t> u) {
  std::vector<int64_t> s = shapeOf(x);
  int64_t in = s[axis];
  int64_t lo = 0, hi = in - 1;
  for (int64_t v : u) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  int64_t lowExt = -lo, highExt = hi - (in - 1);
  if (lowExt + highExt == 0)
    return gatherAxisExact(ni, x, axis, u);
  if (lowExt + highExt <= 4 && in >= 1) {
    std::vector<int64_t> v = u;
    for (int64_t &e : v)
      e += lowExt;
    std::vector<int64_t> off(s.size(), 0), size = s, strides(s.size(), 1);
    size[axis] = 1;
    SmallVector<Value> parts;
    Value first = ni.slice(x, off, size, strides);
    off[axis] = in - 1;
    Value last = ni.slice(x, off, size, strides);
    for (int64_t i = 0; i < lowExt; ++i)
      parts.push_back(first);
    parts.push_back(x);
    for (int64_t i = 0; i < highExt; ++i)
      parts.push_back(last);
    return gatherAxisExact(ni, ni.concat(parts, axis), axis, v);
  }
  for (int64_t &e : u)
    e = std::min(std::max<int64_t>(e, 0), in - 1);
  return gatherAxisExact(ni, x, axis, u);
}

namespace {
/// One resized axis: for each output position, the (unclamped) source
/// indices and their coefficients.
struct AxisInterp {
  int64_t out = 0;
  int64_t taps = 0;
  std::vector<std::vector<int64_t>> idx; ///< [tap][o]
  std::vector<std::vector<double>> coef; ///< [tap][o]
};
} // namespace

/// The ONNX reference's interpolate_1d_with_x for one axis: neighbours of
/// x_ori in the edge-padded input, coefficients from the ratio.
static std::optional<std::string>
interpAxis(const std::string &mode, const std::string &ctm,
           const std::string &nearestMode, double cubicA, bool excludeOutside,
           int64_t in, int64_t out, double scale, double outputWidth,
           AxisInterp &ax) {
  int64_t n = mode == "nearest" ? 2 : mode == "linear" ? 2 : 4;
  ax.out = out;
  ax.taps = mode == "nearest" ? 1 : n;
  ax.idx.assign(ax.taps, std::vector<int64_t>(out));
  ax.coef.assign(ax.taps, std::vector<double>(out));
  int64_t pw = (n + 1) / 2;
  for (int64_t o = 0; o < out; ++o) {
    double x = (double)o, xo;
    if (ctm == "align_corners")
      xo = outputWidth == 1 ? 0.0 : x * (in - 1) / (outputWidth - 1);
    else if (ctm == "asymmetric")
      xo = x / scale;
    else if (ctm == "pytorch_half_pixel")
      xo = outputWidth == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
    else if (ctm == "half_pixel")
      xo = (x + 0.5) / scale - 0.5;
    else if (ctm == "tf_half_pixel_for_nn")
      xo = (x + 0.5) / scale;
    else
      return "coordinate_transformation_mode '" + ctm + "'";
    double fl = std::floor(xo);
    bool isInt = xo == fl;
    double ratio = isInt ? 1.0 : xo - fl;
    std::vector<double> cf;
    if (mode == "nearest") {
      if (isInt)
        cf = {0, 1};
      else if (nearestMode == "round_prefer_floor")
        cf = {double(ratio <= 0.5), double(ratio > 0.5)};
      else if (nearestMode == "round_prefer_ceil")
        cf = {double(ratio < 0.5), double(ratio >= 0.5)};
      else if (nearestMode == "floor")
        cf = {1, 0};
      else if (nearestMode == "ceil")
        cf = {0, 1};
      else
        return "nearest_mode '" + nearestMode + "'";
    } else if (mode == "linear") {
      cf = {1 - ratio, ratio};
    } else {
      double A = cubicA, r = ratio;
      cf = {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
            ((A + 2) * r - (A + 3)) * r * r + 1,
            ((A + 2) * (1 - r) - (A + 3)) * (1 - r) * (1 - r) + 1,
            ((A * ((1 - r) + 1) - 5 * A) * ((1 - r) + 1) + 8 * A) *
                    ((1 - r) + 1) -
                4 * A};
    }
    // The n indexes of [0, in + 2*pw) nearest to xo + pw, ties to the
    // smaller, in ascending order; minus pw.
    double xp = xo + pw;
    int64_t len = in + 2 * pw;
    std::vector<std::pair<double, int64_t>> cand;
    int64_t centre = (int64_t)std::floor(xp);
    for (int64_t i = std::max<int64_t>(0, centre - n - 1);
         i <= std::min<int64_t>(len - 1, centre + n + 1); ++i)
      cand.push_back({std::fabs(xp - (double)i), i});
    if ((int64_t)cand.size() < n) { // far outside: scan everything
      cand.clear();
      for (int64_t i = 0; i < len; ++i)
        cand.push_back({std::fabs(xp - (double)i), i});
    }
    std::sort(cand.begin(), cand.end());
    std::vector<int64_t> nb;
    for (int64_t k = 0; k < n; ++k)
      nb.push_back(cand[k].second - pw);
    std::sort(nb.begin(), nb.end());
    if (excludeOutside && mode != "nearest") {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        if (nb[k] < 0 || nb[k] >= in)
          cf[k] = 0;
        sum += cf[k];
      }
      for (double &v : cf)
        v /= sum;
    }
    if (mode == "nearest") {
      ax.idx[0][o] = cf[0] != 0 ? nb[0] : nb[1];
      ax.coef[0][o] = 1;
    } else {
      for (int64_t k = 0; k < n; ++k) {
        ax.idx[k][o] = nb[k];
        ax.coef[k][o] = cf[k];
      }
    }
  }
  return std::nullopt;
}

/// Applies the per-axis interpolation `ax` along `axis`.
static Value applyInterp(NodeImporter &ni, Value x, int64_t axis,
                         const AxisInterp &ax) {
  if (ax.taps == 1)
    return gatherAxisClamped(ni, x, axis, ax.idx[0]);
  Type elem = elemOf(x);
  int64_t rank = shapeOf(x).size();
  std::vector<int64_t> cshape(rank - axis, 1);
  cshape[0] = ax.out;
  Value acc;
  for (int64_t k = 0; k < ax.taps; ++k) {
    Value g = gatherAxisClamped(ni, x, axis, ax.idx[k]);
    Value cf = ni.constant(
        HostTensor::fromDoubles(onnxTypeOf(elem), cshape, ax.coef[k]));
    acc = acc ? ni.elementwise(ComputeOp::mul_add, {g, cf, acc})
              : ni.elementwise(ComputeOp::mul, {g, cf});
  }
  return acc;
}

static LogicalResult importResize(NodeImporter &ni) {
  bool isUpsample = ni.node().op_type() == "Upsample";
  Value x = ni.input(0);
  Type elem = elemOf(x);
  std::vector<int64_t> s = shapeOf(x);
  int64_t rank = s.size();
  std::string mode = ni.attrString("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return ni.invalid("mode '" + mode + "' is not nearest, linear or cubic");
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  if (isUpsample) {
    if (mode != "nearest")
      return ni.unsupported("Upsample mode '" + mode + "' (only nearest)");
    if (ni.opset() < 9) {
      for (float f : ni.attr("scales") ? ni.attr("scales")->floats()
                                       : decltype(ni.attr("scales")->floats()){})
        scales.push_back(f);
    } else {
      const HostTensor *t = ni.constInput(1);
      if (!t)
        return ni.unsupported("scales is not a compile-time constant");
      scales = t->toDoubles();
    }
    for (double v : scales)
      if (v < 1 || v != std::floor(v))
        return ni.unsupported("Upsample with non-integer scales (the index "
                              "rounding is not specified)");
  } else {
    if (ni.opset() < 11)
      return ni.unsupported("Resize before opset 11 (its coordinate "
                            "mapping is not specified)");
    const HostTensor *sz = ni.constInput(3);
    const HostTensor *sc = ni.constInput(2);
    if (ni.hasInput(3) && !sz)
      return ni.unsupported("sizes is not a compile-time constant");
    if (sz && sz->numel() > 0) {
      sizes = sz->toInts();
    } else {
      if (ni.hasInput(2) && !sc)
        return ni.unsupported("scales is not a compile-time constant");
      if (!sc || sc->numel() == 0)
        return ni.invalid("Resize needs scales or sizes");
      scales = sc->toDoubles();
    }
  }
  if ((!sizes.empty() && (int64_t)sizes.size() != rank) ||
      (sizes.empty() && (int64_t)scales.size() != rank))
    return ni.invalid("scales/sizes need one value per dimension");
  std::string ctm = isUpsample ? "asymmetric"
                               : ni.attrString("coordinate_transformation_mode",
                                               "half_pixel");
  std::string nearestMode =
      isUpsample ? "floor" : ni.attrString("nearest_mode", "round_prefer_floor");
  if (ctm == "tf_crop_and_resize")
    return ni.unsupported("coordinate_transformation_mode tf_crop_and_resize");
  if (mode != "nearest" && !isa<FloatType>(elem))
    return ni.unsupported(mode + " interpolation of non-float tensors");
  double cubicA = ni.attrFloat("cubic_coeff_a", -0.75f);
  bool exclude = ni.attrInt("exclude_outside", 0) != 0;
  Type ce = mode == "nearest" ? elem : computeElem(elem);
  Value y = ni.cast(x, ce);
  for (int64_t d = rank - 1; d >= 0; --d) {
    int64_t in = s[d], out;
    double scale, width;
    if (!sizes.empty()) {
      out = sizes[d];
      scale = (double)out / (double)in;
      width = scale * in;
    } else {
      scale = scales[d];
      if (!(scale > 0))
        return ni.invalid("scales must be positive");
      width = scale * in;
      out = (int64_t)std::floor(width);
      if (ctm == "align_corners" && width != (double)out)
        return ni.unsupported("align_corners with a scale whose output "
                              "width is not an integer");
    }
    if (in < 1 || out < 1)
      return ni.unsupported("resizing an empty dimension");
    if (out == in && scale == 1.0)
      continue;
    AxisInterp ax;
    if (auto bad = interpAxis(mode, ctm, nearestMode, cubicA, exclude, in,
                              out, scale, width, ax))
      return ni.unsupported(*bad);
    y = applyInterp(ni, y, d, ax);
  }
  if (y == x)
    y = ni.copy(x);
  ni.setOutput(0, ni.cast(y, elem));
  return success();
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

void registerNNOps() {
  auto &r = opRegistry();
  r["MatMul"] = importMatMul;
  r["Gemm"] = importGemm;
  r["Einsum"] = importEinsum;
  r["Softmax"] = [](NodeImporter &n) { return importSoftmax(n, false); };
  r["LogSoftmax"] = [](NodeImporter &n) { return importSoftmax(n, true); };
  r["LayerNormalization"] = importLayerNorm;
  r["BatchNormalization"] = importBatchNorm;
  r["InstanceNormalization"] = importInstanceNorm;
  r["Conv"] = importConv;
  r["MaxPool"] = importMaxPool;
  r["AveragePool"] = importAveragePool;
  r["GlobalAveragePool"] = [](NodeImporter &n) {
    return importGlobalPool(n, false);
  };
  r["GlobalMaxPool"] = [](NodeImporter &n) {
    return importGlobalPool(n, true);
  };
  r["Pad"] = importPad;
  r["Trilu"] = importTrilu;
  // Optional ops another file may also define: theirs win.
  r.emplace("ConvTranspose", importConvTranspose);
  r.emplace("Resize", importResize);
  r.emplace("Upsample", importResize);
  r.emplace("LRN", importLRN);
  r.emplace("LpPool",
            [](NodeImporter &n) { return importLpPool(n, false); });
  r.emplace("GlobalLpPool",
            [](NodeImporter &n) { return importLpPool(n, true); });
  r.emplace("Hardmax", importHardmax);
  r.emplace("ArgMax",
            [](NodeImporter &n) { return importArgExtreme(n, true); });
  r.emplace("ArgMin",
            [](NodeImporter &n) { return importArgExtreme(n, false); });
  r.emplace("DepthToSpace", importDepthToSpace);
  r.emplace("SpaceToDepth", importSpaceToDepth);
}

} // namespace memc::onnximport
