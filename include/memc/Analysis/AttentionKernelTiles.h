//===- AttentionKernelTiles.h - the fused attention kernel's tiles -*- C++
//-*-===//
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

/// Tiles of the tensor-core form (mma.sync m16n8k8 on TF32, three
/// products per step for f32 accuracy): each warp owns 16 query rows of the
/// block's tile and keeps its scores and its part of the numerator in mma
/// accumulator fragments.
struct AttentionMmaTiles {
  int64_t warps;       ///< warps per block; the query tile is 16 * warps
  int64_t keys;        ///< keys per K/V tile (a multiple of 8)
  int64_t sharedBytes; ///< static shared memory of the block
};

/// Row strides (floats) of the tensor-core form's shared tiles. A fragment
/// load has the warp's 8 lane groups read 8 rows and the 4 lanes of a group
/// 4 consecutive columns (Q, K: stride = 4 mod 8 puts the groups 4 banks
/// apart), or 4 rows and 8 consecutive columns (V: stride = 8 mod 16 puts
/// them 8 banks apart); either way the 32 lanes hit 32 banks.
inline int64_t attentionMmaQKStride(int64_t d) { return d + 4; }
inline int64_t attentionMmaVStride(int64_t f) {
  return f % 16 == 0 ? f + 8 : f;
}

/// Bytes of the tensor-core form's shared tiles: Q [16 * warps][d + 4],
/// K [keys][d + 4], V [keys][f (+ 8)].
inline int64_t attentionMmaSharedBytes(int64_t warps, int64_t keys, int64_t d,
                                       int64_t f) {
  return 4 * ((16 * warps + keys) * attentionMmaQKStride(d) +
              keys * attentionMmaVStride(f));
}

/// Value widths up to this many keep the numerator's fragments (f / 2
/// registers a thread) next to the scores' without spilling.
inline constexpr int64_t kAttentionMmaMaxValueWidth = 128;

/// Tensor-core tiles for head sizes `d`, `f` and `queries` queries, or
/// nullopt where the form does not apply: head sizes must be multiples of
/// the mma's 8, `f` at most kAttentionMmaMaxValueWidth, and some tiles must
/// fit in static shared memory. Most warps first (up to 4, but no more than
/// the queries need: every warp shares each loaded K/V tile), then the
/// longest K/V tile (fewer barriers).
inline std::optional<AttentionMmaTiles>
chooseAttentionMmaTiles(int64_t queries, int64_t d, int64_t f) {
  if (queries < 1 || d < 8 || f < 8 || d % 8 != 0 || f % 8 != 0 ||
      f > kAttentionMmaMaxValueWidth)
    return std::nullopt;
  int64_t maxWarps = 1;
  while (maxWarps < 4 && 16 * maxWarps < queries)
    maxWarps *= 2;
  for (int64_t warps = maxWarps; warps >= 1; warps /= 2)
    for (int64_t keys : {64, 32, 16, 8}) {
      int64_t bytes = attentionMmaSharedBytes(warps, keys, d, f);
      if (bytes <= kAttentionSharedLimit)
        return AttentionMmaTiles{warps, keys, bytes};
    }
  return std::nullopt;
}

} // namespace memc

#endif
