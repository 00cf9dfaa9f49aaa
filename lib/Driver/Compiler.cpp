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
#include "Package.h"
#include "memc/Driver/Pipelines.h"
#include "memc/Driver/Registration.h"
#include "memc/Import/ONNXImporter.h"
#include "memc/Target/CPUTarget.h"
#include "memc/Target/CUDATarget.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

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
    if (part.empty() || part.find_first_not_of("0123456789") != std::string::npos ||
        part.size() > 12)
      return false;
    dims.push_back(std::stoll(part));
    if (x == std::string::npos)
      break;
    pos = x + 1;
  }
  return !dims.empty();
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
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             start)
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

/// A temporary path beside `target`, removed unless committed.
class StagedOutput {
public:
  StagedOutput(std::string target, bool directory)
      : target(std::move(target)), directory(directory) {}
  ~StagedOutput() {
    if (!committed && !temp.empty())
      llvm::sys::fs::remove_directories(temp), llvm::sys::fs::remove(temp);
  }
  bool create(std::string &error) {
    llvm::SmallString<256> path(target + ".memc-tmp-%%%%%%");
    llvm::SmallString<256> unique;
    llvm::sys::fs::createUniquePath(path, unique, /*MakeAbsolute=*/false);
    temp = std::string(unique);
    if (directory) {
      if (std::error_code ec = llvm::sys::fs::create_directories(temp)) {
        error = "cannot create " + temp + ": " + ec.message();
        temp.clear();
        return false;
      }
    }
    return true;
  }
  const std::string &path() const { return temp; }
  bool commit(std::string &error) {
    if (directory && llvm::sys::fs::is_directory(target))
      llvm::sys::fs::remove_directories(target);
    if (std::error_code ec = llvm::sys::fs::rename(temp, target)) {
      error = "cannot move the output to " + target + ": " + ec.message();
      return false;
    }
    committed = true;
    return true;
  }

private:
  std::string target, temp;
  bool directory, committed = false;
};

ExitCode failWith(ExitCode code, const std::string &message) {
  llvm::errs() << "memc: " << message << "\n";
  return code;
}

bool writeText(const std::string &output, llvm::function_ref<void(llvm::raw_ostream &)> print,
               std::string &error) {
  if (output.empty() || output == "-") {
    print(llvm::outs());
    return true;
  }
  StagedOutput staged(output, /*directory=*/false);
  if (!staged.create(error))
    return false;
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(staged.path(), ec);
    if (ec) {
      error = "cannot write " + output + ": " + ec.message();
      return false;
    }
    print(os);
  }
  return staged.commit(error);
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
    if (!lowerForCUDA(module, options.cudaArch, options.cudaCublas, program,
                      error))
      return failWith(ExitCodegen, in + ": " + error);
    progress.end(std::to_string(program.numLaunches) + " launches");
    if (program.ptx.empty())
      return failWith(ExitCodegen, in + ": --emit=ptx: the model needs no "
                                        "kernels (every op is a GEMM call)");
    if (options.output.empty() || options.output == "-") {
      llvm::outs() << program.ptx;
      return ExitOK;
    }
    StagedOutput staged(options.output, /*directory=*/false);
    if (!staged.create(error))
      return failWith(ExitOutput, error);
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
    return staged.commit(error) ? ExitOK : failWith(ExitOutput, error);
  }

  progress.begin("lower to GPU (" + options.cudaArch + ") + package");
  StagedOutput staged(options.output, /*directory=*/true);
  if (!staged.create(error))
    return failWith(ExitOutput, error);
  uint64_t arenaBytes = 0;
  std::string summary;
  if (!writeCUDAPackage(module, options, staged.path(), arenaBytes, summary,
                        error))
    return failWith(ExitCodegen, in + ": " + error);
  llvm::SmallString<256> absIn(in);
  llvm::sys::fs::make_absolute(absIn);
  if (!writePackageFiles(staged.path(), std::string(absIn), imported.args,
                         int64_t(arenaBytes), error, "cuda") ||
      !staged.commit(error))
    return failWith(ExitOutput, error);
  progress.end(summary);
  return ExitOK;
}

} // namespace

ExitCode compile(const CompilerOptions &options) {
  const std::string &in = options.input;
  bool cuda = options.target == TargetKind::CUDA;
  if (options.emit == EmitKind::Package && options.output.empty())
    return failWith(ExitUsage, "-o PACKAGE_DIR is required");
  if (cuda && !isSupportedCUDAArch(options.cudaArch)) {
    std::string known;
    for (llvm::StringRef a : getSupportedCUDAArchs())
      known += (known.empty() ? "" : " ") + a.str();
    return failWith(ExitUsage,
                    "--cuda-arch=" + options.cudaArch +
                        ": unknown CUDA architecture (known: " + known + ")");
  }
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

  unsigned phases = options.emit == EmitKind::Einsum   ? 1
                    : options.emit == EmitKind::Linalg ? 2
                    : options.emit == EmitKind::Memref ? 3
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
  auto printModule = [&](llvm::raw_ostream &os) { module.print(os); os << "\n"; };
  if (options.emit == EmitKind::Einsum)
    return writeText(options.output, printModule, error)
               ? ExitOK
               : failWith(ExitOutput, error);

  struct Stage {
    const char *name;
    void (*build)(OpPassManager &);
    EmitKind stopAfter;
  } stages[] = {
      {"einsum -> linalg", buildEinsumToLinalgPipeline, EmitKind::Linalg},
      {"bufferize", buildBufferizePipeline, EmitKind::Memref},
      {"lower to LLVM dialect", buildLowerToLLVMPipeline,
       EmitKind::LLVMDialect},
  };
  for (const Stage &stage : stages) {
    if (cuda && stage.stopAfter == EmitKind::LLVMDialect)
      return compileForCUDA(options, module, imported, progress);
    progress.begin(stage.name);
    PassManager pm(&context);
    stage.build(pm);
    if (failed(pm.run(module))) {
      std::string why = firstError.message.empty() ? "a pass failed"
                                                   : firstError.message;
      return failWith(ExitCodegen, in + ": " + stage.name + " failed: " +
                                       why.substr(0, why.find('\n')));
    }
    progress.end();
    if (options.emit == stage.stopAfter)
      return writeText(options.output, printModule, error)
                 ? ExitOK
                 : failWith(ExitOutput, error);
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
  progress.end();
  if (options.emit == EmitKind::LLVMIR)
    return writeText(options.output,
                     [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); },
                     error)
               ? ExitOK
               : failWith(ExitOutput, error);

  progress.begin("codegen + link");
  StagedOutput staged(options.output, /*directory=*/true);
  if (!staged.create(error))
    return failWith(ExitOutput, error);
  if (!emitSharedObject(*llvmModule, targetOptions, staged.path(),
                        staged.path() + "/model.so", error))
    return failWith(ExitCodegen, in + ": " + error);
  llvm::SmallString<256> absIn(in);
  llvm::sys::fs::make_absolute(absIn);
  if (!writePackageFiles(staged.path(), std::string(absIn), imported.args,
                         /*arenaBytes=*/0, error))
    return failWith(ExitOutput, error);
  if (!staged.commit(error))
    return failWith(ExitOutput, error);
  progress.end(options.output);
  return ExitOK;
}

} // namespace memc
