//===- HugePages.h - memory the kernels walk, on huge pages -----*- C++ -*-===//
//
// Packed weights and the arena are read over and over, layer after layer,
// and a model's weights span thousands of 4 KiB pages: more than the TLB
// holds (MobileNetV2's 14 MB of packed weights are 3,400 pages). Memory
// from here lies in 2 MiB-aligned regions that Linux is asked to back with
// transparent huge pages (madvise MADV_HUGEPAGE; a no-op where THP is
// off), so those weights take 7 TLB entries. MEMC_HUGE_PAGES=0 turns the
// advice off. No MLIR here.
//
//===----------------------------------------------------------------------===//

#ifndef MEMC_RUNTIME_CPU_HUGEPAGES_H
#define MEMC_RUNTIME_CPU_HUGEPAGES_H

#include <cstddef>

namespace memc::rt {

/// The alignment and granule of the regions: one x86-64 huge page.
constexpr size_t kHugePageBytes = size_t(2) << 20;
/// The least address space a region takes. Only the pages written are
/// backed, so a region costs at most the rest of the last huge page its
/// blocks touch. (Regions of 4 MiB, each large weight starting its own,
/// left such a page behind a dozen of ResNet-18's: 12 MB more resident
/// memory, where these cost 2 MB, and 5.8 MB of ViT-B/16's 686 MB.) A
/// region asks for huge pages only once its blocks pass one huge page.
constexpr size_t kHugePagedRegionBytes = 16 * kHugePageBytes;

/// `bytes` (at least 1) of 64-byte aligned memory from a shared pool of
/// regions, or null when no memory can be had. Blocks are packed one after
/// another into the first region with room (a region is returned to the
/// system when its last block is freed), so that weights of a few KiB each
/// still end up on the same huge pages. A freed block's bytes come back
/// with its region: for blocks freed together, as a package's packed
/// weights are.
void *allocateHugePaged(size_t bytes);
/// Frees a block of allocateHugePaged (null: nothing).
void freeHugePaged(void *block);
/// The bytes the pool holds from the system (its regions), for tests.
size_t hugePagedRegionBytes();

/// Asks for huge pages under the whole 2 MiB pages of [begin, begin +
/// bytes) unless MEMC_HUGE_PAGES=0; for a block the caller allocated
/// itself (the arena).
void adviseHugePages(void *begin, size_t bytes);

} // namespace memc::rt

#endif // MEMC_RUNTIME_CPU_HUGEPAGES_H
