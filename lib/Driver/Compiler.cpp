//===- Compiler.cpp - memc's compile driver -------------------------------===//
//
// The phases: import -> einsum-to-linalg -> bufferize -> lower-to-llvm ->
// LLVM codegen + link -> package. Output goes to a temporary sibling of the
// requested path and is renamed into place only when everything succeeded,
// so a failure never leaves a partial package or IR file behind.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Compiler.h"

#include "CUDAPackage.h"
#include "OutputPath.h"
#include "Package.h"
#include "Report.h"
#include "memc/Analysis/BufferLiveness.h"
#include "memc/Driver/Pipelines.h"
#include "memc/Driver/Registration.h"
#include "memc/Import/ONNXImporter.h"
#include "memc/Plan/ProblemIO.h"
#include "memc/Plan/Timeline.h"
#include "memc/Target/CPUTarget.h"
#include "memc/Target/CUDATarget.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <functional>
#include <optional>

using namespace mlir;

namespace memc {

bool parseDims(const std::string &text, std::vector<int64_t> &dims) {
  dims.clear();
  if (text == "scalar")
    return true;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t x = text.find('x', pos);
    std::string part = text.substr(pos, x == std::string::npos ? x : x - pos);
    if (part.empty() ||
        part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 12)
      return false;
    dims.push_back(std::stoll(part));
    if (x == std::string::npos)
      break;
    pos = x + 1;
  }
  return !dims.empty();
}

bool parseByteSize(const std::string &text, uint64_t &bytes) {
  size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0 || text.empty())
    return false;
  std::string number = text.substr(0, digits);
  std::string unit = digits == std::string::npos ? "" : text.substr(digits);
  if (number.size() > 19)
    return false;
  uint64_t value = std::stoull(number);
  static const std::pair<const char *, unsigned> units[] = {
      {"", 0},     {"B", 0},   {"K", 10},   {"KB", 10}, {"KiB", 10},
      {"M", 20},   {"MB", 20}, {"MiB", 20}, {"G", 30},  {"GB", 30},
      {"GiB", 30}, {"T", 40},  {"TB", 40},  {"TiB", 40}};
  for (const auto &[name, shift] : units)
    if (unit == name) {
      if (shift && value > (UINT64_MAX >> shift))
        return false;
      bytes = value << shift;
      return true;
    }
  return false;
}

namespace {

/// Prints `[i/n] phase ... (t s)` lines under -v.
class Progress {
public:
  Progress(bool verbose, unsigned total) : verbose(verbose), total(total) {}
  void begin(const std::string &what) {
    ++index;
    current = what;
    start = std::chrono::steady_clock::now();
  }
  void end(const std::string &detail = "") {
    if (!verbose)
      return;
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    llvm::errs() << "[" << index << "/" << total << "] " << current;
    if (!detail.empty())
      llvm::errs() << ": " << detail;
    llvm::errs() << " (" << llvm::format("%.2f", s) << " s)\n";
  }
  const std::string &phase() const { return current; }

private:
  bool verbose;
  unsigned total, index = 0;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

/// Collects the first error diagnostic so that a failing pass yields one
/// clear line instead of a dump of IR.
struct FirstError {
  std::string message;
  ScopedDiagnosticHandler handler;
  explicit FirstError(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          if (d.getSeverity() == DiagnosticSeverity::Error && message.empty()) {
            llvm::raw_string_ostream os(message);
            os << d;
          }
          return success();
        }) {}
};

ExitCode failWith(ExitCode code, const std::string &message) {
  llvm::errs() << "memc: " << message << "\n";
  return code;
}

/// Writes a text output (IR, report, timeline) through a staged file; ""
/// or "-" is stdout. ExitOK or the code to exit with, `error` saying why.
ExitCode writeText(const std::string &output, const std::string &input,
                   llvm::function_ref<void(llvm::raw_ostream &)> print,
                   std::string &error) {
  if (output.empty() || output == "-") {
    print(llvm::outs());
    return ExitOK;
  }
  StagedOutput staged(output, OutputKind::Text, input);
  if (ExitCode rc = staged.create(error); rc != ExitOK)
    return rc;
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(staged.path(), ec);
    if (ec) {
      error = "cannot write " + output + ": " + ec.message();
      return ExitOutput;
    }
    print(os);
    os.close();
    if (os.has_error()) {
      error = "writing " + output + " failed: " + os.error().message();
      os.clear_error();
      return ExitOutput;
    }
  }
  return staged.commit(error);
}

