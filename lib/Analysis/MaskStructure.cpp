//===- MaskStructure.cpp - triangular constants (causal masks) ------------===//
#include "memc/Analysis/MaskStructure.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir;

namespace memc {

std::optional<UpperTriangle>
findUpperTriangle(ArrayRef<int64_t> shape, function_ref<double(int64_t)> elem) {
  if (shape.size() < 2)
    return std::nullopt;
  int64_t rows = shape[shape.size() - 2], cols = shape.back();
  int64_t slices = 1;
  for (int64_t d : shape.drop_back(2))
    slices *= d;
  if (rows <= 0 || cols <= 0 || slices <= 0)
    return std::nullopt;
  double value = elem(cols - 1);
  if (std::isnan(value))
    return std::nullopt;
  // Row r needs diagonal >= (start of its trailing run of `value`) - r.
  int64_t diagonal = std::numeric_limits<int64_t>::min();
  for (int64_t s = 0; s < slices; ++s)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t base = (s * rows + r) * cols;
      int64_t start = cols;
      while (start > 0 && elem(base + start - 1) == value)
        --start;
      diagonal = std::max(diagonal, start - r);
      if (diagonal > cols - 1)
        return std::nullopt; // already covers nothing
    }
  // Is the rest of the tensor one value?
  std::optional<double> below;
  bool uniform = true;
  for (int64_t s = 0; s < slices && uniform; ++s)
    for (int64_t r = 0; r < rows && uniform; ++r) {
      int64_t end = std::clamp<int64_t>(r + diagonal, 0, cols);
      for (int64_t c = 0; c < end; ++c) {
        double v = elem((s * rows + r) * cols + c);
        if (!below)
          below = v;
        if (v != *below || std::isnan(v)) {
          uniform = false;
          break;
        }
      }
    }
  return UpperTriangle{diagonal, value, uniform ? below : std::nullopt};
}

std::optional<UpperTriangle> findUpperTriangle(DenseElementsAttr attr) {
  auto type = attr.getType();
  Type elem = type.getElementType();
  if (attr.isSplat() || !type.hasStaticShape())
    return std::nullopt;
  if (isa<FloatType>(elem)) {
    auto values = attr.getValues<APFloat>();
    return findUpperTriangle(type.getShape(), [&](int64_t i) {
      return values[i].convertToDouble();
    });
  }
  if (elem.isInteger(1)) {
    auto values = attr.getValues<bool>();
    return findUpperTriangle(type.getShape(),
                             [&](int64_t i) { return values[i] ? 1.0 : 0.0; });
  }
  return std::nullopt;
}


} // namespace memc
