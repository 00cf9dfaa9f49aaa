//===- ContractionsToBLAS.cpp - batched GEMMs to runtime calls ------------===//
//
// Every (batched) GEMM that matchGemm (GemmMatch.h) recognizes becomes one call
// to memc_rt_sgemm/dgemm, whose OpenBLAS kernels are tiled, vectorized and
// threaded (on the CUDA target: cuBLAS through the launch plan). Anything
// else stays as loops. With packed-weights, a GEMM whose B (else A) is a
// weight of an inference program calls memc_rt_sgemm_packed_b (_a), which
// packs that weight once.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/ProgramInterface.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/RuntimeCalls.h"

#include "memc/Transforms/GemmMatch.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/Matchers.h"

namespace memc {
#define GEN_PASS_DEF_CONTRACTIONSTOBLAS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// Whether `buffer` is (a view of) a weight argument of the entry `entry`.
bool isWeightView(Value buffer, func::FuncOp entry) {
  while (auto view = buffer.getDefiningOp<ViewLikeOpInterface>())
    buffer = view.getViewSource();
  auto arg = dyn_cast<BlockArgument>(buffer);
  return arg && entry && arg.getOwner() == &entry.getBody().front() &&
         memc::getArgRole(entry, arg.getArgNumber()) == memc::ArgRole::Weight;
}

struct ContractionsToBLASPass
    : memc::impl::ContractionsToBLASBase<ContractionsToBLASPass> {
  using Base::Base;

  /// The entry whose weights never change (not a train step), when
  /// packed-weights asks for packed calls.
  func::FuncOp constantWeightsOf = nullptr;

  func::FuncOp getOrDeclare(ModuleOp module, StringRef name, Type elem) {
    if (auto f = module.lookupSymbol<func::FuncOp>(name))
      return f;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Type i64 = b.getI64Type(), i32 = b.getI32Type();
    Type ptr = LLVM::LLVMPointerType::get(b.getContext());
    // (batch, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb,
    //  strideB, beta, C, ldc, strideC)
    auto type = b.getFunctionType({i64, i32, i32, i64, i64, i64, elem, ptr, i64,
                                   i64, ptr, i64, i64, elem, ptr, i64, i64},
                                  {});
    auto f = func::FuncOp::create(b, module.getLoc(), name, type);
    f.setPrivate();
    return f;
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
    if (elem.isF32() && isWeightView(gemm->b, constantWeightsOf))
      name = "memc_rt_sgemm_packed_b";
    else if (elem.isF32() && isWeightView(gemm->a, constantWeightsOf))
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

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (packedWeights && !memc::getTrainFacts(module))
      constantWeightsOf = memc::getEntryBody(module);
    SmallVector<linalg::GenericOp> candidates;
    module.walk([&](linalg::GenericOp op) { candidates.push_back(op); });
    for (linalg::GenericOp op : candidates)
      (void)rewrite(op, module);
  }
};
} // namespace
