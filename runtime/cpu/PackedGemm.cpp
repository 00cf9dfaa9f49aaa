//===- PackedGemm.cpp - GEMMs whose weight operand is packed once ---------===//
//
// The kernel holds a tile of MR rows of C by one 32-column panel in
// registers while K runs (AVX-512: two registers a row, MR = 12, 24
// accumulators; AVX2: one 16-column half at a time, MR = 6): per k, the
// panel's row is loaded once and each of the MR values of A's column is
// broadcast into its row. K is cut into blocks of kKCB; a panel's block
// passes all of A's row tiles before the next panel's, which the first row
// tile prefetches into L2 as it goes. Rows past m read A's last row and
// columns past n are masked; those lanes are never stored. With the weight
// on the left, its 12-row panels are broadcast from instead of A's rows,
// and B's 32-column panels are read in place on AVX-512 (packed a block of
// 256 columns at a time for AVX2, and from a window).
//
// The functions carry target attributes, so the file builds without
// -mavx512f and the kernel is chosen at run time from the CPU's features;
// CPUs without AVX2 get plain loops over the same layout.
//
//===----------------------------------------------------------------------===//
#include "PackedGemm.h"

#include "AlignedBuffer.h"
#include "HugePages.h"
#include "Simd.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <type_traits>

namespace memc::rt {
namespace {

constexpr int64_t kNR = kPackedPanelWidth;
constexpr int64_t kMA = kPackedPanelHeight;
/// The rows of the one tile taller than kMA: a product whose rows leave one
/// over a multiple of 12 (a 7 x 7 output's 49 pixels, run transposed) ends
/// in one 13-row tile rather than a 12-row one and a 1-row one. A 1-row
/// tile waits on its two accumulators' FMA latency every k: 4 cycles a k
/// against the 13th row's one.
constexpr int kWideMR = 13;
/// Floats a k of a packed 13-row panel: a register's width.
constexpr int64_t kWidePitch = 16;
/// Floats a k of a packed panel of A for an MR-row tile.
template <int MR> constexpr int64_t packedPitch() {
  return MR > kMA ? kWidePitch : kMA;
}
/// K per block of packedGemmA: a panel of filters' block, kKC x 12 floats
/// (12 KiB), stays in L1 while the right operand's panels pass it.
constexpr int64_t kKC = 256;
/// K per block of packedGemm. A block longer than L1 holds (96 KiB of a
/// 32-column panel) still streams from L2 at the kernel's pace, and fewer
/// blocks mean fewer passes over C: 768 against 256 took 8% off a BERT-base
/// layer at 1 thread (24.5 -> 22.5 ms) and 6% off ViT-B/16 at 2.
constexpr int64_t kKCB = 768;
/// The fewest panels of B a call of packedGemm passes A's rows over for it
/// to pack them first (packRowPanels512). Packing waits on A's rows, which
/// the kernel reading them in place overlaps with its products: with 4
/// panels a thread (a d-256 decoder's 256 x 256 x 1024 products) it cost
/// 3% of the whole model.
constexpr int64_t kMinPanelsToPackRows = 8;
/// The most floats of A's row panels packedGemm packs (a K block of all of
/// its rows, in a scratch buffer of each thread): 2 MiB, an L2's worth;
/// a larger block would not stay there while the panels pass over it.
constexpr int64_t kMaxRowPanelFloats = int64_t(1) << 19;

//===----------------------------------------------------------------------===//
// AVX-512
//===----------------------------------------------------------------------===//

/// min(max(v, lo), hi) lane by lane as arith.maximumf and minimumf define
/// them (NaN when either is NaN, +0 above -0), for bounds that are
/// constants (never NaN), in as few instructions as they allow. maxps(a,
/// b) is a > b ? a : b, so it returns b for NaN and for equal zeros:
/// max(v, lo) is maxps(lo, v) when lo is -0 (exact), else maxps(v, lo),
/// exact but for NaN; min(v, hi) is minps(hi, v) when hi is +0, else
/// minps(v, hi). NaN lanes of v are put back at the end when a step
/// needed it, and an infinite bound on its own side is no step at all: a
/// ReLU6 takes 4 instructions (it took 10 done generally), a residual sum
/// none.
MEMC_AVX512 __attribute__((always_inline)) inline __m512
clipLanes(__m512 v, __m512 lo, __m512 hi, bool useLo, bool loFirst, bool useHi,
          bool hiFirst) {
  // (The maskz forms: GCC 12 warns that the plain ones' pass-through,
  // _mm512_undefined_ps, may be used uninitialized.)
  __m512 r = v;
  if (useLo)
    r = loFirst ? _mm512_maskz_max_ps(0xFFFF, lo, r)
                : _mm512_maskz_max_ps(0xFFFF, r, lo);
  if (useHi)
    r = hiFirst ? _mm512_maskz_min_ps(0xFFFF, hi, r)
                : _mm512_maskz_min_ps(0xFFFF, r, hi);
  if ((useLo && !loFirst) || (useHi && !hiFirst))
    r = _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
  return r;
}

/// clipLanes for the bounds [lower, upper], its choices made once; an
/// infinite bound on its own side is no step (a residual sum clips
/// nothing), -0 below and +0 above go first.
struct Clip512 {
  __m512 lo, hi;
  bool useLo, useHi, loFirst, hiFirst;

  MEMC_AVX512 explicit Clip512(float lower, float upper)
      : lo(_mm512_set1_ps(lower)), hi(_mm512_set1_ps(upper)) {
    useLo = lower != -__builtin_inff();
    useHi = upper != __builtin_inff();
    loFirst = lower == 0.0f && std::signbit(lower);
    hiFirst = upper == 0.0f && !std::signbit(upper);
  }

  MEMC_AVX512 __m512 operator()(__m512 v) const {
    return clipLanes(v, lo, hi, useLo, loFirst, useHi, hiFirst);
  }
};

/// `floats` copies of the pad value `pad` from dst on: a border piece of a
/// padded plane. Whole registers and one masked: the pieces around a
/// plane (its first and last rows, 17 floats for 14-pixel rows) went
/// element by element. 2 threads, alone, us: 576 x 196 x 96 into 14 x 14
/// planes 84.5 -> 81.0, 144 x 3136 x 24 into 56 x 56 109.3 -> 104.6.
MEMC_AVX512 inline void storePad(float *dst, int64_t floats, __m512 pad) {
  for (; floats >= 16; dst += 16, floats -= 16)
    _mm512_storeu_ps(dst, pad);
  if (floats > 0)
    _mm512_mask_storeu_ps(dst, lowLanes(floats), pad);
}

/// Where an epilogue puts the rows of one 32-column tile (columns
/// [j, j + n) of the product, n <= 32): the columns cut into pieces that
/// are contiguous in D and lie in one of the tile's two registers, and the
/// border those columns bring (mostly the short gaps between output rows:
/// one piece per output row ending in them, and the plane's first and
/// last, so at most n + 2). Worked out once per tile position, for all of
/// its rows.
struct TileColumns {
  struct Piece {
    int32_t reg;     ///< 0: columns 0-15 of the tile, 1: 16-31
    __mmask16 lanes; ///< the piece's lanes of that register
    int64_t offset;  ///< D address of the register's lane 0, minus the row's
  };
  Piece pieces[kNR];
  int count = 0;
  struct {
    int64_t offset, floats;
  } border[kNR + 2];
  int borderCount = 0;
  /// Where the tile spans output rows of a padded plane: its columns and
  /// the borders between them as one run of D from runOffset (the row's
  /// first element's offset), in runRegs registers of 16 floats, register
  /// o made by permuting the tile's two: lane l is lane runIndex[o][l] of
  /// them where runLive[o] has l, the pad value elsewhere, and lanes
  /// runStore[o] are stored. Then `border` holds only the borders outside
  /// the run (the plane's first and last rows). runRegs is 0 otherwise,
  /// and for runs longer than 4 registers (planes narrower than 7 or so).
  int runRegs = 0;
  int64_t runOffset = 0;
  alignas(64) int32_t runIndex[4][16];
  __mmask16 runLive[4], runStore[4];
  /// The tile's columns in the addend (Epilogue::addendOffset): from
  /// addendBase on, one after the other, unless `addendGathered`. Then, for
  /// a full tile, its stretch of the addend is at most 48 floats from
  /// addendBase (addendSpan), three registers that two permutes
  /// (addendIndex) turn into the tile's two; else (addendSpan 0) it is in
  /// addendPieces (offset: the addend address of the register's lane 0,
  /// minus the row's), one masked load each. Piece by piece, a 64 x 3136
  /// product whose residual was 56-pixel rows 58 apart took 6% longer.
  int64_t addendBase = 0;
  bool addendGathered = false;
  int64_t addendSpan = 0;
  alignas(64) int32_t addendIndex[2][16];
  Piece addendPieces[kNR];
  int addendPieceCount = 0;

  /// Whether a run's lanes outside the tile's columns must be set to
  /// `padValue` (the permute leaves +0 there).
  static bool blendsPad(float padValue) {
    return !(padValue == 0.0f && !std::signbit(padValue));
  }

  TileColumns(const Epilogue &e, int64_t j, int64_t n) {
    count = piecesOf(e.width, e.pitch, j, n, pieces);
    e.borderPieces(j, n, [&](int64_t offset, int64_t floats) {
      border[borderCount++] = {offset, floats};
    });
    // Any tile that is not one stretch of D, including one whose output
    // row ends at lane 16 (two pieces, a border between them): a seventh
    // of the tiles of 14-, 28- and 56-wide rows. Those took the
    // piece-by-piece finisher, 15% of the samples of 192 x 784 x 32 into
    // 28-wide rows; MobileNetV2 at 2 threads, median of 8 alternating
    // rounds: 3.401 -> 3.373 ms.
    if (e.padded && count >= 2 && !contiguous())
      makeRun(e, j, n);
    addendBase = e.addendOffset(j);
    addendGathered =
        e.addend && e.addendWidth && j % e.addendWidth + n > e.addendWidth;
    if (addendGathered && !permuteAddend(e, j, n))
      addendPieceCount =
          piecesOf(e.addendWidth, e.addendPitch, j, n, addendPieces);
  }

  /// Sets addendSpan and addendIndex when the tile is full and its
  /// columns lie within 48 floats of the addend, each register's within
  /// 32 of its own first.
  bool permuteAddend(const Epilogue &e, int64_t j, int64_t n) {
    if (n != kNR)
      return false;
    int64_t at[kNR];
    for (int64_t t = 0; t < kNR; ++t)
      at[t] = e.addendOffset(j + t) - addendBase;
    if (at[15] >= 32 || at[31] >= 48)
      return false;
    for (int t = 0; t < 16; ++t) {
      addendIndex[0][t] = int32_t(at[t]);
      addendIndex[1][t] = int32_t(at[16 + t] - 16);
    }
    addendSpan = at[31] + 1;
    return true;
  }

  /// Columns [j, j + n) of rows `width` pixels long, `pitch` apart (width
  /// 0: one row), as pieces that each lie in one register of the tile and
  /// one row.
  static int piecesOf(int64_t width, int64_t pitch, int64_t j, int64_t n,
                      Piece *out) {
    int count = 0;
    int64_t q = width ? j / width : 0, rem = width ? j % width : j;
    for (int64_t t = 0; t < n;) {
      int64_t lane = t % 16;
      int64_t run = std::min(n - t, 16 - lane);
      if (width)
        run = std::min(run, width - rem);
      out[count++] = {int32_t(t / 16), __mmask16(((1u << run) - 1) << lane),
                      q * pitch + rem - lane};
      t += run;
      rem += run;
      if (width && rem == width) {
        rem = 0;
        ++q;
      }
    }
    return count;
  }

  /// The addend's values of the tile's row `row` (its first element),
  /// when addendGathered, loaded into the tile's two registers' lanes (zero
  /// elsewhere).
  MEMC_AVX512 void loadAddend(const float *row, __m512 &a0, __m512 &a1) const {
    if (addendSpan) {
      const float *at = row + addendBase;
      __m512 r1 = _mm512_loadu_ps(at + 16);
      a0 = _mm512_permutex2var_ps(_mm512_loadu_ps(at),
                                  _mm512_load_si512(addendIndex[0]), r1);
      a1 = _mm512_permutex2var_ps(
          r1, _mm512_load_si512(addendIndex[1]),
          _mm512_maskz_loadu_ps(lowLanes(addendSpan - 32), at + 32));
      return;
    }
    a0 = a1 = _mm512_setzero_ps();
    for (int s = 0; s < addendPieceCount; ++s) {
      const Piece &piece = addendPieces[s];
      __m512 &reg = piece.reg ? a1 : a0;
      reg = _mm512_mask_loadu_ps(reg, piece.lanes, row + piece.offset);
    }
  }

