//===- LaunchPlan.cpp - host ops after memc-lower-to-gpu -> launch plan ---===//
//
// The host side of a CUDA program is a straight line of launches, GEMMs and
// copies over buffers whose addresses are fixed once the package is loaded
// (inputs, weights, outputs, constants, arena offsets). So memc writes it as
// data, the launch plan, instead of compiling host code: runtime/cuda stays a
// small interpreter with no MLIR or LLVM, and the plan is readable and
// testable on machines without a GPU. Format: docs/cuda.md.
//
// Every buffer operand is resolved to (base buffer, byte offset) of its
// *aligned pointer*, which is what the bare-pointer kernel ABI and the GEMM
// calls take; view ops that keep the aligned pointer (reshapes, subviews,
// casts) resolve to their source, the strided offset of a subview lives in
// the kernel's memref type.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/ProgramInterface.h"
#include "dialects/optim/OptimDialect.h"
#include "memc/Target/CUDATarget.h"

#include "CopySchedule.h"

#include "memc/Runtime/PackageFormat.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace memc {
namespace {

/// Device buffers are placed at multiples of this: cudaMalloc's own
/// alignment, enough for any vector access a kernel does.
constexpr uint64_t kAlignment = 256;

uint64_t alignUp(uint64_t v) {
  return (v + kAlignment - 1) / kAlignment * kAlignment;
}

/// A buffer address: a base named as the plan names it plus a byte offset.
struct BufferRef {
  std::string base; ///< input:I, weight:I, output:I, const:I, arena or host
  uint64_t offset = 0;
  std::string str() const { return base + "+" + std::to_string(offset); }
  bool onHost() const { return base == package::kHostRef; }
};

std::string describe(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << op->getName() << "'";
  if (auto loc = dyn_cast<FileLineColLoc>(op->getLoc()))
    os << " (" << loc.getFilename().getValue() << ":" << loc.getLine() << ")";
  else if (auto loc = dyn_cast<NameLoc>(op->getLoc()))
    os << " (node '" << loc.getName().getValue() << "')";
  return s;
}

std::optional<uint64_t> byteSize(MemRefType type) {
  if (!type.hasStaticShape())
    return std::nullopt;
  Type elem = type.getElementType();
  if (!elem.isIntOrFloat())
    return std::nullopt;
  return uint64_t(type.getNumElements()) *
         ((elem.getIntOrFloatBitWidth() + 7) / 8);
}

class PlanBuilder {
public:
  PlanBuilder(CUDAProgram &program, std::string &error)
      : program(program), error(error) {}

  LogicalResult build(func::FuncOp func, StringRef arch);

private:
  LogicalResult fail(Operation *op, const Twine &what) {
    error = (what + (op ? " at " + describe(op) : std::string())).str();
    return failure();
  }
  LogicalResult classifyArguments(func::FuncOp func);
  FailureOr<BufferRef> resolve(Value memref, Operation *user);
  FailureOr<BufferRef> resolvePointer(Value ptr, Operation *user);
  Value pointerSource(Value ptr);
  void addTouched(Value memref, std::vector<PoolRange> &touches);
  void addStep(PlanStep::Kind kind, std::string text, ValueRange memrefs);
  FailureOr<unsigned> constantIndex(memref::GetGlobalOp op);
  LogicalResult emitLaunch(gpu::LaunchFuncOp op);
  LogicalResult emitGemm(func::CallOp op);
  LogicalResult emitCopy(memref::CopyOp op);
  LogicalResult emitSvd(optim::SVDProjectorOp op);
  FailureOr<std::string> scalar(Value v, Operation *user);

