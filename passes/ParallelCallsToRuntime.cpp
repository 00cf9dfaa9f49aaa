//===- ParallelCallsToRuntime.cpp - parallel kernels -> the runtime's pool
//-===//
//
// After lowering to the LLVM dialect with bare pointers, a parallel
// kernel's arguments are pointers and scalars of at most 8 bytes. The
// runtime gets one function pointer and one block of 8-byte slots; the
// trampoline unpacks the slots and calls the kernel on the rows it is given
// (runtime/cpu/memc_runtime.h, memc_rt_parallel_for).
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/RuntimeCalls.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace memc {
#define GEN_PASS_DEF_PARALLELCALLSTORUNTIME
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kRuntimeFn = "memc_rt_parallel_for";

struct ParallelCallsToRuntimePass
    : public memc::impl::ParallelCallsToRuntimeBase<
          ParallelCallsToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    SmallVector<LLVM::CallOp> calls;
    module.walk([&](LLVM::CallOp call) {
      std::optional<StringRef> callee = call.getCallee();
      if (callee && callee->ends_with(memc::kParallelKernelSuffix))
        calls.push_back(call);
    });
    if (calls.empty())
      return;
    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto runtime = module.lookupSymbol<LLVM::LLVMFuncOp>(kRuntimeFn);
    if (!runtime)
      runtime = LLVM::LLVMFuncOp::create(
          b, module.getLoc(), kRuntimeFn,
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                      {ptr, ptr, i64}));
    llvm::StringMap<LLVM::LLVMFuncOp> trampolines;
    for (LLVM::CallOp call : calls) {
      StringRef declName = *call.getCallee();
      StringRef kernelName =
          declName.drop_back(memc::kParallelKernelSuffix.size());
      auto kernel = module.lookupSymbol<LLVM::LLVMFuncOp>(kernelName);
      unsigned slots = call.getNumOperands() - 1;
      if (!kernel || kernel.getNumArguments() != slots + 2) {
        call.emitError("memc-parallel-calls-to-runtime: no kernel @")
            << kernelName << " taking the call's arguments and lo, hi";
        return signalPassFailure();
      }
      for (Value v : call.getOperands().drop_back())
        if (!isa<LLVM::LLVMPointerType, IntegerType, FloatType>(v.getType()) ||
            (!isa<LLVM::LLVMPointerType>(v.getType()) &&
             v.getType().getIntOrFloatBitWidth() > 64)) {
          call.emitError("memc-parallel-calls-to-runtime: an argument of ")
              << v.getType() << " does not fit an 8-byte slot";
          return signalPassFailure();
        }
      LLVM::LLVMFuncOp &trampoline = trampolines[kernelName];
      if (!trampoline) {
        // void K__trampoline(ptr slots, i64 lo, i64 hi): K(slots..., lo, hi)
        b.setInsertionPointToEnd(module.getBody());
        trampoline = LLVM::LLVMFuncOp::create(
            b, kernel.getLoc(), (kernelName + "__trampoline").str(),
            LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                        {ptr, i64, i64}),
            LLVM::Linkage::Internal);
        Block *body = trampoline.addEntryBlock(b);
        b.setInsertionPointToStart(body);
        SmallVector<Value> args;
        for (unsigned i = 0; i < slots; ++i) {
          Value slot = LLVM::GEPOp::create(b, kernel.getLoc(), ptr, i64,
                                           body->getArgument(0),
                                           ArrayRef<LLVM::GEPArg>{int32_t(i)});
          args.push_back(LLVM::LoadOp::create(
              b, kernel.getLoc(), kernel.getArgumentTypes()[i], slot));
        }
        args.push_back(body->getArgument(1));
        args.push_back(body->getArgument(2));
        LLVM::CallOp::create(b, kernel.getLoc(), kernel, args);
        LLVM::ReturnOp::create(b, kernel.getLoc(), ValueRange{});
      }
      // The slots live in the caller's frame: one block per call, allocated
      // at its entry (calls sit at the top level of the model function).
      auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
      b.setInsertionPointToStart(&caller.getBody().front());
      Value count = LLVM::ConstantOp::create(b, call.getLoc(), i64,
                                             b.getI64IntegerAttr(slots));
      Value block = LLVM::AllocaOp::create(b, call.getLoc(), ptr, i64, count,
                                           /*alignment=*/8);
      b.setInsertionPoint(call);
      for (auto [i, v] : llvm::enumerate(call.getOperands().drop_back())) {
        Value slot = LLVM::GEPOp::create(b, call.getLoc(), ptr, i64, block,
                                         ArrayRef<LLVM::GEPArg>{int32_t(i)});
        LLVM::StoreOp::create(b, call.getLoc(), v, slot);
      }
      Value fn = LLVM::AddressOfOp::create(b, call.getLoc(), trampoline);
      LLVM::CallOp::create(b, call.getLoc(), runtime,
                           ValueRange{fn, block, call.getOperands().back()});
      call.erase();
    }
    // The declarations are called no more.
    for (auto &[name, trampoline] : trampolines)
      if (auto decl = module.lookupSymbol<LLVM::LLVMFuncOp>(
              (name + memc::kParallelKernelSuffix).str()))
        decl.erase();
  }
};

} // namespace
