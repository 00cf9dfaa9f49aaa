//===- Compare.h - Output comparison like assert_allclose -------*- C++ -*-===//
//
// How memc-run decides that an output matches its reference: the rule of
// numpy.testing.assert_allclose (which the ONNX backend tests use), so that a
// pass here means a pass there.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_COMPARE_H
#define MEMC_RUNTIME_COMPARE_H

#include "memc/Runtime/Tensor.h"

#include <cstdint>

namespace memc {
namespace rt {

struct CompareStats {
  uint64_t total = 0;      ///< Elements compared.
  uint64_t mismatches = 0; ///< Elements outside the tolerance.
  /// max |a - b| (inf when a NaN/inf does not match).
  double maxAbsErr = 0;
  /// max |a - b| / |b| over elements with b != 0.
  double maxRelErr = 0;
  bool ok() const { return mismatches == 0; }
};

/// Compares `n` elements of `actual` against the reference `expected`, both
/// of type `t`. Floating types: an element matches when
/// |a - b| <= atol + rtol * |b|; NaN matches NaN; an infinity matches only
/// the same infinity. f16/bf16 are widened to float first; the arithmetic is
/// done in double. Integer and bool types compare exactly (bool: any nonzero
/// byte is true).
CompareStats compareBuffers(DType t, const void *actual, const void *expected,
                            uint64_t n, double rtol, double atol);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_COMPARE_H