  CUDAProgram &program;
  std::string &error;
  /// The steps in program order; scheduleCopies writes them out.
  std::vector<PlanStep> steps;
  DenseMap<Value, BufferRef> bases;      ///< arguments and allocs
  llvm::StringMap<unsigned> constantIds; ///< global name -> const index
  std::string constantLines;
  uint64_t arenaTop = 0;
  bool hasArenaArgument = false;
};

LogicalResult PlanBuilder::classifyArguments(func::FuncOp func) {
  unsigned counts[6] = {0, 0, 0, 0, 0, 0};
  static const char *const kinds[6] = {
      memc::package::kInputRef,  memc::package::kWeightRef,
      memc::package::kOutputRef, memc::package::kStateRef,
      memc::package::kStepRef,   memc::package::kKVRef};
  for (BlockArgument arg : func.getArguments()) {
    unsigned i = arg.getArgNumber();
    if (!isa<MemRefType>(arg.getType()))
      return fail(func, "argument " + Twine(i) + " of @" + func.getName() +
                            " is not a buffer");
    memc::ArgRole role = memc::getArgRole(func, i);
    if (role == memc::ArgRole::Arena) {
      bases[arg] = {"arena", 0};
      hasArenaArgument = true;
      continue;
    }
    if (role == memc::ArgRole::HostPool) {
      // Pinned host memory: only spills and fetches address it.
      std::optional<uint64_t> bytes = byteSize(cast<MemRefType>(arg.getType()));
      if (!bytes)
        return fail(func, "the host pool argument has no static size");
      bases[arg] = {package::kHostRef, 0};
      program.hostPoolBytes = *bytes;
      continue;
    }
    int kind = role == memc::ArgRole::Input     ? 0
               : role == memc::ArgRole::Weight  ? 1
               : role == memc::ArgRole::Output  ? 2
               : role == memc::ArgRole::State   ? 3
               : role == memc::ArgRole::Step    ? 4
               : role == memc::ArgRole::KVCache ? 5
                                                : -1;
    if (kind < 0)
      return fail(func, "argument " + Twine(i) + " of @" + func.getName() +
                            " is neither an input, weight, state, step, "
                            "KV cache, output nor arena");
    bases[arg] = {
        std::string(kinds[kind]) + ":" + std::to_string(counts[kind]++), 0};
  }
  return success();
}

/// Appends the global's bytes to constants.bin (once per global).
FailureOr<unsigned> PlanBuilder::constantIndex(memref::GetGlobalOp op) {
  auto it = constantIds.find(op.getName());
  if (it != constantIds.end())
    return it->second;
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      op, op.getNameAttr());
  if (!global)
    return fail(op, "unknown global @" + op.getName());
  MemRefType type = global.getType();
  std::optional<uint64_t> bytes = byteSize(type);
  if (!bytes)
    return fail(op, "global @" + op.getName() + " has no static byte size");
  std::string data;
  Attribute init = global.getInitialValue().value_or(Attribute());
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(init)) {
    if (dense.getElementType().isInteger(1)) {
      // i1 is bit-packed in the attribute but one byte per element in memory.
      for (bool b : dense.getValues<bool>())
        data.push_back(b ? 1 : 0);
    } else if (dense.isSplat()) {
      ArrayRef<char> raw = dense.getRawData();
      for (int64_t i = 0, e = type.getNumElements(); i < e; ++i)
        data.append(raw.data(), raw.size());
    } else {
      ArrayRef<char> raw = dense.getRawData();
      data.assign(raw.data(), raw.size());
    }
  } else if (auto resource =
                 dyn_cast_or_null<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return fail(op, "global @" + op.getName() + " has no data");
    ArrayRef<char> raw = blob->getData();
    data.assign(raw.data(), raw.size());
  } else if (init && !isa<UnitAttr>(init)) {
    return fail(op, "global @" + op.getName() +
                        " has an unsupported initial value");
  }
  if (data.empty())
    data.assign(*bytes, '\0'); // uninitialized: zeros
  if (data.size() != *bytes)
    return fail(op, "global @" + op.getName() + " has " + Twine(data.size()) +
                        " bytes of data, its type needs " + Twine(*bytes));
  unsigned id = constantIds.size();
  program.constants.resize(alignUp(program.constants.size()), '\0');
  constantLines += "constant " + std::to_string(id) + " " +
                   std::to_string(program.constants.size()) + " " +
                   std::to_string(data.size()) + "\n";
  program.constants += data;
  constantIds[op.getName()] = id;
  return id;
}

