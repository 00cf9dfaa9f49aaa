//===- EmitEntryPoint.cpp - the package's C entry point -------------------===//
#include "memc/Transforms/Passes.h"
#include "dialects/memc/ProgramInterface.h"

#include "memc/Runtime/PackageFormat.h"

namespace memc {
#define GEN_PASS_DEF_EMITENTRYPOINT
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {
struct EmitEntryPointPass : memc::impl::EmitEntryPointBase<EmitEntryPointPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string entryName =
        funcName.empty() ? memc::getEntryName(module).str() : funcName;
    auto callee = module.lookupSymbol<LLVM::LLVMFuncOp>(entryName);
    if (!callee) {
      module.emitError("memc-emit-entry-point: no llvm.func @") << entryName;
      return signalPassFailure();
    }
    MLIRContext *ctx = &getContext();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    LLVM::LLVMFunctionType calleeType = callee.getFunctionType();
    for (Type t : calleeType.getParams())
      if (t != ptrType) {
        callee.emitError("memc-emit-entry-point: parameter of type ")
            << t << " is not a bare buffer pointer";
        return signalPassFailure();
      }
    if (module.lookupSymbol(memc::package::kEntrySymbol)) {
      module.emitError("memc-emit-entry-point: @memc_entry already exists");
      return signalPassFailure();
    }
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Location loc = callee.getLoc();
    auto entry = LLVM::LLVMFuncOp::create(
        b, loc, memc::package::kEntrySymbol,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptrType}));
    Block *block = entry.addEntryBlock(b);
    b.setInsertionPointToStart(block);
    Value argv = block->getArgument(0);
    SmallVector<Value> args;
    for (unsigned i = 0, e = calleeType.getNumParams(); i < e; ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, ptrType, argv,
                                       ArrayRef<LLVM::GEPArg>{(int32_t)i});
      args.push_back(LLVM::LoadOp::create(b, loc, ptrType, slot));
    }
    LLVM::CallOp::create(b, loc, callee, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }
};
} // namespace
