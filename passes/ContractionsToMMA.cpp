//===- ContractionsToMMA.cpp - f32 GEMMs as tensor-core kernels -----------===//
//
// The GEMMs that memc-contractions-to-blas would hand to a library (the
// same matcher, GemmMatch.h), as one generated kernel each: the
// classic shared-memory tiling with the inner product on tensor cores,
// mma.sync m16n8k8 in 3xTF32 for f32 accuracy (MmaBuilder).
//
//   block  64 x 64 tile of C (one batch entry), 4 warps as 2 x 2, each
//          warp 32 x 32: 2 x 4 mma tiles, 8 accumulator fragments;
//   loop   over K in steps of 32: barrier, the block copies A's 64 x 32 and
//          B's 32 x 64 tiles into shared memory (coalesced along whichever
//          dimension is contiguous in memory, zeros past K), barrier, 4
//          mma steps of 8;
//   end    C = (C +) acc for the elements inside M x N.
//
// Shared rows are padded (A: 32 + 4, B: 64 + 8) so that fragment loads hit
// 32 banks. Operands are addressed through their GemmMatch views (batch
// stride, leading dimension, transposition) on a flat view of each memref,
// so transposed operands and subviews need no copies.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "memc/Target/CUDA/KernelBuilder.h"
#include "memc/Transforms/GemmMatch.h"

namespace memc {
#define GEN_PASS_DEF_CONTRACTIONSTOMMA
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using memc::KernelBuilder;
using memc::MmaBuilder;

namespace {

constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 32, kThreads = 128;
constexpr int64_t kPadA = 4, kPadB = 8;

/// One GEMM operand in the kernel: a flat view of its memref and how an
/// element (batch, row, col) of its matrix is found in it.
struct FlatOperand {
  Value flat;
  memc::MatrixView view;

  Value offsetOf(KernelBuilder &k, Value batch, Value row, Value col) const {
    Value r = view.transposed ? col : row, c = view.transposed ? row : col;
    return k.add(k.add(k.mul(batch, view.batchStride), k.mul(r, view.ld)), c);
  }
};

/// A 1-D view of all the elements `memref`'s view can reach (from its first
/// element on), built inside the kernel so that the launch captures the
/// memref itself.
FlatOperand flatten(KernelBuilder &k, Value memref,
                    const memc::MatrixView &view, int64_t batch, int64_t rows,
                    int64_t cols) {
  if (view.transposed)
    std::swap(rows, cols);
  int64_t span = (batch - 1) * view.batchStride + (rows - 1) * view.ld + cols;
  auto meta = memref::ExtractStridedMetadataOp::create(k.b, k.loc, memref);
  auto type = MemRefType::get(
      {span}, cast<MemRefType>(memref.getType()).getElementType(),
      StridedLayoutAttr::get(k.b.getContext(), ShapedType::kDynamic, {1}));
  Value flat = memref::ReinterpretCastOp::create(
      k.b, k.loc, type, meta.getBaseBuffer(), meta.getOffset(),
      ArrayRef<OpFoldResult>{k.b.getIndexAttr(span)},
      ArrayRef<OpFoldResult>{k.b.getIndexAttr(1)});
  return {flat, view};
}

struct ContractionsToMMAPass
    : memc::impl::ContractionsToMMABase<ContractionsToMMAPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk(
        [&](linalg::GenericOp op) { candidates.push_back(op); });
    for (linalg::GenericOp op : candidates)
      if (std::optional<memc::GemmMatch> gemm = memc::matchGemm(op))
        if (gemm->elem.isF32() && gemm->batch <= 65535 &&
            (gemm->m + kTileM - 1) / kTileM <= 65535)
          lower(op, *gemm);
  }

  void lower(linalg::GenericOp op, const memc::GemmMatch &gemm);
};

