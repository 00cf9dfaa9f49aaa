//===- Tensor.cpp - Element types and host tensors of memc-run ------------===//
//
// Half-precision conversions are written out bit by bit (no F16C intrinsics)
// so the reader and the comparison behave the same on any x86-64 host.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/Tensor.h"

#include <cstdlib>
#include <cstring>

namespace memc {
namespace rt {

namespace {
uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
} // namespace

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0x1f) // inf / NaN
    return bitsFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0)
      return bitsFloat(sign);
    // Subnormal: value = mant * 2^-24, exact in float.
    float v = float(mant) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  return bitsFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t floatToHalf(float f) {
  uint32_t x = floatBits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) // NaN: keep it quiet
    return uint16_t(sign | 0x7e00 | ((absx >> 13) & 0x3ff));
  if (absx >= 0x477ff000u) // rounds to >= 65520: inf
    return uint16_t(sign | 0x7c00);
  if (absx < 0x38800000u) { // below the smallest normal half (2^-14)
    if (absx < 0x33000000u) // below half of the smallest subnormal
      return sign;
    // Subnormal: shift the 24-bit significand, round to nearest even.
    uint32_t e = absx >> 23;
    uint32_t m = (absx & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e; // 14..24
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (q & 1)))
      ++q;
    return uint16_t(sign | q);
  }
  // Normal: rebias the exponent, round the mantissa to 10 bits.
  uint32_t v = absx - (112u << 23);
  uint32_t q = v >> 13;
  uint32_t rem = v & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (q & 1)))
    ++q; // may carry into the exponent, which is still correct
  return uint16_t(sign | q);
}

float bf16ToFloat(uint16_t b) { return bitsFloat(uint32_t(b) << 16); }

uint16_t floatToBf16(float f) {
  uint32_t x = floatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40);
  uint32_t rounding = 0x7fff + ((x >> 16) & 1);
  return uint16_t((x + rounding) >> 16);
}

std::string formatDims(const std::vector<int64_t> &dims) {
  if (dims.empty())
    return package::kScalarDims;
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += package::kDimSeparator;
    s += std::to_string(dims[i]);
  }
  return s;
}

bool countElements(const std::vector<int64_t> &dims, uint64_t &count,
                   size_t elemSize) {
  bool zero = false;
  for (int64_t d : dims) {
    if (d < 0)
      return false;
    zero |= d == 0;
  }
  if (zero) {
    count = 0;
    return true;
  }
  unsigned __int128 bytes = elemSize ? elemSize : 1;
  uint64_t n = 1;
  for (int64_t d : dims) {
    bytes *= uint64_t(d);
    n *= uint64_t(d);
    if (bytes > UINT64_MAX)
      return false;
  }
  count = n;
  return true;
}

AlignedBuffer::~AlignedBuffer() { std::free(ptr_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer &&other) noexcept
    : ptr_(other.ptr_), size_(other.size_) {
  other.ptr_ = nullptr;
  other.size_ = 0;
}

AlignedBuffer &AlignedBuffer::operator=(AlignedBuffer &&other) noexcept {
  if (this != &other) {
    std::free(ptr_);
    ptr_ = other.ptr_;
    size_ = other.size_;
    other.ptr_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

bool AlignedBuffer::allocate(uint64_t bytes) {
  std::free(ptr_);
  ptr_ = nullptr;
  size_ = 0;
  // Round up to whole cache lines: vectorized code may read a full line.
  if (bytes > UINT64_MAX - kAlignment || bytes > SIZE_MAX - kAlignment)
    return false;
  uint64_t padded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (padded == 0)
    padded = kAlignment;
  void *p = nullptr;
  if (posix_memalign(&p, kAlignment, size_t(padded)) != 0)
    return false;
  std::memset(p, 0, size_t(padded));
  ptr_ = p;
  size_ = bytes;
  return true;
}

uint64_t Tensor::numElements() const {
  uint64_t n = 0;
  return countElements(dims, n) ? n : 0;
}

bool Tensor::allocate() {
  uint64_t n = 0;
  if (!countElements(dims, n, dtypeSize(dtype)))
    return false;
  return buffer.allocate(n * dtypeSize(dtype));
}

} // namespace rt
} // namespace memc