/// Ops whose result has the source's aligned pointer.
bool keepsAlignedPointer(Operation *op) {
  return isa<memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp,
             memref::ReinterpretCastOp, memref::SubViewOp>(op);
}

FailureOr<BufferRef> PlanBuilder::resolve(Value memref, Operation *user) {
  auto it = bases.find(memref);
  if (it != bases.end())
    return it->second;
  Operation *def = memref.getDefiningOp();
  if (!def)
    return fail(user, "a buffer that is not an argument of the model function");
  if (auto global = dyn_cast<memref::GetGlobalOp>(def)) {
    FailureOr<unsigned> id = constantIndex(global);
    if (failed(id))
      return failure();
    return BufferRef{"const:" + std::to_string(*id), 0};
  }
  if (auto view = dyn_cast<memref::ViewOp>(def)) {
    FailureOr<BufferRef> src = resolve(view.getSource(), def);
    if (failed(src))
      return failure();
    APInt shift;
    if (!matchPattern(view.getByteShift(), m_ConstantInt(&shift)))
      return fail(def, "memref.view with a byte shift that is not a constant");
    src->offset += shift.getZExtValue();
    return *src;
  }
  if (keepsAlignedPointer(def))
    return resolve(def->getOperand(0), def);
  return fail(def, "buffer from an op the launch plan cannot place");
}

/// The pointer operands of the GEMM calls: inttoptr(index_cast(
/// extract_aligned_pointer_as_index(memref))), as memc-contractions-to-blas
/// builds them.
FailureOr<BufferRef> PlanBuilder::resolvePointer(Value ptr, Operation *user) {
  Value source = pointerSource(ptr);
  if (!source)
    return fail(user, "a GEMM pointer operand that is not a buffer's address");
  return resolve(source, user);
}

/// The buffer behind a GEMM pointer operand, or null.
Value PlanBuilder::pointerSource(Value ptr) {
  Value v = ptr;
  if (auto cast = v.getDefiningOp<LLVM::IntToPtrOp>())
    v = cast.getArg();
  if (auto cast = v.getDefiningOp<arith::IndexCastOp>())
    v = cast.getIn();
  auto extract = v.getDefiningOp<memref::ExtractAlignedPointerAsIndexOp>();
  return extract ? extract.getSource() : Value();
}

/// Adds the pool bytes `memref` may address: those of the buffer it was
/// derived from (a subview or reshape may address all of it), which is a
/// pool argument, a temporary or a memref.view. Buffers outside the pools
/// (inputs, weights, outputs, constants) add nothing. Every operand of a
/// step has been resolved by then.
void PlanBuilder::addTouched(Value memref, std::vector<PoolRange> &touches) {
  while (Operation *def = memref.getDefiningOp()) {
    if (!keepsAlignedPointer(def))
      break;
    memref = def->getOperand(0);
  }
  FailureOr<BufferRef> ref = resolve(memref, nullptr);
  if (failed(ref) || (ref->base != package::kArenaRef && !ref->onHost()))
    return;
  std::optional<uint64_t> bytes = byteSize(cast<MemRefType>(memref.getType()));
  touches.push_back(
      {ref->onHost(), ref->offset, bytes ? ref->offset + *bytes : UINT64_MAX});
}

void PlanBuilder::addStep(PlanStep::Kind kind, std::string text,
                          ValueRange memrefs) {
  PlanStep step;
  step.kind = kind;
  step.text = std::move(text);
  for (Value v : memrefs)
    addTouched(v, step.touches);
  steps.push_back(std::move(step));
}

FailureOr<std::string> PlanBuilder::scalar(Value v, Operation *user) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return fail(user, "a scalar operand that is not a constant");
  std::string s;
  llvm::raw_string_ostream os(s);
  if (auto i = dyn_cast<IntegerAttr>(attr)) {
    Type t = i.getType();
    if (t.isIndex() || t.isInteger(64))
      os << "i64:" << i.getValue().getSExtValue();
    else if (t.isInteger(32))
      os << "i32:" << i.getValue().getSExtValue();
    else
      return fail(user, "a scalar kernel operand of unsupported type");
    return s;
  }
  if (auto f = dyn_cast<FloatAttr>(attr)) {
    // %.17g round-trips every double (and so every float).
    if (f.getType().isF32())
      os << "f32:" << llvm::format("%.9g", f.getValueAsDouble());
    else if (f.getType().isF64())
      os << "f64:" << llvm::format("%.17g", f.getValueAsDouble());
    else
      return fail(user, "a scalar kernel operand of unsupported type");
    return s;
  }
  return fail(user, "a scalar operand that is not a number");
}

