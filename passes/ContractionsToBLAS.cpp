//===- ContractionsToBLAS.cpp - batched GEMMs to runtime calls ------------===//
//
// Every (batched) GEMM that matchGemm (GemmMatch.h) recognizes becomes one call
// to memc_rt_sgemm/dgemm, whose OpenBLAS kernels are tiled, vectorized and
// threaded (on the CUDA target: cuBLAS through the launch plan). Anything
// else stays as loops. With packed-weights, a GEMM whose B (else A) is a
// weight of an inference program calls memc_rt_sgemm_packed_b (_a), which
// packs that weight once; a convolution left whole by memc-conv-to-gemm
// (its weight times its input through the window) calls
// memc_rt_sgemm_packed_a_window, which packs the input straight from the
// window instead of from an im2col copy.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/ProgramInterface.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/RuntimeCalls.h"

#include "memc/Transforms/GemmEpilogue.h"
#include "memc/Transforms/GemmMatch.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace memc {
#define GEN_PASS_DEF_CONTRACTIONSTOBLAS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

struct ContractionsToBLASPass
    : memc::impl::ContractionsToBLASBase<ContractionsToBLASPass> {
  using Base::Base;

  /// The entry whose weights never change (not a train step), when
  /// packed-weights asks for packed calls.
  func::FuncOp constantWeightsOf = nullptr;

  /// Generic ops a fused call took with its GEMM (their epilogue
  /// consumers): runOnOperation collected them as candidates and must
  /// not look at them again.
  llvm::SmallPtrSet<Operation *, 16> fusedAway;

  func::FuncOp getOrDeclare(ModuleOp module, StringRef name, Type elem) {
    MLIRContext *ctx = module.getContext();
    Type i64 = IntegerType::get(ctx, 64), i32 = IntegerType::get(ctx, 32);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    // (batch, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb,
    //  strideB, beta, C, ldc, strideC)
    return declare(module, name,
                   {i64, i32, i32, i64, i64, i64, elem, ptr, i64, i64, ptr, i64,
                    i64, elem, ptr, i64, i64});
  }

  /// A constant i64 array holding `values`, by address.
  Value constantTable(OpBuilder &b, Location loc, ModuleOp module,
                      ArrayRef<int64_t> values) {
    auto type = LLVM::LLVMArrayType::get(b.getI64Type(), values.size());
    auto value = DenseElementsAttr::get(
        RankedTensorType::get({int64_t(values.size())}, b.getI64Type()),
        values);
    return memc::addressOfConstant(b, loc, module, "memc_window_", tableCounter,
                                   type, value);
  }
  unsigned tableCounter = 0, biasCounter = 0;

  /// The runtime function `name` of `inputs`, declared on first use.
  func::FuncOp declare(ModuleOp module, StringRef name, ArrayRef<Type> inputs) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
    auto f = func::FuncOp::create(top, module.getLoc(), name,
                                  top.getFunctionType(inputs, {}));
    f.setPrivate();
    return f;
  }

  /// The consumer of the GEMM `op` (C at `c`, M x N, row stride ldc)
  /// that the runtime can finish C with, when fuse-epilogues is on; the
  /// caller then calls the `_ep` function where the consumer was.
  std::optional<memc::GemmEpilogueMatch> epilogueOf(Operation *op, Value c,
                                                    int64_t m, int64_t n,
                                                    int64_t ldc,
                                                    ArrayRef<Value> reads) {
    if (!fuseEpilogues)
      return std::nullopt;
    return memc::matchGemmEpilogue(op, c, m, n, ldc, reads);
  }

  /// The epilogue's arguments of memc_rt_sgemm_packed_a(_window)_ep
  /// (bias, addend, ldAddend, addendWidth, addendPitch, lo, hi, D, ldd,
  /// width, pitch, pads, padValue), built at `b`.
  SmallVector<Value> epilogueArgs(OpBuilder &b, Location loc, ModuleOp module,
                                  const memc::GemmEpilogueMatch &ep,
                                  int64_t m) {
    Type ptr = LLVM::LLVMPointerType::get(b.getContext());
    auto pointer = [&](Value memref) -> Value {
      if (!memref)
        return LLVM::ZeroOp::create(b, loc, ptr);
      return memc::pointerToFirstElement(b, loc, memref);
    };
    Value bias = pointer(ep.bias);
    if (ep.biasConstant) {
      // One value for every row: a constant table of M of them.
      auto type = LLVM::LLVMArrayType::get(b.getF32Type(), m);
      auto value = DenseElementsAttr::get(
          RankedTensorType::get({m}, b.getF32Type()), *ep.biasConstant);
      bias = memc::addressOfConstant(b, loc, module, "memc_bias_", biasCounter,
                                     type, value);
    }
    auto int64 = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v)
          .getResult();
    };
    auto f32 = [&](float v) {
      return arith::ConstantOp::create(b, loc, b.getF32Type(),
                                       b.getF32FloatAttr(v))
          .getResult();
    };
    // The padded buffer's border, when the GEMM writes it instead of a fill.
    Value pads = LLVM::ZeroOp::create(b, loc, ptr);
    if (ep.padFill)
      pads = constantTable(b, loc, module, ep.pads);
    return {bias,
            pointer(ep.addend),
            int64(ep.ldAddend),
            int64(ep.addendWidth),
            int64(ep.addendPitch),
            f32(ep.lo),
            f32(ep.hi),
            pointer(ep.d),
            int64(ep.ldd),
            int64(ep.width),
            int64(ep.pitch),
            pads,
            f32(ep.padValue)};
  }

  /// Replaces the GEMM `op` and its fused consumer with `callee(args)` at
  /// the consumer's place; the arena releases in between follow it.
  void emitFused(linalg::GenericOp op, const memc::GemmEpilogueMatch &ep,
                 func::FuncOp callee, ArrayRef<Value> args) {
    Operation *consumer = linalg::GenericOp(ep.consumer).getOperation();
    OpBuilder b(consumer);
    auto call = func::CallOp::create(b, consumer->getLoc(), callee, args);
    for (Operation *release : llvm::reverse(ep.releases))
      release->moveAfter(call);
    if (ep.padFill)
      linalg::FillOp(ep.padFill).erase();
    fusedAway.insert(consumer);
    consumer->erase();
    op.erase();
  }

  /// A convolution kept whole by memc-conv-to-gemm (keep-weight-windows):
  /// its weight times its input read through the window, as
  /// memc_rt_sgemm_packed_a_window, which packs the input as it goes.
  LogicalResult rewriteWindow(linalg::GenericOp op, ModuleOp module) {
    if (!constantWeightsOf || op.getNumDpsInputs() != 2)
      return failure();
    for (unsigned windowed : {0u, 1u}) {
      if (!memc::isWeightView(op.getDpsInputs()[1 - windowed],
                              constantWeightsOf))
        continue;
      std::optional<memc::WindowGemmMatch> gemm =
          memc::matchWindowGemm(op, windowed);
      if (!gemm || gemm->m * gemm->n * gemm->k < minFlops)
        continue;
      OpBuilder b(op);
      Location loc = op.getLoc();
      Type i64 = b.getI64Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
      Type ptr = LLVM::LLVMPointerType::get(b.getContext());
      StringRef name = "memc_rt_sgemm_packed_a_window";
      // (M, N, K, transA, A, lda, X, window, beta, C, ldc)
      func::FuncOp callee =
          declare(module, name,
                  {i64, i64, i64, i32, ptr, i64, ptr, ptr, f32, ptr, i64});
      SmallVector<int64_t> window = {int64_t(gemm->kRanks.size()),
                                     int64_t(gemm->nRanks.size()),
                                     gemm->offset};
      for (auto [extent, stride] : llvm::concat<std::pair<int64_t, int64_t>>(
               gemm->kRanks, gemm->nRanks)) {
        window.push_back(extent);
        window.push_back(stride);
      }
      double beta = 1.0;
      if (linalg::FillOp fill = memc::zeroFillOfOutput(op, gemm->c)) {
        beta = 0.0;
        fill.erase();
      }
      std::optional<memc::GemmEpilogueMatch> ep = epilogueOf(
          op, gemm->c, gemm->m, gemm->n, gemm->viewC.ld, {gemm->a, gemm->x});
      if (ep) {
        name = "memc_rt_sgemm_packed_a_window_ep";
        callee =
            declare(module, name, {i64, i64, i64, i32, ptr, i64, ptr, ptr,
                                   f32, ptr, i64, ptr, ptr, i64, i64, i64,
                                   f32, f32, ptr, i64, i64, i64, ptr, f32});
        b.setInsertionPoint(ep->consumer);
      }
      auto int64 = [&](int64_t v) {
        return arith::ConstantIntOp::create(b, loc, i64, v).getResult();
      };
      SmallVector<Value> args = {
          int64(gemm->m),
          int64(gemm->n),
          int64(gemm->k),
          arith::ConstantIntOp::create(b, loc, i32, gemm->viewA.transposed),
          memc::pointerToFirstElement(b, loc, gemm->a),
          int64(gemm->viewA.ld),
          memc::pointerToFirstElement(b, loc, gemm->x),
          constantTable(b, loc, module, window),
          arith::ConstantOp::create(b, loc, f32, b.getF32FloatAttr(beta)),
          ep ? fusedC(b, loc, gemm->c)
             : memc::pointerToFirstElement(b, loc, gemm->c),
          int64(gemm->viewC.ld)};
      if (ep) {
        args.append(epilogueArgs(b, loc, module, *ep, gemm->m));
        emitFused(op, *ep, callee, args);
        return success();
      }
      func::CallOp::create(b, loc, callee, args);
      op.erase();
      return success();
    }
    return failure();
  }

  LogicalResult rewrite(linalg::GenericOp op, ModuleOp module) {
    std::optional<memc::GemmMatch> gemm = memc::matchGemm(op);
    if (!gemm)
      return failure();
    Type elem = gemm->elem;
    const memc::MatrixView &viewA = gemm->viewA, &viewB = gemm->viewB,
                           &viewC = gemm->viewC;
    int64_t batchCount = gemm->batch, m = gemm->m, n = gemm->n, k = gemm->k;
    Value operands[3] = {gemm->a, gemm->b, gemm->c};
    if (m * n * k < minFlops)
      return failure();

    OpBuilder b(op);
    Location loc = op.getLoc();
    StringRef name = elem.isF32() ? "memc_rt_sgemm" : "memc_rt_dgemm";
    if (elem.isF32() && memc::isWeightView(gemm->b, constantWeightsOf))
      name = "memc_rt_sgemm_packed_b";
    else if (elem.isF32() && memc::isWeightView(gemm->a, constantWeightsOf))
      name = "memc_rt_sgemm_packed_a";
    func::FuncOp callee = getOrDeclare(module, name, elem);
    auto i64 = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v)
          .getResult();
    };
    auto i32 = [&](int64_t v) {
      return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v)
          .getResult();
    };
    auto fp = [&](double v) {
      return arith::ConstantOp::create(b, loc, elem, b.getFloatAttr(elem, v))
          .getResult();
    };
    // linalg accumulates into the init buffer (beta = 1); when that buffer
    // was just zero-filled, the GEMM overwrites it instead (beta = 0) and the
    // fill goes away.
    double beta = 1.0;
    if (linalg::FillOp fill = memc::zeroFillOfOutput(op, gemm->c)) {
      beta = 0.0;
      fill.erase();
    }
    std::optional<memc::GemmEpilogueMatch> ep;
    if (name == "memc_rt_sgemm_packed_a" && batchCount == 1 &&
        !viewB.transposed)
      ep = epilogueOf(op, gemm->c, m, n, viewC.ld, {gemm->a, gemm->b});
    if (ep) {
      Type ptr = LLVM::LLVMPointerType::get(b.getContext());
      Type i64t = b.getI64Type(), i32t = b.getI32Type(), f32t = b.getF32Type();
      // (transA, M, N, K, A, lda, B, ldb, beta, C, ldc, epilogue...)
      func::FuncOp fused =
          declare(module, "memc_rt_sgemm_packed_a_ep",
                  {i32t, i64t, i64t, i64t, ptr,  i64t, ptr,  i64t,
                   f32t, ptr,  i64t, ptr,  ptr,  i64t, i64t, i64t,
                   f32t, f32t, ptr,  i64t, i64t, i64t, ptr,  f32t});
      b.setInsertionPoint(ep->consumer);
      SmallVector<Value> args = {
          i32(viewA.transposed),
          i64(m),
          i64(n),
          i64(k),
          memc::pointerToFirstElement(b, loc, operands[0]),
          i64(viewA.ld),
          memc::pointerToFirstElement(b, loc, operands[1]),
          i64(viewB.ld),
          fp(beta),
          fusedC(b, loc, operands[2]),
          i64(viewC.ld)};
      args.append(epilogueArgs(b, loc, module, *ep, m));
      emitFused(op, *ep, fused, args);
      return success();
    }
    SmallVector<Value> args = {i64(batchCount),
                               i32(viewA.transposed),
                               i32(viewB.transposed),
                               i64(m),
                               i64(n),
                               i64(k),
                               fp(1.0),
                               memc::pointerToFirstElement(b, loc, operands[0]),
                               i64(viewA.ld),
                               i64(viewA.batchStride),
                               memc::pointerToFirstElement(b, loc, operands[1]),
                               i64(viewB.ld),
                               i64(viewB.batchStride),
                               fp(beta),
                               memc::pointerToFirstElement(b, loc, operands[2]),
                               i64(viewC.ld),
                               i64(viewC.batchStride)};
    func::CallOp::create(b, loc, callee, args);
    op.erase();
    return success();
  }

  /// C's first element for the fused call; null for a memc.scratch C,
  /// which that call does without (its allocation then goes).
  Value fusedC(OpBuilder &b, Location loc, Value c) {
    if (!memc::isGemmScratch(c))
      return memc::pointerToFirstElement(b, loc, c);
    return LLVM::ZeroOp::create(b, loc,
                                LLVM::LLVMPointerType::get(b.getContext()));
  }

  /// Erases the memc.scratch allocations that no op reads or writes any
  /// more: their pair was fused.
  static void eraseUnusedScratch(ModuleOp module) {
    SmallVector<memref::AllocOp> scratch;
    module.walk([&](memref::AllocOp alloc) {
      if (memc::isGemmScratch(alloc))
        scratch.push_back(alloc);
    });
    for (memref::AllocOp alloc : scratch) {
      SmallVector<Operation *> views;
      SmallVector<Operation *> users =
          memc::usersThroughViews(alloc.getResult(), &views);
      if (!llvm::all_of(users, llvm::IsaPred<memref::DeallocOp>))
        continue;
      for (Operation *dealloc : users)
        dealloc->erase();
      // Each view comes after the one it views.
      for (Operation *view : llvm::reverse(views))
        view->erase();
      alloc.erase();
    }
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (packedWeights && !memc::getTrainFacts(module))
      constantWeightsOf = memc::getEntryBody(module);
    // Pairs left whole (memc-opt without memc-buffer-mapping): C on the
    // heap, as the plan would have left it.
    memc::dissolveGemmEpilogues(module);
    SmallVector<linalg::GenericOp> candidates;
    module.walk([&](linalg::GenericOp op) { candidates.push_back(op); });
    // A consumer fused into an earlier GEMM's call is erased by then: only
    // its address is compared, never read (it was read after being freed,
    // and a compile of ViT-B/16 crashed once in a few hundred).
    fusedAway.clear();
    for (linalg::GenericOp op : candidates) {
      if (fusedAway.contains(op.getOperation()))
        continue;
      if (failed(rewrite(op, module)))
        (void)rewriteWindow(op, module);
    }
    eraseUnusedScratch(module);
  }
};
} // namespace
