//===- OpsConv.cpp - Conv, ConvTranspose ----------------------------------===//
//
// Conv is one einsum over the padded input (OpsWindow.h): Y[n, g, m, o] =
// sum_{c, k} X[n, g, c, o*s + k*d] * W[g, m, c, k], the group rank dropped
// when group == 1. ConvTranspose is a convolution of the stride-upsampled
// input with the spatially flipped weight. f16/bf16 are computed in f32.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsWindow.h"

#include <limits>

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

using TP = onnx::TensorProto;

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

/// Input B of Conv/ConvTranspose (null when absent), checked to be [M].
static LogicalResult convBias(NodeImporter &ni, int64_t M, Type elem,
                              Value &bias) {
  if (!ni.hasInput(2))
    return success();
  bias = ni.input(2);
  std::vector<int64_t> bs = shapeOf(bias);
  if (bs.size() != 1 || bs[0] != M)
    return ni.invalid("B must have shape [M]");
  if (elemOf(bias) != elem)
    return ni.invalid("B has a different element type");
  return success();
}

/// y [N, M, out...] (+ bias along M), rounded back to `elem`.
static void setConvOutput(NodeImporter &ni, Value y, Value bias, Type ce,
                          Type elem, int64_t N, int64_t M,
                          ArrayRef<int64_t> out) {
  std::vector<int64_t> yShape = {N, M};
  yShape.insert(yShape.end(), out.begin(), out.end());
  y = ni.reshape(y, yShape);
  if (bias) {
    std::vector<int64_t> bShape(yShape.size() - 1, 1);
    bShape[0] = M;
    y = ni.elementwise(ComputeOp::add,
                       {y, ni.reshape(ni.cast(bias, ce), bShape)});
  }
  ni.setOutput(0, ni.cast(y, elem));
}

/// Y[n, g, m, o...] = sum_{c, k...} X[n, g, c, o*s + k*d ...] *
/// W[g, m, c, k...] of the padded input `xp` [N, C, ...] and the weight
/// `wc` [M, C/G, k...]; without the g rank when G == 1.
static Value convEinsum(NodeImporter &ni, Value xp, Value wc, const Window &w,
                        int64_t G, int64_t M) {
  std::vector<int64_t> ps = shapeOf(xp);
  int64_t N = ps[0], C = ps[1];
  size_t ns = w.rank();
  bool grouped = G > 1;
  EinsumSpec spec{{"n"}, {{}, {}}, {}, ComputeOp::mul, ReduceOp::add};
  if (grouped)
    spec.ranks.push_back("g");
  spec.ranks.append({"m", "c"});
  unsigned rn = 0, rg = 1, rm = grouped ? 2 : 1, rc = grouped ? 3 : 2;
  unsigned base = spec.ranks.size();
  spec.ranks.append(numberedRanks("o", ns));
  spec.ranks.append(numberedRanks("k", ns));
  Indices &xi = spec.inputs[0], &wi = spec.inputs[1], &yi = spec.result;
  std::vector<int64_t> xShape = {N}, wShape, outShape = {N};
  xi.push_back(rn);
  yi.push_back(rn);
  if (grouped) {
    xi.push_back(rg);
    wi.push_back(rg);
    yi.push_back(rg);
    xShape.push_back(G);
    wShape.push_back(G);
    outShape.push_back(G);
  }
  xi.push_back(rc);
  xShape.push_back(C / G);
  wi.append({rm, rc});
  wShape.insert(wShape.end(), {M / G, C / G});
  yi.push_back(rm);
  outShape.push_back(M / G);
  for (size_t i = 0; i < ns; ++i) {
    unsigned o = base + i, k = base + ns + i;
    xi.push_back(windowIndex(w, i, o, k));
    xShape.push_back(ps[2 + i]);
    wi.push_back(k);
    wShape.push_back(w.kernel[i]);
    yi.push_back(o);
    outShape.push_back(w.out[i]);
  }
  if (grouped) {
    xp = ni.reshape(xp, xShape);
    wc = ni.reshape(wc, wShape);
  }
  return ni.einsum(spec, ValueRange{xp, wc}, outShape, elemOf(xp));
}