LogicalResult PlanBuilder::emitLaunch(gpu::LaunchFuncOp op) {
  if (op.getClusterSizeX() || !op.getAsyncDependencies().empty())
    return fail(op, "a launch with clusters or async tokens");
  auto dim = [&](Value v) -> std::optional<int64_t> {
    APInt value;
    if (!matchPattern(v, m_ConstantInt(&value)))
      return std::nullopt;
    return value.getSExtValue();
  };
  gpu::KernelDim3 grid = op.getGridSizeOperandValues();
  gpu::KernelDim3 block = op.getBlockSizeOperandValues();
  std::string line = "launch " + op.getKernelName().str();
  for (Value v : {grid.x, grid.y, grid.z, block.x, block.y, block.z}) {
    std::optional<int64_t> d = dim(v);
    if (!d || *d < 1)
      return fail(op, "a launch whose grid or block size is not a positive "
                      "constant");
    line += " " + std::to_string(*d);
  }
  int64_t smem = 0;
  if (Value s = op.getDynamicSharedMemorySize()) {
    std::optional<int64_t> d = dim(s);
    if (!d || *d < 0)
      return fail(op, "dynamic shared memory size is not a constant");
    smem = *d;
  }
  line += " " + std::to_string(smem);
  SmallVector<Value> buffers;
  for (Value arg : op.getKernelOperands()) {
    if (isa<MemRefType>(arg.getType())) {
      FailureOr<BufferRef> ref = resolve(arg, op);
      if (failed(ref))
        return failure();
      if (ref->onHost())
        return fail(op, "a kernel operand in the host pool (only spills "
                        "and fetches reach it)");
      line += " " + ref->str();
      buffers.push_back(arg);
      continue;
    }
    FailureOr<std::string> s = scalar(arg, op);
    if (failed(s))
      return failure();
    line += " " + *s;
  }
  addStep(PlanStep::Compute, line, buffers);
  ++program.numLaunches;
  return success();
}

LogicalResult PlanBuilder::emitGemm(func::CallOp op) {
  StringRef callee = op.getCallee();
  if (callee != "memc_rt_sgemm" && callee != "memc_rt_dgemm")
    return fail(op, "call of @" + callee + ", which runtime/cuda lacks");
  if (op.getNumOperands() != 17)
    return fail(op, "a GEMM call with " + Twine(op.getNumOperands()) +
                        " operands (want 17)");
  // (batch, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb,
  //  strideB, beta, C, ldc, strideC): the memc_rt_sgemm ABI, row-major.
  std::string line = callee == "memc_rt_sgemm" ? "gemm f32" : "gemm f64";
  SmallVector<Value> buffers;
  for (auto [i, v] : llvm::enumerate(op.getOperands())) {
    if (i == 7 || i == 10 || i == 14) {
      FailureOr<BufferRef> ref = resolvePointer(v, op);
      if (failed(ref))
        return failure();
      if (ref->onHost())
        return fail(op, "a GEMM operand in the host pool (only spills and "
                        "fetches reach it)");
      line += " " + ref->str();
      buffers.push_back(pointerSource(v));
      continue;
    }
    FailureOr<std::string> s = scalar(v, op);
    if (failed(s))
      return failure();
    // The types are fixed by the ABI: print the bare numbers.
    line += " " + s->substr(s->find(':') + 1);
  }
  addStep(PlanStep::Compute, line, buffers);
  ++program.numGemms;
  return success();
}

