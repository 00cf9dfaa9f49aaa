//===- OpsPool.cpp - MaxPool, AveragePool, LpPool and the global pools ----===//
//
// A pool is one window einsum (OpsWindow.h) against a constant window
// tensor of shape kernel_shape: max of x * 1, sum of x + 0, sum of |x|^p *
// 1. MaxPool's Indices and AveragePool's divisors come from host-built
// tables. AveragePool and LpPool compute f16/bf16 in f32.
//
//===----------------------------------------------------------------------===//
#include "OpRegistry.h"
#include "OpsWindow.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc::onnximport {

using TP = onnx::TensorProto;

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
  double lowest = lowestValue(elem); // not bool: refused above
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

void registerPoolOps(OpRegistry &r) {
  r.add("MaxPool", importMaxPool);
  r.add("AveragePool", importAveragePool);
  r.add("GlobalAveragePool",
        [](NodeImporter &n) { return importGlobalPool(n, false); });
  r.add("GlobalMaxPool",
        [](NodeImporter &n) { return importGlobalPool(n, true); });
  r.add("LpPool", [](NodeImporter &n) { return importLpPool(n, false); });
  r.add("GlobalLpPool", [](NodeImporter &n) { return importLpPool(n, true); });
}

} // namespace memc::onnximport
