//===- CUDAHostKernels.cpp - the kernels compiled for the host CPU --------===//
//
// A testing aid for machines without a GPU: the kernels of a CUDA package,
// compiled from the same gpu.module (after outlining, before NVVM) for the
// host, so that the test suite's fake libcuda can run them. With the fake
// cuBLAS that makes a whole CUDA package (launch plan, addresses, argument
// order, loop mapping, GEMM mapping) checkable against the reference
// outputs; only NVVM and PTX generation are left to a GPU.
//
// Each kernel K(args...) becomes K(args..., bx, by, bz, tx, ty, tz, gx, gy,
// gz, nx, ny, nz) (block id, thread id, grid and block sizes) plus
//   void K_memc_host(void **params, const int64_t ids[12])
// which reads the arguments the way cuLaunchKernel's kernelParams hold them.
//
// What is modelled, and how (the fake runs one block at a time):
//  - workgroup attribution i of K is a module-level buffer, the public
//    symbol K_memc_host_workgroup<i>: every thread of the running block sees
//    the same buffer, which is what shared memory is; private attributions
//    are allocas;
//  - every memory space (#gpu.address_space<workgroup|private|global> or a
//    number) becomes the default one: host memory is one space;
//  - gpu.barrier calls `void memc_host_barrier(void)`;
//  - gpu.shuffle (xor, idx, up, down; i32 or f32; width 32) calls
//    `T memc_host_shuffle_<mode>_<i32|f32>(T value, int32_t offset,
//    int32_t width)`, and its `valid` result is computed here as NVVM
//    computes it (xor, idx: true; down: lane + offset < 32; up: offset <=
//    lane), offsets being < 32 (the fake refuses others at run time);
//  - gpu.lane_id is the linear thread id (x fastest) modulo 32;
//  - nvgpu.mma.sync m16n8k8 on TF32 (f32 vectors 4x1, 2x1, 2x2) calls
//    `void memc_host_mma_m16n8k8_tf32(const float a[4], const float b[2],
//    float cd[4])`, the lane's fragments in PTX's register order, the
//    accumulator updated in place.
// The fake libcuda defines those functions; kernels-host.so leaves them
// undefined. A kernel that calls them needs its block's threads run
// cooperatively (as fibers), so such a kernel K also gets the marker
//   const int32_t K_memc_host_collective = 1;
// and the fake keeps its plain thread-after-thread loop for the others.
// Any other gpu op, or a shuffle of another type or width, is an error
// naming the kernel.
//
//===----------------------------------------------------------------------===//
#include "memc/Target/CUDATarget.h"

#include "memc/Target/CPUTarget.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace memc {