/// Drops the weights nothing reads any more (a causal mask that FuseMax
/// replaced by an index comparison): from the model function's arguments
/// and from the package, so they are neither shipped nor uploaded. Returns
/// how many bytes went.
int64_t dropUnusedWeights(ModuleOp module, ImportResult &imported) {
  // The model function's weight arguments are the importer's weights, in
  // order (ImportResult::args).
  llvm::BitVector droppedWeights;
  module.walk([&](func::FuncOp func) {
    llvm::BitVector unused(func.getNumArguments());
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (func.getArgAttr(i, "memc.weight")) {
        bool drop = func.getArgument(i).use_empty();
        droppedWeights.push_back(drop);
        if (drop)
          unused.set(i);
      }
    if (unused.any())
      (void)func.eraseArguments(unused);
  });
  int64_t bytes = 0;
  unsigned weight = 0;
  llvm::erase_if(imported.args, [&](const ProgramArg &a) {
    if (a.kind != ProgramArg::Weight)
      return false;
    bool drop = weight < droppedWeights.size() && droppedWeights[weight];
    ++weight;
    if (drop)
      bytes += a.data.size();
    return drop;
  });
  return bytes;
}

/// Weights, inputs and outputs, which are not in the arena, and what
/// FuseMax left on the module.
ReportContext reportContext(ModuleOp module, const ImportResult &imported,
                            const std::string &model) {
  ReportContext context;
  context.model = model;
  for (const ProgramArg &a : imported.args)
    if (a.kind == ProgramArg::Weight)
      context.weightsBytes += a.data.size();
  // Small weights were folded into constants and became globals.
  module.walk([&](memref::GlobalOp global) {
    if (global.getConstant())
      context.weightsBytes += memrefBytes(global.getType());
  });
  module.walk([&](func::FuncOp func) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (func.getArgAttr(i, "memc.input") || func.getArgAttr(i, "memc.output"))
        if (auto type = dyn_cast<MemRefType>(func.getArgument(i).getType()))
          context.ioBytes += memrefBytes(type);
  });
  if (auto fused = module->getAttrOfType<IntegerAttr>("memc.fused_attention"))
    context.fusedAttention = fused.getInt();
  if (auto cascades = module->getAttrOfType<ArrayAttr>("memc.fusemax_cascades"))
    for (Attribute a : cascades)
      if (auto dict = dyn_cast<DictionaryAttr>(a)) {
        llvm::json::Object entry;
        for (NamedAttribute field : dict) {
          if (auto i = dyn_cast<IntegerAttr>(field.getValue()))
            entry[field.getName().str()] = i.getInt();
          else if (auto str = dyn_cast<StringAttr>(field.getValue()))
            entry[field.getName().str()] = str.str();
        }
        context.fusemaxCascades.push_back(std::move(entry));
      }
  return context;
}

/// --target=cuda after bufferization: the PTX (--emit=ptx) or a package
/// with PTX, launch plan and weights (lib/Driver/CUDAPackage.h).
ExitCode compileForCUDA(const CompilerOptions &options, ModuleOp module,
                        const ImportResult &imported, Progress &progress) {
  const std::string &in = options.input;
  std::string error;
  if (options.emit == EmitKind::PTX) {
    progress.begin("lower to GPU (" + options.cudaArch + ")");
    CUDAProgram program;
    if (!lowerForCUDA(module, gpuPipelineOptions(options), program, error))
      return failWith(ExitCodegen, in + ": " + error);
    progress.end(std::to_string(program.numLaunches) + " launches");
    if (program.ptx.empty())
      return failWith(ExitCodegen, in + ": --emit=ptx: the model needs no "
                                        "kernels (every op is a GEMM call)");
    if (options.output.empty() || options.output == "-") {
      llvm::outs() << program.ptx;
      return ExitOK;
    }
    StagedOutput staged(options.output, OutputKind::Text, in);
    if (ExitCode rc = staged.create(error); rc != ExitOK)
      return failWith(rc, error);
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(staged.path(), ec);
      if (!ec)
        os << program.ptx;
      if (ec || (os.close(), os.has_error()))
        return failWith(ExitOutput, "cannot write " + options.output);
    }
    // ptxas, when installed, sees the PTX before anyone loads it.
    if (!validatePTX(staged.path(), options.cudaArch, error))
      return failWith(ExitCodegen, in + ": " + error);
    ExitCode rc = staged.commit(error);
    return rc == ExitOK ? ExitOK : failWith(rc, error);
  }

  progress.begin("lower to GPU (" + options.cudaArch + ") + package");
  StagedOutput staged(options.output, OutputKind::Package, in);
  if (ExitCode rc = staged.create(error); rc != ExitOK)
    return failWith(rc, error);
  uint64_t arenaBytes = 0;
  std::string summary;
  if (!writeCUDAPackage(module, options, staged.path(), arenaBytes, summary,
                        error))
    return failWith(ExitCodegen, in + ": " + error);
  llvm::SmallString<256> absIn(in);
  llvm::sys::fs::make_absolute(absIn);
  if (!writePackageFiles(staged.path(), std::string(absIn), imported.args,
                         arenaBytes, /*hostPoolBytes=*/0, error, "cuda"))
    return failWith(ExitOutput, error);
  if (ExitCode rc = staged.commit(error); rc != ExitOK)
    return failWith(rc, error);
  progress.end(summary);
  return ExitOK;
}

} // namespace

