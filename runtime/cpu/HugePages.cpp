//===- HugePages.cpp - memory the kernels walk, on huge pages -------------===//
#include "HugePages.h"
#include "Switch.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#include <sys/mman.h>

namespace memc::rt {
namespace {

Switch gHugePages("MEMC_HUGE_PAGES");

size_t roundUp(size_t bytes, size_t to) { return (bytes + to - 1) / to * to; }

/// A 2 MiB-aligned mapping whose blocks are handed out one after another.
struct Region {
  char *base = nullptr;
  size_t bytes = 0, used = 0, live = 0;
  bool advised = false;

  /// Hands out the next `bytes`. The region asks for huge pages once its
  /// blocks pass one: a model whose packed weights fit in less (the CNN
  /// example's 96 KB) keeps its 4 KiB pages rather than a 2 MiB one.
  void *take(size_t bytes) {
    void *block = base + used;
    used += bytes;
    ++live;
    if (!advised && used > kHugePageBytes) {
      adviseHugePages(base, this->bytes);
      advised = true;
    }
    return block;
  }

  bool holds(const void *p) const {
    auto *c = static_cast<const char *>(p);
    return c >= base && c < base + bytes;
  }
};

struct Pool {
  std::mutex mutex;
  std::vector<Region> regions;
};

Pool &pool() {
  static Pool *p = new Pool; // never destroyed: blocks may outlive statics
  return *p;
}

/// A fresh mapping of `bytes` (a multiple of the huge page) at a huge-page
/// boundary: mapped with a huge page to spare, then trimmed.
char *mapAligned(size_t bytes) {
  size_t spare = bytes + kHugePageBytes;
  void *raw = ::mmap(nullptr, spare, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return nullptr;
  auto at = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = roundUp(at, kHugePageBytes);
  if (aligned > at)
    ::munmap(raw, aligned - at);
  if (size_t tail = at + spare - (aligned + bytes))
    ::munmap(reinterpret_cast<void *>(aligned + bytes), tail);
  return reinterpret_cast<char *>(aligned);
}

} // namespace

void adviseHugePages(void *begin, size_t bytes) {
  if (!gHugePages.on())
    return;
  auto at = reinterpret_cast<uintptr_t>(begin);
  uintptr_t first = roundUp(at, kHugePageBytes);
  uintptr_t end = (at + bytes) / kHugePageBytes * kHugePageBytes;
  if (end > first)
    ::madvise(reinterpret_cast<void *>(first), end - first, MADV_HUGEPAGE);
}

void *allocateHugePaged(size_t bytes) {
  bytes = roundUp(std::max<size_t>(bytes, 1), 64);
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  for (Region &r : p.regions)
    if (r.bytes - r.used >= bytes)
      return r.take(bytes);
  Region r;
  r.bytes = std::max(kHugePagedRegionBytes, roundUp(bytes, kHugePageBytes));
  r.base = mapAligned(r.bytes);
  if (!r.base)
    return nullptr;
  p.regions.push_back(r);
  return p.regions.back().take(bytes);
}

void freeHugePaged(void *block) {
  if (!block)
    return;
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  auto it = std::find_if(p.regions.begin(), p.regions.end(),
                         [&](const Region &r) { return r.holds(block); });
  if (it == p.regions.end() || --it->live > 0)
    return;
  ::munmap(it->base, it->bytes);
  p.regions.erase(it);
}

size_t hugePagedRegionBytes() {
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  size_t bytes = 0;
  for (const Region &r : p.regions)
    bytes += r.bytes;
  return bytes;
}

} // namespace memc::rt
