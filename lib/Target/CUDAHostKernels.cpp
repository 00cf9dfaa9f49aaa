//===- CUDAHostKernels.cpp - the kernels compiled for the host CPU --------===//
//
// A testing aid for machines without a GPU: the kernels of a CUDA package,
// compiled from the same gpu.module (after outlining, before NVVM) for the
// host, so that the test suite's fake libcuda can run them thread by thread.
// With the fake cuBLAS that makes a whole CUDA package (launch plan,
// addresses, argument order, loop mapping, GEMM mapping) checkable against
// the reference outputs; only NVVM and PTX generation are left to a GPU.
//
// Each kernel K(args...) becomes K(args..., bx, by, bz, tx, ty, tz, gx, gy,
// gz, nx, ny, nz) (block id, thread id, grid and block sizes) plus
//   void K_memc_host(void **params, const int64_t ids[12])
// which reads the arguments the way cuLaunchKernel's kernelParams hold them.
//
//===----------------------------------------------------------------------===//
#include "memc/Target/CUDATarget.h"

#include "memc/Target/CPUTarget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace memc {

namespace {

constexpr unsigned kNumIds = 12;

/// gpu.func kernels -> func.func with the ids as trailing index arguments.
LogicalResult kernelsToFunctions(gpu::GPUModuleOp kernels, ModuleOp host,
                                 SmallVectorImpl<std::string> &names,
                                 std::string &error) {
  OpBuilder b = OpBuilder::atBlockEnd(host.getBody());
  for (Operation &op : kernels.getBody()->getOperations()) {
    auto kernel = dyn_cast<gpu::GPUFuncOp>(op);
    if (!kernel) {
      b.clone(op); // globals the kernels read
      continue;
    }
    if (!kernel.getWorkgroupAttributions().empty() ||
        !kernel.getPrivateAttributions().empty()) {
      error = "kernel @" + kernel.getName().str() +
              " uses workgroup memory, which the host build does not model";
      return failure();
    }
    SmallVector<Type> inputs(kernel.getArgumentTypes());
    inputs.append(kNumIds, b.getIndexType());
    auto func = func::FuncOp::create(b, kernel.getLoc(), kernel.getName(),
                                     b.getFunctionType(inputs, {}));
    IRMapping mapping;
    kernel.getBody().cloneInto(&func.getBody(), mapping);
    Block &entry = func.getBody().front();
    SmallVector<Value> ids;
    for (unsigned i = 0; i < kNumIds; ++i)
      ids.push_back(entry.addArgument(b.getIndexType(), kernel.getLoc()));
    auto idOf = [&](unsigned base, gpu::Dimension d) {
      return ids[base + unsigned(d)];
    };
    SmallVector<Operation *> dead;
    func.walk([&](Operation *inner) {
      Value v;
      if (auto o = dyn_cast<gpu::BlockIdOp>(inner))
        v = idOf(0, o.getDimension());
      else if (auto o = dyn_cast<gpu::ThreadIdOp>(inner))
        v = idOf(3, o.getDimension());
      else if (auto o = dyn_cast<gpu::GridDimOp>(inner))
        v = idOf(6, o.getDimension());
      else if (auto o = dyn_cast<gpu::BlockDimOp>(inner))
        v = idOf(9, o.getDimension());
      if (v) {
        inner->getResult(0).replaceAllUsesWith(v);
        dead.push_back(inner);
      }
      if (auto ret = dyn_cast<gpu::ReturnOp>(inner)) {
        OpBuilder rb(ret);
        func::ReturnOp::create(rb, ret.getLoc());
        dead.push_back(ret);
      }
    });
    for (Operation *d : dead)
      d->erase();
    names.push_back(kernel.getName().str());
  }
  return success();
}

/// K_memc_host(void **params, const int64_t *ids) for each lowered kernel.
void addLaunchWrappers(ModuleOp host, ArrayRef<std::string> names) {
  MLIRContext *ctx = host.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  OpBuilder b = OpBuilder::atBlockEnd(host.getBody());
  for (const std::string &name : names) {
    auto callee = host.lookupSymbol<LLVM::LLVMFuncOp>(name);
    Location loc = callee.getLoc();
    auto wrapper = LLVM::LLVMFuncOp::create(
        b, loc, name + "_memc_host",
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr, ptr}));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(wrapper.addEntryBlock(b));
    Value params = wrapper.getArgument(0), idArray = wrapper.getArgument(1);
    ArrayRef<Type> types = callee.getFunctionType().getParams();
    unsigned numArgs = types.size() - kNumIds;
    SmallVector<Value> args;
    for (unsigned i = 0; i < types.size(); ++i) {
      if (i < numArgs) {
        Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, params,
                                         ArrayRef<LLVM::GEPArg>{int32_t(i)});
        Value at = LLVM::LoadOp::create(b, loc, ptr, slot);
        args.push_back(LLVM::LoadOp::create(b, loc, types[i], at));
      } else {
        Value slot =
            LLVM::GEPOp::create(b, loc, ptr, i64, idArray,
                                ArrayRef<LLVM::GEPArg>{int32_t(i - numArgs)});
        args.push_back(LLVM::LoadOp::create(b, loc, i64, slot));
      }
    }
    LLVM::CallOp::create(b, loc, callee, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
  }
}

} // namespace

bool emitHostKernels(ModuleOp module, const std::string &workDir,
                     const std::string &soPath, std::string &error) {
  gpu::GPUModuleOp kernels;
  for (auto m : module.getOps<gpu::GPUModuleOp>())
    kernels = m;
  if (!kernels) {
    error = "no gpu.module with kernels";
    return false;
  }
  MLIRContext *ctx = module.getContext();
  OwningOpRef<ModuleOp> host = ModuleOp::create(UnknownLoc::get(ctx));
  SmallVector<std::string> names;
  if (failed(kernelsToFunctions(kernels, *host, names, error)))
    return false;

  std::string firstError;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    if (firstError.empty())
      firstError = d.str();
    return success();
  });
  PassManager pm(ctx);
  if (failed(parsePassPipeline(
          "lower-affine,convert-scf-to-cf,expand-strided-metadata,"
          "lower-affine,finalize-memref-to-llvm,convert-math-to-llvm,"
          "convert-math-to-libm,convert-arith-to-llvm,convert-index-to-llvm,"
          "convert-cf-to-llvm,"
          "convert-func-to-llvm{use-bare-ptr-memref-call-conv=true},"
          "reconcile-unrealized-casts",
          pm, llvm::errs())) ||
      failed(pm.run(*host))) {
    error = "lowering the kernels for the host failed: " + firstError;
    return false;
  }
  addLaunchWrappers(*host, names);

  llvm::LLVMContext llvmContext;
  CPUTargetOptions options;
  options.optLevel = 2;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(*host, llvmContext, options, error);
  return llvmModule &&
         emitSharedObject(*llvmModule, options, workDir, soPath, error);
}

} // namespace memc
