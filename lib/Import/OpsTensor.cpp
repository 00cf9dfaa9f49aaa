//===- OpsTensor.cpp - ONNX data-movement ops -----------------------------===//
//
// Shape-only ops: Reshape-like ops become tensor.collapse/expand_shape,
// Slice/Split/Concat tensor slices, Transpose and Expand einsum copies.
// Gather on runtime indices is a tensor.generate that reads the index.
// With constant inputs (shape subgraphs) they fold on the host instead
// (HostFold.h).
//
//===----------------------------------------------------------------------===//
#include "HostFold.h"
#include "OpRegistry.h"
#include "OpsCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

static LogicalResult importIdentity(NodeImporter &n) {
  n.setOutput(0, n.copy(n.input(0)));
  if (n.wantsOutput(1)) // Dropout's mask: all true in inference
    return n.unsupported("Dropout's mask output");
  return success();
}

static LogicalResult importDropout(NodeImporter &n) {
  if (n.opset() >= 12 && n.hasInput(2)) {
    const HostTensor *t = n.constInput(2);
    if (!t || t->getInt(0) != 0)
      return n.unsupported("Dropout in training mode");
  }
  return importIdentity(n);
}

/// The target shape of Reshape: 0 copies the input's dim (unless
/// allowzero), -1 is inferred.
static LogicalResult importReshape(NodeImporter &n) {
  Value x = n.input(0);
  std::vector<int64_t> in = NodeImporter::shapeOf(x);
  std::vector<int64_t> shape;
  if (n.opset() < 5) {
    shape = n.attrInts("shape");
  } else {
    auto s = n.constInts(1, "shape");
    if (!s)
      return failure();
    shape = *s;
  }
  bool allowZero = n.attrInt("allowzero", 0) != 0;
  int64_t known = 1, inferred = -1, total = 1;
  for (int64_t d : in)
    total *= d;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero) {
      if (i >= in.size())
        return n.invalid("shape entry 0 has no input dimension to copy");
      shape[i] = in[i];
    }
    if (shape[i] == -1) {
      if (inferred >= 0)
        return n.invalid("more than one -1 in the shape");
      inferred = i;
      continue;
    }
    if (shape[i] < 0)
      return n.invalid("negative dimension in the shape");
    known *= shape[i];
  }
  if (inferred >= 0) {
    if (known == 0 || total % known)
      return n.invalid("cannot infer the -1 dimension");
    shape[inferred] = total / known;
  }
  Value r = n.reshape(x, shape);
  if (!r)
    return failure();
  n.setOutput(0, r == x ? n.copy(x) : r);
  return success();
}

static LogicalResult importFlatten(NodeImporter &n) {
  Value x = n.input(0);
  std::vector<int64_t> in = NodeImporter::shapeOf(x);
  int64_t rank = in.size();
  int64_t axis = n.attrInt("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return n.invalid("axis out of range");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) *= in[i];
  Value r = n.reshape(x, {outer, inner});
  n.setOutput(0, r == x ? n.copy(x) : r);
  return success();
}

static LogicalResult importSqueeze(NodeImporter &n) {
  Value x = n.input(0);
  std::vector<int64_t> in = NodeImporter::shapeOf(x);
  std::vector<int64_t> axes;
  if (n.opset() >= 13) {
    if (n.hasInput(1)) {
      auto a = n.constInts(1, "axes");
      if (!a)
        return failure();
      axes = *a;
    }
  } else {
    axes = n.attrInts("axes");
  }
  std::vector<bool> drop(in.size(), false);
  if (axes.empty()) {
    for (size_t i = 0; i < in.size(); ++i)
      drop[i] = in[i] == 1;
  }
  for (int64_t a : axes) {
    auto na = n.normAxis(a, in.size());
    if (!na)
      return failure();
    if (in[*na] != 1)
      return n.invalid("cannot squeeze a dimension that is not 1");
    drop[*na] = true;
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i])
      out.push_back(in[i]);
  Value r = n.reshape(x, out);
  n.setOutput(0, r == x ? n.copy(x) : r);
  return success();
}

static LogicalResult importUnsqueeze(NodeImporter &n) {
  Value x = n.input(0);
  std::vector<int64_t> in = NodeImporter::shapeOf(x);
  std::vector<int64_t> axes;
  if (n.opset() >= 13) {
    auto a = n.constInts(1, "axes");
    if (!a)
      return failure();
    axes = *a;
  } else {
    axes = n.attrInts("axes");
  }
  int64_t rank = in.size() + axes.size();
  std::vector<bool> inserted(rank, false);
  for (int64_t a : axes) {
    auto na = n.normAxis(a, rank);
    if (!na)
      return failure();
    if (inserted[*na])
      return n.invalid("repeated axis");
    inserted[*na] = true;
  }
  std::vector<int64_t> out;
  size_t j = 0;
  for (int64_t i = 0; i < rank; ++i)
    out.push_back(inserted[i] ? 1 : in[j++]);
  Value r = n.reshape(x, out);
  n.setOutput(0, r == x ? n.copy(x) : r);
  return success();
}

