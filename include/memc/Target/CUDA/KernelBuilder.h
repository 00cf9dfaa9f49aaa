//===- KernelBuilder.h - helpers for memc's hand-built kernels --*- C++ -*-===//
//
// The kernel generators (memc-attention-to-gpu, memc-contractions-to-mma)
// build gpu.launch bodies op by op; these helpers keep that readable.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_TARGET_CUDA_KERNELBUILDER_H
#define MEMC_TARGET_CUDA_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <utility>

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

  /// A [rows][cols] f32 workgroup (shared memory) buffer type.
  mlir::MemRefType sharedTile(int64_t rows, int64_t cols) {
    auto workgroup = mlir::gpu::AddressSpaceAttr::get(
        b.getContext(), mlir::gpu::AddressSpace::Workgroup);
    return mlir::MemRefType::get({rows, cols}, b.getF32Type(),
                                 mlir::MemRefLayoutAttrInterface{}, workgroup);
  }

  /// A gpu.launch of an (x, y, z) grid of 1-D `threads`-thread blocks with
  /// workgroup buffers of `shared` types; the builder is left at the start
  /// of its body (before the terminator).
  mlir::gpu::LaunchOp launch(int64_t x, int64_t y, int64_t z, int64_t threads,
                             mlir::TypeRange shared) {
    mlir::Value one = index(1);
    auto op = mlir::gpu::LaunchOp::create(
        b, loc, index(x), index(y), index(z), index(threads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, shared);
    mlir::Block &body = op.getBody().front();
    b.setInsertionPointToEnd(&body);
    mlir::gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointToStart(&body);
    return op;
  }

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

/// Warp-level mma.sync m16n8k8 fragments on TF32 and the 3xTF32 product.
///
/// A TF32 operand keeps 10 of f32's 23 mantissa bits, so one mma per
/// product would put errors near 1e-3 into f32 results. Each operand x is
/// split into big = x rounded to TF32 and small = x - big (exact in f32),
/// and a product is big*big + big*small + small*big: three mmas; the
/// dropped small*small is 2^-22 relative (3xTF32, as CUTLASS's f32 GEMMs on
/// tensor cores do). The split is integer arithmetic on the bits (round to
/// nearest at bit 13), which is cvt.rna.tf32.f32 without needing the
/// instruction.
///
/// Fragments (PTX ISA, mma.m16n8k8 .tf32; lane = 4 * group + member):
///   A 16x8, row-major: a0 (group, member), a1 (group + 8, member),
///                      a2 (group, member + 4), a3 (group + 8, member + 4);
///   B 8x8: b0 (member, group), b1 (member + 4, group) as (k, n);
///   C 16x8: c[r][i] = (group + 8r, 2 * member + i).
class MmaBuilder {
public:
  explicit MmaBuilder(KernelBuilder &k) : k(k) {}

  mlir::VectorType type(int64_t rows, int64_t cols) {
    return mlir::VectorType::get({rows, cols}, k.b.getF32Type());
  }
  mlir::Value zeroAccumulator() {
    return mlir::arith::ConstantOp::create(
        k.b, k.loc,
        mlir::DenseElementsAttr::get(type(2, 2), k.b.getF32FloatAttr(0)));
  }
  mlir::Value fragment(llvm::ArrayRef<mlir::Value> elements, int64_t rows,
                       int64_t cols) {
    return mlir::vector::FromElementsOp::create(k.b, k.loc, type(rows, cols),
                                                elements);
  }
  mlir::Value element(mlir::Value fragment, int64_t r, int64_t c) {
    return mlir::vector::ExtractOp::create(k.b, k.loc, fragment,
                                           llvm::ArrayRef<int64_t>{r, c});
  }

  /// x as TF32 (round to nearest at mantissa bit 13) and the f32 rest.
  std::pair<mlir::Value, mlir::Value> split(mlir::Value x) {
    mlir::Type i32 = k.b.getI32Type();
    mlir::Value bits = mlir::arith::BitcastOp::create(k.b, k.loc, i32, x);
    mlir::Value rounded = mlir::arith::AndIOp::create(
        k.b, k.loc,
        mlir::arith::AddIOp::create(k.b, k.loc, bits, k.i32(0x1000)),
        k.i32(int32_t(0xFFFFE000u)));
    mlir::Value big =
        mlir::arith::BitcastOp::create(k.b, k.loc, k.b.getF32Type(), rounded);
    return {big, k.fsub(x, big)};
  }

  /// The big and small fragments of `elements` (an A fragment: 4x1, or a
  /// B fragment: 2x1).
  std::pair<mlir::Value, mlir::Value>
  splitFragment(llvm::ArrayRef<mlir::Value> elements) {
    llvm::SmallVector<mlir::Value> big, small;
    for (mlir::Value x : elements) {
      auto [b, s] = split(x);
      big.push_back(b);
      small.push_back(s);
    }
    int64_t rows = int64_t(elements.size());
    return {fragment(big, rows, 1), fragment(small, rows, 1)};
  }

  mlir::Value mma(mlir::Value a, mlir::Value b, mlir::Value c) {
    return mlir::nvgpu::MmaSyncOp::create(k.b, k.loc, a, b, c,
                                          llvm::ArrayRef<int64_t>{16, 8, 8},
                                          /*tf32Enabled=*/true);
  }

  /// c + a·b to f32 accuracy: the small terms first, then the big one.
  mlir::Value mma3(std::pair<mlir::Value, mlir::Value> a,
                   std::pair<mlir::Value, mlir::Value> b, mlir::Value c) {
    c = mma(a.second, b.first, c);
    c = mma(a.first, b.second, c);
    return mma(a.first, b.first, c);
  }

private:
  KernelBuilder &k;
};

} // namespace memc

#endif
