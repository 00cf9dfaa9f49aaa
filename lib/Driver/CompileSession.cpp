//===- CompileSession.cpp - the state one compile carries -----------------===//
#include "CompileSession.h"

#include "OutputPath.h"

#include "memc/Driver/Registration.h"
#include "memc/Plan/ProblemIO.h"
#include "memc/Plan/Timeline.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace memc {
namespace {
/// Weights above this many bytes print as references without their data in
/// IR dumps (`dense_resource<name>`): the bytes are in the package.
constexpr int64_t kPrintedResourceLimit = 4096;

DialectRegistry makeRegistry() {
  DialectRegistry registry;
  registerAllDialects(registry);
  return registry;
}
} // namespace

void Progress::begin(const std::string &what) {
  ++index;
  current = what;
  start = std::chrono::steady_clock::now();
}

void Progress::end(const std::string &detail) {
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

CompileSession::CompileSession(const CompilerOptions &options, unsigned phases)
    : options(options), context(makeRegistry()),
      progress(options.verbose, phases) {
  context.disableMultithreading(); // small modules: threads cost more
  // The first error diagnostic becomes the one line memc prints, instead of
  // a dump of IR.
  handler = std::make_unique<ScopedDiagnosticHandler>(
      &context, [this](Diagnostic &d) {
        // A warning (a choice memc made for the user, such as a clipped
        // rank) is one line and the compile goes on.
        if (d.getSeverity() == DiagnosticSeverity::Warning) {
          std::string text;
          llvm::raw_string_ostream os(text);
          os << d;
          llvm::errs() << "memc: warning: " << text.substr(0, text.find('\n'))
                       << "\n";
        }
        if (d.getSeverity() == DiagnosticSeverity::Error &&
            firstError.empty()) {
          llvm::raw_string_ostream os(firstError);
          os << d;
          // The importer names each op's location after its ONNX node: say
          // which node a failure in a pass comes from.
          if (auto node = dyn_cast<NameLoc>(d.getLocation()))
            os << " (node '" << node.getName().getValue() << "')";
        }
        return success();
      });
}

ExitCode failWith(ExitCode code, const std::string &message) {
  llvm::errs() << "memc: " << message << "\n";
  return code;
}

ExitCode
CompileSession::runPasses(llvm::StringRef phase,
                          llvm::function_ref<void(OpPassManager &)> build,
                          ExitCode code) {
  PassManager pm(&context);
  build(pm);
  if (succeeded(pm.run(*module)))
    return ExitOK;
  std::string why = firstError.empty() ? "a pass failed" : firstError;
  why = why.substr(0, why.find('\n'));
  // A decode package's prefill is compiled after its decode step, so what
  // fails only there (a budget its chunk does not fit) says so.
  std::string where = options.input;
  if (options.decode.enabled && options.decode.rows > 1)
    where += " (prefill, " + std::to_string(options.decode.rows) + " rows)";
  if (planRecord && planRecord->budgetTooSmall)
    return fail(ExitBudget, where + ": " + why);
  return fail(code, where + ": " + phase.str() + " failed: " + why);
}

ExitCode writeTextOutput(const std::string &path, const std::string &input,
                         llvm::function_ref<void(llvm::raw_ostream &)> print) {
  if (path.empty() || path == "-") {
    print(llvm::outs());
    return ExitOK;
  }
  std::string error;
  StagedOutput staged(path, OutputKind::Text, input);
  if (ExitCode rc = staged.create(error); rc != ExitOK)
    return failWith(rc, error);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(staged.path(), ec);
    if (ec)
      return failWith(ExitOutput, "cannot write " + path + ": " + ec.message());
    print(os);
    os.close();
    if (os.has_error()) {
      std::string why = os.error().message();
      os.clear_error();
      return failWith(ExitOutput, "writing " + path + " failed: " + why);
    }
  }
  ExitCode rc = staged.commit(error);
  return rc == ExitOK ? ExitOK : failWith(rc, error);
}

ExitCode
CompileSession::writeText(const std::string &path,
                          llvm::function_ref<void(llvm::raw_ostream &)> print) {
  return writeTextOutput(path, options.input, print);
}

void CompileSession::printModule(llvm::raw_ostream &os) {
  module->print(os,
                OpPrintingFlags().elideLargeResourceString(
                    2 * kPrintedResourceLimit + 2)); // hex: "0x" + 2/byte
  os << "\n";
}

ExitCode CompileSession::finishWithText(
    llvm::function_ref<void(llvm::raw_ostream &)> print) {
  if (ExitCode rc = writeText(options.output, print); rc != ExitOK)
    return rc;
  return writeSideOutputs();
}

ExitCode CompileSession::writeSideOutputs() {
  if (!planRecord)
    return options.reportPath.empty() && options.timelinePath.empty()
               ? ExitOK
               : fail(ExitUsage, "--report and --timeline need the memory "
                                 "plan: emit memref or later");
  if (!options.reportPath.empty()) {
    llvm::json::Object report = buildReport(reportInfo, *planRecord);
    if (ExitCode rc = writeText(
            options.reportPath,
            [&](llvm::raw_ostream &os) {
              os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report)))
                 << "\n";
            });
        rc != ExitOK)
      return rc;
  }
  if (!options.timelinePath.empty()) {
    plan::TimelineOptions timeline;
    // "decoder/model.onnx" says more as "decoder" than as "model.onnx".
    llvm::StringRef name = llvm::sys::path::filename(options.input);
    if (name == "model.onnx")
      name = llvm::sys::path::filename(
          llvm::sys::path::parent_path(options.input));
    timeline.title = name.str() + ": " + planRecord->mapper;
    timeline.budget = options.memBudget;
    timeline.recomputed = planRecord->recomputed;
    timeline.swappedIn = planRecord->swappedIn;
    std::string svg = plan::renderTimelineSVG(planRecord->problem,
                                              planRecord->plan, timeline);
    if (ExitCode rc = writeText(options.timelinePath,
                                [&](llvm::raw_ostream &os) { os << svg; });
        rc != ExitOK)
      return rc;
  }
  return ExitOK;
}

} // namespace memc
