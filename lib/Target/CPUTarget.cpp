//===- CPUTarget.cpp - LLVM dialect -> host object -> model.so ------------===//
#include "memc/Target/CPUTarget.h"
#include "X86RangeMinMax.h"
#include "dialects/memc/ProgramInterface.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace llvm;

namespace memc {

static std::unique_ptr<TargetMachine>
makeHostMachine(const CPUTargetOptions &options, std::string &error) {
  static bool initialized = [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  Triple triple(sys::getDefaultTargetTriple());
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpu = options.cpu;
  std::string features;
  if (cpu == "native") {
    cpu = sys::getHostCPUName().str();
    SubtargetFeatures f;
    for (auto &kv : sys::getHostCPUFeatures())
      f.AddFeature(kv.first(), kv.second);
    features = f.getString();
  }
  TargetOptions to;
  // a * b + c as one FMA wherever the backend finds the pair (vectorized
  // loops included): one rounding instead of two, fewer instructions. The
  // results differ from unfused ones in the last bits, within every test's
  // tolerance; they do not depend on the thread count.
  to.AllowFPOpFusion = FPOpFusion::Fast;
  auto level = options.optLevel >= 3   ? CodeGenOptLevel::Aggressive
               : options.optLevel == 2 ? CodeGenOptLevel::Default
               : options.optLevel == 1 ? CodeGenOptLevel::Less
                                       : CodeGenOptLevel::None;
  std::unique_ptr<TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, to, Reloc::PIC_, std::nullopt, level));
  if (!tm)
    error = "cannot create a target machine for " + triple.str();
  return tm;
}

/// memc's own argument and result attributes (memc.weight, memc.input, ...)
/// mean nothing to LLVM, and translation warns about each one with the whole
/// function printed into the warning: 23 s of a 30-layer model's 36 s
/// compile went into such text. Everything they say was read before (the
/// package interface), so they are dropped here.
static void dropNonLLVMAttributes(mlir::ModuleOp module) {
  auto keep = [](ArrayRef<mlir::NamedAttribute> attrs) {
    return llvm::to_vector(
        llvm::make_filter_range(attrs, [](mlir::NamedAttribute a) {
          return a.getName().strref().starts_with("llvm.");
        }));
  };
  module.walk([&](mlir::LLVM::LLVMFuncOp llvmFn) {
    auto fn = mlir::cast<mlir::FunctionOpInterface>(llvmFn.getOperation());
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      if (!fn.getArgAttrs(i).empty())
        fn.setArgAttrs(i, keep(fn.getArgAttrs(i)));
    for (unsigned i = 0, e = fn.getNumResults(); i < e; ++i)
      if (!fn.getResultAttrs(i).empty())
        fn.setResultAttrs(i, keep(fn.getResultAttrs(i)));
  });
}

std::unique_ptr<Module> translateAndOptimize(mlir::ModuleOp module,
                                             LLVMContext &llvmContext,
                                             const CPUTargetOptions &options,
                                             std::string &error) {
  std::string entryName = memc::getEntryName(module).str();
  dropNonLLVMAttributes(module);
  std::unique_ptr<Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, llvmContext, "memc_model");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  std::unique_ptr<TargetMachine> tm = makeHostMachine(options, error);
  if (!tm)
    return nullptr;
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple());
  // The generated functions carry no CPU attributes: give them the target's
  // so the vectorizer sees the host's vector width. On AVX-512 targets the
  // loops get 16 floats a vector: LLVM's Intel CPUs ask for 256 bits (a
  // clock penalty of 512-bit code on Skylake servers), but the runtime's
  // GEMM and convolution kernels run on 512-bit registers already, so
  // the generated loops only gain. The decoder example's FuseMax attention
  // loops took 0.56 -> 0.47 ms each at 2 threads, the whole model 8.73 ->
  // 8.38 ms.
  bool wideVectors = tm->getMCSubtargetInfo()->checkFeatures("+avx512f");
  for (Function &f : *llvmModule) {
    // Every buffer the program touches is a distinct allocation: the
    // runtime's allocator returns fresh blocks, and the model function's
    // parameters (inputs, weights, outputs) never overlap. Telling LLVM so
    // lets it keep accumulators in registers and vectorize loops that read
    // one buffer and write another.
    if (f.getName() == "_mlir_memref_to_llvm_alloc" ||
        f.getName() == "_mlir_memref_to_llvm_aligned_alloc")
      f.addRetAttr(Attribute::NoAlias);
    if (f.isDeclaration())
      continue;
    if (f.getName() == entryName)
      for (Argument &arg : f.args())
        if (arg.getType()->isPointerTy())
          arg.addAttr(Attribute::NoAlias);
    f.addFnAttr("target-cpu", tm->getTargetCPU());
    if (!tm->getTargetFeatureString().empty())
      f.addFnAttr("target-features", tm->getTargetFeatureString());
    if (wideVectors)
      f.addFnAttr("prefer-vector-width", "512");
  }
  if (options.optLevel > 0) {
    LoopAnalysisManager lam;
    FunctionAnalysisManager fam;
    CGSCCAnalysisManager cgam;
    ModuleAnalysisManager mam;
    PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    PassBuilder pb(tm.get(), pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    OptimizationLevel level = options.optLevel >= 3   ? OptimizationLevel::O3
                              : options.optLevel == 2 ? OptimizationLevel::O2
                                                      : OptimizationLevel::O1;
    ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(level);
    mpm.run(*llvmModule, mam);
  }
  // After the vectorizers, which make vector maximums of scalar ones.
  lowerMinMaxToRange(*llvmModule, *tm);
  if (verifyModule(*llvmModule, &errs())) {
    error = "the optimized LLVM module does not verify (a memc bug)";
    return nullptr;
  }
  return llvmModule;
}

bool emitSharedObject(Module &module, const CPUTargetOptions &options,
                      const std::string &workDir, const std::string &soPath,
                      std::string &error) {
  std::unique_ptr<TargetMachine> tm = makeHostMachine(options, error);
  if (!tm)
    return false;
  std::string objPath = workDir + "/model.o";
  {
    std::error_code ec;
    raw_fd_ostream os(objPath, ec, sys::fs::OF_None);
    if (ec) {
      error = "cannot write " + objPath + ": " + ec.message();
      return false;
    }
    legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return false;
    }
    pm.run(module);
  }
  // Link with the system compiler driver: it knows the platform's linker
  // and libc; libm provides erff/tanhf and friends.
  ErrorOr<std::string> cc = sys::findProgramByName("cc");
  if (!cc)
    cc = sys::findProgramByName("gcc");
  if (!cc)
    cc = sys::findProgramByName("clang");
  if (!cc) {
    error = "no C compiler driver (cc, gcc or clang) on PATH to link the "
            "model; install gcc";
    return false;
  }
  SmallVector<StringRef> args = {*cc,  "-shared", "-o", soPath,
                                 objPath, "-lm", "-Wl,-z,noexecstack"};
  std::string linkError;
  std::optional<StringRef> redirects[] = {std::nullopt, std::nullopt,
                                          std::nullopt};
  int rc = sys::ExecuteAndWait(*cc, args, std::nullopt, redirects, 0, 0,
                               &linkError);
  sys::fs::remove(objPath);
  if (rc != 0) {
    error = "linking " + soPath + " failed" +
            (linkError.empty() ? "" : ": " + linkError);
    return false;
  }
  return true;
}

} // namespace memc