LogicalResult PlanBuilder::emitCopy(memref::CopyOp op) {
  auto srcType = cast<MemRefType>(op.getSource().getType());
  auto dstType = cast<MemRefType>(op.getTarget().getType());
  std::optional<uint64_t> bytes = byteSize(srcType);
  if (!bytes || !srcType.getLayout().isIdentity() ||
      !dstType.getLayout().isIdentity())
    return fail(op, "a copy between non-contiguous buffers");
  FailureOr<BufferRef> src = resolve(op.getSource(), op);
  FailureOr<BufferRef> dst = resolve(op.getTarget(), op);
  if (failed(src) || failed(dst))
    return failure();
  if (src->onHost() && dst->onHost())
    return fail(op, "a copy within the host pool");
  ValueRange buffers = op->getOperands();
  if (!src->onHost() && !dst->onHost()) {
    addStep(PlanStep::Compute,
            std::string(package::kCopyRecord) + " " + dst->str() + " " +
                src->str() + " " + std::to_string(*bytes),
            buffers);
    ++program.numCopies;
    return success();
  }
  // To the host pool and back, on the runtime's copy stream: scheduleCopies
  // gives each its event and places the waits.
  bool spill = dst->onHost();
  addStep(spill ? PlanStep::Spill : PlanStep::Fetch,
          std::string(spill ? package::kSpillRecord : package::kFetchRecord) +
              " " + src->str() + " " + dst->str() + " " +
              std::to_string(*bytes),
          buffers);
  ++(spill ? program.numSpills : program.numFetches);
  return success();
}

/// GaLore's projector refresh: `svd PERIOD RANK RIGHT ROWS COLS G P`. The
/// runtime tests the step count itself (it uploads it), so the op's step
/// operand must be the step buffer; the projector is an optimizer state,
/// whose manifest record names the weight for the runtime's warnings.
LogicalResult PlanBuilder::emitSvd(optim::SVDProjectorOp op) {
  if (op.getNumResults() != 0)
    return fail(op, "an optim.svd_projector on tensors");
  auto gradType = cast<MemRefType>(op.getGradient().getType());
  auto projType = cast<MemRefType>(op.getProjector().getType());
  if (!gradType.getElementType().isF32() || !gradType.hasStaticShape() ||
      !gradType.getLayout().isIdentity() ||
      !projType.getLayout().isIdentity())
    return fail(op, "an SVD of a buffer that is not a dense row-major f32 "
                    "matrix");
  FailureOr<BufferRef> step = resolve(op.getStep(), op);
  FailureOr<BufferRef> grad = resolve(op.getGradient(), op);
  FailureOr<BufferRef> proj = resolve(op.getProjector(), op);
  if (failed(step) || failed(grad) || failed(proj))
    return failure();
  if (step->base != std::string(package::kStepRef) + ":0")
    return fail(op, "an SVD whose step operand is not the step count");
  if (!StringRef(proj->base).starts_with(package::kStateRef))
    return fail(op, "an SVD whose projector is not an optimizer state");
  addStep(PlanStep::Compute,
          std::string(package::kSvdRecord) + " " +
              std::to_string(op.getPeriod()) + " " +
              std::to_string(op.getRank()) + " " + (op.getRight() ? "1" : "0") +
              " " + std::to_string(gradType.getDimSize(0)) + " " +
              std::to_string(gradType.getDimSize(1)) + " " + grad->str() + " " +
              proj->str(),
          ValueRange{op.getGradient(), op.getProjector()});
  ++program.numSvds;
  return success();
}

