//===- AttentionKernels.h - the fused attention kernels' pieces -*- C++ -*-===//
//
// memc-attention-to-gpu generates one of two kernels for an einsum.attention
// (CUDA cores, AttentionToGPU.cpp; tensor cores, AttentionMmaKernel.cpp).
// What both do the same way lives here: the launch, the cooperative copy of
// a tile into shared memory, the causal end of the K/V loop and the
// visibility test of a (query, key) pair.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PASSES_ATTENTIONKERNELS_H
#define MEMC_PASSES_ATTENTIONKERNELS_H

#include "passes/Passes.h"

#include "memc/Analysis/AttentionKernelTiles.h"

#include <cmath>
#include <optional>

namespace memc {

/// Small arithmetic helpers over an OpBuilder at one location.
class KernelBuilder {
public:
  KernelBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::Value index(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(b, loc, v);
  }
  mlir::Value i32(int64_t v) {
    return mlir::arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  }
  mlir::Value f32(double v) {
    return mlir::arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  mlir::Value add(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddIOp::create(b, loc, x, y);
  }
  mlir::Value add(mlir::Value x, int64_t y) { return y ? add(x, index(y)) : x; }
  mlir::Value mul(mlir::Value x, int64_t y) {
    return mlir::arith::MulIOp::create(b, loc, x, index(y));
  }
  mlir::Value div(mlir::Value x, int64_t y) {
    return mlir::arith::DivUIOp::create(b, loc, x, index(y));
  }
  mlir::Value rem(mlir::Value x, int64_t y) {
    return mlir::arith::RemUIOp::create(b, loc, x, index(y));
  }
  mlir::Value min(mlir::Value x, int64_t y) {
    return mlir::arith::MinUIOp::create(b, loc, x, index(y));
  }
  mlir::Value fadd(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddFOp::create(b, loc, x, y);
  }
  mlir::Value fsub(mlir::Value x, mlir::Value y) {
    return mlir::arith::SubFOp::create(b, loc, x, y);
  }
  mlir::Value fmul(mlir::Value x, mlir::Value y) {
    return mlir::arith::MulFOp::create(b, loc, x, y);
  }
  mlir::Value fma(mlir::Value x, mlir::Value y, mlir::Value acc) {
    return mlir::math::FmaOp::create(b, loc, x, y, acc);
  }
  mlir::Value fmax(mlir::Value x, mlir::Value y) {
    return mlir::arith::MaximumFOp::create(b, loc, x, y);
  }
  mlir::Value exp2(mlir::Value x) {
    return mlir::math::Exp2Op::create(b, loc, x);
  }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) {
    return mlir::arith::SelectOp::create(b, loc, c, x, y);
  }
  mlir::Value load(mlir::Value memref, mlir::ValueRange indices) {
    return mlir::memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(mlir::Value v, mlir::Value memref, mlir::ValueRange indices) {
    mlir::memref::StoreOp::create(b, loc, v, memref, indices);
  }
  void barrier() { mlir::gpu::BarrierOp::create(b, loc); }

  /// `combine` over the `lanes` consecutive lanes of an aligned group (xor
  /// shuffles stay inside it).
  mlir::Value groupReduce(
      mlir::Value v, int64_t lanes,
      llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> combine) {
    for (int64_t offset = lanes / 2; offset >= 1; offset /= 2) {
      auto shuffle =
          mlir::gpu::ShuffleOp::create(b, loc, v, int32_t(offset), /*width=*/32,
                                       mlir::gpu::ShuffleMode::XOR);
      v = combine(v, shuffle.getShuffleResult());
    }
    return v;
  }

  /// for (i = start; i < end; i += step) body(i): the block's threads
  /// striding over a tile's elements.
  void forStrided(mlir::Value start, int64_t end, int64_t step,
                  llvm::function_ref<void(mlir::Value)> body) {
    auto loop =
        mlir::scf::ForOp::create(b, loc, start, index(end), index(step));
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// A loop over [0, count) carrying `inits`; `body` returns the next
  /// values. Returns the last ones.
  llvm::SmallVector<mlir::Value> forCarrying(
      mlir::Value count, mlir::ValueRange inits,
      llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value,
                                                        mlir::ValueRange)>
          body) {
    auto loop =
        mlir::scf::ForOp::create(b, loc, index(0), count, index(1), inits);
    {
      mlir::OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      llvm::SmallVector<mlir::Value> next =
          body(loop.getInductionVar(), loop.getRegionIterArgs());
      mlir::scf::YieldOp::create(b, loc, next);
    }
    return loop.getResults();
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
};

/// An einsum.attention on memrefs, as the kernels see it.
struct AttentionProblem {
  mlir::Value query, key, value, output; ///< [batch][P][D], [batch][M][D], ...
  int64_t batch, P, D, M, F;
  double scale;
  std::optional<int64_t> maskedFrom;
};

/// A gpu.launch with a (queryTiles, batch) grid of `threads`-thread blocks
/// and workgroup buffers of `shared` types; the builder is left at the start
/// of its body (before the terminator).
mlir::gpu::LaunchOp createAttentionLaunch(KernelBuilder &k, int64_t queryTiles,
                                          int64_t batch, int64_t threads,
                                          mlir::TypeRange shared);

/// A [rows][d] f32 workgroup buffer type.
mlir::MemRefType sharedTile(mlir::MLIRContext *ctx, int64_t rows, int64_t cols);

/// The block's threads copy rows [first, first + rows) of src[bi] (columns
/// [0, cols)) into dst; rows past `limit` read row limit - 1 (finite data
/// that the kernel never lets count). With `scale`, values are multiplied.
void copyTile(KernelBuilder &k, mlir::Value src, mlir::Value bi,
              mlir::Value first, int64_t rows, int64_t cols, int64_t limit,
              mlir::Value dst, mlir::Value tid, int64_t threads,
              mlir::Value scale = nullptr);

/// The K/V tiles of `tileKeys` keys a block of `blockRows` queries starting
/// at p0 visits: all of them, or with a causal mask, those up to the block's
/// last visible key.
mlir::Value kvTileCount(KernelBuilder &k, const AttentionProblem &problem,
                        mlir::Value p0, int64_t blockRows, int64_t tileKeys);

/// Whether query `p` sees `key`: the key exists and, with a causal mask,
/// key - p < masked_from.
mlir::Value keyVisible(KernelBuilder &k, const AttentionProblem &problem,
                       mlir::Value key, mlir::Value p);

/// The tensor-core kernel (AttentionMmaKernel.cpp), for tiles from
/// chooseAttentionMmaTiles; the builder is before the einsum.attention it
/// replaces.
void buildMmaAttentionKernel(KernelBuilder &k, const AttentionProblem &problem,
                             const AttentionMmaTiles &tiles);

} // namespace memc

#endif