  /// Whether the tile's 32 columns lie one after the other in D.
  bool contiguous() const {
    return count == 2 && pieces[0].reg == 0 && pieces[0].lanes == 0xFFFF &&
           pieces[1].reg == 1 && pieces[1].lanes == 0xFFFF &&
           pieces[1].offset == pieces[0].offset + 16;
  }

private:
  void makeRun(const Epilogue &e, int64_t j, int64_t n) {
    // Column t of the tile is at D offset pieces[s].offset + t % 16 for
    // the piece s that holds it: the pieces give every place without two
    // divisions a column. Each thread builds a tile's columns once per
    // panel; at 14- to 56-pixel rows that took 65-138 ns a tile, now
    // 21-43, and MobileNetV2 3.255 -> 3.228 ms at 2 threads (medians).
    const Piece &last = pieces[count - 1];
    int64_t start = pieces[0].offset, end = last.offset + (n - 1) % 16 + 1;
    // The gap after the tile's last column when it ends an output row
    // (not the plane's last): this tile's to write.
    if ((j + n) % e.width == 0 && j + n < e.n)
      end += e.pitch - e.width;
    int64_t length = end - start;
    if (length > 64)
      return;
    runRegs = int((length + 15) / 16);
    runOffset = start;
    for (int o = 0; o < runRegs; ++o) {
      runStore[o] = lowLanes(length - 16 * o);
      std::fill_n(runIndex[o], 16, 0);
    }
    // A piece's lanes are one stretch of the tile and of D: their run
    // lanes are consecutive, and so are their indices.
    uint64_t live = 0;
    for (int s = 0; s < count; ++s) {
      const Piece &piece = pieces[s];
      int first = __builtin_ctz(piece.lanes);
      int lanes = __builtin_popcount(piece.lanes);
      uint64_t at = uint64_t(piece.offset + first - start);
      for (int l = 0; l < lanes; ++l)
        runIndex[(at + l) / 16][(at + l) % 16] = piece.reg * 16 + first + l;
      live |= ((uint64_t(1) << lanes) - 1) << at;
    }
    for (int o = 0; o < runRegs; ++o)
      runLive[o] = __mmask16(live >> (16 * o));
    // The borders between output rows are in the run; those around the
    // plane are not.
    int outside = 0;
    for (int s = 0; s < borderCount; ++s)
      if (border[s].offset < start || border[s].offset >= end)
        border[outside++] = border[s];
    borderCount = outside;
  }
};

/// Finishes rows of a tile held in registers through an epilogue: each
/// element v of row r (the product's row `row0 + r`) becomes v + bias,
/// then addend + v, then clipped, and goes to its place in D, with the
/// row's border around it; nothing goes through C.
struct RowFinisher {
  const Epilogue &e;
  const TileColumns &columns;
  int64_t row0, j;
  __mmask16 m0, m1; ///< the tile's live lanes in each register
  Clip512 clip;
  __m512 pad;
  bool padNonZero;

  MEMC_AVX512 RowFinisher(const Epilogue &e, const TileColumns &columns,
                          int64_t row0, int64_t j, int64_t n)
      : e(e), columns(columns), row0(row0), j(j), m0(lowLanes(n)),
        m1(lowLanes(n - 16)), clip(e.lo, e.hi), pad(_mm512_set1_ps(e.padValue)),
        padNonZero(TileColumns::blendsPad(e.padValue)) {}

  MEMC_AVX512 void operator()(int r, __m512 v0, __m512 v1) const {
    int64_t row = row0 + r;
    float *dst = e.d + row * e.ldd;
    for (int s = 0; s < columns.borderCount; ++s)
      storePad(dst + columns.border[s].offset, columns.border[s].floats, pad);
    if (e.bias) {
      __m512 bias = _mm512_set1_ps(e.bias[row]);
      v0 = _mm512_add_ps(v0, bias);
      v1 = _mm512_add_ps(v1, bias);
    }
    if (e.addend) {
      const float *add = e.addend + row * e.ldAddend;
      if (columns.addendGathered) {
        __m512 a0, a1;
        columns.loadAddend(add, a0, a1);
        v0 = _mm512_add_ps(a0, v0);
        v1 = _mm512_add_ps(a1, v1);
      } else {
        add += columns.addendBase;
        v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, add), v0);
        if (m1)
          v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, add + 16), v1);
      }
    }
    v0 = clip(v0);
    if (m1)
      v1 = clip(v1);
    if (columns.runRegs) {
      for (int o = 0; o < columns.runRegs; ++o) {
        __mmask16 live = columns.runLive[o];
        __m512 run = _mm512_maskz_permutex2var_ps(
            live, v0, _mm512_load_si512(columns.runIndex[o]), v1);
        if (padNonZero)
          run = _mm512_mask_mov_ps(pad, live, run);
        _mm512_mask_storeu_ps(dst + columns.runOffset + 16 * o,
                              columns.runStore[o], run);
      }
      return;
    }
    for (int s = 0; s < columns.count; ++s) {
      const TileColumns::Piece &piece = columns.pieces[s];
      _mm512_mask_storeu_ps(dst + piece.offset, piece.lanes,
                            piece.reg ? v1 : v0);
    }
  }
};

/// Clip512 with its choices made at compile time.
template <bool UseLo, bool LoFirst, bool UseHi, bool HiFirst>
struct FixedClip512 {
  __m512 lo, hi;

  MEMC_AVX512 __m512 operator()(__m512 v) const {
    return clipLanes(v, lo, hi, UseLo, LoFirst, UseHi, HiFirst);
  }
};

/// RowFinisher for a tile of 32 columns that lie one after the other in a
/// row of D, or in one run of permuted registers across output rows. What
/// all rows share is copied in (the finisher is a local the compiler keeps
/// in registers) and the clip is fixed: RowFinisher reads its layout
/// through references that every store of D might have changed, for all
/// the compiler knows, and tests the clip's choices on every row.
template <typename Clip> struct FastRowFinisher {
  const float *bias;   ///< row 0's, or null
  const float *addend; ///< row 0's column j (its first with addendPieces)
  int64_t ldAddend;
  bool addendPieces; ///< read through TileColumns::loadAddend
  float *d; ///< row 0's D, at the tile's first column (or run)
  int64_t ldd;
  int regs;    ///< 0: two registers in a row; else the run's (RowFinisher's)
  int borders; ///< columns' borders (the plane's first and last rows')
  int64_t at;  ///< d's offset from the row's first element
  const TileColumns *columns;
  __m512 pad;
  bool padNonZero;
  Clip clip;

  MEMC_AVX512 void operator()(int r, __m512 v0, __m512 v1) const {
    if (bias) {
      __m512 b = _mm512_set1_ps(bias[r]);
      v0 = _mm512_add_ps(v0, b);
      v1 = _mm512_add_ps(v1, b);
    }
    if (addend) {
      const float *add = addend + r * ldAddend;
      __m512 a0, a1;
      if (addendPieces) {
        columns->loadAddend(add, a0, a1);
      } else {
        a0 = _mm512_loadu_ps(add);
        a1 = _mm512_loadu_ps(add + 16);
      }
      v0 = _mm512_add_ps(a0, v0);
      v1 = _mm512_add_ps(a1, v1);
    }
    v0 = clip(v0);
    v1 = clip(v1);
    float *dst = d + r * ldd;
    for (int s = 0; s < borders; ++s)
      storePad(dst + columns->border[s].offset - at, columns->border[s].floats,
               pad);
    if (!regs) {
      _mm512_storeu_ps(dst, v0);
      _mm512_storeu_ps(dst + 16, v1);
      return;
    }
    for (int o = 0; o < regs; ++o) {
      __mmask16 live = columns->runLive[o];
      __m512 run = _mm512_maskz_permutex2var_ps(
          live, v0, _mm512_load_si512(columns->runIndex[o]), v1);
      if (padNonZero)
        run = _mm512_mask_mov_ps(pad, live, run);
      _mm512_mask_storeu_ps(dst + 16 * o, columns->runStore[o], run);
    }
  }
};

