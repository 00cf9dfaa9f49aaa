//===- OpsWindow.cpp - sliding windows of Conv and the pools --------------===//
#include "OpsWindow.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

LogicalResult windowGeometry(NodeImporter &ni, ArrayRef<int64_t> in,
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

Value windowEinsum(NodeImporter &ni, Value xp, Value window, const Window &w,
                   ComputeOp compute, ReduceOp reduce, bool keepWindow) {
  std::vector<int64_t> xs = shapeOf(xp);
  size_t ns = w.rank();
  // Ranks n, c, o..., k...
  EinsumSpec spec{{"n", "c"}, {{0, 1}, {}}, {0, 1}, compute, reduce};
  spec.ranks.append(numberedRanks("o", ns));
  spec.ranks.append(numberedRanks("k", ns));
  std::vector<int64_t> outShape = {xs[0], xs[1]};
  for (size_t i = 0; i < ns; ++i) {
    unsigned o = 2 + i, k = 2 + ns + i;
    spec.inputs[0].push_back(windowIndex(w, i, o, k));
    spec.inputs[1].push_back(k);
    spec.result.push_back(o);
    outShape.push_back(w.out[i]);
  }
  if (keepWindow) {
    spec.result.append(rankRange(2 + ns, ns));
    outShape.insert(outShape.end(), w.kernel.begin(), w.kernel.end());
    spec.reduce = ReduceOp::none;
  }
  return ni.einsum(spec, ValueRange{xp, window}, outShape, elemOf(xp));
}

Value padSpatial(NodeImporter &ni, Value x, const Window &w, double value) {
  std::vector<int64_t> low = {0, 0}, high = {0, 0};
  low.insert(low.end(), w.lowPad.begin(), w.lowPad.end());
  high.insert(high.end(), w.highPad.begin(), w.highPad.end());
  return padConst(ni, x, low, high, value);
}

} // namespace memc::onnximport
