//===- Compare.cpp - Output comparison like assert_allclose ---------------===//
//
// One templated loop per element type: values are loaded with memcpy (the
// reference buffers come from protobuf and need not be aligned for T).
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/Compare.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace memc {
namespace rt {

namespace {

template <typename T> T load(const void *base, uint64_t i) {
  T v;
  std::memcpy(&v, static_cast<const char *>(base) + i * sizeof(T), sizeof v);
  return v;
}

/// Records one element's error; `match` decided by the caller.
void note(CompareStats &s, double a, double b, bool match) {
  double diff = std::fabs(a - b);
  if (std::isnan(diff))
    diff = std::isnan(a) && std::isnan(b)
               ? 0
               : std::numeric_limits<double>::infinity();
  if (diff > s.maxAbsErr)
    s.maxAbsErr = diff;
  if (b != 0 && !std::isnan(b)) {
    double rel = diff / std::fabs(b);
    if (!std::isnan(rel) && rel > s.maxRelErr)
      s.maxRelErr = rel;
  }
  if (!match)
    ++s.mismatches;
}

void compareFloat(CompareStats &s, double a, double b, double rtol,
                  double atol) {
  bool match;
  if (std::isnan(a) || std::isnan(b))
    match = std::isnan(a) && std::isnan(b);
  else if (std::isinf(a) || std::isinf(b))
    match = a == b;
  else
    match = std::fabs(a - b) <= atol + rtol * std::fabs(b);
  if (std::isinf(a) && a == b) {
    note(s, 0, 0, true); // inf - inf is NaN; an exact match has no error
    return;
  }
  note(s, a, b, match);
}

template <typename T, typename ToDouble>
void floatLoop(CompareStats &s, const void *a, const void *b, uint64_t n,
               double rtol, double atol, ToDouble toDouble) {
  for (uint64_t i = 0; i < n; ++i)
    compareFloat(s, toDouble(load<T>(a, i)), toDouble(load<T>(b, i)), rtol,
                 atol);
}

template <typename T>
void intLoop(CompareStats &s, const void *a, const void *b, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    T x = load<T>(a, i), y = load<T>(b, i);
    if (x == y)
      continue;
    // |x - y| computed in uint64 (exact: it fits even for int64 extremes),
    // so large 64-bit values that round to the same double still report.
    uint64_t d = x > y ? uint64_t(x) - uint64_t(y) : uint64_t(y) - uint64_t(x);
    double diff = double(d);
    if (diff > s.maxAbsErr)
      s.maxAbsErr = diff;
    if (y != 0 && diff / std::fabs(double(y)) > s.maxRelErr)
      s.maxRelErr = diff / std::fabs(double(y));
    ++s.mismatches;
  }
}

} // namespace

CompareStats compareBuffers(DType t, const void *actual, const void *expected,
                            uint64_t n, double rtol, double atol) {
  CompareStats s;
  s.total = n;
  auto same = [](auto v) { return double(v); };
  switch (t) {
  case DType::F32:
    floatLoop<float>(s, actual, expected, n, rtol, atol, same);
    break;
  case DType::F64:
    floatLoop<double>(s, actual, expected, n, rtol, atol, same);
    break;
  case DType::F16:
    floatLoop<uint16_t>(s, actual, expected, n, rtol, atol,
                        [](uint16_t h) { return double(halfToFloat(h)); });
    break;
  case DType::BF16:
    floatLoop<uint16_t>(s, actual, expected, n, rtol, atol,
                        [](uint16_t h) { return double(bf16ToFloat(h)); });
    break;
  case DType::I8:
    intLoop<int8_t>(s, actual, expected, n);
    break;
  case DType::I16:
    intLoop<int16_t>(s, actual, expected, n);
    break;
  case DType::I32:
    intLoop<int32_t>(s, actual, expected, n);
    break;
  case DType::I64:
    intLoop<int64_t>(s, actual, expected, n);
    break;
  case DType::U8:
    intLoop<uint8_t>(s, actual, expected, n);
    break;
  case DType::U16:
    intLoop<uint16_t>(s, actual, expected, n);
    break;
  case DType::U32:
    intLoop<uint32_t>(s, actual, expected, n);
    break;
  case DType::U64:
    intLoop<uint64_t>(s, actual, expected, n);
    break;
  case DType::Bool:
    for (uint64_t i = 0; i < n; ++i) {
      bool x = load<uint8_t>(actual, i) != 0;
      bool y = load<uint8_t>(expected, i) != 0;
      note(s, x, y, x == y);
    }
    break;
  }
  return s;
}

} // namespace rt
} // namespace memc
