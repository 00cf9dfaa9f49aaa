//===- AttentionKernelTiles.h - the fused attention kernel's tiles -*- C++ -*-===//
//
// The GPU attention kernel (memc-attention-to-gpu) keeps a tile of queries,
// one K/V tile and the tile of softmax weights in shared memory. Which head
// sizes it can take, and with which tiles, is decided here, so that FuseMax
// (which decides whether to hand a block to the kernel at all) and the
// kernel generator agree.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_ANALYSIS_ATTENTIONKERNELTILES_H
#define MEMC_ANALYSIS_ATTENTIONKERNELTILES_H

#include <cstdint>
#include <optional>

namespace memc {

struct AttentionKernelTiles {
  int64_t rows;        ///< queries per block
  int64_t keys;        ///< keys per K/V tile
  int64_t lanes;       ///< threads per query row (a power of two, <= 32)
  int64_t threads;     ///< rows * lanes
  int64_t sharedBytes; ///< static shared memory of the block
};

/// Shared memory a block may declare statically (CUDA's limit without the
/// dynamic opt-in).
inline constexpr int64_t kAttentionSharedLimit = 48 * 1024;

/// Bytes of the block's shared tiles: Q [rows][d+1], K [keys][d+1],
/// V [keys][f], weights [rows][keys+1] (rows padded by one float so that
/// the lanes of a warp, reading down a column, hit different banks).
inline int64_t attentionSharedBytes(int64_t rows, int64_t keys, int64_t d,
                                    int64_t f) {
  return 4 * (rows * (d + 1) + keys * (d + 1) + keys * f + rows * (keys + 1));
}

/// Tiles for head sizes `d` (query/key) and `f` (value) and `queries`
/// queries, or nullopt when not even the smallest tiles fit in shared
/// memory. The largest query tile that fits (up to 64, but no more than the
/// queries need) keeps the most threads busy per loaded K/V tile; 4 lanes
/// per row split each row's keys and value columns so the row statistics
/// are two shuffles.
inline std::optional<AttentionKernelTiles>
chooseAttentionKernelTiles(int64_t queries, int64_t d, int64_t f) {
  if (queries < 1 || d < 1 || f < 1)
    return std::nullopt;
  int64_t lanes = f % 4 == 0 ? 4 : f % 2 == 0 ? 2 : 1;
  int64_t maxRows = 16;
  while (maxRows < 64 && maxRows < queries)
    maxRows *= 2;
  for (int64_t rows = maxRows; rows >= 16; rows /= 2)
    for (int64_t keys : {32, 16}) {
      int64_t bytes = attentionSharedBytes(rows, keys, d, f);
      if (bytes <= kAttentionSharedLimit)
        return AttentionKernelTiles{rows, keys, lanes, rows * lanes, bytes};
    }
  return std::nullopt;
}

} // namespace memc

#endif
