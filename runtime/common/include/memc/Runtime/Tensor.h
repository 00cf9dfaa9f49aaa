//===- Tensor.h - Element types and host tensors of memc-run ----*- C++ -*-===//
//
// The small vocabulary shared by the manifest parser, the .pb reader, the
// comparison and both runners: the package's element types (PackageFormat.h),
// 64-byte aligned owned buffers (what the compiled program may assume of
// every argument) and a dense row-major tensor. No MLIR, no protobuf: this
// header is safe to include anywhere.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_TENSOR_H
#define MEMC_RUNTIME_TENSOR_H

#include "memc/Runtime/PackageFormat.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memc {
namespace rt {

/// The element types, their spellings and sizes: the package format's
/// (PackageFormat.h).
using package::DType;
using package::dtypeName;
using package::dtypeSize;
using package::isFloating;
using package::parseDType;

/// IEEE binary16 <-> binary32, round-to-nearest-even, NaN and inf kept.
float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value);
/// bfloat16 <-> binary32, round-to-nearest-even, NaN kept quiet.
float bf16ToFloat(uint16_t bits);
uint16_t floatToBf16(float value);

/// "1x128x64", or "scalar" for rank 0 (the manifest's spelling).
std::string formatDims(const std::vector<int64_t> &dims);
/// Product of `dims`; false when a dim is negative or the product (times
/// `elemSize`, when given) overflows 64 bits.
bool countElements(const std::vector<int64_t> &dims, uint64_t &count,
                   size_t elemSize = 1);

/// An owned, zero-initialized, 64-byte aligned block. Never null once
/// allocated, even for 0 bytes, so every program argument is a valid pointer.
class AlignedBuffer {
public:
  static constexpr size_t kAlignment = package::kArgumentAlignment;

  AlignedBuffer() = default;
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer &&other) noexcept;
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;

  /// Replaces the contents with `bytes` zero bytes. False when out of memory
  /// (the buffer is then empty); huge sizes from bad files end up here
  /// instead of aborting the process.
  bool allocate(uint64_t bytes);
  void *data() { return ptr_; }
  const void *data() const { return ptr_; }
  uint64_t size() const { return size_; }

private:
  void *ptr_ = nullptr;
  uint64_t size_ = 0;
};

/// A dense row-major tensor on the host.
struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> dims;
  AlignedBuffer buffer;

  uint64_t numElements() const;
  /// Allocates a zeroed buffer for dtype/dims; false when out of memory or
  /// the size overflows.
  bool allocate();
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_TENSOR_H
