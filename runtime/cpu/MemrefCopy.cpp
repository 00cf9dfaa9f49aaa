//===- MemrefCopy.cpp - memrefCopy for strided memref.copy ----------------===//
//
// finalize-memref-to-llvm turns memref.copy into a memcpy when both sides are
// contiguous and into a call of `memrefCopy` otherwise. That function normally
// comes from MLIR's libmlir_c_runner_utils; providing it here keeps compiled
// packages free of any MLIR shared library. The descriptor layout is MLIR's
// (StridedMemRefType), spelled out by hand because the runtime may not
// include MLIR headers.
//
//===----------------------------------------------------------------------===//

#include "CallProfile.h"
#include "memc_runtime.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

/// MLIR's UnrankedMemRefType: what the program passes by pointer.
struct UnrankedDescriptor {
  int64_t rank;
  void *descriptor;
};

/// The ranked descriptor's fixed prefix; sizes[rank] then strides[rank]
/// follow it directly (all int64_t, so no padding).
struct RankedPrefix {
  char *allocated;
  char *aligned;
  int64_t offset;
};

struct View {
  char *data;
  const int64_t *sizes;
  const int64_t *strides;
};

View viewOf(const UnrankedDescriptor *u, int64_t elemSize) {
  auto *p = static_cast<const RankedPrefix *>(u->descriptor);
  auto *dims = reinterpret_cast<const int64_t *>(p + 1);
  return {p->aligned + p->offset * elemSize, dims, dims + u->rank};
}

/// One row of `n` elements of type T between strided places (element
/// strides). Copies through a temporary when the rows overlap, as memmove.
template <typename T>
void stridedRow(char *dst, int64_t ds, const char *src, int64_t ss,
                int64_t n) {
  T buffer[64];
  for (int64_t j0 = 0; j0 < n; j0 += 64) {
    int64_t m = n - j0 < 64 ? n - j0 : 64;
    for (int64_t j = 0; j < m; ++j)
      std::memcpy(&buffer[j], src + (j0 + j) * ss * int64_t(sizeof(T)),
                  sizeof(T));
    for (int64_t j = 0; j < m; ++j)
      std::memcpy(dst + (j0 + j) * ds * int64_t(sizeof(T)), &buffer[j],
                  sizeof(T));
  }
}

} // namespace

extern "C" void memrefCopy(int64_t elemSize, void *srcArg, void *dstArg) {
  memc::rt::ProfiledCall profiled("memrefCopy", 0, 0, 0);
  auto *src = static_cast<const UnrankedDescriptor *>(srcArg);
  auto *dst = static_cast<const UnrankedDescriptor *>(dstArg);
  int64_t rank = src->rank;
  View s = viewOf(src, elemSize), d = viewOf(dst, elemSize);
  if (rank == 0) {
    std::memcpy(d.data, s.data, size_t(elemSize));
    return;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (s.sizes[i] == 0)
      return;
  // Odometer over the outer dimensions; the innermost one runs in a tight
  // loop, or as one memmove when both sides are contiguous there. (No heap
  // allocation for the usual ranks: this runs once per strided copy.)
  int64_t stackIndex[8] = {};
  std::vector<int64_t> heapIndex;
  int64_t *index = stackIndex;
  if (rank > 8) {
    heapIndex.assign(size_t(rank), 0);
    index = heapIndex.data();
  }
  int64_t inner = rank - 1;
  bool innerContiguous = s.strides[inner] == 1 && d.strides[inner] == 1;
  int64_t innerSize = s.sizes[inner];
  int64_t ss = s.strides[inner], ds = d.strides[inner];
  for (;;) {
    int64_t so = 0, dOff = 0;
    for (int64_t i = 0; i < inner; ++i) {
      so += index[i] * s.strides[i];
      dOff += index[i] * d.strides[i];
    }
    char *sp = s.data + so * elemSize;
    char *dp = d.data + dOff * elemSize;
    if (innerContiguous) {
      std::memmove(dp, sp, size_t(innerSize * elemSize));
    } else if (elemSize == 4) {
      stridedRow<uint32_t>(dp, ds, sp, ss, innerSize);
    } else if (elemSize == 8) {
      stridedRow<uint64_t>(dp, ds, sp, ss, innerSize);
    } else {
      for (int64_t j = 0; j < innerSize; ++j)
        std::memcpy(dp + j * ds * elemSize, sp + j * ss * elemSize,
                    size_t(elemSize));
    }
    // Advance the outer dimensions.
    int64_t dim = inner - 1;
    while (dim >= 0 && ++index[dim] == s.sizes[dim]) {
      index[dim] = 0;
      --dim;
    }
    if (dim < 0)
      return;
  }
}