void ContractionsToMMAPass::lower(linalg::GenericOp op,
                                  const memc::GemmMatch &gemm) {
  // C = A·B when C was just zero-filled (the fill goes away), else C += A·B.
  bool accumulate = true;
  if (linalg::FillOp fill = memc::zeroFillOfOutput(op, gemm.c)) {
    accumulate = false;
    fill.erase();
  }
  const int64_t M = gemm.m, N = gemm.n, K = gemm.k;
  OpBuilder b(op);
  KernelBuilder k(b, op.getLoc());
  MmaBuilder mb(k);
  gpu::LaunchOp launch =
      k.launch((N + kTileN - 1) / kTileN, (M + kTileM - 1) / kTileM, gemm.batch,
               kThreads,
               {k.sharedTile(kTileM, kTileK + kPadA),
                k.sharedTile(kTileK, kTileN + kPadB)});
  Value as = launch.getWorkgroupAttributions()[0],
        bs = launch.getWorkgroupAttributions()[1];

  FlatOperand A = flatten(k, gemm.a, gemm.viewA, gemm.batch, M, K);
  FlatOperand B = flatten(k, gemm.b, gemm.viewB, gemm.batch, K, N);
  FlatOperand C = flatten(k, gemm.c, gemm.viewC, gemm.batch, M, N);
  Value tid = launch.getThreadIds().x;
  Value bi = launch.getBlockIds().z;
  Value m0 = k.mul(launch.getBlockIds().y, kTileM),
        n0 = k.mul(launch.getBlockIds().x, kTileN);
  Value warp = k.div(tid, 32), lane = k.rem(tid, 32);
  Value wm = k.mul(k.div(warp, 2), 32), wn = k.mul(k.rem(warp, 2), 32);
  Value group = k.div(lane, 4), member = k.rem(lane, 4);

  // Copies rows x cols of `op`'s matrix starting at (r0, c0) into `tile`,
  // the threads striding along the dimension contiguous in memory; zeros
  // where the column (A) or row (B) is past K, clamped reads past M or N
  // (never stored).
  auto copyTile = [&](const FlatOperand &src, Value tile, Value r0, Value c0,
                      int64_t rows, int64_t cols, int64_t rowLimit,
                      int64_t colLimit, bool kIsCol) {
    k.forStrided(tid, rows * cols, kThreads, [&](Value i) {
      Value r = src.view.transposed ? k.rem(i, rows) : k.div(i, cols);
      Value c = src.view.transposed ? k.div(i, rows) : k.rem(i, cols);
      Value gr = k.add(r0, r), gc = k.add(c0, c);
      Value v = k.load(src.flat, {src.offsetOf(k, bi, k.min(gr, rowLimit - 1),
                                               k.min(gc, colLimit - 1))});
      Value inK = arith::CmpIOp::create(b, k.loc, arith::CmpIPredicate::ult,
                                        kIsCol ? gc : gr,
                                        k.index(kIsCol ? colLimit : rowLimit));
      k.store(k.select(inK, v, k.f32(0.0)), tile, {r, c});
    });
  };

  SmallVector<Value> inits(8, mb.zeroAccumulator());
  SmallVector<Value> acc = k.forCarrying(
      k.index((K + kTileK - 1) / kTileK), inits,
      [&](Value t, ValueRange carried) {
        Value k0 = k.mul(t, kTileK);
        k.barrier(); // the previous tile's readers are done
        copyTile(A, as, m0, k0, kTileM, kTileK, M, K, /*kIsCol=*/true);
        copyTile(B, bs, k0, n0, kTileK, kTileN, K, N, /*kIsCol=*/false);
        k.barrier();
        SmallVector<Value> next(carried);
        for (int64_t step = 0; step < kTileK / 8; ++step) {
          Value c0 = k.add(member, 8 * step), c1 = k.add(c0, 4);
          std::pair<Value, Value> a[2], bf[4];
          for (int64_t mi = 0; mi < 2; ++mi) {
            Value r0 = k.add(k.add(wm, 16 * mi), group), r1 = k.add(r0, 8);
            a[mi] =
                mb.splitFragment({k.load(as, {r0, c0}), k.load(as, {r1, c0}),
                                  k.load(as, {r0, c1}), k.load(as, {r1, c1})});
          }
          for (int64_t ni = 0; ni < 4; ++ni) {
            Value col = k.add(k.add(wn, 8 * ni), group);
            bf[ni] = mb.splitFragment(
                {k.load(bs, {c0, col}), k.load(bs, {c1, col})});
          }
          for (int64_t mi = 0; mi < 2; ++mi)
            for (int64_t ni = 0; ni < 4; ++ni)
              next[mi * 4 + ni] = mb.mma3(a[mi], bf[ni], next[mi * 4 + ni]);
        }
        return next;
      });

  // The lane's C elements: rows group (+8) of each m tile, columns
  // 2 member (+1) of each n tile.
  for (int64_t mi = 0; mi < 2; ++mi)
    for (int64_t ni = 0; ni < 4; ++ni)
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t i = 0; i < 2; ++i) {
          Value gm = k.add(k.add(m0, wm), k.add(group, 16 * mi + 8 * r));
          Value gn = k.add(k.add(n0, wn), k.add(k.mul(member, 2), 8 * ni + i));
          Value inside = arith::AndIOp::create(
              b, k.loc,
              arith::CmpIOp::create(b, k.loc, arith::CmpIPredicate::ult, gm,
                                    k.index(M)),
              arith::CmpIOp::create(b, k.loc, arith::CmpIPredicate::ult, gn,
                                    k.index(N)));
          auto guard =
              scf::IfOp::create(b, k.loc, inside, /*withElseRegion=*/false);
          OpBuilder::InsertionGuard insertion(b);
          b.setInsertionPointToStart(&guard.getThenRegion().front());
          Value at = C.offsetOf(k, bi, gm, gn);
          Value v = mb.element(acc[mi * 4 + ni], r, i);
          if (accumulate)
            v = k.fadd(k.load(C.flat, {at}), v);
          k.store(v, C.flat, {at});
        }
  op.erase();
}

} // namespace