static LogicalResult importTranspose(NodeImporter &n) {
  Value x = n.input(0);
  int64_t rank = NodeImporter::typeOf(x).getRank();
  std::vector<int64_t> perm = n.attrInts("perm");
  if (perm.empty())
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if ((int64_t)perm.size() != rank)
    return n.invalid("perm has the wrong length");
  std::vector<bool> seen(rank, false);
  for (int64_t &p : perm) {
    if (p < 0)
      p += rank;
    if (p < 0 || p >= rank || seen[p])
      return n.invalid("perm is not a permutation");
    seen[p] = true;
  }
  Value r = n.transpose(x, perm);
  n.setOutput(0, r == x ? n.copy(x) : r);
  return success();
}

static LogicalResult importConcat(NodeImporter &n) {
  SmallVector<Value> parts;
  for (unsigned i = 0; i < n.numInputs(); ++i)
    parts.push_back(n.input(i));
  if (parts.empty())
    return n.invalid("no inputs");
  auto axis = n.normAxis(n.attrInt("axis", 0),
                         NodeImporter::typeOf(parts[0]).getRank());
  if (!axis)
    return failure();
  Value r = n.concat(parts, *axis);
  if (!r)
    return failure();
  n.setOutput(0, parts.size() == 1 ? n.copy(r) : r);
  return success();
}

