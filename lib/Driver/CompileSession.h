//===- CompileSession.h - the state one compile carries ---------*- C++ -*-===//
//
// What the phases of compile() share: the options, the MLIR context and the
// module, progress lines, the first error a pass reports, the arena plan and
// the package interface once bufferization made them, and the writing of
// text outputs (IR, report, timeline) through staged files.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_DRIVER_COMPILESESSION_H
#define MEMC_LIB_DRIVER_COMPILESESSION_H

#include "PackageInterface.h"
#include "Report.h"

#include "memc/Driver/Compiler.h"
#include "memc/Plan/ArenaPlanRecord.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace memc {

/// Prints `[i/n] phase: detail (t s)` lines under -v.
class Progress {
public:
  Progress(bool verbose, unsigned total) : verbose(verbose), total(total) {}
  void begin(const std::string &what);
  void end(const std::string &detail = "");

private:
  bool verbose;
  unsigned total, index = 0;
  std::string current;
  std::chrono::steady_clock::time_point start;
};

/// Prints `memc: message` and returns `code`.
ExitCode failWith(ExitCode code, const std::string &message);

/// Writes a text output through a staged file ("" or "-" is stdout);
/// `input` is the model, which it never overwrites. On failure prints the
/// error line and returns its code.
ExitCode writeTextOutput(const std::string &path, const std::string &input,
                         llvm::function_ref<void(llvm::raw_ostream &)> print);

class CompileSession {
public:
  CompileSession(const CompilerOptions &options, unsigned phases);

  const CompilerOptions &options;
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  Progress progress;
  /// From inside the bufferize phase (memc-buffer-mapping).
  std::optional<ArenaPlanRecord> planRecord;
  /// Read once the module is bufferized (the weights' bytes stay valid
  /// after their globals are stripped).
  PackageInterface interface;
  /// For --report, taken on the bufferized module.
  ReportContext reportInfo;
  /// --train: the train step's summary for the report (after the train
  /// phase).
  std::optional<llvm::json::Object> trainSummary;

  ExitCode fail(ExitCode code, const std::string &message) {
    return failWith(code, message);
  }
  /// Runs the passes `build` adds on the module; on failure, one line
  /// naming the phase and the first error (exit 8 when the plan found the
  /// budget too small, else `code`).
  ExitCode runPasses(llvm::StringRef phase,
                     llvm::function_ref<void(mlir::OpPassManager &)> build,
                     ExitCode code = ExitCodegen);
  /// Writes a text output through a staged file; "" or "-" is stdout.
  ExitCode writeText(const std::string &path,
                     llvm::function_ref<void(llvm::raw_ostream &)> print);
  /// The module as text (large weight blobs elided).
  void printModule(llvm::raw_ostream &os);
  /// --emit's text is `print`: written to -o, then the report and timeline.
  ExitCode finishWithText(llvm::function_ref<void(llvm::raw_ostream &)> print);
  /// Writes --report and --timeline (they need the plan).
  ExitCode writeSideOutputs();

private:
  std::string firstError;
  /// Last: gone before the context it is registered with.
  std::unique_ptr<mlir::ScopedDiagnosticHandler> handler;
};

} // namespace memc

#endif
