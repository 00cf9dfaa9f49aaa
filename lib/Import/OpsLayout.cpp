//===- OpsLayout.cpp - Pad, Trilu, DepthToSpace, SpaceToDepth -------------===//
//
// Data movement the NN exports use: constant padding is tensor.pad, edge
// and reflect padding concatenations of slices (reflected exactly, by
// gatherAxisExact); Trilu a select against a host-built mask (folded on
// the host for a constant input: a causal mask built in forward());
// DepthToSpace/SpaceToDepth reshape-transpose-reshape.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

#include <cmath>

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

using TP = onnx::TensorProto;

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

void registerLayoutOps(OpRegistry &r) {
  r.add("Pad", importPad);
  r.add("Trilu", importTrilu, foldTrilu);
  r.add("DepthToSpace", importDepthToSpace);
  r.add("SpaceToDepth", importSpaceToDepth);
}

} // namespace memc::onnximport
