//===- OpsResize.cpp - Resize, Upsample -----------------------------------===//
//
// Resampling one axis at a time, as the ONNX reference does: per output
// position the source indices and coefficients (host-computed), then exact
// gathers (OpsCommon.h: a strided slice, a repeat, or a one-hot select)
// and a weighted sum of the taps. Nearest resizing is gathers only.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsCommon.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

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

void registerResizeOps(OpRegistry &r) {
  r.add("Resize", importResize);
  r.add("Upsample", importResize);
}

} // namespace memc::onnximport