namespace {

constexpr unsigned kNumIds = 12;
/// The warp size the shuffles are modelled for (all NVIDIA GPUs).
constexpr int64_t kWarpSize = 32;

/// A lowered kernel, and whether its threads must run cooperatively.
struct HostKernel {
  std::string name;
  bool collective = false;
};

/// `func.func private @name(inputs) -> results`, declared once in `host`.
func::FuncOp declareRuntimeFunction(ModuleOp host, StringRef name,
                                    TypeRange inputs, TypeRange results) {
  if (auto f = host.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockBegin(host.getBody());
  auto f = func::FuncOp::create(b, host.getLoc(), name,
                                b.getFunctionType(inputs, results));
  f.setPrivate();
  return f;
}

/// Why `shuffle` cannot be run on the host, or empty.
std::string unsupportedShuffle(gpu::ShuffleOp shuffle) {
  Type type = shuffle.getValue().getType();
  if (!type.isF32() && !type.isInteger(32)) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "a gpu.shuffle of " << type << " (the host build models i32 and f32)";
    return text;
  }
  APInt width;
  if (!matchPattern(shuffle.getWidth(), m_ConstantInt(&width)) ||
      width != kWarpSize)
    return "a gpu.shuffle whose width is not the constant 32 (the host "
           "build models whole warps)";
  APInt offset;
  if (matchPattern(shuffle.getOffset(), m_ConstantInt(&offset)) &&
      offset.uge(kWarpSize))
    return "a gpu.shuffle with offset " +
           std::to_string(offset.getZExtValue()) +
           " (offsets must be below 32)";
  return "";
}

/// Why `mma` cannot be run on the host, or empty.
std::string unsupportedMma(nvgpu::MmaSyncOp mma) {
  auto shape = llvm::to_vector(
      llvm::map_range(mma.getMmaShape().getAsRange<IntegerAttr>(),
                      [](IntegerAttr a) { return a.getInt(); }));
  auto is = [](Value v, int64_t rows, int64_t cols) {
    auto type = cast<VectorType>(v.getType());
    return type.getElementType().isF32() &&
           type.getShape() == ArrayRef<int64_t>{rows, cols};
  };
  if (shape != SmallVector<int64_t>{16, 8, 8} || !mma.getTf32Enabled() ||
      !is(mma.getMatrixA(), 4, 1) || !is(mma.getMatrixB(), 2, 1) ||
      !is(mma.getMatrixC(), 2, 2))
    return "an nvgpu.mma.sync other than m16n8k8 on TF32 (the host build "
           "models that one)";
  return "";
}

/// The linear thread id (x fastest, as CUDA numbers a block's threads) modulo
/// the warp size, as i32.
Value laneOf(OpBuilder &b, Location loc, ArrayRef<Value> ids) {
  Value tx = ids[3], ty = ids[4], tz = ids[5], nx = ids[9], ny = ids[10];
  Value yz = arith::AddIOp::create(
      b, loc, ty, arith::MulIOp::create(b, loc, ny, tz).getResult());
  Value linear = arith::AddIOp::create(
      b, loc, tx, arith::MulIOp::create(b, loc, nx, yz).getResult());
  Value lane = arith::RemUIOp::create(
      b, loc, linear, arith::ConstantIndexOp::create(b, loc, kWarpSize));
  return arith::IndexCastUIOp::create(b, loc, b.getI32Type(), lane);
}

/// gpu.shuffle -> a call of the fake's memc_host_shuffle_<mode>_<type>, and
/// `valid` as the NVVM lowering computes it for width 32 and offsets below
/// 32 (the fake refuses larger offsets, so nothing else is reached).
void lowerShuffle(gpu::ShuffleOp shuffle, ModuleOp host, ArrayRef<Value> ids) {
  OpBuilder b(shuffle);
  Location loc = shuffle.getLoc();
  Type type = shuffle.getValue().getType();
  std::string name =
      ("memc_host_shuffle_" + gpu::stringifyShuffleMode(shuffle.getMode()) +
       "_" + (type.isF32() ? "f32" : "i32"))
          .str();
  Type i32 = b.getI32Type();
  func::FuncOp callee =
      declareRuntimeFunction(host, name, {type, i32, i32}, {type});
  Value result =
      func::CallOp::create(b, loc, callee,
                           ValueRange{shuffle.getValue(), shuffle.getOffset(),
                                      shuffle.getWidth()})
          .getResult(0);
  Value valid;
  Value offset = shuffle.getOffset();
  switch (shuffle.getMode()) {
  case gpu::ShuffleMode::XOR: // lane ^ offset < 32
  case gpu::ShuffleMode::IDX: // offset < 32
    valid = arith::ConstantIntOp::create(b, loc, 1, 1);
    break;
  case gpu::ShuffleMode::DOWN: { // lane + offset < 32
    Value lane = laneOf(b, loc, ids);
    Value source = arith::AddIOp::create(b, loc, lane, offset);
    valid = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ult, source,
        arith::ConstantIntOp::create(b, loc, i32, kWarpSize));
    break;
  }
  case gpu::ShuffleMode::UP: // lane - offset >= 0
    valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, offset,
                                  laneOf(b, loc, ids));
    break;
  }
  shuffle.getShuffleResult().replaceAllUsesWith(result);
  shuffle.getValid().replaceAllUsesWith(valid);
  shuffle.erase();
}

/// nvgpu.mma.sync -> memc_host_mma_m16n8k8_tf32(a, b, cd) through the
/// three stack buffers `frags` (4, 2 and 4 floats).
void lowerMma(nvgpu::MmaSyncOp mma, ModuleOp host, ArrayRef<Value> frags) {
  OpBuilder b(mma);
  Location loc = mma.getLoc();
  Value operands[3] = {mma.getMatrixA(), mma.getMatrixB(), mma.getMatrixC()};
  for (int which = 0; which < 3; ++which) {
    auto type = cast<VectorType>(operands[which].getType());
    for (int64_t r = 0; r < type.getDimSize(0); ++r)
      for (int64_t c = 0; c < type.getDimSize(1); ++c) {
        Value x = vector::ExtractOp::create(b, loc, operands[which],
                                            ArrayRef<int64_t>{r, c});
        memref::StoreOp::create(
            b, loc, x, frags[which],
            arith::ConstantIndexOp::create(b, loc, r * type.getDimSize(1) + c)
                .getResult());
      }
  }
  func::FuncOp callee = declareRuntimeFunction(
      host, "memc_host_mma_m16n8k8_tf32",
      {frags[0].getType(), frags[1].getType(), frags[2].getType()}, {});
  func::CallOp::create(b, loc, callee, ValueRange(frags));
  SmallVector<Value> d;
  for (int64_t i = 0; i < 4; ++i)
    d.push_back(memref::LoadOp::create(
        b, loc, frags[2],
        arith::ConstantIndexOp::create(b, loc, i).getResult()));
  mma.getRes().replaceAllUsesWith(
      vector::FromElementsOp::create(b, loc, mma.getRes().getType(), d)
          .getResult());
  mma.erase();
}