LogicalResult PlanBuilder::build(func::FuncOp func, StringRef arch) {
  if (failed(classifyArguments(func)))
    return failure();
  for (Block &block : func.getBody()) {
    if (&block != &func.getBody().front())
      return fail(func, "host control flow (more than one block) in @" +
                            func.getName());
    for (Operation &op : block) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        std::optional<uint64_t> bytes = byteSize(alloc.getType());
        if (!bytes)
          return fail(&op, "a temporary without a static byte size");
        arenaTop = alignUp(arenaTop);
        bases[alloc.getResult()] = {"arena", arenaTop};
        arenaTop += *bytes;
        continue;
      }
      if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
        if (failed(emitLaunch(launch)))
          return failure();
        continue;
      }
      if (auto call = dyn_cast<func::CallOp>(op)) {
        if (failed(emitGemm(call)))
          return failure();
        continue;
      }
      if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        if (failed(emitCopy(copy)))
          return failure();
        continue;
      }
      if (auto svd = dyn_cast<optim::SVDProjectorOp>(op)) {
        if (failed(emitSvd(svd)))
          return failure();
        continue;
      }
      // Bookkeeping without a step of its own: values are resolved where
      // they are used; the arena outlives every temporary.
      if (isa<arith::ConstantOp, memref::DeallocOp, memref::GetGlobalOp,
              memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp,
              memref::ReinterpretCastOp, memref::SubViewOp, memref::ViewOp,
              memref::ExtractAlignedPointerAsIndexOp, arith::IndexCastOp,
              LLVM::IntToPtrOp, func::ReturnOp>(op))
        continue;
      return fail(&op, "host op has no launch-plan form (only launches, GEMM "
                       "calls, copies and SVDs run on the host)");
    }
  }
  if (hasArenaArgument && arenaTop != 0)
    return fail(func, "both an arena argument and memref.alloc temporaries");
  if (hasArenaArgument) {
    auto arenaArg = llvm::find_if(func.getArguments(), [&](BlockArgument a) {
      return memc::isPoolArgument(a, memc::ArgRole::Arena);
    });
    std::optional<uint64_t> bytes =
        byteSize(cast<MemRefType>(arenaArg->getType()));
    if (!bytes)
      return fail(func, "the arena argument has no static size");
    program.arenaBytes = *bytes;
  } else {
    program.arenaBytes = alignUp(arenaTop);
  }

  std::string &plan = program.plan;
  plan = std::string(package::kLaunchPlanMagic) + " " +
         std::to_string(package::kLaunchPlanVersion) + "\n";
  plan += std::string(package::kArchRecord) + " " + arch.str() + "\n";
  plan += std::string(package::kHostPoolBytesRecord) + " " +
          std::to_string(program.hostPoolBytes) + "\n";
  plan += constantLines;
  plan += scheduleCopies(std::move(steps));
  return success();
}

} // namespace

bool buildCUDAProgram(ModuleOp module, StringRef funcName, StringRef arch,
                      CUDAProgram &program, std::string &error) {
  program = CUDAProgram();
  auto func = module.lookupSymbol<func::FuncOp>(funcName);
  if (!func) {
    error = "no function @" + funcName.str();
    return false;
  }
  for (auto binary : module.getOps<gpu::BinaryOp>()) {
    if (binary.getSymName() != "memc_kernels") {
      error = "unexpected gpu.binary @" + binary.getSymName().str();
      return false;
    }
    for (Attribute a : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(a);
      if (object.getFormat() != gpu::CompilationTarget::Assembly) {
        error = "gpu.binary @memc_kernels does not hold PTX text";
        return false;
      }
      program.ptx = object.getObject().getValue().str();
    }
  }
  // The kernels may only call what PTX itself provides: a libdevice
  // function (__nv_*) would be an unresolved extern at load time.
  size_t at = program.ptx.find(".extern .func");
  if (at != std::string::npos) {
    // .extern .func [(.param ... retval)] NAME(...)
    StringRef rest = StringRef(program.ptx).substr(at + 13).ltrim();
    if (rest.starts_with("("))
      rest = rest.drop_until([](char c) { return c == ')'; }).drop_front();
    StringRef name = rest.ltrim().take_while(
        [](char c) { return isalnum(c) || c == '_' || c == '$'; });
    if (name.starts_with("__nv_"))
      error = "the kernels call '" + name.str() +
              "', which needs libdevice; memc does not link it (an op "
              "without a GPU lowering of its own)";
    else
      error = "the kernels call '" + name.str() +
              "', which does not exist on the GPU (a runtime call inside "
              "a loop nest that became a kernel)";
    return false;
  }
  PlanBuilder builder(program, error);
  if (failed(builder.build(func, arch)))
    return false;
  if (program.numLaunches != 0 && program.ptx.empty()) {
    error = "the plan launches kernels but there is no gpu.binary";
    return false;
  }
  return true;
}

} // namespace memc