/// Row r of a product, 32 columns in v0 and v1 (lanes m0 and m1), stored
/// as the kernels store theirs: C's old value at cr added when
/// accumulating, then through `finish`, or into cr.
template <typename Finisher>
MEMC_AVX512 inline void
storeProductRow(int r, __m512 v0, __m512 v1, float *cr, __mmask16 m0,
                __mmask16 m1, bool accumulate, const Finisher *finish) {
  if (accumulate) {
    v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
    v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
  }
  if (finish) {
    (*finish)(r, v0, v1);
  } else {
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

} // namespace

namespace {

/// A window's B read where it is (packedGemmA's inPlace): row k of
/// a panel's columns starts at rows[k] floats past the panel's first
/// column, its columns 16-31 `upper` floats past its columns 0-15 (16
/// where the panel is one run of the input).
struct WindowRows {
  const int64_t *rows;
  int64_t upper;
};

/// Where row k of B starts for the tiles: `ldb` floats a row (a packed
/// panel, or a plain B in place), or a window's WindowRows.
inline const float *rowOf(const float *b, int64_t k, int64_t ldb) {
  return b + k * ldb;
}
inline const float *rowOf(const float *b, int64_t k, const WindowRows &w) {
  return b + w.rows[k];
}
/// Floats from a row's column 0 to its column 16.
constexpr int64_t upperOf(int64_t) { return 16; }
inline int64_t upperOf(const WindowRows &w) { return w.upper; }

/// One MR x 32 tile of C over kc values of k. A's rows are read in place
/// (row pointers past `rows` repeat the last row), or from a packed panel
/// of A (APacked: element (r, k) at a[k * packedPitch<MR>() + r]); B's 32
/// columns of row k at rowOf(b, k, ldb): b + k * ldb (a panel: ldb kNR; B
/// in place: its row stride), or a window's WindowRows; columns past m0
/// and m1 are not read unless FullN. The first nextRows k also bring that
/// many rows of the block at `next` (rows ldb apart) into L2 (nextRowsOf).
template <int MR, bool FullN, bool APacked = false,
          typename Finisher = RowFinisher, typename BRows = int64_t>
MEMC_AVX512 inline void
tile512(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
        float *c, int64_t ldc, __mmask16 m0, __mmask16 m1, bool accumulate,
        const float *next = nullptr, int64_t nextRows = 0,
        const Finisher *finish = nullptr, BRows ldb = kNR) {
  const float *ar[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    ar[r] = APacked ? a + r : a + (r < rows ? r : rows - 1) * lda;
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    acc0[r] = acc1[r] = _mm512_setzero_ps();
  auto step = [&](int64_t k) MEMC_AVX512 {
    const float *bk = rowOf(b, k, ldb), *bu = bk + upperOf(ldb);
    __m512 b0 = FullN ? _mm512_loadu_ps(bk) : _mm512_maskz_loadu_ps(m0, bk);
    __m512 b1 = FullN ? _mm512_loadu_ps(bu) : _mm512_maskz_loadu_ps(m1, bu);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      __m512 av =
          _mm512_set1_ps(APacked ? a[k * packedPitch<MR>() + r] : ar[r][k]);
      acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
    }
  };
  // The rows of the next block come in spread evenly over the k: a row
  // every kc / nextRows of them. A weight streaming from memory had its
  // prefetches arrive late when each tile asked for its share of rows in
  // its first k, two lines a k (ViT-B/16's 197 x 3072 x 768 product over
  // 40 weights, 376 MB, at 2 threads: 2.82 -> 2.44 ms).
  int64_t k = 0;
  int64_t every = nextRows > 0 ? std::max<int64_t>(1, kc / nextRows) : 0;
  auto prefetchRow = [&](int64_t i) {
    const float *row = rowOf(next, i, ldb);
    _mm_prefetch(reinterpret_cast<const char *>(row), _MM_HINT_T1);
    _mm_prefetch(reinterpret_cast<const char *>(row + 16), _MM_HINT_T1);
  };
  if (every == 1) {
    // A row each k (packedGemmA's next panel, nextRows = kc): one loop, as
    // before, with no inner loop of one step.
    for (int64_t end = std::min(kc, nextRows); k < end; ++k) {
      prefetchRow(k);
      step(k);
    }
  } else if (every > 1) {
    for (int64_t i = 0; i < nextRows; ++i) {
      prefetchRow(i);
      for (int64_t end = k + every; k < end; ++k)
        step(k);
    }
  }
  for (; k < kc; ++k)
    step(k);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r >= rows)
      break;
    float *cr = c + r * ldc;
    if (FullN) {
      if (accumulate) {
        acc0[r] = _mm512_add_ps(acc0[r], _mm512_loadu_ps(cr));
        acc1[r] = _mm512_add_ps(acc1[r], _mm512_loadu_ps(cr + 16));
      }
      if (finish)
        (*finish)(r, acc0[r], acc1[r]);
      else {
        _mm512_storeu_ps(cr, acc0[r]);
        _mm512_storeu_ps(cr + 16, acc1[r]);
      }
    } else {
      if (accumulate) {
        acc0[r] = _mm512_add_ps(acc0[r], _mm512_maskz_loadu_ps(m0, cr));
        acc1[r] = _mm512_add_ps(acc1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
      }
      if (finish)
        (*finish)(r, acc0[r], acc1[r]);
      else {
        _mm512_mask_storeu_ps(cr, m0, acc0[r]);
        _mm512_mask_storeu_ps(cr + 16, m1, acc1[r]);
      }
    }
  }
}

/// tile512 for a panel with at most 16 live columns (m0's): one register a
/// row, so a last panel with few columns costs half a tile's FMAs. Each
/// element sums its products in the same order as in tile512.
template <int MR, bool APacked, typename BRows = int64_t>
MEMC_AVX512 inline void
halfTile512(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
            float *c, int64_t ldc, __mmask16 m0, bool accumulate,
            const RowFinisher *finish = nullptr, BRows ldb = kNR) {
  const float *ar[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    ar[r] = APacked ? a + r : a + (r < rows ? r : rows - 1) * lda;
  __m512 acc[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_maskz_loadu_ps(m0, rowOf(b, k, ldb));
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      acc[r] = _mm512_fmadd_ps(
          _mm512_set1_ps(APacked ? a[k * packedPitch<MR>() + r] : ar[r][k]), b0,
          acc[r]);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r >= rows)
      break;
    float *cr = c + r * ldc;
    if (accumulate)
      acc[r] = _mm512_add_ps(acc[r], _mm512_maskz_loadu_ps(m0, cr));
    if (finish)
      (*finish)(r, acc[r], _mm512_setzero_ps());
    else
      _mm512_mask_storeu_ps(cr, m0, acc[r]);
  }
}

/// Lanes 4q to 4q + 3 of v in lanes 0 to 3, the others zero.
template <int Q> MEMC_AVX512 inline __m512 quarterOf(__m512 v) {
  return _mm512_maskz_shuffle_f32x4(0x000F, v, v, Q);
}

/// The low (or High) 64-bit halves of each 128-bit lane of x and y, x's
/// first.
template <bool High> MEMC_AVX512 inline __m512 pairsOf(__m512 x, __m512 y) {
  __m512d xd = _mm512_castps_pd(x), yd = _mm512_castps_pd(y);
  return _mm512_castpd_ps(High ? _mm512_maskz_unpackhi_pd(0xFF, xd, yd)
                               : _mm512_maskz_unpacklo_pd(0xFF, xd, yd));
}

/// A last panel with at most this many live columns goes through
/// columnsTile512 (rows in the lanes) on AVX-512.
constexpr int64_t kNarrowColumns = 4;

/// One tile of columnsTile512: a packed panel of filters (a, `rows` of
/// them) and where its rows go (c, or `finish` when not null).
struct ColumnsTileRows {
  const float *a;
  int rows;
  float *c;
  const RowFinisher *finish;
};

/// halfTile512 for packed panels of filters against at most 4 live
/// columns (NC), for T row tiles at once: a register a column and tile
/// with the 12 rows in its lanes, so a k costs NC FMAs a tile, not one a
/// row (a 12-row tile there used 4 of each register's 16 lanes: the 4
/// columns past 6 panels of a 14 x 14 image cost as much as 16). Two tiles
/// keep 8 sums in flight, where one waits on the FMA latency. A 4 x 4
/// transpose per group of 4 rows gives the rows back for the stores.
/// Each element sums its products in the same order as in tile512.
template <int NC, int T>
MEMC_AVX512 inline void columnsTile512(int64_t kc, const ColumnsTileRows *tiles,
                                       const float *b, int64_t ldb, int64_t ldc,
                                       __mmask16 m0, bool accumulate) {
  __m512 acc[T][4];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j)
      acc[t][j] = _mm512_setzero_ps();
  const __mmask16 panelRows = lowLanes(kMA);
  for (int64_t k = 0; k < kc; ++k) {
    const float *bk = b + k * ldb;
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      __m512 av = _mm512_maskz_loadu_ps(panelRows, tiles[t].a + k * kMA);
#pragma GCC unroll 4
      for (int j = 0; j < NC; ++j)
        acc[t][j] = _mm512_fmadd_ps(av, _mm512_set1_ps(bk[j]), acc[t][j]);
    }
  }
#pragma GCC unroll 2
  for (int t = 0; t < T; ++t) {
    // Within each 128-bit lane q: rows 4q to 4q + 3 of the 4 columns.
    // (The zero-masked forms: GCC 12 warns that the plain ones' undefined
    // pass-through values may be used.)
    const __mmask16 all = 0xFFFF;
    __m512 lo01 = _mm512_maskz_unpacklo_ps(all, acc[t][0], acc[t][1]);
    __m512 hi01 = _mm512_maskz_unpackhi_ps(all, acc[t][0], acc[t][1]);
    __m512 lo23 = _mm512_maskz_unpacklo_ps(all, acc[t][2], acc[t][3]);
    __m512 hi23 = _mm512_maskz_unpackhi_ps(all, acc[t][2], acc[t][3]);
    // byRow[j]: row 4q + j of the tile in lane q.
    __m512 byRow[4] = {pairsOf<false>(lo01, lo23), pairsOf<true>(lo01, lo23),
                       pairsOf<false>(hi01, hi23), pairsOf<true>(hi01, hi23)};
    const ColumnsTileRows &tile = tiles[t];
    auto store = [&](int r, __m512 v) MEMC_AVX512 {
      if (r >= tile.rows)
        return;
      float *cr = tile.c + r * ldc;
      if (accumulate)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m0, cr));
      if (tile.finish)
        (*tile.finish)(r, v, _mm512_setzero_ps());
      else
        _mm512_mask_storeu_ps(cr, m0, v);
    };
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      store(j, quarterOf<0>(byRow[j]));
      store(4 + j, quarterOf<1>(byRow[j]));
      store(8 + j, quarterOf<2>(byRow[j]));
    }
  }
}

/// columnsTile512 for `count` (1 or 2) tiles against `width` (at most 4)
/// live columns.
MEMC_AVX512 void narrowColumns512(int64_t kc, const ColumnsTileRows *tiles,
                                  int count, const float *b, int64_t ldb,
                                  int64_t ldc, int64_t width, bool accumulate) {
  __mmask16 m0 = lowLanes(width);
  auto with = [&](auto nc) MEMC_AVX512 {
    constexpr int NC = decltype(nc)::value;
    if (count == 2)
      columnsTile512<NC, 2>(kc, tiles, b, ldb, ldc, m0, accumulate);
    else
      columnsTile512<NC, 1>(kc, tiles, b, ldb, ldc, m0, accumulate);
  };
  switch (width) {
  case 1:
    return with(std::integral_constant<int, 1>());
  case 2:
    return with(std::integral_constant<int, 2>());
  case 3:
    return with(std::integral_constant<int, 3>());
  default:
    return with(std::integral_constant<int, 4>());
  }
}

/// `rows` (at most 12) of A against one 32-column panel, in the smallest
/// tile that holds them: the last rows of A, or a last panel of packed
/// filters, are not padded out to 12 (64 filters are 5 panels and 4 rows;
/// a 12-row tile there did 11% more work on ResNet-18's first layer).
template <bool FullN, bool APacked, typename BRows = int64_t>
MEMC_AVX512 void
rowsTile512(int64_t kc, const float *a, int64_t lda, int rows, const float *b,
            float *c, int64_t ldc, __mmask16 m0, __mmask16 m1, bool accumulate,
            const float *next = nullptr, int64_t nextRows = 0,
            const RowFinisher *finish = nullptr, BRows ldb = kNR) {
  if (!FullN && m1 == 0) {
    if (rows > 8)
      halfTile512<12, APacked>(kc, a, lda, rows, b, c, ldc, m0, accumulate,
                               finish, ldb);
    else if (rows > 4)
      halfTile512<8, APacked>(kc, a, lda, rows, b, c, ldc, m0, accumulate,
                              finish, ldb);
    else if (rows > 2)
      halfTile512<4, APacked>(kc, a, lda, rows, b, c, ldc, m0, accumulate,
                              finish, ldb);
    else if (rows == 2)
      halfTile512<2, APacked>(kc, a, lda, rows, b, c, ldc, m0, accumulate,
                              finish, ldb);
    else
      halfTile512<1, APacked>(kc, a, lda, rows, b, c, ldc, m0, accumulate,
                              finish, ldb);
    return;
  }
  // Two registers a row: 10 or more sums keep both FMA ports busy, so 5
  // and 6 rows get tiles of their own (a transformer's 197 tokens end in
  // 5 rows: an 8-row tile gave them 3% of ViT-B/16's samples).
  if (rows > 10)
    tile512<12, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                                next, nextRows, finish, ldb);
  else if (rows > 8)
    tile512<10, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                                next, nextRows, finish, ldb);
  else if (rows > 6)
    tile512<8, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                               next, nextRows, finish, ldb);
  else if (rows == 6)
    tile512<6, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                               next, nextRows, finish, ldb);
  else if (rows == 5)
    tile512<5, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                               next, nextRows, finish, ldb);
  else if (rows > 2)
    tile512<4, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                               next, nextRows, finish, ldb);
  else if (rows == 2)
    tile512<2, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                               next, nextRows, finish, ldb);
  else
    tile512<1, FullN, APacked>(kc, a, lda, rows, b, c, ldc, m0, m1, accumulate,
                               next, nextRows, finish, ldb);
}

/// Calls finish(f) with the FastRowFinisher `f` of rows [row0, ...) and
/// columns [j, j + width) when one takes them (32 columns in one run or
/// one row of D, and a clip it fixes: none, a ReLU, a ReLU6); false
/// otherwise.
template <typename Finish>
MEMC_AVX512 inline bool
withFastFinisher(const Epilogue &e, const TileColumns &columns, int64_t row0,
                 int64_t j, int64_t width, Finish finish) {
  if (width != kNR || !(columns.runRegs > 0 || columns.contiguous()))
    return false;
  int64_t at =
      columns.runRegs > 0 ? columns.runOffset : columns.pieces[0].offset;
  auto with = [&](auto clip) MEMC_AVX512 {
    FastRowFinisher<decltype(clip)> f{
        e.bias ? e.bias + row0 : nullptr,
        e.addend ? e.addend + row0 * e.ldAddend +
                       (columns.addendGathered ? 0 : columns.addendBase)
                 : nullptr,
        e.ldAddend,
        columns.addendGathered,
        e.d + row0 * e.ldd + at,
        e.ldd,
        columns.runRegs,
        columns.borderCount,
        at,
        &columns,
        _mm512_set1_ps(e.padValue),
        TileColumns::blendsPad(e.padValue),
        clip};
    finish(f);
    return true;
  };
  Clip512 c(e.lo, e.hi);
  if (!c.useLo && !c.useHi)
    return with(FixedClip512<false, false, false, false>{c.lo, c.hi});
  if (c.useLo && !c.loFirst && !c.useHi)
    return with(FixedClip512<true, false, false, false>{c.lo, c.hi});
  if (c.useLo && !c.loFirst && c.useHi && !c.hiFirst)
    return with(FixedClip512<true, false, true, false>{c.lo, c.hi});
  return false;
}