static LogicalResult importConv(NodeImporter &ni) {
  Value x = ni.input(0), wt = ni.input(1);
  if (failed(checkConvOperands(ni, x, wt)))
    return failure();
  Type elem = elemOf(x);
  std::vector<int64_t> xs = shapeOf(x), ws = shapeOf(wt);
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
  if (failed(convBias(ni, M, elem, bias)))
    return failure();
  Type ce = computeElem(elem);
  Value xp = padSpatial(ni, ni.cast(x, ce), w, 0.0);
  Value wc = ni.cast(wt, ce);
  Value y = convEinsum(ni, xp, wc, w, G, M);
  setConvOutput(ni, y, bias, ce, elem, N, M, w.out);
  return success();
}

//===----------------------------------------------------------------------===//
// ConvTranspose
//===----------------------------------------------------------------------===//

/// W with its spatial dims (from `firstSpatial` on) reversed: one einsum per
/// dim, W'[.., k', ..] = max_k select(k + k' == K - 1, W[.., k, ..], -inf),
/// which moves every value exactly (NaN and infinities included).
static Value flipSpatial(NodeImporter &ni, Value w, int64_t firstSpatial) {
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
    unsigned k = rank;
    Indices wi = identityIndices(rank);
    wi[a] = k;
    EinsumSpec spec{numberedRanks("d", rank),
                    {{(unsigned)a, k}, wi, {}},
                    identityIndices(rank),
                    ComputeOp::select,
                    ReduceOp::max};
    spec.ranks.push_back("k");
    Value lowest =
        ni.scalar(elem, -std::numeric_limits<double>::infinity());
    w = ni.einsum(spec, ValueRange{sel, w, lowest}, s, elem);
  }
  return w;
}

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

namespace {
/// ConvTranspose's attributes, per spatial dim.
struct TransposedWindow {
  std::vector<int64_t> in, kernel, strides, dilations;
  std::vector<int64_t> padBegin, out;
};
} // namespace

/// Reads strides, dilations, output_padding, output_shape, pads and
/// auto_pad; computes the begin pads and output sizes.
static LogicalResult transposedWindow(NodeImporter &ni, TransposedWindow &t) {
  size_t ns = t.in.size();
  t.strides = ni.attrInts("strides", std::vector<int64_t>(ns, 1));
  t.dilations = ni.attrInts("dilations", std::vector<int64_t>(ns, 1));
  std::vector<int64_t> outPad =
      ni.attrInts("output_padding", std::vector<int64_t>(ns, 0));
  if (t.strides.size() != ns || t.dilations.size() != ns ||
      outPad.size() != ns)
    return ni.invalid("strides/dilations/output_padding need one value per "
                      "spatial dimension");
  for (size_t i = 0; i < ns; ++i)
    if (t.strides[i] < 1 || t.dilations[i] < 1 || outPad[i] < 0)
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
  std::vector<int64_t> pads =
      ni.attrInts("pads", std::vector<int64_t>(2 * ns, 0));
  if (pads.size() != 2 * ns)
    return ni.invalid("pads must have 2 values per spatial dimension");
  t.padBegin.assign(ns, 0);
  t.out.assign(ns, 0);
  for (size_t i = 0; i < ns; ++i) {
    int64_t ek = (t.kernel[i] - 1) * t.dilations[i] + 1;
    int64_t full = t.strides[i] * (t.in[i] - 1) + outPad[i] + ek;
    bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
    if (!outShapeAttr.empty() || same) {
      t.out[i] =
          !outShapeAttr.empty() ? outShapeAttr[i] : t.in[i] * t.strides[i];
      int64_t total = full - t.out[i];
      int64_t half = floorDiv(total, 2);
      t.padBegin[i] = autoPad == "SAME_UPPER" ? half : total - half;
    } else if (autoPad == "VALID") {
      t.padBegin[i] = 0;
      t.out[i] = full;
    } else {
      if (pads[i] < 0 || pads[i + ns] < 0)
        return ni.invalid("pads must be non-negative");
      t.padBegin[i] = pads[i];
      t.out[i] = full - pads[i] - pads[i + ns];
    }
    if (t.out[i] < 1)
      return ni.invalid("the output would be empty");
  }
  return success();
}