/// Slice: starts/ends/axes/steps clamped as numpy does. Negative steps are
/// not expressible as one strided view.
static LogicalResult importSlice(NodeImporter &n) {
  Value x = n.input(0);
  std::vector<int64_t> in = NodeImporter::shapeOf(x);
  int64_t rank = in.size();
  std::vector<int64_t> starts, ends, axes, steps;
  if (n.opset() < 10) {
    starts = n.attrInts("starts");
    ends = n.attrInts("ends");
    axes = n.attrInts("axes");
  } else {
    auto s = n.constInts(1, "starts"), e = n.constInts(2, "ends");
    if (!s || !e)
      return failure();
    starts = *s;
    ends = *e;
    if (n.hasInput(3)) {
      auto a = n.constInts(3, "axes");
      if (!a)
        return failure();
      axes = *a;
    }
    if (n.hasInput(4)) {
      auto st = n.constInts(4, "steps");
      if (!st)
        return failure();
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return n.invalid("starts, ends, axes and steps differ in length");
  SmallVector<int64_t> offsets(rank, 0), sizes(in.begin(), in.end()),
      strides(rank, 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    auto a = n.normAxis(axes[i], rank);
    if (!a)
      return failure();
    int64_t dim = in[*a], step = steps[i];
    if (step == 0)
      return n.invalid("step 0");
    if (step < 0)
      return n.unsupported("negative slice steps");
    int64_t s = starts[i], e = ends[i];
    if (s < 0)
      s += dim;
    if (e < 0)
      e += dim;
    s = std::clamp<int64_t>(s, 0, dim);
    e = std::clamp<int64_t>(e, 0, dim);
    int64_t count = e > s ? (e - s + step - 1) / step : 0;
    offsets[*a] = count ? s : 0;
    sizes[*a] = count;
    strides[*a] = step;
  }
  n.setOutput(0, n.slice(x, offsets, sizes, strides));
  return success();
}

static LogicalResult importSplit(NodeImporter &n) {
  Value x = n.input(0);
  std::vector<int64_t> in = NodeImporter::shapeOf(x);
  auto axis = n.normAxis(n.attrInt("axis", 0), in.size());
  if (!axis)
    return failure();
  std::vector<int64_t> split;
  if (n.opset() >= 13) {
    if (n.hasInput(1)) {
      auto s = n.constInts(1, "split");
      if (!s)
        return failure();
      split = *s;
    }
  } else if (n.opset() >= 2) {
    split = n.attrInts("split");
  } else {
    return n.unsupported("Split-1");
  }
  int64_t outs = n.numOutputs();
  int64_t dim = in[*axis];
  if (split.empty()) {
    int64_t parts = outs;
    if (n.attrInt("num_outputs", 0))
      parts = n.attrInt("num_outputs", 0);
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0; i < parts; ++i)
      split.push_back(std::min(chunk, dim - i * chunk));
  }
  if ((int64_t)split.size() != outs)
    return n.invalid("split sizes do not match the outputs");
  int64_t offset = 0;
  for (int64_t i = 0; i < outs; ++i) {
    SmallVector<int64_t> offsets(in.size(), 0), sizes(in.begin(), in.end()),
        strides(in.size(), 1);
    offsets[*axis] = offset;
    sizes[*axis] = split[i];
    offset += split[i];
    if (offset > dim)
      return n.invalid("split sizes exceed the dimension");
    n.setOutput(i, n.slice(x, offsets, sizes, strides));
  }
  return success();
}

static LogicalResult importExpand(NodeImporter &n) {
  Value x = n.input(0);
  auto shape = n.constInts(1, "shape");
  if (!shape)
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return n.invalid("negative dimension " + std::to_string(d));
  // Expand broadcasts both ways: the result is broadcast(x.shape, shape).
  std::vector<int64_t> in = NodeImporter::shapeOf(x);
  size_t rank = std::max(in.size(), shape->size());
  std::vector<int64_t> target(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i + in.size() >= rank ? in[i + in.size() - rank] : 1;
    int64_t b = i + shape->size() >= rank ? (*shape)[i + shape->size() - rank] : 1;
    if (a != b && a != 1 && b != 1)
      return n.invalid("shapes cannot be broadcast");
    target[i] = a == 1 ? b : a;
  }
  Value r = n.broadcastTo(x, target);
  if (!r)
    return failure();
  n.setOutput(0, r == x ? n.copy(x) : r);
  return success();
}

/// Gather along `axis`: out[pre, idx..., post] = data[pre, indices[idx], post].
static LogicalResult importGather(NodeImporter &n) {
  Value data = n.input(0);
  std::vector<int64_t> ds = NodeImporter::shapeOf(data);
  auto axis = n.normAxis(n.attrInt("axis", 0), ds.size());
  if (!axis)
    return failure();
  int64_t dim = ds[*axis];
  // Constant indices: slices and a concat (shape subgraphs, fixed picks).
  if (const HostTensor *idx = n.constInput(1)) {
    std::vector<int64_t> is = idx->toInts();
    if (is.size() <= 16) {
      SmallVector<Value> parts;
      for (int64_t i : is) {
        if (i < -dim || i >= dim)
          return n.invalid("index out of range");
        if (i < 0)
          i += dim;
        SmallVector<int64_t> offsets(ds.size(), 0), sizes(ds.begin(), ds.end()),
            strides(ds.size(), 1);
        offsets[*axis] = i;
        sizes[*axis] = 1;
        parts.push_back(n.slice(data, offsets, sizes, strides));
      }
      std::vector<int64_t> out(ds.begin(), ds.begin() + *axis);
      out.insert(out.end(), idx->shape.begin(), idx->shape.end());
      out.insert(out.end(), ds.begin() + *axis + 1, ds.end());
      Value r = parts.empty() ? Value() : n.concat(parts, *axis);
      if (!r)
        return n.unsupported("empty constant indices");
      n.setOutput(0, n.reshape(r, out));
      return success();
    }
  }
  Value indices = n.input(1);
  auto itype = NodeImporter::typeOf(indices);
  if (!itype.getElementType().isInteger(32) &&
      !itype.getElementType().isInteger(64))
    return n.invalid("indices must be int32 or int64");
  std::vector<int64_t> is(itype.getShape().begin(), itype.getShape().end());
  std::vector<int64_t> out(ds.begin(), ds.begin() + *axis);
  out.insert(out.end(), is.begin(), is.end());
  out.insert(out.end(), ds.begin() + *axis + 1, ds.end());
  auto resultType =
      RankedTensorType::get(out, NodeImporter::typeOf(data).getElementType());
  int64_t a = *axis, ir = is.size();
  auto gen = tensor::GenerateOp::create(
      n.b(), n.loc(), resultType, ValueRange{},
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        SmallVector<Value> iidx(ivs.begin() + a, ivs.begin() + a + ir);
        Value i = tensor::ExtractOp::create(b, loc, indices, iidx);
        Value index = indexAlong(b, loc, i, dim);
        SmallVector<Value> didx(ivs.begin(), ivs.begin() + a);
        didx.push_back(index);
        didx.append(ivs.begin() + a + ir, ivs.end());
        Value v = tensor::ExtractOp::create(b, loc, data, didx);
        tensor::YieldOp::create(b, loc, v);
      });
  n.setOutput(0, gen.getResult());
  return success();
}

void registerTensorOps(OpRegistry &r) {
  r.add("Identity", importIdentity, foldIdentity);
  r.add("Dropout", importDropout, foldIdentity);
  r.add("Reshape", importReshape, foldReshape);
  r.add("Flatten", importFlatten, foldFlatten);
  r.add("Squeeze", importSqueeze, foldSqueeze);
  r.add("Unsqueeze", importUnsqueeze, foldUnsqueeze);
  r.add("Transpose", importTranspose, foldTranspose);
  r.add("Concat", importConcat, foldConcat);
  r.add("Slice", importSlice, foldSlice);
  r.add("Split", importSplit);
  r.add("Expand", importExpand, foldExpand);
  r.add("Gather", importGather, foldGather);
}

} // namespace memc::onnximport