/// Workgroup attributions -> module-level buffers, private ones -> allocas,
/// at the start of `entry`, whose attribution arguments (after the kernel's
/// `numArgs` arguments) are then dropped.
void lowerAttributions(gpu::GPUFuncOp kernel, Block &entry, unsigned numArgs,
                       ModuleOp host) {
  OpBuilder gb = OpBuilder::atBlockBegin(host.getBody());
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  Location loc = kernel.getLoc();
  unsigned numWorkgroup = kernel.getNumWorkgroupAttributions();
  unsigned numPrivate = kernel.getNumPrivateAttributions();
  for (unsigned i = 0; i < numWorkgroup + numPrivate; ++i) {
    BlockArgument arg = entry.getArgument(numArgs + i);
    auto type = cast<MemRefType>(arg.getType());
    Value buffer;
    if (i < numWorkgroup) {
      // One buffer for all blocks: the fake runs one block at a time, and
      // shared memory holds nothing defined when a block starts. Public, not
      // private: LLVM must not take it for memory that the barrier and
      // shuffle calls (external functions, where the other threads run)
      // cannot touch, or it would forward a thread's own stores across them.
      std::string name =
          (kernel.getName() + "_memc_host_workgroup" + Twine(i)).str();
      memref::GlobalOp::create(gb, loc, name, /*sym_visibility=*/nullptr, type,
                               gb.getUnitAttr(), /*constant=*/false,
                               gb.getI64IntegerAttr(16));
      buffer = memref::GetGlobalOp::create(b, loc, type, name);
    } else {
      buffer = memref::AllocaOp::create(b, loc, type);
    }
    arg.replaceAllUsesWith(buffer);
  }
  entry.eraseArguments(numArgs, numWorkgroup + numPrivate);
}