/// rowsTile512 of packed A whose rows the epilogue finishes in registers
/// (rows [row0, row0 + rows), columns [j, j + width) of the product, laid
/// out by `columns`); `c` holds the partial sums when `accumulate`, and
/// is only read. Flattened: with the tiles out of line, the finisher was
/// called through a pointer and MobileNetV2 ran 5% slower (GCC's inliner
/// decides by sizes that any change to the tiles moves).
template <typename BRows>
MEMC_AVX512 __attribute__((flatten)) void
finishedTile512(int64_t kc, const float *a, int rows, const float *b, BRows ldb,
                const float *next, int64_t nextRows, float *c, int64_t ldc,
                int64_t width, bool accumulate, const Epilogue &e,
                const TileColumns &columns, int64_t row0, int64_t j) {
  // Full tiles in one run or one row take the fast finisher. The tile
  // sizes: those of the last rows of MobileNetV2's filters (4 and 8) and
  // the rest; the sizes in between cost code more than time.
  __mmask16 all = lowLanes(16);
  if (withFastFinisher(
          e, columns, row0, j, width, [&](const auto &finish) MEMC_AVX512 {
            if (rows > 8)
              tile512<12, true, true>(kc, a, 0, rows, b, c, ldc, all, all,
                                      accumulate, next, nextRows, &finish, ldb);
            else if (rows > 4)
              tile512<8, true, true>(kc, a, 0, rows, b, c, ldc, all, all,
                                     accumulate, next, nextRows, &finish, ldb);
            else
              tile512<4, true, true>(kc, a, 0, rows, b, c, ldc, all, all,
                                     accumulate, next, nextRows, &finish, ldb);
          }))
    return;
  RowFinisher finish(e, columns, row0, j, width);
  if (width == kNR)
    rowsTile512<true, true>(kc, a, 0, rows, b, c, ldc, finish.m0, finish.m1,
                            accumulate, next, nextRows, &finish, ldb);
  else
    rowsTile512<false, true>(kc, a, 0, rows, b, c, ldc, finish.m0, finish.m1,
                             accumulate, next, nextRows, &finish, ldb);
}

} // namespace

MEMC_AVX512 void finishProduct(const float *y, int64_t ldy, int64_t i0,
                               int64_t rows, int64_t j0, int64_t n, float *c,
                               int64_t ldc, bool accumulate,
                               const Epilogue *epilogue) {
  for (int64_t t = 0; t < n; t += kNR) {
    int64_t width = std::min(kNR, n - t);
    __mmask16 m0 = lowLanes(width), m1 = lowLanes(width - 16);
    auto finishRows = [&](const auto *finish) MEMC_AVX512 {
      for (int64_t r = 0; r < rows; ++r) {
        const float *src = y + r * ldy + t;
        storeProductRow(int(r), _mm512_maskz_loadu_ps(m0, src),
                        _mm512_maskz_loadu_ps(m1, src + 16),
                        c ? c + (i0 + r) * ldc + j0 + t : nullptr, m0, m1,
                        accumulate, finish);
      }
    };
    if (!epilogue) {
      finishRows(static_cast<const RowFinisher *>(nullptr));
      continue;
    }
    // Whole panels in one run take the fast finisher, as the kernels'
    // tiles do: Winograd's outputs of the CNN example's 16 x 16 layer
    // went through RowFinisher at 1.9 us of its 13.
    TileColumns columns(*epilogue, j0 + t, width);
    if (withFastFinisher(*epilogue, columns, i0, j0 + t, width,
                         [&](const auto &finish)
                             MEMC_AVX512 { finishRows(&finish); }))
      continue;
    RowFinisher finish(*epilogue, columns, i0, j0 + t, width);
    finishRows(&finish);
  }
}

MEMC_AVX512 void packedProduct(const PackedA &a, int64_t i0, int64_t i1,
                               const PackedB &b, float *c, int64_t ldc) {
  for (int64_t k0 = 0; k0 < b.k; k0 += kKCB) {
    int64_t kc = std::min(kKCB, b.k - k0);
    for (int64_t p = 0; p < b.numPanels(); ++p) {
      const float *panel = b.panel(p) + k0 * kNR;
      int64_t width = std::min(kNR, b.n - p * kNR);
      __mmask16 m0 = lowLanes(width), m1 = lowLanes(width - 16);
      for (int64_t i = i0; i < i1; ++i) {
        int rows = int(std::min(kMA, a.m - i * kMA));
        float *ci = c + (i - i0) * kMA * ldc + p * kNR;
        // The next row tile's panel of A comes into L2 with this tile,
        // as packedGemmA's does: Winograd's transformed weights (16/9 of
        // the filters) come from L3. ResNet-18's 256 x 14 x 14 layers at
        // 2 threads: 1.36 -> 1.25-1.28 ms a run (2 calls with epilogues).
        const float *next = i + 1 < i1 ? a.panel(i + 1) + k0 * kMA : nullptr;
        int64_t nextRows = next ? (kc * kMA + kNR - 1) / kNR : 0;
        if (width == kNR)
          rowsTile512<true, true>(kc, a.panel(i) + k0 * kMA, 0, rows, panel, ci,
                                  ldc, m0, m1, k0 > 0, next, nextRows);
        else
          rowsTile512<false, true>(kc, a.panel(i) + k0 * kMA, 0, rows, panel,
                                   ci, ldc, m0, m1, k0 > 0, next, nextRows);
      }
    }
  }
}

namespace {

/// The rows of the next panel's block (kc rows from `next`, or none when
/// null) that tile t of a panel's `tiles` brings into L2, two lines a k:
/// an even share each, so the block streams in over all of this panel's
/// tiles. A weight too large for the caches comes from memory: all of it
/// during the first tile (a burst of prefetches a line or two per k over
/// 768 k, 96 KiB in about 3 us) arrived late, and ViT-B/16's GEMMs ran 9%
/// slower on weights from memory than on weights in L3 (197 x 3072 x 768,
/// 2 threads: 3.32 against 3.06 ms).
struct NextRows {
  const float *from = nullptr;
  int64_t rows = 0;
};
inline NextRows nextRowsOf(const float *next, int64_t kc, int64_t t,
                           int64_t tiles) {
  if (!next)
    return {};
  int64_t share = (kc + tiles - 1) / tiles;
  int64_t lo = std::min(kc, t * share);
  return {next + lo * kNR, std::min(kc, lo + share) - lo};
}

/// All of A's row tiles against one panel block of `width` live columns,
/// bringing in `next` (the next panel's block, when not null) as they go.
/// A's rows are read in place (lda apart), or from row panels
/// (APacked: packRowPanels512's layout, kc x 12 floats a tile).
template <bool FullN, bool APacked>
MEMC_AVX512 void panel512(int64_t m, int64_t kc, const float *a, int64_t lda,
                          const float *b, float *c, int64_t ldc, int64_t width,
                          bool accumulate, const float *next) {
  __mmask16 m0 = lowLanes(width), m1 = lowLanes(width - 16);
  int64_t tiles = (m + 11) / 12;
  for (int64_t i = 0; i < m; i += 12) {
    NextRows pf = nextRowsOf(next, kc, i / 12, tiles);
    const float *at = APacked ? a + (i / 12) * kc * kMA : a + i * lda;
    rowsTile512<FullN, APacked>(kc, at, lda, int(std::min<int64_t>(12, m - i)),
                                b, c + i * ldc, ldc, m0, m1, accumulate,
                                pf.from, pf.rows);
  }
}

// GCC 12 takes the undefined pass-through operand of its unpack and
// shuffle builtins for an uninitialized variable once they are inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
/// Lanes j of the 16 rows r[0..15] as row j: a 16 x 16 transpose in four
/// rounds of two-source shuffles.
MEMC_AVX512 inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 16; i += 4) {
    __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]),
            t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
  // r[4g + j] holds rows 4g..4g+3 of column 4q + j in its 128-bit lane q.
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    __m512 lo01 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88);
    __m512 hi01 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xDD);
    __m512 lo23 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
    __m512 hi23 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xDD);
    t[j] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);
    t[8 + j] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);
    t[4 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);
    t[12 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i)
    r[i] = t[i];
}

/// Floats ahead of a row's 16 that packRowPanels512 asks for: A comes
/// from the op before, often from the other core's cache, and its 12 rows
/// are 12 streams.
constexpr int64_t kPackAhead = 64;

/// Columns [0, kc) of A's rows [0, m) (lda apart) as row panels: tile t's
/// element (r, k) at dst[(t * kc + k) * 12 + r], rows past m zero. The
/// kernel then broadcasts from one stream a tile instead of 12 rows: 4-6%
/// faster in L1 and L2 (192 rows, K 256 and 768, 4 and 48 panels, one
/// thread), 7% on a 197 x 768 x 3072 product at 2 threads.
MEMC_AVX512 void packRowPanels512(const float *a, int64_t lda, int64_t m,
                                  int64_t kc, float *dst) {
  for (int64_t i = 0; i < m; i += kMA) {
    int rows = int(std::min<int64_t>(kMA, m - i));
    float *tile = dst + (i / kMA) * kc * kMA;
    for (int64_t k = 0; k < kc; k += 16) {
      int64_t live = std::min<int64_t>(16, kc - k);
      __mmask16 lanes = lowLanes(live);
      __m512 r[16];
#pragma GCC unroll 16
      for (int q = 0; q < 16; ++q) {
        if (q < rows)
          _mm_prefetch(reinterpret_cast<const char *>(a + (i + q) * lda + k +
                                                      kPackAhead),
                       _MM_HINT_T0);
        r[q] = q < rows ? _mm512_maskz_loadu_ps(lanes, a + (i + q) * lda + k)
                        : _mm512_setzero_ps();
      }
      transpose16x16(r);
      for (int64_t j = 0; j < live; ++j)
        _mm512_mask_storeu_ps(tile + (k + j) * kMA, __mmask16(0x0FFF), r[j]);
    }
  }
}
#pragma GCC diagnostic pop

//===----------------------------------------------------------------------===//
// AVX2
//===----------------------------------------------------------------------===//

/// One MR x 16 tile (half a panel, two registers a row); A as in tile512.
template <int MR, bool APacked = false>
MEMC_AVX2 inline void tile256(int64_t kc, const float *a, int64_t lda, int rows,
                              const float *b, float *c, int64_t ldc,
                              int64_t width, bool accumulate) {
  const float *ar[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    ar[r] = APacked ? a + r : a + (r < rows ? r : rows - 1) * lda;
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    acc0[r] = acc1[r] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b + k * kNR);
    __m256 b1 = _mm256_load_ps(b + k * kNR + 8);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      __m256 av = _mm256_broadcast_ss(APacked ? a + k * kMA + r : ar[r] + k);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
  }
  __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(width)), lanes);
  __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(width) - 8), lanes);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if (r >= rows)
      break;
    float *cr = c + r * ldc;
    if (accumulate) {
      acc0[r] = _mm256_add_ps(acc0[r], _mm256_maskload_ps(cr, mask0));
      acc1[r] = _mm256_add_ps(acc1[r], _mm256_maskload_ps(cr + 8, mask1));
    }
    _mm256_maskstore_ps(cr, mask0, acc0[r]);
    _mm256_maskstore_ps(cr + 8, mask1, acc1[r]);
  }
}

MEMC_AVX2 void panel256(int64_t m, int64_t kc, const float *a, int64_t lda,
                        const float *b, float *c, int64_t ldc, int64_t width,
                        bool accumulate) {
  for (int64_t half = 0; half < 2 && half * 16 < width; ++half) {
    int64_t live = std::min<int64_t>(16, width - half * 16);
    for (int64_t i = 0; i < m; i += 6) {
      int rows = int(std::min<int64_t>(6, m - i));
      const float *ai = a + i * lda;
      float *ci = c + i * ldc + half * 16;
      const float *bh = b + half * 16;
      if (rows > 3)
        tile256<6>(kc, ai, lda, rows, bh, ci, ldc, live, accumulate);
      else
        tile256<3>(kc, ai, lda, rows, bh, ci, ldc, live, accumulate);
    }
  }
}

//===----------------------------------------------------------------------===//
// Plain loops (no AVX2)
//===----------------------------------------------------------------------===//

