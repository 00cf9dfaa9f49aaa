//===- Alloc.cpp - Tracked, aligned allocation for compiled programs ------===//
//
// MLIR's generic allocation functions, implemented so that memc-run can
// report how many bytes of temporaries a program really needed (the
// "measured" arena when memc has not planned one). Each block carries a small
// header just below the pointer handed out, so free knows the size without a
// locked side table; the live/peak counters are lock-free atomics.
//
//===----------------------------------------------------------------------===//

#include "HugePages.h"
#include "memc_runtime.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <cstring>

namespace {

/// Every block is at least this aligned: a cache line and the widest vector
/// (AVX-512) the CPU backend may use for aligned loads.
constexpr size_t kMinAlign = 64;
/// Tells our blocks from foreign pointers handed to free by a buggy program.
constexpr uint64_t kMagic = 0x6d656d63626c6b31ULL; // "memcblk1"

/// Lives in the kMinAlign-or-more bytes in front of every user pointer.
struct alignas(16) BlockHeader {
  void *raw;     ///< What posix_memalign returned; what free() needs.
  uint64_t size; ///< Bytes the program asked for (what we account).
  uint64_t magic;
};
static_assert(sizeof(BlockHeader) <= kMinAlign, "header must fit the pad");

std::atomic<uint64_t> gLiveBytes{0};
std::atomic<uint64_t> gPeakBytes{0};

void noteAlloc(uint64_t size) {
  uint64_t now = gLiveBytes.fetch_add(size, std::memory_order_relaxed) + size;
  uint64_t peak = gPeakBytes.load(std::memory_order_relaxed);
  while (now > peak && !gPeakBytes.compare_exchange_weak(
                           peak, now, std::memory_order_relaxed)) {
  }
}

/// Rounds up to a power of two no smaller than kMinAlign; 0 when impossible.
size_t normalizeAlignment(size_t alignment) {
  size_t a = kMinAlign;
  while (a < alignment) {
    if (a > (~size_t(0) >> 1))
      return 0;
    a <<= 1;
  }
  return a;
}

/// glibc serves large blocks with mmap and returns them on free, so every
/// run of a program would fault in its temporaries again (page faults and
/// zeroing were ~8% of the decoder example's time). Keeping freed memory in
/// the heap lets the next run reuse it. Until the memory planner gives the
/// program one arena, this is what makes repeated runs cheap.
static void keepFreedMemory() {
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)once;
}

void *allocate(size_t alignment, size_t size) {
  keepFreedMemory();
  alignment = normalizeAlignment(alignment);
  // The header needs `alignment` bytes in front of the user block.
  if (alignment == 0 || size > ~size_t(0) - alignment)
    return nullptr;
  // A block of a few huge pages or more (an arena) starts on one, so that
  // all of it can be backed by them: every layer's buffers are in it.
  bool huge = size >= 2 * memc::rt::kHugePageBytes;
  void *raw = nullptr;
  if (posix_memalign(&raw, huge ? memc::rt::kHugePageBytes : alignment,
                     alignment + size) != 0)
    return nullptr;
  if (huge)
    memc::rt::adviseHugePages(raw, alignment + size);
  char *user = static_cast<char *>(raw) + alignment;
  BlockHeader *h = reinterpret_cast<BlockHeader *>(user) - 1;
  h->raw = raw;
  h->size = size;
  h->magic = kMagic;
  noteAlloc(size);
  return user;
}

} // namespace

extern "C" {

void *_mlir_memref_to_llvm_alloc(size_t size) {
  return allocate(kMinAlign, size);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  return allocate(alignment, size);
}

void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
  BlockHeader *h = static_cast<BlockHeader *>(ptr) - 1;
  if (h->magic != kMagic) {
    // A compiler bug (double free, or a pointer not from us). Leaking is
    // safer than corrupting the heap; say so once so it gets fixed.
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      std::fprintf(stderr, "memc-runtime: _mlir_memref_to_llvm_free got a "
                           "pointer it did not allocate (ignored)\n");
    return;
  }
  h->magic = 0; // Catch double frees.
  gLiveBytes.fetch_sub(h->size, std::memory_order_relaxed);
  std::free(h->raw);
}

void memc_rt_reset_peak(void) {
  gPeakBytes.store(gLiveBytes.load(std::memory_order_relaxed),
                   std::memory_order_relaxed);
}

uint64_t memc_rt_peak_bytes(void) {
  return gPeakBytes.load(std::memory_order_relaxed);
}

uint64_t memc_rt_live_bytes(void) {
  return gLiveBytes.load(std::memory_order_relaxed);
}

} // extern "C"