ExitCode compile(const CompilerOptions &options) {
  const std::string &in = options.input;
  bool cuda = options.target == TargetKind::CUDA;
  // Every output path is checked before any work: a compile that cannot
  // write its result fails in milliseconds, not after code generation.
  {
    std::string error;
    OutputKind mainKind = options.emit == EmitKind::Package
                              ? OutputKind::Package
                              : OutputKind::Text;
    for (auto [path, kind] : {std::pair(options.output, mainKind),
                              std::pair(options.reportPath, OutputKind::Text),
                              std::pair(options.timelinePath,
                                        OutputKind::Text)})
      if (ExitCode rc = checkOutputPath(path, kind, in, error); rc != ExitOK)
        return failWith(rc, error);
  }
  if (cuda && !isSupportedCUDAArch(options.cudaArch)) {
    std::string known;
    for (llvm::StringRef a : getSupportedCUDAArchs())
      known += (known.empty() ? "" : " ") + a.str();
    return failWith(ExitUsage,
                    "--cuda-arch=" + options.cudaArch +
                        ": unknown CUDA architecture (known: " + known + ")");
  }
  if (cuda && options.cudaTensorCores.value_or(false) &&
      !cudaArchHasTF32MMA(options.cudaArch))
    return failWith(ExitUsage, "--cuda-attention=tensor-cores needs sm_80 or "
                               "later (TF32 mma.sync); --cuda-arch=" +
                                   options.cudaArch + " has none");
  if (options.emit == EmitKind::PTX && !cuda)
    return failWith(ExitUsage, "--emit=ptx needs --target=cuda");
  if (cuda && (options.emit == EmitKind::LLVMDialect ||
               options.emit == EmitKind::LLVMIR))
    return failWith(ExitUsage, "--emit=llvm and --emit=llvm-ir are the CPU "
                               "target's stages; with --target=cuda use "
                               "--emit=ptx");

  // The pipelines are parsed from text: the passes must be registered.
  static bool passesRegistered = (registerAllPasses(), true);
  (void)passesRegistered;
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext context(registry);
  context.disableMultithreading(); // small modules: threads cost more
  FirstError firstError(context);

  unsigned phases = options.emit == EmitKind::Einsum        ? 1
                    : options.emit == EmitKind::Linalg      ? 2
                    : options.emit == EmitKind::Memref      ? 3
                    : options.emit == EmitKind::Plan        ? 3
                    : options.emit == EmitKind::LLVMDialect ? 4
                    : options.emit == EmitKind::LLVMIR      ? 5
                    : cuda                                  ? 4
                                                            : 6;
  Progress progress(options.verbose, phases);

  progress.begin("import ONNX");
  ImportOptions importOptions;
  importOptions.inputShapes = options.inputShapes;
  ImportResult imported;
  ImportError importError;
  if (!importONNXModel(in, importOptions, context, imported, importError))
    return failWith(importError.code, importError.message);
  ModuleOp module = *imported.module;
  {
    int64_t weightBytes = 0, numWeights = 0, ops = 0;
    for (const ProgramArg &a : imported.args)
      if (a.kind == ProgramArg::Weight)
        weightBytes += a.data.size(), ++numWeights;
    module.walk([&](Operation *) { ++ops; });
    progress.end(std::to_string(ops) + " ops, " + std::to_string(numWeights) +
                 " weights (" + std::to_string(weightBytes) + " bytes)");
  }
  std::string error;
  auto printModule = [&](llvm::raw_ostream &os) {
    module.print(os);
    os << "\n";
  };
  if (options.emit == EmitKind::Einsum) {
    if (!options.reportPath.empty() || !options.timelinePath.empty())
      return failWith(ExitUsage, "--report and --timeline need the memory "
                                 "plan: emit memref or later");
    ExitCode rc = writeText(options.output, in, printModule, error);
    return rc == ExitOK ? ExitOK : failWith(rc, error);
  }

  // The arena plan, from inside the bufferize stage, and the report and
  // timeline made of it: written last, once everything else succeeded.
  std::optional<ArenaPlanRecord> planRecord;
  // Taken on the bufferized module: after lowering, the argument attributes
  // and globals it reads are gone.
  ReportContext reportInfo;
  BufferMappingOptions mapping;
  mapping.memBudget = options.memBudget;
  mapping.verifyPlan = options.verifyPlan || !options.reportPath.empty();
  mapping.seed = options.plannerSeed;
  auto writeSideOutputs = [&]() -> ExitCode {
    if (!planRecord)
      return options.reportPath.empty() && options.timelinePath.empty()
                 ? ExitOK
                 : failWith(ExitUsage, "--report and --timeline need the "
                                       "memory plan: emit memref or later");
    if (!options.reportPath.empty()) {
      llvm::json::Object report = buildReport(reportInfo, *planRecord);
      if (ExitCode rc = writeText(
              options.reportPath, in,
              [&](llvm::raw_ostream &os) {
                os << llvm::formatv("{0:2}",
                                    llvm::json::Value(std::move(report)))
                   << "\n";
              },
              error);
          rc != ExitOK)
        return failWith(rc, error);
    }
    if (!options.timelinePath.empty()) {
      plan::TimelineOptions timeline;
      // "decoder/model.onnx" says more as "decoder" than as "model.onnx".
      llvm::StringRef name = llvm::sys::path::filename(in);
      if (name == "model.onnx")
        name = llvm::sys::path::filename(llvm::sys::path::parent_path(in));
      timeline.title = name.str() + ": " + planRecord->mapper;
      timeline.budget = options.memBudget;
      std::string svg = plan::renderTimelineSVG(planRecord->problem,
                                                planRecord->plan, timeline);
      if (ExitCode rc = writeText(
              options.timelinePath, in,
              [&](llvm::raw_ostream &os) { os << svg; }, error);
          rc != ExitOK)
        return failWith(rc, error);
    }
    return ExitOK;
  };
  auto finishWithText =
      [&](llvm::function_ref<void(llvm::raw_ostream &)> print) -> ExitCode {
    if (ExitCode rc = writeText(options.output, in, print, error);
        rc != ExitOK)
      return failWith(rc, error);
    return writeSideOutputs();
  };

  struct Stage {
    const char *name;
    std::function<void(OpPassManager &)> build;
    EmitKind stopAfter;
  } stages[] = {
      {"einsum -> linalg",
       [&](OpPassManager &pm) {
         // A GPU runs fused attention as one kernel (einsum.attention,
         // memc-attention-to-gpu); the CPU runs the loop cascade.
         buildEinsumToLinalgPipeline(pm, options.fusemax,
                                     /*attentionKernel=*/cuda);
       },
       EmitKind::Linalg},
      {"bufferize + plan the arena",
       [&](OpPassManager &pm) {
         buildBufferizePipeline(
             pm, mapping, [&](const ArenaPlanRecord &r) { planRecord = r; });
       },
       EmitKind::Memref},
      {"lower to LLVM dialect", buildLowerToLLVMPipeline,
       EmitKind::LLVMDialect},
  };
  for (const Stage &stage : stages) {
    if (cuda && stage.stopAfter == EmitKind::LLVMDialect) {
      ExitCode rc = compileForCUDA(options, module, imported, progress);
      return rc == ExitOK ? writeSideOutputs() : rc;
    }
    progress.begin(stage.name);
    PassManager pm(&context);
    stage.build(pm);
    if (failed(pm.run(module))) {
      std::string why =
          firstError.message.empty() ? "a pass failed" : firstError.message;
      why = why.substr(0, why.find('\n'));
      if (planRecord && planRecord->budgetTooSmall)
        return failWith(ExitBudget, in + ": " + why);
      return failWith(ExitCodegen, in + ": " + stage.name + " failed: " + why);
    }
    if (stage.stopAfter == EmitKind::Memref && !options.reportPath.empty())
      reportInfo = reportContext(module, imported, in);
    if (planRecord && stage.stopAfter == EmitKind::Memref) {
      const plan::Plan &p = planRecord->plan;
      progress.end(
          std::to_string(planRecord->problem.buffers.size()) +
          " buffers, arena " + std::to_string(p.arenaBytes) +
          " bytes (lower bound " + std::to_string(planRecord->lowerBound) +
          ", " + planRecord->mapper + ")" +
          (p.spilledBytes
               ? ", " + std::to_string(p.spilledBytes) + " bytes on the host"
               : ""));
    } else if (stage.stopAfter == EmitKind::Linalg) {
      // FuseMax leaves its count on the module (memc.fused_attention).
      auto fused = module->getAttrOfType<IntegerAttr>("memc.fused_attention");
      int64_t droppedBytes = dropUnusedWeights(module, imported);
      std::string note =
          fused ? "fused attention: " + std::to_string(fused.getInt()) : "";
      if (droppedBytes)
        note += (note.empty() ? "" : ", ") + std::string("unused weights: ") +
                std::to_string(droppedBytes) + " bytes dropped";
      progress.end(note);
    } else {
      progress.end("");
    }
    if (options.emit == stage.stopAfter)
      return finishWithText(printModule);
    if (options.emit == EmitKind::Plan && stage.stopAfter == EmitKind::Memref)
      return finishWithText([&](llvm::raw_ostream &os) {
        os << (planRecord ? plan::serializeProblem(planRecord->problem)
                          : plan::serializeProblem(plan::Problem{}));
      });
  }

  progress.begin("LLVM optimize (O" + std::to_string(options.optLevel) + ")");
  llvm::LLVMContext llvmContext;
  CPUTargetOptions targetOptions;
  targetOptions.cpu = options.cpu;
  targetOptions.optLevel = options.optLevel;
  std::unique_ptr<llvm::Module> llvmModule =
      translateAndOptimize(module, llvmContext, targetOptions, error);
  if (!llvmModule)
    return failWith(ExitCodegen, in + ": " + error);
  // model.so carries its own interface, which memc-run checks manifest.txt
  // against before it allocates anything (Package.h).
  if (!embedInterface(module, *llvmModule, imported.args, error))
    return failWith(ExitInternal, in + ": " + error);
  progress.end();
  if (options.emit == EmitKind::LLVMIR)
    return finishWithText(
        [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); });

  progress.begin("codegen + link");
  StagedOutput staged(options.output, OutputKind::Package, in);
  if (ExitCode rc = staged.create(error); rc != ExitOK)
    return failWith(rc, error);
  if (!emitSharedObject(*llvmModule, targetOptions, staged.path(),
                        staged.path() + "/model.so", error))
    return failWith(ExitCodegen, in + ": " + error);
  llvm::SmallString<256> absIn(in);
  llvm::sys::fs::make_absolute(absIn);
  // The pool sizes the function was given arguments for (none when nothing
  // was planned).
  uint64_t arenaBytes = 0, hostPoolBytes = 0;
  if (auto attr = module->getAttrOfType<IntegerAttr>("memc.arena_bytes"))
    arenaBytes = attr.getInt();
  if (auto attr = module->getAttrOfType<IntegerAttr>("memc.host_pool_bytes"))
    hostPoolBytes = attr.getInt();
  if (!writePackageFiles(staged.path(), std::string(absIn), imported.args,
                         arenaBytes, hostPoolBytes, error))
    return failWith(ExitOutput, error);
  if (ExitCode side = writeSideOutputs(); side != ExitOK)
    return side;
  if (ExitCode rc = staged.commit(error); rc != ExitOK)
    return failWith(rc, error);
  progress.end(options.output);
  return ExitOK;
}

} // namespace memc