/// gpu.func kernels -> func.func with the ids as trailing index arguments.
LogicalResult kernelsToFunctions(gpu::GPUModuleOp kernels, ModuleOp host,
                                 SmallVectorImpl<HostKernel> &lowered,
                                 std::string &error) {
  OpBuilder b = OpBuilder::atBlockEnd(host.getBody());
  for (Operation &op : kernels.getBody()->getOperations()) {
    auto kernel = dyn_cast<gpu::GPUFuncOp>(op);
    if (!kernel) {
      b.clone(op); // globals the kernels read
      continue;
    }
    std::string why;
    kernel.walk([&](Operation *inner) {
      if (auto shuffle = dyn_cast<gpu::ShuffleOp>(inner))
        why = unsupportedShuffle(shuffle);
      else if (auto mma = dyn_cast<nvgpu::MmaSyncOp>(inner))
        why = unsupportedMma(mma);
      else if (isa<nvgpu::NVGPUDialect>(inner->getDialect()))
        why = inner->getName().getStringRef().str();
      else if (isa<gpu::GPUDialect>(inner->getDialect()) &&
               !isa<gpu::GPUFuncOp, gpu::BlockIdOp, gpu::ThreadIdOp,
                    gpu::GridDimOp, gpu::BlockDimOp, gpu::LaneIdOp,
                    gpu::BarrierOp, gpu::ReturnOp>(inner))
        why = inner->getName().getStringRef().str();
      return why.empty() ? WalkResult::advance() : WalkResult::interrupt();
    });
    if (!why.empty()) {
      error = "kernel @" + kernel.getName().str() + " uses " + why +
              ", which the host build does not model";
      return failure();
    }
    unsigned numArgs = kernel.getNumArguments();
    SmallVector<Type> inputs(kernel.getArgumentTypes());
    inputs.append(kNumIds, b.getIndexType());
    auto func = func::FuncOp::create(b, kernel.getLoc(), kernel.getName(),
                                     b.getFunctionType(inputs, {}));
    IRMapping mapping;
    kernel.getBody().cloneInto(&func.getBody(), mapping);
    Block &entry = func.getBody().front();
    lowerAttributions(kernel, entry, numArgs, host);
    SmallVector<Value> ids;
    for (unsigned i = 0; i < kNumIds; ++i)
      ids.push_back(entry.addArgument(b.getIndexType(), kernel.getLoc()));
    auto idOf = [&](unsigned base, gpu::Dimension d) {
      return ids[base + unsigned(d)];
    };
    SmallVector<Operation *> dead;
    SmallVector<gpu::ShuffleOp> shuffles;
    SmallVector<gpu::BarrierOp> barriers;
    SmallVector<nvgpu::MmaSyncOp> mmas;
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
      else if (auto o = dyn_cast<gpu::LaneIdOp>(inner)) {
        OpBuilder lb(o);
        v = arith::IndexCastUIOp::create(lb, o.getLoc(), lb.getIndexType(),
                                         laneOf(lb, o.getLoc(), ids));
      } else if (auto o = dyn_cast<gpu::ShuffleOp>(inner))
        shuffles.push_back(o);
      else if (auto o = dyn_cast<gpu::BarrierOp>(inner))
        barriers.push_back(o);
      else if (auto o = dyn_cast<nvgpu::MmaSyncOp>(inner))
        mmas.push_back(o);
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
    for (gpu::BarrierOp barrier : barriers) {
      OpBuilder bb(barrier);
      func::CallOp::create(
          bb, barrier.getLoc(),
          declareRuntimeFunction(host, "memc_host_barrier", {}, {}),
          ValueRange{});
      barrier.erase();
    }
    for (gpu::ShuffleOp shuffle : shuffles)
      lowerShuffle(shuffle, host, ids);
    if (!mmas.empty()) {
      // One set of fragment buffers per thread, at the entry: allocas in
      // the loops around the mmas would grow the stack every iteration.
      OpBuilder eb = OpBuilder::atBlockBegin(&entry);
      Type f32 = eb.getF32Type();
      SmallVector<Value> frags;
      for (int64_t size : {4, 2, 4})
        frags.push_back(memref::AllocaOp::create(eb, kernel.getLoc(),
                                                 MemRefType::get({size}, f32)));
      for (nvgpu::MmaSyncOp mma : mmas)
        lowerMma(mma, host, frags);
    }
    lowered.push_back({kernel.getName().str(), !barriers.empty() ||
                                                   !shuffles.empty() ||
                                                   !mmas.empty()});
  }
  // Host memory is one address space, and the LLVM lowering knows no
  // #gpu.address_space: every memref is put in the default one.
  AttrTypeReplacer replacer;
  replacer.addReplacement([](MemRefType type) -> std::optional<Type> {
    if (!type.getMemorySpace())
      return std::nullopt;
    return MemRefType::get(type.getShape(), type.getElementType(),
                           type.getLayout());
  });
  replacer.addReplacement([](UnrankedMemRefType type) -> std::optional<Type> {
    if (!type.getMemorySpace())
      return std::nullopt;
    return UnrankedMemRefType::get(type.getElementType(), Attribute());
  });
  replacer.recursivelyReplaceElementsIn(host, /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
  return success();
}

/// K_memc_host(void **params, const int64_t *ids) for each lowered kernel,
/// and K_memc_host_collective for those whose threads must run
/// cooperatively.
void addLaunchWrappers(ModuleOp host, ArrayRef<HostKernel> kernels) {
  MLIRContext *ctx = host.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i32 = IntegerType::get(ctx, 32);
  auto i64 = IntegerType::get(ctx, 64);
  OpBuilder b = OpBuilder::atBlockEnd(host.getBody());
  for (const HostKernel &kernel : kernels) {
    const std::string &name = kernel.name;
    auto callee = host.lookupSymbol<LLVM::LLVMFuncOp>(name);
    Location loc = callee.getLoc();
    if (kernel.collective)
      LLVM::GlobalOp::create(
          b, loc, i32, /*isConstant=*/true, LLVM::Linkage::External,
          name + "_memc_host_collective", b.getI32IntegerAttr(1));
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
  // What the host functions are made of, whatever `module` happened to use.
  ctx->loadDialect<arith::ArithDialect, func::FuncDialect, LLVM::LLVMDialect,
                   memref::MemRefDialect, vector::VectorDialect>();
  OwningOpRef<ModuleOp> host = ModuleOp::create(UnknownLoc::get(ctx));
  SmallVector<HostKernel> lowered;
  if (failed(kernelsToFunctions(kernels, *host, lowered, error)))
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
          "convert-vector-to-llvm,convert-ub-to-llvm,convert-cf-to-llvm,"
          "convert-func-to-llvm{use-bare-ptr-memref-call-conv=true},"
          "reconcile-unrealized-casts",
          pm, llvm::errs())) ||
      failed(pm.run(*host))) {
    error = "lowering the kernels for the host failed: " + firstError;
    return false;
  }
  addLaunchWrappers(*host, lowered);

  llvm::LLVMContext llvmContext;
  CPUTargetOptions options;
  options.optLevel = 2;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(*host, llvmContext, options, error);
  if (!llvmModule && !firstError.empty())
    error += ": " + firstError;
  return llvmModule &&
         emitSharedObject(*llvmModule, options, workDir, soPath, error);
}

} // namespace memc