void panelScalar(int64_t m, int64_t kc, const float *a, int64_t lda,
                 const float *b, float *c, int64_t ldc, int64_t width,
                 bool accumulate) {
  for (int64_t i = 0; i < m; ++i) {
    float acc[kNR] = {};
    for (int64_t k = 0; k < kc; ++k) {
      float av = a[i * lda + k];
      for (int64_t t = 0; t < kNR; ++t)
        acc[t] += av * b[k * kNR + t];
    }
    for (int64_t t = 0; t < width; ++t)
      c[i * ldc + t] = accumulate ? c[i * ldc + t] + acc[t] : acc[t];
  }
}

using Isa = PackedGemmIsa;

Isa detectIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return Isa::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return Isa::AVX2;
  return Isa::Scalar;
}

std::atomic<int> gIsaCap{int(Isa::AVX512)};

/// Slice s of `slices` of the lines of [p, p + floats) into L2.
inline void prefetchSliceToL2(const float *p, int64_t floats, int64_t s,
                              int64_t slices) {
  const char *bytes = reinterpret_cast<const char *>(p);
  int64_t size = floats * int64_t(sizeof(float));
  int64_t lo = size * s / slices / 64 * 64, hi = size * (s + 1) / slices;
  for (int64_t o = lo; o < hi; o += 64)
    _mm_prefetch(bytes + o, _MM_HINT_T1);
}

void prefetchToL2(const float *p, int64_t floats) {
  prefetchSliceToL2(p, floats, 0, 1);
}

//===----------------------------------------------------------------------===//
// The cache of packed weights
//===----------------------------------------------------------------------===//

struct FreeHugePaged {
  void operator()(float *p) const { freeHugePaged(p); }
};

/// Storage for a packed copy of `floats` floats (its size in `bytes`), or
/// null. Every layer reads its weight once a call, so a model's weights
/// are walked end to end each run: on huge pages (HugePages.h).
float *allocatePacked(size_t floats, size_t &bytes) {
  bytes = alignedBytes(floats);
  return static_cast<float *>(allocateHugePaged(bytes));
}

struct Entry {
  PackedB b;
  PackedA a;
  std::unique_ptr<float, FreeHugePaged> storage;
  size_t bytes = 0;
};

/// What a cached copy of a weight is.
enum class Form { RightPanels, LeftPanels, Transformed };

/// (address, rows, columns, leading dimension, transposed, form, which
/// transform of a Transformed form)
using Key =
    std::tuple<const float *, int64_t, int64_t, int64_t, bool, Form, int>;

struct Cache {
  std::mutex mutex;
  std::map<Key, Entry> entries;
  size_t bytes = 0;
};

Cache &cache() {
  static Cache *c = new Cache; // never destroyed: calls may outlive statics
  return *c;
}

/// op(B) into panels of 32 columns: element (k, j) is b[k * ldb + j], or
/// b[j * ldb + k] when transposed.
bool packRight(const float *b, int64_t k, int64_t n, int64_t ldb,
               bool transposed, Entry &e) {
  int64_t panels = (n + kNR - 1) / kNR;
  float *data = allocatePacked(size_t(panels * k * kNR), e.bytes);
  if (!data)
    return false;
  e.b = packPanels(b, k, n, ldb, transposed, data);
  e.storage.reset(data);
  return true;
}

/// op(A) into panels of 12 rows: element (i, k) is a[i * lda + k], or
/// a[k * lda + i] when transposed.
bool packLeft(const float *a, int64_t m, int64_t k, int64_t lda,
              bool transposed, Entry &e) {
  int64_t panels = (m + kMA - 1) / kMA;
  float *data = allocatePacked(size_t(panels * k * kMA), e.bytes);
  if (!data)
    return false;
  for (int64_t p = 0; p < panels; ++p) {
    float *dst = data + p * k * kMA;
    int64_t m0 = p * kMA, live = std::min(kMA, m - m0);
    std::memset(dst, 0, size_t(k) * kMA * sizeof(float));
    for (int64_t r = 0; r < live; ++r)
      for (int64_t kk = 0; kk < k; ++kk)
        dst[kk * kMA + r] =
            transposed ? a[kk * lda + m0 + r] : a[(m0 + r) * lda + kk];
  }
  e.storage.reset(data);
  e.a = PackedA{m, k, data};
  return true;
}

/// The cached entry for `key`, packed by `pack` on first use; null when
/// its storage cannot be allocated.
template <typename Pack> const Entry *lookup(const Key &key, Pack pack) {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.entries.find(key);
  if (it != c.entries.end())
    return &it->second;
  Entry e;
  if (!pack(e))
    return nullptr;
  c.bytes += e.bytes;
  return &c.entries.emplace(key, std::move(e)).first->second;
}

/// Columns of B per block packed by packedGemmA: a block of kKC x 256
/// floats (256 KiB) stays in L2 while every panel of A passes over it.
constexpr int64_t kNCA = 256;

/// Columns of C per block of packedGemmA when B is read in place, K is one
/// block and the call's share of C is over kWideCBytes: each row tile then
/// stores 4 KiB runs of its rows, not 1 KiB. MobileNetV2's 96 x 12544 x 16
/// expansion, whose rows are planes of a padded 114 x 114 buffer 52 KB
/// apart, at 2 threads: 0.32-0.38 -> 0.30-0.33 ms a run (512: 0.32-0.35;
/// 2048: 0.30-0.32), its 144 x 3136 x 24 ones 0.28-0.31 -> 0.26-0.27. A C
/// that stays in the caches gains nothing and loses what L1 held across
/// the row tiles: its 192 x 784 x 32 ones (0.3 MB a thread) 0.151-0.156 ->
/// 0.158-0.163, the CNN example's 16 x 1024 x 27 layer (64 KB) 0.041 ->
/// 0.044 ms the model.
constexpr int64_t kNCAInPlace = 1024;
constexpr int64_t kWideCBytes = int64_t(512) << 10;

/// The calling thread's buffer for packedGemmA's blocks of B, kBlock rows
/// of them.
float *rightBlockBuffer(int64_t kBlock) {
  thread_local ScratchBuffer buffer;
  return buffer.get(size_t(kBlock * kNCA));
}

/// The calling thread's buffer for packedGemmA's partial sums of a block of
/// columns when there is no C: `rows` rows of kNCA.
float *partialSumBuffer(int64_t rows) {
  thread_local ScratchBuffer buffer;
  return buffer.get(size_t(rows * kNCA));
}

/// B's rows [0, kc) x columns [0, nc) (row stride ldb) into panels of 32
/// columns of kc rows, zero past nc.
void packRightBlock(const float *b, int64_t ldb, int64_t kc, int64_t nc,
                    float *dst) {
  for (int64_t p = 0; p * kNR < nc; ++p) {
    int64_t live = std::min(kNR, nc - p * kNR);
    float *panel = dst + p * kc * kNR;
    const float *src = b + p * kNR;
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t t = 0; t < kNR; ++t)
        panel[k * kNR + t] = t < live ? src[k * ldb + t] : 0.0f;
  }
}

/// The same with 64-byte loads and stores: a row of a panel is one line.
MEMC_AVX512 void packRightBlock512(const float *b, int64_t ldb, int64_t kc,
                                   int64_t nc, float *dst) {
  for (int64_t p = 0; p * kNR < nc; ++p) {
    int64_t live = std::min(kNR, nc - p * kNR);
    __mmask16 m0 = lowLanes(live), m1 = lowLanes(live - 16);
    float *panel = dst + p * kc * kNR;
    const float *src = b + p * kNR;
    for (int64_t k = 0; k < kc; ++k) {
      _mm512_store_ps(panel + k * kNR, _mm512_maskz_loadu_ps(m0, src));
      _mm512_store_ps(panel + k * kNR + 16,
                      _mm512_maskz_loadu_ps(m1, src + 16));
      src += ldb;
    }
  }
}

/// A window operand's rows [k0, k0 + kc) x columns [j0, j0 + nc) into
/// panels of 32 columns, zero past nc: one element at a time.
void packWindowBlock(const RightOperand &b, int64_t k0, int64_t kc, int64_t j0,
                     int64_t nc, float *dst) {
  for (int64_t p = 0; p * kNR < nc; ++p) {
    int64_t live = std::min(kNR, nc - p * kNR);
    float *panel = dst + p * kc * kNR;
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t t = 0; t < kNR; ++t)
        panel[k * kNR + t] = t < live ? b.at(k0 + k, j0 + p * kNR + t) : 0.0f;
  }
}

/// Lanes t < live (at most 16) of data[row + column[t]], the rest zero, for
/// the rows of a window operand: the columns are cut once into at most
/// three contiguous runs, one masked load each per row (a stride-1
/// convolution's pixels: 16 of them span at most three output rows of 7 or
/// more), or into at most three runs of every other float, two masked
/// loads and a permute each (a stride-2 convolution's; gathered, its
/// packing took as long as the product's FMAs on MobileNetV2's first
/// convolution, K 27), and are gathered otherwise, or read one at a time
/// when their offsets are too far apart for 32-bit indices.
class WindowLanes {
public:
  /// Columns at data + column[t].
  MEMC_AVX512 WindowLanes(const float *data, const int64_t *column,
                          int64_t live)
      : data(data), column(column), live(live) {
    // Runs of stride 1, else of stride 2 (a strided convolution's pixels).
    if (!findRuns(1) &&
        !(live > 1 && column[1] - column[0] == 2 && findRuns(2)))
      kind = Kind::Gather;
    if (kind != Kind::Gather)
      return;
    int64_t lo = *std::min_element(column, column + live);
    int64_t hi = *std::max_element(column, column + live);
    if (hi - lo > INT32_MAX) {
      kind = Kind::OneByOne;
      return;
    }
    alignas(64) int32_t offsets[16] = {};
    for (int64_t t = 0; t < live; ++t)
      offsets[t] = int32_t(column[t] - lo);
    index = _mm512_load_si512(offsets);
    gatherBase = data + lo;
  }
  /// `live` contiguous columns at data + t.
  MEMC_AVX512 WindowLanes(const float *data, int64_t live)
      : data(data), live(live) {
    base[0] = data;
    mask[0] = lowLanes(live);
    runs = 1;
  }

  /// store(i, lanes of row(i)) for i in [0, count), the way of loading
  /// chosen once.
  template <typename Row, typename Store>
  MEMC_AVX512 void load(int64_t count, Row row, Store store) const {
    switch (kind) {
    case Kind::Runs:
      for (int64_t i = 0; i < count; ++i) {
        int64_t at = row(i);
        __m512 v = _mm512_maskz_loadu_ps(mask[0], base[0] + at);
        for (int s = 1; s < runs; ++s)
          v = _mm512_mask_loadu_ps(v, mask[s], base[s] + at);
        store(i, v);
      }
      return;
    case Kind::Runs2: {
      // Lane t of a run is float 2t from its base: the run's floats come
      // in two masked loads of 16, and its lanes are their even floats.
      const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                             20, 22, 24, 26, 28, 30);
      for (int64_t i = 0; i < count; ++i) {
        int64_t at = row(i);
        __m512 v = _mm512_setzero_ps();
        for (int s = 0; s < runs; ++s) {
          __m512 lo = _mm512_maskz_loadu_ps(loFloats[s], base[s] + at);
          __m512 hi = _mm512_maskz_loadu_ps(hiFloats[s], base[s] + at + 16);
          v = _mm512_mask_mov_ps(v, mask[s],
                                 _mm512_permutex2var_ps(lo, even, hi));
        }
        store(i, v);
      }
      return;
    }
    case Kind::Gather:
      for (int64_t i = 0; i < count; ++i)
        store(i, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lowLanes(live),
                                          index, gatherBase + row(i), 4));
      return;
    case Kind::OneByOne:
      for (int64_t i = 0; i < count; ++i) {
        alignas(64) float lanes[16] = {};
        for (int64_t t = 0; t < live; ++t)
          lanes[t] = data[row(i) + column[t]];
        store(i, _mm512_load_ps(lanes));
      }
      return;
    }
  }

