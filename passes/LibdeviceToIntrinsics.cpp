//===- LibdeviceToIntrinsics.cpp - __nv_* calls -> LLVM intrinsics --------===//
#include "memc/Transforms/Passes.h"

#include "llvm/ADT/StringMap.h"

namespace memc {
#define GEN_PASS_DEF_LIBDEVICETOINTRINSICS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct LibdeviceToIntrinsicsPass
    : memc::impl::LibdeviceToIntrinsicsBase<LibdeviceToIntrinsicsPass> {
  void runOnOperation() override {
    // libdevice function (f32 and f64 forms) -> LLVM intrinsic op. Only
    // functions whose NVPTX lowering is a single exact instruction.
    static const llvm::StringMap<StringRef> intrinsics = {
        {"__nv_sqrtf", "llvm.intr.sqrt"},
        // ex2.approx.f32: 2 ulp, which is what the attention kernel's
        // softmax asks for (f64 exp2 has no such instruction).
        {"__nv_exp2f", "llvm.intr.exp2"},
        {"__nv_sqrt", "llvm.intr.sqrt"},
        {"__nv_fmaf", "llvm.intr.fma"},
        {"__nv_fma", "llvm.intr.fma"},
        {"__nv_floorf", "llvm.intr.floor"},
        {"__nv_floor", "llvm.intr.floor"},
        {"__nv_ceilf", "llvm.intr.ceil"},
        {"__nv_ceil", "llvm.intr.ceil"},
        {"__nv_truncf", "llvm.intr.trunc"},
        {"__nv_trunc", "llvm.intr.trunc"},
        {"__nv_rintf", "llvm.intr.rint"},
        {"__nv_rint", "llvm.intr.rint"},
        {"__nv_fabsf", "llvm.intr.fabs"},
        {"__nv_fabs", "llvm.intr.fabs"},
        {"__nv_fminf", "llvm.intr.minnum"},
        {"__nv_fmin", "llvm.intr.minnum"},
        {"__nv_fmaxf", "llvm.intr.maxnum"},
        {"__nv_fmax", "llvm.intr.maxnum"},
        {"__nv_copysignf", "llvm.intr.copysign"},
        {"__nv_copysign", "llvm.intr.copysign"},
    };
    SmallVector<LLVM::CallOp> calls;
    getOperation()->walk([&](LLVM::CallOp call) {
      std::optional<StringRef> callee = call.getCallee();
      if (callee && intrinsics.count(*callee) && call.getNumResults() == 1)
        calls.push_back(call);
    });
    for (LLVM::CallOp call : calls) {
      OpBuilder b(call);
      OperationState state(call.getLoc(), intrinsics.lookup(*call.getCallee()));
      state.addOperands(call.getArgOperands());
      state.addTypes(call.getResultTypes());
      Operation *replacement = b.create(state);
      call.getResult().replaceAllUsesWith(replacement->getResult(0));
      call.erase();
    }
    // Drop the declarations nothing calls any more.
    SmallVector<LLVM::LLVMFuncOp> unused;
    getOperation()->walk([&](LLVM::LLVMFuncOp func) {
      if (func.isExternal() && intrinsics.count(func.getName()) &&
          SymbolTable::symbolKnownUseEmpty(func, getOperation()))
        unused.push_back(func);
    });
    for (LLVM::LLVMFuncOp func : unused)
      func.erase();
  }
};
} // namespace
