//===- AllocTest.cpp - Tracked allocation and memrefCopy ------------------===//
//
// The measured peak is what memc-run reports as peak_arena_bytes for
// unplanned programs, so its accounting is tested exactly, including under
// concurrent use. memrefCopy is tested on hand-built MLIR descriptors.
//
//===----------------------------------------------------------------------===//

#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>
#include <vector>

TEST(Alloc, AlignmentAndUsableSize) {
  for (size_t size : {0, 1, 63, 64, 1000, 1 << 20}) {
    void *p = _mlir_memref_to_llvm_alloc(size);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << size;
    std::memset(p, 0xab, size); // the whole block is writable
    _mlir_memref_to_llvm_free(p);
  }
  for (size_t align : {1, 16, 64, 100, 128, 4096}) {
    void *p = _mlir_memref_to_llvm_aligned_alloc(align, 300);
    ASSERT_NE(p, nullptr);
    size_t want = align <= 64 ? 64 : align == 100 ? 128 : align;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % want, 0u) << align;
    std::memset(p, 0xcd, 300);
    _mlir_memref_to_llvm_free(p);
  }
  _mlir_memref_to_llvm_free(nullptr); // no-op
}

TEST(Alloc, ImpossibleSizesReturnNull) {
  uint64_t live = memc_rt_live_bytes();
  EXPECT_EQ(_mlir_memref_to_llvm_alloc(SIZE_MAX), nullptr);
  EXPECT_EQ(_mlir_memref_to_llvm_aligned_alloc(SIZE_MAX / 2 + 2, 8), nullptr);
  EXPECT_EQ(memc_rt_live_bytes(), live);
}

TEST(Alloc, TracksLiveAndPeakBytes) {
  uint64_t base = memc_rt_live_bytes();
  memc_rt_reset_peak();
  EXPECT_EQ(memc_rt_peak_bytes(), base);
  void *a = _mlir_memref_to_llvm_alloc(1000);
  void *b = _mlir_memref_to_llvm_aligned_alloc(128, 500);
  EXPECT_EQ(memc_rt_live_bytes(), base + 1500);
  _mlir_memref_to_llvm_free(a);
  EXPECT_EQ(memc_rt_live_bytes(), base + 500);
  void *c = _mlir_memref_to_llvm_alloc(200);
  EXPECT_EQ(memc_rt_peak_bytes(), base + 1500); // 700 live now, peak kept
  _mlir_memref_to_llvm_free(b);
  _mlir_memref_to_llvm_free(c);
  EXPECT_EQ(memc_rt_live_bytes(), base);
  memc_rt_reset_peak();
  EXPECT_EQ(memc_rt_peak_bytes(), base);
}

TEST(Alloc, ForeignPointersAreIgnored) {
  // A pointer the runtime did not hand out (a compiler bug) must not reach
  // free() nor corrupt the counters: the header's magic tells them apart.
  uint64_t base = memc_rt_live_bytes();
  std::vector<unsigned char> foreign(256, 0);
  // The runtime warns once on stderr; keep the test log clean.
  std::fflush(stderr);
  int saved = ::dup(2);
  int devnull = ::open("/dev/null", O_WRONLY);
  ::dup2(devnull, 2);
  _mlir_memref_to_llvm_free(foreign.data() + 128);
  ::dup2(saved, 2);
  ::close(devnull);
  ::close(saved);
  EXPECT_EQ(memc_rt_live_bytes(), base);
}

TEST(Alloc, ThreadSafeAccounting) {
  uint64_t base = memc_rt_live_bytes();
  memc_rt_reset_peak();
  const int kThreads = 4, kRounds = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < kRounds; ++i) {
        void *p = _mlir_memref_to_llvm_alloc(size_t(16 + i % 64));
        _mlir_memref_to_llvm_free(p);
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(memc_rt_live_bytes(), base);
  // At most every thread's largest block live at once.
  EXPECT_LE(memc_rt_peak_bytes(), base + uint64_t(kThreads) * (16 + 63));
  EXPECT_GE(memc_rt_peak_bytes(), base + 16);
}

namespace {
/// MLIR's ranked descriptor for rank 2 and the unranked wrapper.
struct Desc2 {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
struct Unranked {
  int64_t rank;
  void *descriptor;
};
struct Desc0 {
  float *allocated, *aligned;
  int64_t offset;
};
} // namespace

TEST(MemrefCopy, StridedTwoD) {
  // src: 3x4 window at offset 2 of a 5x8 buffer (strides 8,1);
  // dst: 3x4 transposed layout (strides 1,3).
  std::vector<float> src(40), dst(12, -1);
  for (int i = 0; i < 40; ++i)
    src[size_t(i)] = float(i);
  Desc2 s{src.data(), src.data(), 2, {3, 4}, {8, 1}};
  Desc2 d{dst.data(), dst.data(), 0, {3, 4}, {1, 3}};
  Unranked us{2, &s}, ud{2, &d};
  memrefCopy(sizeof(float), &us, &ud);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(dst[size_t(i + 3 * j)], float(2 + 8 * i + j)) << i << "," << j;

  // Contiguous inner rows: same result through the memmove path.
  std::vector<float> dst2(12, -1);
  Desc2 d2{dst2.data(), dst2.data(), 0, {3, 4}, {4, 1}};
  Unranked ud2{2, &d2};
  memrefCopy(sizeof(float), &us, &ud2);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(dst2[size_t(4 * i + j)], float(2 + 8 * i + j));
}

TEST(MemrefCopy, RankZeroAndEmpty) {
  float a = 3.5f, b = 0;
  Desc0 s{&a, &a, 0}, d{&b, &b, 0};
  Unranked us{0, &s}, ud{0, &d};
  memrefCopy(sizeof(float), &us, &ud);
  EXPECT_EQ(b, 3.5f);

  std::vector<float> dst(4, -1);
  Desc2 es{nullptr, nullptr, 0, {0, 4}, {4, 1}};
  Desc2 ed{dst.data(), dst.data(), 0, {0, 4}, {4, 1}};
  Unranked ues{2, &es}, ued{2, &ed};
  memrefCopy(sizeof(float), &ues, &ued);
  EXPECT_EQ(dst[0], -1);
}