private:
  /// Cuts the columns into at most kMaxRuns runs of `stride` (1 or 2);
  /// false when they need more.
  MEMC_AVX512 bool findRuns(int64_t stride) {
    runs = 0;
    for (int64_t start = 0; start < live;) {
      int64_t end = start + 1;
      while (end < live &&
             column[end] == column[start] + stride * (end - start))
        ++end;
      if (runs == kMaxRuns)
        return false;
      // Lane t of this run reads base[t * stride]; the other lanes, and
      // the floats between a stride-2 run's, are masked off and never
      // touch memory.
      base[runs] = data + column[start] - stride * start;
      mask[runs] = __mmask16(lowLanes(end) & ~lowLanes(start));
      if (stride == 2) {
        uint32_t floats = 0; // bit f: float f of the run's 32 is a lane's
        for (int64_t t = start; t < end; ++t)
          floats |= 1u << (2 * t);
        loFloats[runs] = __mmask16(floats & 0xFFFF);
        hiFloats[runs] = __mmask16(floats >> 16);
      }
      ++runs;
      start = end;
    }
    kind = stride == 2 ? Kind::Runs2 : Kind::Runs;
    return true;
  }

  static constexpr int kMaxRuns = 3;
  enum class Kind { Runs, Runs2, Gather, OneByOne };
  Kind kind = Kind::Runs;
  const float *data;
  const int64_t *column = nullptr;
  int64_t live;
  const float *base[kMaxRuns] = {};
  __mmask16 mask[kMaxRuns] = {};
  __mmask16 loFloats[kMaxRuns] = {}, hiFloats[kMaxRuns] = {};
  int runs = 0;
  __m512i index;
  const float *gatherBase = nullptr;
};

/// The same a 16-column half panel at a time (WindowLanes).
MEMC_AVX512 void packWindowBlock512(const RightOperand &b, int64_t k0,
                                    int64_t kc, int64_t j0, int64_t nc,
                                    float *dst) {
  const int64_t *rows = b.rowOffset + k0;
  for (int64_t h = 0; h * 16 < nc; ++h) {
    float *out = dst + (h / 2) * kc * kNR + (h % 2) * 16;
    WindowLanes lanes(b.data, b.columnOffset + j0 + h * 16,
                      std::min<int64_t>(16, nc - h * 16));
    lanes.load(
        kc, [&](int64_t k) { return rows[k]; },
        [&](int64_t k, __m512 v)
            MEMC_AVX512 { _mm512_store_ps(out + k * kNR, v); });
  }
  // A block whose last panel is half full: its upper half is zero.
  if (int64_t halves = (nc + 15) / 16; halves % 2) {
    float *out = dst + (halves / 2) * kc * kNR + 16;
    for (int64_t k = 0; k < kc; ++k)
      _mm512_store_ps(out + k * kNR, _mm512_setzero_ps());
  }
}

/// Rows [k0, k0 + kc) x columns [j0, j0 + nc) of B into `block`'s panels.
void packRightOperandBlock(const RightOperand &b, int64_t k0, int64_t kc,
                           int64_t j0, int64_t nc, float *block,
                           PackedGemmIsa isa) {
  bool wide = isa == PackedGemmIsa::AVX512;
  if (b.isWindow()) {
    if (wide)
      packWindowBlock512(b, k0, kc, j0, nc, block);
    else
      packWindowBlock(b, k0, kc, j0, nc, block);
  } else if (wide) {
    packRightBlock512(b.data + k0 * b.ld + j0, b.ld, kc, nc, block);
  } else {
    packRightBlock(b.data + k0 * b.ld + j0, b.ld, kc, nc, block);
  }
}

/// The calling thread's buffers for packedGemmAT: B's columns as 12-row
/// panels, and C^T.
float *columnPanelBuffer(size_t floats) {
  thread_local ScratchBuffer buffer;
  return buffer.get(floats);
}
float *transposedProductBuffer(size_t floats) {
  thread_local ScratchBuffer buffer;
  return buffer.get(floats);
}

/// Columns [j0, j0 + live) (live <= pitch <= 16) of B's rows [k0, k0 +
/// kc) as one panel of op(B)^T: element (r, k) at dst[k * pitch + r], zero
/// past live (WindowLanes; a plain B's columns are one run).
MEMC_AVX512 void packColumnPanel512(const RightOperand &b, int64_t k0,
                                    int64_t kc, int64_t j0, int64_t live,
                                    int64_t pitch, float *dst) {
  const __mmask16 panelLanes = lowLanes(pitch);
  auto store = [&](int64_t k, __m512 v) MEMC_AVX512 {
    _mm512_mask_storeu_ps(dst + k * pitch, panelLanes, v);
  };
  if (b.isWindow())
    WindowLanes(b.data, b.columnOffset + j0, live)
        .load(
            kc, [&](int64_t k) { return b.rowOffset[k0 + k]; }, store);
  else
    WindowLanes(b.data + j0, live)
        .load(
            kc, [&](int64_t k) { return (k0 + k) * b.ld; }, store);
}

} // namespace

PackedB packPanels(const float *b, int64_t k, int64_t n, int64_t ldb,
                   bool transposed, float *dst) {
  if (!transposed) {
    // The layout of packedGemmA's blocks of B, with one block of all K.
    packRightOperandBlock(RightOperand{b, ldb}, 0, k, 0, n, dst,
                          packedGemmIsa());
    return PackedB{k, n, dst};
  }
  // Column j of op(B) is row j of B: walk it once, scattering by k.
  for (int64_t p = 0, panels = (n + kNR - 1) / kNR; p < panels; ++p) {
    float *panel = dst + p * k * kNR;
    int64_t n0 = p * kNR, live = std::min(kNR, n - n0);
    if (live < kNR)
      std::memset(panel, 0, size_t(k) * kNR * sizeof(float));
    for (int64_t t = 0; t < live; ++t) {
      const float *row = b + (n0 + t) * ldb;
      for (int64_t kk = 0; kk < k; ++kk)
        panel[kk * kNR + t] = row[kk];
    }
  }
  return PackedB{k, n, dst};
}

float *panelScratch(size_t floats) {
  thread_local ScratchBuffer buffer;
  return buffer.get(floats);
}

PackedGemmIsa packedGemmIsa() {
  static const Isa best = detectIsa();
  return Isa(std::min(int(best), gIsaCap.load(std::memory_order_relaxed)));
}

void limitPackedGemmIsa(PackedGemmIsa isa) {
  gIsaCap.store(int(isa), std::memory_order_relaxed);
}

const PackedB *packedWeight(const float *b, int64_t k, int64_t n, int64_t ldb,
                            bool transposed) {
  const Entry *e =
      lookup(Key{b, k, n, ldb, transposed, Form::RightPanels, 0},
             [&](Entry &e) { return packRight(b, k, n, ldb, transposed, e); });
  return e ? &e->b : nullptr;
}

const PackedA *packedWeightA(const float *a, int64_t m, int64_t k, int64_t lda,
                             bool transposed) {
  const Entry *e =
      lookup(Key{a, m, k, lda, transposed, Form::LeftPanels, 0},
             [&](Entry &e) { return packLeft(a, m, k, lda, transposed, e); });
  return e ? &e->a : nullptr;
}

const float *transformedWeight(const float *a, int64_t m, int64_t k,
                               int64_t lda, bool transposed, int transform,
                               size_t floats,
                               const std::function<void(float *)> &fill) {
  const Entry *e =
      lookup(Key{a, m, k, lda, transposed, Form::Transformed, transform},
             [&](Entry &e) {
               float *data = allocatePacked(floats, e.bytes);
               if (!data)
                 return false;
               fill(data);
               e.storage.reset(data);
               return true;
             });
  return e ? e->storage.get() : nullptr;
}

void forgetPackedWeights(const void *begin, size_t bytes) {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto lo = static_cast<const char *>(begin);
  for (auto it = c.entries.begin(); it != c.entries.end();) {
    auto at = reinterpret_cast<const char *>(std::get<0>(it->first));
    if (at >= lo && at < lo + bytes) {
      c.bytes -= it->second.bytes;
      it = c.entries.erase(it);
    } else {
      ++it;
    }
  }
}

size_t packedWeightBytes() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.bytes;
}

void packedGemm(int64_t m, int64_t p0, int64_t p1, const float *a, int64_t lda,
                const PackedB &b, float *c, int64_t ldc, bool accumulate) {
  if (m <= 0 || p0 >= p1)
    return;
  if (b.k == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i)
        std::fill(c + i * ldc + p0 * kNR, c + i * ldc + std::min(b.n, p1 * kNR),
                  0.0f);
    return;
  }
  Isa chosen = packedGemmIsa();
  // A's K blocks as row panels, when enough panels pass over each.
  float *rowPanels = nullptr;
  int64_t rowPanelFloats = (m + kMA - 1) / kMA * kMA * std::min(kKCB, b.k);
  if (chosen == Isa::AVX512 && p1 - p0 >= kMinPanelsToPackRows &&
      rowPanelFloats <= kMaxRowPanelFloats) {
    thread_local ScratchBuffer buffer;
    rowPanels = buffer.get(size_t(rowPanelFloats));
  }
  for (int64_t k0 = 0; k0 < b.k; k0 += kKCB) {
    int64_t kc = std::min(kKCB, b.k - k0);
    bool acc = accumulate || k0 > 0;
    if (rowPanels)
      packRowPanels512(a + k0, lda, m, kc, rowPanels);
    for (int64_t p = p0; p < p1; ++p) {
      const float *panel = b.panel(p) + k0 * kNR;
      const float *next = p + 1 < p1 ? b.panel(p + 1) + k0 * kNR : nullptr;
      int64_t width = std::min(kNR, b.n - p * kNR);
      const float *ak = a + k0;
      float *cp = c + p * kNR;
      switch (chosen) {
      case Isa::AVX512: {
        bool fullN = width == kNR;
        auto panelOf512 =
            rowPanels
                ? (fullN ? panel512<true, true> : panel512<false, true>)
                : (fullN ? panel512<true, false> : panel512<false, false>);
        panelOf512(m, kc, rowPanels ? rowPanels : ak, rowPanels ? kMA : lda,
                   panel, cp, ldc, width, acc, next);
        break;
      }
      case Isa::AVX2:
        if (next)
          prefetchToL2(next, kc * kNR);
        panel256(m, kc, ak, lda, panel, cp, ldc, width, acc);
        break;
      case Isa::Scalar:
        panelScalar(m, kc, ak, lda, panel, cp, ldc, width, acc);
        break;
      }
    }
  }
}

MEMC_AVX512 void packedGemv(int64_t p0, int64_t p1, const float *a,
                            const PackedB &b, float *c, bool accumulate) {
  constexpr int kChains = 4;
  for (int64_t p = p0; p < p1; ++p) {
    const float *panel = b.panel(p);
    __m512 lo[kChains], hi[kChains];
    for (int s = 0; s < kChains; ++s)
      lo[s] = hi[s] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + kChains <= b.k; k += kChains) {
      const float *row = panel + k * kNR;
#pragma GCC unroll 4
      for (int s = 0; s < kChains; ++s) {
        __m512 x = _mm512_set1_ps(a[k + s]);
        lo[s] = _mm512_fmadd_ps(x, _mm512_load_ps(row + s * kNR), lo[s]);
        hi[s] = _mm512_fmadd_ps(x, _mm512_load_ps(row + s * kNR + 16), hi[s]);
      }
    }
    for (int s = 0; k < b.k; ++k, ++s) {
      __m512 x = _mm512_set1_ps(a[k]);
      lo[s] = _mm512_fmadd_ps(x, _mm512_load_ps(panel + k * kNR), lo[s]);
      hi[s] = _mm512_fmadd_ps(x, _mm512_load_ps(panel + k * kNR + 16), hi[s]);
    }
    __m512 v0 =
        _mm512_add_ps(_mm512_add_ps(lo[0], lo[2]), _mm512_add_ps(lo[1], lo[3]));
    __m512 v1 =
        _mm512_add_ps(_mm512_add_ps(hi[0], hi[2]), _mm512_add_ps(hi[1], hi[3]));
    int64_t width = std::min(kNR, b.n - p * kNR);
    storeProductRow<RowFinisher>(0, v0, v1, c + p * kNR, lowLanes(width),
                                 lowLanes(width - 16), accumulate, nullptr);
  }
}

namespace {

/// arith.maximumf / minimumf on scalars: NaN when either is NaN, +0 > -0.
float maximumOf(float a, float b) {
  if (a != a || b != b)
    return a != a ? a : b;
  if (a == b)
    return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
float minimumOf(float a, float b) {
  if (a != a || b != b)
    return a != a ? a : b;
  if (a == b)
    return std::signbit(a) ? a : b;
  return a < b ? a : b;
}

} // namespace

void Epilogue::apply(int64_t i, int64_t j, float v) const {
  if (bias)
    v = v + bias[i];
  if (addend)
    v = *addendAt(i, j) + v;
  *at(i, j) = minimumOf(maximumOf(v, lo), hi);
}

void Epilogue::applyAll(const float *c, int64_t ldc, int64_t m,
                        int64_t n) const {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j)
      apply(i, j, c[i * ldc + j]);
    fillBorder(i, 0, n);
  }
}

