//===- SVDProjectorToRuntime.cpp - optim.svd_projector -> memc_rt call ----===//
//
// On the CPU, GaLore's projector refresh is a call of the runtime's
// memc_rt_svd_projector (LAPACK's sgesdd through OpenBLAS), guarded by the
// refresh test on the step count, so that the SVD runs only at t = 1 and
// every `period` steps.
//
//===----------------------------------------------------------------------===//
#include "dialects/optim/OptimDialect.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/RuntimeCalls.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace memc {
#define GEN_PASS_DEF_SVDPROJECTORTORUNTIME
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kRuntimeFunction = "memc_rt_svd_projector";

struct SVDProjectorToRuntimePass
    : memc::impl::SVDProjectorToRuntimeBase<SVDProjectorToRuntimePass> {
  /// void memc_rt_svd_projector(const float *g, int64_t rows, int64_t cols,
  ///                            int64_t rank, int32_t right, float *p,
  ///                            const char *name)
  func::FuncOp declare(ModuleOp module) {
    if (auto f = module.lookupSymbol<func::FuncOp>(kRuntimeFunction))
      return f;
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Type i64 = b.getI64Type(), i32 = b.getI32Type();
    Type ptr = LLVM::LLVMPointerType::get(b.getContext());
    auto f = func::FuncOp::create(
        b, module.getLoc(), kRuntimeFunction,
        b.getFunctionType({ptr, i64, i64, i64, i32, ptr, ptr}, {}));
    f.setPrivate();
    return f;
  }

  /// A pointer to `text` as a NUL-terminated constant of the module.
  Value cString(OpBuilder &b, Location loc, ModuleOp module, StringRef text) {
    std::string bytes = text.str();
    bytes.push_back('\0');
    auto type = LLVM::LLVMArrayType::get(b.getI8Type(), bytes.size());
    return memc::addressOfConstant(b, loc, module, "memc_svd_name_", counter,
                                   type, b.getStringAttr(bytes));
  }
  unsigned counter = 0;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<memc::optim::SVDProjectorOp> ops;
    module.walk([&](memc::optim::SVDProjectorOp op) { ops.push_back(op); });
    for (memc::optim::SVDProjectorOp op : ops) {
      if (op.getNumResults() != 0) {
        op.emitOpError("reaches memc-svd-projector-to-runtime on tensors "
                       "(bufferize first)");
        return signalPassFailure();
      }
      // The runtime reads and writes dense row-major matrices.
      for (Value buffer : {op.getGradient(), op.getProjector()})
        if (!memref::isStaticShapeAndContiguousRowMajor(
                cast<MemRefType>(buffer.getType()))) {
          op.emitOpError("needs contiguous row-major buffers for the "
                         "runtime's SVD, got ")
              << buffer.getType();
          return signalPassFailure();
        }
      func::FuncOp callee = declare(module);
      OpBuilder b(op);
      Location loc = op.getLoc();
      Type i64 = b.getI64Type();
      auto c64 = [&](int64_t v) {
        return arith::ConstantIntOp::create(b, loc, i64, v).getResult();
      };
      // t == 1 || t % period == 0
      Value t = memref::LoadOp::create(b, loc, op.getStep(), ValueRange{});
      Value first =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, t, c64(1));
      Value due = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq,
          arith::RemSIOp::create(b, loc, t, c64(op.getPeriod())), c64(0));
      Value refresh = arith::OrIOp::create(b, loc, first, due);
      auto ifOp = scf::IfOp::create(b, loc, refresh, /*withElse=*/false);
      b.setInsertionPointToStart(ifOp.thenBlock());
      auto shape = cast<MemRefType>(op.getGradient().getType()).getShape();
      func::CallOp::create(
          b, loc, callee,
          ValueRange{memc::pointerToFirstElement(b, loc, op.getGradient()),
                     c64(shape[0]), c64(shape[1]), c64(op.getRank()),
                     arith::ConstantIntOp::create(b, loc, b.getI32Type(),
                                                  op.getRight() ? 1 : 0),
                     memc::pointerToFirstElement(b, loc, op.getProjector()),
                     cString(b, loc, module,
                             op.getWeightName() ? *op.getWeightName()
                                                : StringRef("a weight"))});
      op.erase();
    }
  }
};

} // namespace