/// Xpp [N, C, P...]: Xpp[j] = X[i] at j = i*s + L, L = (K-1)*d - pb, zero
/// elsewhere, P = out + (K-1)*d; only the part of X the output sees.
static Value upsampleInput(NodeImporter &ni, Value xc,
                           const TransposedWindow &t) {
  std::vector<int64_t> xs = shapeOf(xc);
  int64_t rank = xs.size();
  size_t ns = t.in.size();
  std::vector<int64_t> sliceOff(rank, 0), sliceSize = xs,
      sliceStride(rank, 1);
  std::vector<int64_t> ppShape = {xs[0], xs[1]}, insOff = {0, 0},
      insStride = {1, 1};
  bool needSlice = false;
  for (size_t i = 0; i < ns; ++i) {
    int64_t L = (t.kernel[i] - 1) * t.dilations[i] - t.padBegin[i];
    int64_t P = t.out[i] + (t.kernel[i] - 1) * t.dilations[i];
    int64_t s = t.strides[i];
    int64_t i0 = std::max<int64_t>(0, floorDiv(-L + s - 1, s));
    int64_t i1 = std::min<int64_t>(t.in[i] - 1, floorDiv(P - 1 - L, s));
    if (i0 > i1) {
      (void)ni.unsupported("ConvTranspose whose output sees none of the "
                           "input (pads crop everything)");
      return {};
    }
    sliceOff[2 + i] = i0;
    sliceSize[2 + i] = i1 - i0 + 1;
    needSlice |= i0 != 0 || i1 != t.in[i] - 1;
    ppShape.push_back(P);
    insOff.push_back(i0 * s + L);
    insStride.push_back(s);
  }
  if (needSlice)
    xc = ni.slice(xc, sliceOff, sliceSize, sliceStride);
  Value zeros = ni.broadcastTo(ni.scalar(elemOf(xc), 0.0), ppShape);
  return tensor::InsertSliceOp::create(
      ni.b(), ni.loc(), xc, zeros, ValueRange{}, ValueRange{}, ValueRange{},
      insOff, shapeOf(xc), insStride);
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
  size_t ns = xs.size() - 2;
  int64_t G = ni.attrInt("group", 1);
  int64_t N = xs[0], C = xs[1];
  if (G < 1 || C % G != 0 || ws[0] != C)
    return ni.invalid("W's first dimension must be X's channels, divisible "
                      "by group");
  int64_t Mg = ws[1], M = Mg * G;
  TransposedWindow t;
  t.in.assign(xs.begin() + 2, xs.end());
  t.kernel.assign(ws.begin() + 2, ws.end());
  if (ni.attr("kernel_shape") && ni.attrInts("kernel_shape") != t.kernel)
    return ni.invalid("kernel_shape does not match W's shape");
  if (failed(transposedWindow(ni, t)))
    return failure();
  Value bias;
  if (failed(convBias(ni, M, elem, bias)))
    return failure();
  Type ce = computeElem(elem);
  Value xpp = upsampleInput(ni, ni.cast(x, ce), t);
  if (!xpp)
    return failure();
  // W [C, M/G, k] -> [G, C/G, M/G, k], spatially flipped.
  Value wc = flipSpatial(ni, ni.cast(wt, ce), 2);
  // Ranks n, g, m, c, o..., k...: Y[n, g, m, o] = sum X[n, g, c, o + k*d]
  // * W[g, c, m, k].
  EinsumSpec spec{{"n", "g", "m", "c"},
                  {{0, 1, 3}, {1, 3, 2}},
                  {0, 1, 2},
                  ComputeOp::mul,
                  ReduceOp::add};
  spec.ranks.append(numberedRanks("o", ns));
  spec.ranks.append(numberedRanks("k", ns));
  std::vector<int64_t> xg = {N, G, C / G}, wg = {G, C / G, Mg},
                       yg = {N, G, Mg};
  std::vector<int64_t> pp = shapeOf(xpp);
  for (size_t i = 0; i < ns; ++i) {
    unsigned o = 4 + i, k = 4 + ns + i;
    spec.inputs[0].push_back(Ix(o) + Ix(k) * t.dilations[i]);
    spec.inputs[1].push_back(k);
    spec.result.push_back(o);
    xg.push_back(pp[2 + i]);
    wg.push_back(t.kernel[i]);
    yg.push_back(t.out[i]);
  }
  Value y = ni.einsum(spec,
                      ValueRange{ni.reshape(xpp, xg), ni.reshape(wc, wg)}, yg,
                      ce);
  setConvOutput(ni, y, bias, ce, elem, N, M, t.out);
  return success();
}

void registerConvOps(OpRegistry &r) {
  r.add("Conv", importConv);
  r.add("ConvTranspose", importConvTranspose);
}

} // namespace memc::onnximport