void Epilogue::fillBorder(int64_t i, int64_t j, int64_t count) const {
  float *row = d + i * ldd;
  borderPieces(j, count, [&](int64_t offset, int64_t floats) {
    std::fill_n(row + offset, floats, padValue);
  });
}

namespace {

/// C's rows [i0, i1) x columns [n0, n1) = op(A) B over K's [k0, k1)
/// (element (i, k) of op(A) is aAt(i, k)), plus C's old value when
/// accumulating, by plain loops and through `epilogue` when there is one:
/// the packed kernels' way out when their buffers cannot be had.
template <typename AAt>
void plainProduct(int64_t i0, int64_t i1, int64_t n0, int64_t n1, int64_t k0,
                  int64_t k1, AAt aAt, const RightOperand &b, float *c,
                  int64_t ldc, bool accumulate, const Epilogue *epilogue) {
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = n0; j < n1; ++j) {
      float sum = 0;
      for (int64_t kk = k0; kk < k1; ++kk)
        sum += aAt(i, kk) * b.at(kk, j);
      float v = !accumulate ? sum
                : k1 > k0   ? c[i * ldc + j] + sum
                            : c[i * ldc + j];
      if (epilogue)
        epilogue->apply(i, j, v);
      else
        c[i * ldc + j] = v;
    }
  if (epilogue)
    for (int64_t i = i0; i < i1; ++i)
      epilogue->fillBorder(i, n0, n1 - n0);
}

} // namespace

namespace {

/// Whether each of a window's 32-column panels from column n0 to n1 is
/// read in place by the tiles (WindowRows): its columns 0-15 one run of
/// the input, and 16-31 another, and it has more than kNarrowColumns of
/// them (narrower panels take narrowColumns512, which reads a packed one).
bool windowPanelsAreRuns(const RightOperand &b, int64_t n0, int64_t n1) {
  for (int64_t j0 = n0; j0 < n1; j0 += kNR) {
    int64_t end = std::min(n1, j0 + kNR);
    if (end - j0 <= kNarrowColumns)
      return false;
    for (int64_t j = j0 + 1; j < end; ++j)
      if (j != j0 + 16 && b.columnOffset[j] != b.columnOffset[j - 1] + 1)
        return false;
  }
  return true;
}

} // namespace

int64_t halvesBlock(int64_t m, int64_t n, int64_t k) {
  if (n > 256 || k < 4 * m || k <= kKC || k > 4 * kKC)
    return 0;
  return (k / 2 + 7) / 8 * 8;
}

int64_t transposedHalvesBlock(int64_t m, int64_t n, int64_t k) {
  if (n > 128 || k < 3 * m || k <= 512 || k > 2 * kKCB)
    return 0;
  return (k / 2 + 7) / 8 * 8;
}

void packedGemmA(const PackedA &a, int64_t i0, int64_t i1, int64_t n0,
                 int64_t n1, const RightOperand &b, float *c, int64_t ldc,
                 bool accumulate, const Epilogue *epilogue, KBlocks k) {
  if (i0 >= i1 || n0 >= n1)
    return;
  int64_t kBegin = k.begin, kEnd = k.end < 0 ? a.k : k.end;
  int64_t kBlock = k.size > 0 ? k.size : kKC;
  int64_t rowEnd = std::min(a.m, i1 * kMA);
  float *block = kEnd > kBegin ? rightBlockBuffer(kBlock) : nullptr;
  // Without C (the fused call of a memc.gemm_epilogue: an epilogue, beta
  // 0), a block of columns' partial sums over K's blocks go to this
  // thread's scratch, its rows by kNCA; K in one block stores none.
  bool blocks = kEnd - kBegin > kBlock;
  float *partial = nullptr;
  if (!c && blocks)
    partial = partialSumBuffer(rowEnd - i0 * kMA);
  if (!block || (!c && blocks && !partial)) {
    // K = 0, or no memory for the buffers: plain loops
    plainProduct(
        i0 * kMA, rowEnd, n0, n1, kBegin, kEnd,
        [&](int64_t i, int64_t k) {
          return a.panel(i / kMA)[k * kMA + i % kMA];
        },
        b, c, ldc, accumulate, epilogue);
    return;
  }
  // Without AVX-512, the tile an epilogue finishes: the kernel stores it
  // here, in L1, and the epilogue writes it on to D. With it, the kernel
  // finishes its registers itself. C is not written either way.
  alignas(64) float tile[kMA * kNR];
  Isa chosen = packedGemmIsa();
  // On AVX-512 a plain B is read where it is, not packed: its tiles load
  // a row's 32 columns from each of the block's kc rows, and the first
  // row tile brings the next panel's in. Packing cost 9-37% of the 1x1
  // convolutions with few filters (the copy is shared by few row tiles)
  // and bought nothing with many. Alone, 1 thread, us: 16x12544x32 164 ->
  // 148, 24x3136x144 207 -> 176, 32x784x192 82 -> 69, 96x196x576 156 ->
  // 144, 576x196x96 160 -> 159. Without the prefetch, 2 threads lost it
  // all and more: half of B is in the other core's cache there.
  bool direct = chosen == Isa::AVX512 && !b.isWindow();
  // So is a window whose panels are runs of its input (WindowRows): a
  // stride-1 convolution's output rows of 32 pixels, or of 16. Packing
  // its block took 22% of the CNN example's 3 -> 16 filter layer at 32 x
  // 32 (K 27: each panel's copy serves two row tiles of few k): 10.1 ->
  // 8.6 us alone.
  bool inPlace =
      chosen == Isa::AVX512 && b.isWindow() && windowPanelsAreRuns(b, n0, n1);
  // Read in place with K in one block, B's block is only the loop order:
  // where this call's share of C outgrows L1 and L2's reach (kWideCBytes),
  // wider blocks give each row tile's rows of C longer runs to store.
  int64_t shareOfC = (rowEnd - i0 * kMA) * (n1 - n0) * int64_t(sizeof(float));
  int64_t ncBlock =
      (direct || inPlace) && kEnd - kBegin <= kBlock && shareOfC > kWideCBytes
          ? kNCAInPlace
          : kNCA;
  // Where the finished columns go, per panel of a block. (This thread's,
  // not the stack's: 32 of them are 66 KB, which every call's frame would
  // spread its optionals' flags over; the CNN example lost 5% to that.)
  thread_local std::optional<TileColumns> columns[kNCAInPlace / kNR];
  for (int64_t nb = n0; nb < n1; nb += ncBlock) {
    int64_t nc = std::min(ncBlock, n1 - nb);
    for (int64_t k0 = kBegin; k0 < kEnd; k0 += kBlock) {
      int64_t kc = std::min(kBlock, kEnd - k0);
      bool acc = accumulate || k0 > kBegin;
      bool finish = epilogue && k0 + kc >= kEnd;
      if (finish && chosen == Isa::AVX512)
        for (int64_t p = 0; p * kNR < nc; ++p)
          columns[p].emplace(*epilogue, nb + p * kNR,
                             std::min(kNR, nc - p * kNR));
      if (!direct && !inPlace)
        packRightOperandBlock(b, k0, kc, nb, nc, block, chosen);
      // Where row tile i's sums for panel p go: C, this thread's partial
      // sums, or (K in one block, no C) nowhere: read and written by no one.
      auto sumsOf = [&](int64_t i, int64_t p) -> float * {
        return c         ? c + i * kMA * ldc + nb + p * kNR
               : partial ? partial + (i - i0) * kMA * kNCA + p * kNR
                         : nullptr;
      };
      // A's panel (kc x 12, 12 KiB) stays in L1 while the block's panels
      // stream from L2 past it.
      for (int64_t i = i0; i < i1; ++i) {
        const float *ap = a.panel(i) + k0 * kMA;
        int rows = int(std::min(kMA, a.m - i * kMA));
        for (int64_t p = 0; p * kNR < nc; ++p) {
          // The next row tile's panel of A comes into L2 a slice per
          // panel of this one. A model's weights outgrow L2, so each panel
          // comes from L3, and the L2 streamer does not cross 4 KiB pages
          // (a panel of K 96 is 4.5 KiB). At 1 thread, in a loop that
          // streams its weights from L3 as a model does, 576x196x96 took
          // 178-183 -> 156-165 us and 96x196x576 163-168 -> 145-157;
          // MobileNetV2 5.84 -> 5.74 ms (2 threads: the same).
          if (i + 1 < i1)
            prefetchSliceToL2(a.panel(i + 1) + k0 * kMA, kc * kMA, p,
                              (nc + kNR - 1) / kNR);
          const float *panel =
              direct ? b.data + k0 * b.ld + nb + p * kNR : block + p * kc * kNR;
          int64_t ldb = direct ? b.ld : kNR;
          // Read in place, the next panel's B comes in with this one's
          // first row tile (its lines are far apart, and at 2 threads
          // half of them in the other core's cache).
          bool prefetch = direct && i == i0 && (p + 1) * kNR < nc;
          const float *next = prefetch ? panel + kNR : nullptr;
          int64_t nextRows = prefetch ? kc : 0;
          int64_t width = std::min(kNR, nc - p * kNR);
          float *ci = sumsOf(i, p);
          int64_t ldci = c ? ldc : kNCA;
          if (inPlace) {
            int64_t j = nb + p * kNR;
            const int64_t *column = b.columnOffset + j;
            WindowRows rowsAt{b.rowOffset + k0,
                              width > 16 ? column[16] - column[0] : 16};
            const float *start = b.data + column[0];
            if (finish)
              finishedTile512(kc, ap, rows, start, rowsAt, nullptr, 0, ci, ldci,
                              width, acc, *epilogue, *columns[p], i * kMA, j);
            else if (width == kNR)
              rowsTile512<true, true>(kc, ap, 0, rows, start, ci, ldci,
                                      lowLanes(16), lowLanes(16), acc, nullptr,
                                      0, nullptr, rowsAt);
            else
              rowsTile512<false, true>(kc, ap, 0, rows, start, ci, ldci,
                                       lowLanes(width), lowLanes(width - 16),
                                       acc, nullptr, 0, nullptr, rowsAt);
            continue;
          }
          if (chosen == Isa::AVX512 && width <= kNarrowColumns) {
            // Two row tiles at a time: tile i and the next, when this
            // call has it (then skipped on its turn).
            if ((i - i0) % 2 == 1)
              continue;
            int count = i + 1 < i1 ? 2 : 1;
            ColumnsTileRows tiles[2];
            std::optional<RowFinisher> finishers[2];
            for (int t = 0; t < count; ++t) {
              int64_t it = i + t;
              if (finish)
                finishers[t].emplace(*epilogue, *columns[p], it * kMA,
                                     nb + p * kNR, width);
              tiles[t] = {a.panel(it) + k0 * kMA,
                          int(std::min(kMA, a.m - it * kMA)), sumsOf(it, p),
                          finish ? &*finishers[t] : nullptr};
            }
            narrowColumns512(kc, tiles, count, panel, ldb, ldci, width, acc);
            continue;
          }
          if (finish && chosen == Isa::AVX512) {
            // The partial sums so far (earlier blocks of K, or C's old
            // value) are read from C.
            finishedTile512(kc, ap, rows, panel, ldb, next, nextRows, ci, ldci,
                            width, acc, *epilogue, *columns[p], i * kMA,
                            nb + p * kNR);
            continue;
          }
          if (finish) {
            // The partial sums so far come along into the tile.
            if (acc)
              for (int r = 0; r < rows; ++r)
                std::memcpy(tile + r * kNR, ci + r * ldci,
                            size_t(width) * sizeof(float));
            ci = tile;
            ldci = kNR;
          }
          switch (chosen) {
          case Isa::AVX512:
            if (width == kNR)
              rowsTile512<true, true>(kc, ap, 0, rows, panel, ci, ldci,
                                      lowLanes(16), lowLanes(16), acc, next,
                                      nextRows, nullptr, ldb);
            else
              rowsTile512<false, true>(kc, ap, 0, rows, panel, ci, ldci,
                                       lowLanes(width), lowLanes(width - 16),
                                       acc, next, nextRows, nullptr, ldb);
            break;
          case Isa::AVX2:
            for (int64_t half = 0; half < 2 && half * 16 < width; ++half)
              for (int64_t r0 = 0; r0 < rows; r0 += 6)
                tile256<6, true>(
                    kc, ap + r0, 0, int(std::min<int64_t>(6, rows - r0)),
                    panel + half * 16, ci + r0 * ldci + half * 16, ldci,
                    std::min<int64_t>(16, width - half * 16), acc);
            break;
          case Isa::Scalar:
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t t = 0; t < width; ++t) {
                float sum = 0;
                for (int64_t k = 0; k < kc; ++k)
                  sum += ap[k * kMA + r] * panel[k * kNR + t];
                float &out = ci[r * ldci + t];
                out = acc ? out + sum : sum;
              }
            break;
          }
          if (!finish)
            continue;
          for (int r = 0; r < rows; ++r) {
            for (int64_t t = 0; t < width; ++t)
              epilogue->apply(i * kMA + r, nb + p * kNR + t, tile[r * kNR + t]);
            epilogue->fillBorder(i * kMA + r, nb + p * kNR, width);
          }
        }
      }
    }
  }
}

