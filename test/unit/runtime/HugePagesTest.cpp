//===- HugePagesTest.cpp - the pool of packed weights' memory -------------===//
//
// memc::rt::allocateHugePaged: 64-byte aligned blocks that do not overlap,
// small ones packed into one region, one larger than a region in a region
// of its own that starts on a huge page; regions go back to the system
// when their last block is freed.
//
//===----------------------------------------------------------------------===//

#include "HugePages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using memc::rt::allocateHugePaged;
using memc::rt::freeHugePaged;
using memc::rt::hugePagedRegionBytes;
using memc::rt::kHugePageBytes;
using memc::rt::kHugePagedRegionBytes;

uintptr_t address(const void *p) { return reinterpret_cast<uintptr_t>(p); }

TEST(HugePages, SmallBlocksShareARegionAndComeBackWithIt) {
  size_t before = hugePagedRegionBytes();
  std::vector<char *> blocks;
  for (int i = 0; i < 100; ++i) {
    auto *b = static_cast<char *>(allocateHugePaged(10000 + i));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(address(b) % 64, 0u);
    std::memset(b, i, 10000 + i);
    blocks.push_back(b);
  }
  // 1 MB in all: one region at most (none when an earlier one had room).
  EXPECT_LE(hugePagedRegionBytes() - before, kHugePagedRegionBytes);
  std::vector<char *> sorted = blocks;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i + 1 < sorted.size(); ++i)
    EXPECT_GE(address(sorted[i + 1]) - address(sorted[i]), 10000u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(blocks[i][9999], char(i)) << "block " << i << " overwritten";
  for (char *b : blocks)
    freeHugePaged(b);
  EXPECT_EQ(hugePagedRegionBytes(), before);
}

TEST(HugePages, ALargeBlockHasARegionOfWholeHugePages) {
  size_t before = hugePagedRegionBytes();
  // More than any region has free: a region of its own, rounded up.
  size_t bytes = kHugePagedRegionBytes + kHugePageBytes / 2;
  auto *b = static_cast<char *>(allocateHugePaged(bytes));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(address(b) % kHugePageBytes, 0u);
  EXPECT_EQ(hugePagedRegionBytes() - before,
            kHugePagedRegionBytes + kHugePageBytes);
  std::memset(b, 1, bytes);
  freeHugePaged(b);
  EXPECT_EQ(hugePagedRegionBytes(), before);
  freeHugePaged(nullptr);
}

} // namespace