/// An AVX-512 CPU only (the caller chooses by packedGemmIsa).
MEMC_AVX512 bool transposedSums(const PackedB &aT, int64_t p0, int64_t p1,
                                int64_t n0, int64_t n1, const RightOperand &b,
                                KBlocks k, float *ct, int64_t ldct) {
  int64_t n = n1 - n0;
  int64_t kBegin = k.begin, kEnd = k.end < 0 ? aT.k : k.end;
  int64_t kBlock = k.size > 0 ? k.size : kKCB;
  // Panels of 12 of B's columns; one left over joins the last of them
  // (kWideMR rows, kWidePitch floats a k), so 49 pixels are 12, 12, 12 and
  // 13.
  int64_t columnPanels = (n + kMA - 1) / kMA;
  if (columnPanels > 1 && n % kMA == 1)
    --columnPanels;
  auto panelRows = [&](int64_t q) {
    return q + 1 < columnPanels ? kMA : n - q * kMA;
  };
  int64_t kcMax = std::max<int64_t>(1, std::min(kBlock, kEnd - kBegin));
  float *columns =
      columnPanelBuffer(size_t((columnPanels * kMA + kWidePitch) * kcMax));
  if (!columns)
    return false;
  if (kEnd <= kBegin)
    for (int64_t j = 0; j < n; ++j)
      std::fill_n(ct + j * ldct, (p1 - p0) * kNR, 0.0f);
  // C^T = B^T op(A)^T: B's columns are the tiles' rows, the filters their
  // 32 lanes. Each K block's columns are packed once, in L2, for all of
  // this call's filter panels.
  for (int64_t k0 = kBegin; k0 < kEnd; k0 += kBlock) {
    int64_t kc = std::min(kBlock, kEnd - k0);
    for (int64_t q = 0; q < columnPanels; ++q)
      packColumnPanel512(b, k0, kc, n0 + q * kMA, panelRows(q),
                         panelRows(q) > kMA ? kWidePitch : kMA,
                         columns + q * kc * kMA);
    for (int64_t p = p0; p < p1; ++p) {
      const float *panel = aT.panel(p) + k0 * kNR;
      const float *next = p + 1 < p1 ? aT.panel(p + 1) + k0 * kNR : nullptr;
      int64_t width = std::min(kNR, aT.n - p * kNR);
      __mmask16 m0 = lowLanes(width), m1 = lowLanes(width - 16);
      for (int64_t q = 0; q < columnPanels; ++q) {
        const float *cols = columns + q * kc * kMA;
        int rows = int(panelRows(q));
        float *out = ct + q * kMA * ldct + (p - p0) * kNR;
        NextRows pf = nextRowsOf(next, kc, q, columnPanels);
        if (rows > kMA && width == kNR)
          tile512<kWideMR, true, true>(kc, cols, 0, rows, panel, out, ldct, m0,
                                       m1, k0 > kBegin, pf.from, pf.rows);
        else if (rows > kMA && m1 == 0)
          halfTile512<kWideMR, true>(kc, cols, 0, rows, panel, out, ldct, m0,
                                     k0 > kBegin);
        else if (rows > kMA)
          tile512<kWideMR, false, true>(kc, cols, 0, rows, panel, out, ldct, m0,
                                        m1, k0 > kBegin, pf.from, pf.rows);
        else if (width == kNR)
          rowsTile512<true, true>(kc, cols, 0, rows, panel, out, ldct, m0, m1,
                                  k0 > kBegin, pf.from, pf.rows);
        else
          rowsTile512<false, true>(kc, cols, 0, rows, panel, out, ldct, m0, m1,
                                   k0 > kBegin, pf.from, pf.rows);
      }
    }
  }
  return true;
}

MEMC_AVX512 void finishTransposed(const float *ct, int64_t ldct, int64_t i0,
                                  int64_t r0, int64_t r1, int64_t n0, int64_t n,
                                  float *c, int64_t ldc, bool accumulate,
                                  const Epilogue *epilogue) {
  // C = (C^T)^T, plus C's old value when accumulating, 32 columns of a
  // row at a time (two gathers down C^T's columns); through the epilogue
  // when there is one. (Element by element, this took 9% of the call.)
  const __m512i down = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(int32_t(ldct)));
  for (int64_t t0 = 0; t0 < n; t0 += kNR) {
    int64_t width = std::min(kNR, n - t0);
    __mmask16 m0 = lowLanes(width), m1 = lowLanes(width - 16);
    std::optional<TileColumns> columns;
    if (epilogue)
      columns.emplace(*epilogue, n0 + t0, width);
    for (int64_t f0 = r0; f0 < r1; f0 += kMA) {
      int rows = int(std::min(kMA, r1 - f0));
      auto rowsOut = [&](const auto *finish) MEMC_AVX512 {
        for (int r = 0; r < rows; ++r) {
          const float *src = ct + t0 * ldct + (f0 - i0 + r);
          __m512 v0 =
              _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m0, down, src, 4);
          __m512 v1 = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m1, down,
                                               src + 16 * ldct, 4);
          storeProductRow(r, v0, v1, c ? c + (f0 + r) * ldc + n0 + t0 : nullptr,
                          m0, m1, accumulate, finish);
        }
      };
      if (!epilogue) {
        rowsOut(static_cast<const RowFinisher *>(nullptr));
      } else if (!withFastFinisher(*epilogue, *columns, f0, n0 + t0, width,
                                   [&](const auto &finish)
                                       MEMC_AVX512 { rowsOut(&finish); })) {
        RowFinisher finish(*epilogue, *columns, f0, n0 + t0, width);
        rowsOut(&finish);
      }
    }
  }
}

MEMC_AVX512 void packedGemmAT(const PackedB &aT, int64_t p0, int64_t p1,
                              int64_t n0, int64_t n1, const RightOperand &b,
                              float *c, int64_t ldc, bool accumulate,
                              const Epilogue *epilogue, int64_t kBlock) {
  int64_t i0 = p0 * kNR, i1 = std::min(aT.n, p1 * kNR);
  int64_t n = n1 - n0;
  if (i0 >= i1 || n <= 0)
    return;
  int64_t columnPanels = (n + kMA - 1) / kMA;
  int64_t ldct = (p1 - p0) * kNR;
  float *ct = transposedProductBuffer(size_t(columnPanels * kMA * ldct));
  if (!ct || !transposedSums(aT, p0, p1, n0, n1, b, {0, aT.k, kBlock}, ct,
                             ldct)) { // no memory for the buffers: plain loops
    plainProduct(
        i0, i1, n0, n1, 0, aT.k,
        [&](int64_t i, int64_t k) {
          return aT.panel(i / kNR)[k * kNR + i % kNR];
        },
        b, c, ldc, accumulate, epilogue);
    return;
  }
  finishTransposed(ct, ldct, i0, i0, i1, n0, n, c, ldc, accumulate, epilogue);
}

namespace {

/// Pixels per tile of windowGemmDirect: the tile's rows.
constexpr int64_t kDirectPixels = kMA;

/// One tile of windowGemmDirect over a block of K: the products of 12
/// pixels (B's columns, read in place: pixel r's value at row k of the
/// block is pixel[r][rowOffset[k]]; past the last live pixel, pixels
/// repeat it) by one panel of 32 filters over kc rows of K, into `tile` (a
/// row of 32 per pixel), or added to what it holds (`addToTile`: the sums
/// of earlier blocks) as packedGemmA adds a block's sums to C's. With
/// Half, only the panel's first 16 filters are computed.
template <bool Half>
MEMC_AVX512 inline void
directTile512(int64_t kc, const float *const *pixel, const int64_t *rowOffset,
              const float *panel, float *tile, bool addToTile) {
  constexpr int MR = kDirectPixels;
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
    acc0[r] = acc1[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    int64_t at = rowOffset[k];
    __m512 b0 = _mm512_load_ps(panel + k * kNR);
    __m512 b1 = Half ? b0 : _mm512_load_ps(panel + k * kNR + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      __m512 av = _mm512_set1_ps(pixel[r][at]);
      acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
      if (!Half)
        acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    float *row = tile + r * kNR;
    if (addToTile) {
      acc0[r] = _mm512_add_ps(acc0[r], _mm512_load_ps(row));
      if (!Half)
        acc1[r] = _mm512_add_ps(acc1[r], _mm512_load_ps(row + 16));
    }
    _mm512_store_ps(row, acc0[r]);
    if (!Half)
      _mm512_store_ps(row + 16, acc1[r]);
  }
}

} // namespace

MEMC_AVX512 void windowGemmDirect(const PackedB &aT, int64_t p0, int64_t p1,
                                  int64_t n0, int64_t n1, const RightOperand &b,
                                  float *c, int64_t ldc, bool accumulate,
                                  const Epilogue *epilogue, int64_t kBlock) {
  if (kBlock <= 0)
    kBlock = kKC;
  alignas(64) float tile[kDirectPixels * kNR];
  // Where each pixel's row of the tile starts: filter f of the 12 pixels
  // is tile[pixelRow + f], one row of C's, gathered (or scattered).
  const __m512i pixelRow = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(int32_t(kNR)));
  // Rows past a ragged last tile's are read, never stored; with K = 0 and
  // no C to start from, the product is these zeros.
  std::fill_n(tile, kDirectPixels * kNR, 0.0f);
  for (int64_t j = n0; j < n1; j += kDirectPixels) {
    int rows = int(std::min(kDirectPixels, n1 - j));
    const float *pixel[kDirectPixels];
    for (int r = 0; r < kDirectPixels; ++r)
      pixel[r] = b.data + b.columnOffset[j + std::min(r, rows - 1)];
    __mmask16 live = lowLanes(rows);
    std::optional<TileColumns> columns;
    if (epilogue)
      columns.emplace(*epilogue, j, rows);
    for (int64_t p = p0; p < p1; ++p) {
      int64_t width = std::min(kNR, aT.n - p * kNR);
      int64_t f0 = p * kNR;
      // C's old value starts the sums, each K block's sums are added to
      // them in packedGemmA's blocks and order: the two agree bit for bit.
      if (accumulate)
        for (int64_t f = 0; f < width; ++f)
          _mm512_mask_i32scatter_ps(
              tile + f, live, pixelRow,
              _mm512_maskz_loadu_ps(live, c + (f0 + f) * ldc + j), 4);
      for (int64_t k0 = 0; k0 < aT.k; k0 += kBlock) {
        int64_t kc = std::min(kBlock, aT.k - k0);
        const float *panel = aT.panel(p) + k0 * kNR;
        if (width <= 16)
          directTile512<true>(kc, pixel, b.rowOffset + k0, panel, tile,
                              accumulate || k0 > 0);
        else
          directTile512<false>(kc, pixel, b.rowOffset + k0, panel, tile,
                               accumulate || k0 > 0);
      }
      std::optional<RowFinisher> finish;
      if (epilogue)
        finish.emplace(*epilogue, *columns, f0, j, rows);
      for (int64_t f = 0; f < width; ++f) {
        __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, pixelRow,
                                            tile + f, 4);
        if (finish)
          (*finish)(int(f), v, _mm512_setzero_ps());
        else
          _mm512_mask_storeu_ps(c + (f0 + f) * ldc + j, live, v);
      }
    }
  }
}

} // namespace memc::rt
