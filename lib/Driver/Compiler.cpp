//===- Compiler.cpp - memc's compile driver -------------------------------===//
//
// compile() is a loop over phases: import, einsum -> linalg, bufferize (and
// plan the arena), then the target backend's code generation; --emit stops
// after the phase that makes what it asks for. Every output goes to a
// temporary sibling of the requested path and is renamed into place only
// when everything succeeded, so a failure never leaves a partial package or
// IR file behind.
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Compiler.h"

#include "CompileSession.h"
#include "DecodePackage.h"
#include "OutputPath.h"
#include "PackageInterface.h"
#include "TargetBackend.h"
#include "TrainSummary.h"

#include "dialects/memc/ProgramInterface.h"
#include "dialects/memc/Transforms/Passes.h"
#include "memc/Analysis/BufferLiveness.h"
#include "memc/Driver/Pipelines.h"
#include "memc/Driver/Registration.h"
#include "memc/Import/ONNXImporter.h"
#include "memc/Plan/ProblemIO.h"
#include "memc/Plan/SpillMilp.h"
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <sstream>
#include <string>
#include <thread>

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

/// The phases every target shares; the backend's code generation follows.
/// Train builds the training step (loss, gradients, optimizer) on the
/// imported model, and runs only with --train; Decode derives one program
/// of a decode package, and runs only for --decode.
enum class Phase { Import, Train, Decode, Linalg, Bufferize, Codegen };

/// The last phase --emit needs.
Phase lastPhase(EmitKind emit, bool train, bool decode) {
  switch (emit) {
  case EmitKind::Einsum:
    return decode  ? Phase::Decode
           : train ? Phase::Train
                   : Phase::Import;
  case EmitKind::Linalg:
    return Phase::Linalg;
  case EmitKind::Memref:
  case EmitKind::Plan:
    return Phase::Bufferize;
  default:
    return Phase::Codegen;
  }
}

/// Every output path is checked before any work: a compile that cannot
/// write its result fails in milliseconds, not after code generation.
ExitCode checkOutputPaths(const CompilerOptions &options, std::string &error) {
  OutputKind mainKind = options.emit == EmitKind::Package ? OutputKind::Package
                                                          : OutputKind::Text;
  for (auto [path, kind] : {std::pair(options.output, mainKind),
                            std::pair(options.reportPath, OutputKind::Text),
                            std::pair(options.timelinePath, OutputKind::Text)})
    if (ExitCode rc = checkOutputPath(path, kind, options.input, error);
        rc != ExitOK)
      return rc;
  return ExitOK;
}

/// ONNX -> the einsum module, its parameters bound to entry arguments.
ExitCode importPhase(CompileSession &s) {
  s.progress.begin("import ONNX");
  ImportOptions importOptions;
  importOptions.inputShapes = s.options.inputShapes;
  importOptions.trainable = s.options.train.trainable;
  importOptions.trainable.enabled = s.options.train.enabled;
  importOptions.decode = {s.options.decode.rows, s.options.decode.capacity};
  ImportResult imported;
  ImportError importError;
  if (!importONNXModel(s.options.input, importOptions, s.context, imported,
                       importError))
    return s.fail(importError.code, importError.message);
  s.module = std::move(imported.module);
  if (ExitCode rc = s.runPasses(
          "import",
          [](OpPassManager &pm) { pm.addPass(createBindParameters()); },
          ExitInternal);
      rc != ExitOK)
    return rc;
  int64_t ops = 0, weights = 0;
  s.module->walk([&](Operation *) { ++ops; });
  for (auto global : s.module->getOps<ml_program::GlobalOp>())
    weights += isParameter(global);
  s.progress.end(std::to_string(ops) + " ops, " + std::to_string(weights) +
                 " weights (" + std::to_string(parameterBytes(*s.module)) +
                 " bytes)");
  return ExitOK;
}

/// What memc-activation-recompute decided, for -v; empty without a
/// budget.
std::string rematNote(const TrainSummary &summary) {
  const llvm::json::Object &r = summary.remat;
  std::optional<llvm::StringRef> solver = r.getString("solver");
  if (!solver)
    return "";
  unsigned recomputed = 0, swapped = 0;
  for (const TrainSummary::Activation &a : summary.activations) {
    recomputed += a.choice == "recompute";
    swapped += a.choice == "swap";
  }
  std::ostringstream os;
  os << "; under the budget: " << solver->str()
     << (r.getBoolean("optimal").value_or(false) ? " (optimal)" : "")
     << (r.getBoolean("timed_out").value_or(false)
             ? " (the MILP stopped at --plan-time-limit)"
             : "")
     << " recomputes " << recomputed << " and swaps " << swapped << " of "
     << summary.activations.size() << " saved activations, estimated peak "
     << r.getInteger("estimated_peak_bytes").value_or(0) << " bytes, +"
     << r.getNumber("extra_ms").value_or(0.0) << " ms";
  return os.str();
}

/// --train: the loss, its gradients for the trainable weights and their
/// optimizer updates, still as einsum (and optim) ops.
ExitCode trainPhase(CompileSession &s) {
  const TrainOptions &train = s.options.train;
  s.progress.begin("build the train step");
  if (ExitCode rc = s.runPasses(
          "build the train step",
          [&](OpPassManager &pm) {
            // Attention becomes one op whose backward keeps no [queries,
            // keys] tensor (einsum.attention_grad); on the CPU both lower
            // to tiled loops in the linalg phase. The CUDA target has no
            // kernel for the backward yet: there a train step keeps the
            // softmax cascade (docs/cuda.md).
            if (s.options.fusemax && s.options.target == TargetKind::CPU) {
              FuseMaxAttentionOptions fuseMax;
              fuseMax.kernel = true;
              pm.addPass(createFuseMaxAttention(fuseMax));
            }
            AppendLossOptions loss;
            loss.kind = train.loss;
            loss.output = train.lossOutput;
            pm.addPass(createAppendLoss(loss));
          },
          ExitTrainSpec);
      rc != ExitOK)
    return rc;
  // The forward and the loss come first in the entry; the backward follows.
  unsigned forwardOps = 0;
  if (FunctionOpInterface entry = getEntryFunction(*s.module))
    forwardOps = entry.getFunctionBody().front().getOperations().size() - 1;
  // An op without a gradient rule is unsupported, like an op without an
  // importer.
  if (ExitCode rc = s.runPasses(
          "build the train step",
          [&](OpPassManager &pm) {
            pm.addPass(createAutodiff());
            // Cheap forward values are recomputed in the backward rather
            // than kept from the forward to the backward.
            pm.addPass(createRecomputePointwise());
          },
          ExitUnsupported);
      rc != ExitOK)
    return rc;
  // The optimizer's choices per weight (--optimizer-layouts) are the
  // train spec's.
  if (ExitCode rc = s.runPasses(
          "build the train step",
          [&](OpPassManager &pm) {
            ApplyOptimizerOptions opt;
            const OptimizerConfig &o = train.optimizer;
            opt.optimizer = o.kind;
            opt.lr = o.lr;
            opt.momentum = o.momentum;
            opt.nesterov = o.nesterov;
            opt.beta1 = o.beta1;
            opt.beta2 = o.beta2;
            opt.eps = o.eps;
            opt.weightDecay = o.weightDecay;
            opt.block = o.block;
            opt.rank = o.rank;
            opt.period = o.period;
            opt.scale = o.scale;
            opt.layouts = layoutsOption(train.layouts);
            opt.loss = train.lossOutput.empty()
                           ? train.loss
                           : train.loss + ":" + train.lossOutput;
            opt.spec = o.spelling.empty() ? o.kind : o.spelling;
            pm.addPass(createApplyOptimizer(opt));
            // GaLore's full-rank gradients end at their projection.
            pm.addNestedPass<func::FuncOp>(createLowRankGradProjection());
            // Running statistics (training-mode BatchNormalization) the
            // importer stored: results written into their weights.
            pm.addPass(createBindParameterStores());
            // Under a budget: which saved activations are kept, recomputed
            // or left to the host pool.
            ActivationRecomputeOptions remat;
            remat.budget = int64_t(s.options.memBudget);
            remat.solver = train.remat;
            remat.timeLimit = s.options.planTimeLimit;
            remat.target =
                s.options.target == TargetKind::CUDA ? "cuda" : "cpu";
            pm.addPass(createActivationRecompute(remat));
            // Its swaps as copies to the host pool and back.
            pm.addPass(createActivationSwap());
          },
          ExitTrainSpec);
      rc != ExitOK)
    return rc;
  TrainSummary summary = summarizeTrainStep(*s.module, forwardOps);
  s.trainSummary = summary.toJSON();
  s.progress.end(std::to_string(summary.parameters.size()) +
                 " trainable weights (" + std::to_string(summary.paramBytes) +
                 " bytes), optimizer state " +
                 std::to_string(summary.stateBytes) +
                 " bytes, live gradients at most " +
                 std::to_string(summary.gradBytes) + " of " +
                 std::to_string(summary.allGradBytes) + " bytes, saved "
                 "activations " +
                 std::to_string(summary.savedActivationBytes) + " bytes (" +
                 std::to_string(summary.recomputedOps) +
                 " forward ops recomputed)" + rematNote(summary));
  return ExitOK;
}

/// --decode: one program of the package, `rows` rows over KV caches, still
/// as einsum ops; a model that is not causal stops here.
ExitCode decodePhase(CompileSession &s) {
  int64_t rows = s.options.decode.rows;
  s.progress.begin("derive the " + std::string(rows == 1 ? "decode step"
                                                          : "prefill") +
                   " (" + std::to_string(rows) + " rows)");
  if (ExitCode rc = s.runPasses(
          "derive the decode program",
          [&](OpPassManager &pm) {
            // Attention as one op: the derivation turns it into cache
            // writes and an attention over the caches.
            FuseMaxAttentionOptions fuseMax;
            fuseMax.kernel = true;
            pm.addPass(createFuseMaxAttention(fuseMax));
            if (s.options.decode.capacity) {
              // An export with past keys/values (the importer marked them).
              BindPastKVOptions bind;
              bind.page = s.options.decode.pageSize;
              bind.kvDtype = s.options.decode.kvDtype;
              pm.addPass(createBindPastKV(bind));
              return;
            }
            DeriveDecodeOptions derive;
            derive.rows = rows;
            derive.page = s.options.decode.pageSize;
            derive.kvDtype = s.options.decode.kvDtype;
            pm.addPass(createDeriveDecode(derive));
          },
          ExitNotCausal);
      rc != ExitOK)
    return rc;
  std::optional<DecodeFacts> facts = getDecodeFacts(*s.module);
  s.progress.end("capacity " +
                 std::to_string(facts ? facts->capacity : int64_t(0)) +
                 " rows");
  return ExitOK;
}

/// What memc-micro-batch did to the entry, for -v.
std::string microBatchNote(ModuleOp module) {
  FunctionOpInterface entry = getEntryFunction(module);
  Attribute attr =
      entry ? entry->getAttr(MemcDialect::MicroBatchAttrHelper::getNameStr())
            : Attribute();
  if (auto why = dyn_cast_if_present<StringAttr>(attr))
    return "batch " + why.getValue().str();
  auto dict = dyn_cast_if_present<DictionaryAttr>(attr);
  if (!dict)
    return "batch not split";
  auto lanes = dict.getAs<IntegerAttr>("lanes");
  return "batch in chunks of " +
         std::to_string(dict.getAs<IntegerAttr>("chunk").getInt()) +
         (lanes ? ", " + std::to_string(lanes.getInt()) + " side by side"
                : std::string()) +
         " (" + std::to_string(dict.getAs<IntegerAttr>("loops").getInt()) +
         (dict.getAs<IntegerAttr>("loops").getInt() == 1 ? " loop)"
                                                         : " loops)");
}

/// The threads a package will run on, as far as the compile can tell:
/// MEMC_NUM_THREADS as the runtime reads it, else the cores here.
int64_t runtimeThreads() {
  int64_t n = std::max(1u, std::thread::hardware_concurrency());
  if (const char *env = std::getenv("MEMC_NUM_THREADS")) {
    long v = std::strtol(env, nullptr, 10);
    if (v >= 1 && v <= 1024)
      n = v;
  }
  return n;
}

/// The bufferization and arena options of this compile.
BufferMappingOptions mappingOptions(const CompileSession &s) {
  BufferMappingOptions mapping;
  mapping.memBudget = s.options.memBudget;
  mapping.verifyPlan = s.options.verifyPlan || !s.options.reportPath.empty();
  mapping.seed = s.options.plannerSeed;
  mapping.planTimeLimit = s.options.planTimeLimit;
  return mapping;
}

/// A trial plan of a chunk size: whether it fits the budget with nothing
/// spilled by the arena planner (what memc-activation-swap decided to swap
/// may be in the host pool), and its smallest feasible budget.
struct ChunkTrial {
  /// Planned within the budget, spilling or not.
  bool planned = false;
  /// Planned with nothing spilled.
  bool fits = false;
  uint64_t floor = UINT64_MAX;
};

/// Bufferizes and plans `module` (a clone).
ChunkTrial planTrial(CompileSession &s, ModuleOp module) {
  ChunkTrial trial;
  PassManager pm(&s.context);
  uint64_t budget = s.options.memBudget;
  buildBufferizePipeline(pm, mappingOptions(s), [&](const ArenaPlanRecord &r) {
    trial.planned = r.plan.placements.size() == r.problem.buffers.size() &&
                    r.plan.arenaBytes <= budget;
    trial.fits = trial.planned && r.plan.spilledBytes == 0;
    trial.floor = r.floor.minBudget;
  });
  // A trial that does not fit is no error of the compile.
  ScopedDiagnosticHandler quiet(&s.context,
                                [](Diagnostic &) { return success(); });
  if (failed(pm.run(module)))
    trial.planned = trial.fits = false;
  return trial;
}

/// Under --mem-budget, a CPU train step whose whole batch cannot be planned
/// within the budget (linalgPhase tries that first) runs its batch in
/// chunks: the most rows at once whose planned arena fits without spilling.
/// The candidates, each planned on a copy of the module, are the whole
/// batch, then each divisor of the batch as the chunk, with as many lanes
/// side by side as the runtime has threads (and chunks) and with one lane,
/// by rows at once (chunk times lanes), largest first, and among equals
/// more lanes first: on the bench CNN's 2 threads, chunks of 4 in 2 lanes
/// took half the time of chunks of 8 in one, whose kernels are too small
/// to share among threads. When none fits, the first that fits by
/// spilling; when none does, the one with the smallest feasible budget (a
/// split step carries every weight gradient through its loop, so splitting
/// a step whose weights outweigh its activations makes it larger), which
/// the arena planner then refuses.
///
/// `whole`, when set, is the whole batch already lowered and planned within
/// the budget: only chunks in lanes (faster than it) are tried, and it is
/// kept when none fits without spilling.
ExitCode microBatchUnderBudget(CompileSession &s, OwningOpRef<ModuleOp> whole) {
  FunctionOpInterface entry = getEntryFunction(*s.module);
  int64_t batch = 0;
  for (unsigned i = 0, e = entry ? entry.getNumArguments() : 0; i < e; ++i)
    if (getArgRole(entry, i) == ArgRole::Input)
      if (auto type = dyn_cast<RankedTensorType>(entry.getArgumentTypes()[i]);
          type && type.getRank() > 0 && !type.isDynamicDim(0))
        batch = std::max(batch, type.getDimSize(0));
  struct Split {
    int64_t chunk = 0, lanes = 1;
  };
  auto split = [&](ModuleOp module, Split c) {
    PassManager pm(&s.context);
    MicroBatchOptions options;
    options.chunk = c.chunk;
    options.lanes = c.lanes;
    pm.addNestedPass<func::FuncOp>(createMicroBatch(options));
    return pm.run(module);
  };
  std::vector<Split> candidates;
  int64_t threads = runtimeThreads();
  for (int64_t chunk = batch - 1; chunk >= 1 && batch > 1; --chunk) {
    if (batch % chunk)
      continue;
    if (int64_t lanes = std::min(threads, batch / chunk); lanes > 1)
      candidates.push_back({chunk, lanes});
    candidates.push_back({chunk, 1});
  }
  if (whole)
    llvm::erase_if(candidates, [](const Split &c) { return c.lanes == 1; });
  else if (batch > 1)
    candidates.push_back({batch, 1});
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Split &a, const Split &b) {
                     if (a.chunk * a.lanes != b.chunk * b.lanes)
                       return a.chunk * a.lanes > b.chunk * b.lanes;
                     return a.lanes > b.lanes;
                   });
  std::optional<Split> chosen, firstPlanned;
  uint64_t smallestFloor = UINT64_MAX;
  bool sideBySide = true, candidatesFit = false;
  for (Split c : candidates) {
    if (c.lanes > 1 && !sideBySide)
      continue;
    OwningOpRef<ModuleOp> trial = cast<ModuleOp>(s.module->clone());
    if (c.chunk < batch) {
      if (failed(split(*trial, c)))
        break;
      // A step the pass cannot split: no smaller chunk will do either.
      FunctionOpInterface e = getEntryFunction(*trial);
      auto facts = e ? dyn_cast_if_present<DictionaryAttr>(e->getAttr(
                           MemcDialect::MicroBatchAttrHelper::getNameStr()))
                     : DictionaryAttr();
      if (!facts) {
        if (!chosen)
          chosen = c;
        break;
      }
      // Its chunks cannot run side by side: the one-lane trials tell.
      if (c.lanes > 1 && !facts.get("lanes")) {
        sideBySide = false;
        continue;
      }
    }
    ChunkTrial planned = planTrial(s, *trial);
    if (planned.fits) {
      chosen = c;
      firstPlanned.reset();
      candidatesFit = true;
      break;
    }
    if (planned.planned && !firstPlanned)
      firstPlanned = c;
    if (planned.floor < smallestFloor) {
      smallestFloor = planned.floor;
      chosen = c;
    }
  }
  if (whole && (!chosen || !candidatesFit)) {
    s.module = std::move(whole);
    if (FunctionOpInterface e = getEntryFunction(*s.module))
      e->setAttr(MemcDialect::MicroBatchAttrHelper::getNameStr(),
                 StringAttr::get(&s.context,
                                 "not split: the whole batch fits, chunks "
                                 "side by side do not"));
    return ExitOK;
  }
  if (firstPlanned)
    chosen = firstPlanned;
  if (!chosen)
    return ExitOK;
  return s.runPasses("einsum -> linalg", [&](OpPassManager &pm) {
    MicroBatchOptions options;
    options.chunk = chosen->chunk;
    options.lanes = chosen->lanes;
    pm.addNestedPass<func::FuncOp>(createMicroBatch(options));
  });
}

/// einsum -> fused linalg on tensors; weights that became dead (a causal
/// mask FuseMax replaced by an index comparison) are dropped, so they are
/// neither shipped nor uploaded.
ExitCode linalgPhase(CompileSession &s, const TargetBackend &target) {
  s.progress.begin("einsum -> linalg");
  uint64_t weightBytes = parameterBytes(*s.module);
  // Chunks of the batch for a CPU train step without fused attention (its
  // tile loops are scf.for loops, which memc-micro-batch does not split).
  // With them, an im2col copy takes at most an eighth of a budget; without,
  // the chunks do.
  bool microBatch = s.options.train.enabled &&
                    !target.fusedAttentionAsKernel() &&
                    getFusedAttentionCount(*s.module).value_or(0) == 0;
  // A train step's attention was fused before autodiff (trainPhase).
  bool fusemax =
      s.options.fusemax && !s.options.train.enabled && !s.options.decode.rows;
  // FuseMax's CPU cascades run in as many lanes as the package will have
  // threads (each lane with a copy of the tile buffers).
  int64_t lanes = target.fusedAttentionAsKernel() ? 1 : runtimeThreads();
  // An inference program's padded buffers also serve their sources' other
  // readers (a residual block's output); a train step keeps them apart,
  // since those readers may be the backward's, far later.
  bool sharedPads =
      !s.options.train.enabled && !target.fusedAttentionAsKernel();
  auto addLinalgPasses = [&](OpPassManager &pm, int64_t im2colMaxBytes) {
    buildEinsumToLinalgPipeline(pm, fusemax, target.fusedAttentionAsKernel(),
                                im2colMaxBytes, lanes, sharedPads);
    pm.addPass(createDropUnusedParameters());
  };
  // Under a budget an im2col copy takes at most an eighth of it. A train
  // step that may run in chunks of its batch is tried that way first, on a
  // copy; if no plan of it fits the budget, chunks of the batch (im2col
  // loops are loops memc-micro-batch does not split, so the copies are
  // whole, in chunks).
  int64_t im2colMaxBytes = s.options.memBudget
                               ? int64_t(s.options.memBudget / 8)
                               : int64_t(64) << 20;
  // With more than one thread, chunks in lanes run faster than the whole
  // batch (each thread runs its own chunks, with no kernel split among
  // threads): tried even where the whole batch fits, which is kept when
  // none of them does.
  bool splitBatch = false, lowered = false;
  OwningOpRef<ModuleOp> wholeFits;
  // The module lowered on a copy, a trial whose failure is no error of the
  // compile (null then).
  auto lowerCopy = [&]() -> OwningOpRef<ModuleOp> {
    OwningOpRef<ModuleOp> copy = cast<ModuleOp>(s.module->clone());
    ScopedDiagnosticHandler quiet(&s.context,
                                  [](Diagnostic &) { return success(); });
    PassManager pm(&s.context);
    addLinalgPasses(pm, im2colMaxBytes);
    if (failed(pm.run(*copy)))
      return nullptr;
    return copy;
  };
  if (microBatch && s.options.memBudget) {
    if (OwningOpRef<ModuleOp> whole = lowerCopy()) {
      OwningOpRef<ModuleOp> trial = cast<ModuleOp>((*whole)->clone());
      splitBatch = !planTrial(s, *trial).planned;
      if (!splitBatch && runtimeThreads() > 1) {
        wholeFits = std::move(whole);
        splitBatch = true;
      } else if (!splitBatch) {
        s.module = std::move(whole);
        lowered = true;
      }
    }
  }
  // Under a budget, the lanes are kept where the plan with them fits without
  // spilling; otherwise the cascades run in one lane, on one copy of the
  // tile buffers.
  if (fusemax && lanes > 1 && s.options.memBudget && !lowered) {
    if (OwningOpRef<ModuleOp> inLanes = lowerCopy()) {
      bool anyLanes =
          llvm::any_of(getFuseMaxCascades(*inLanes),
                       [](const FuseMaxCascade &c) { return c.lanes > 1; });
      OwningOpRef<ModuleOp> trial = cast<ModuleOp>((*inLanes)->clone());
      if (!anyLanes || planTrial(s, *trial).fits) {
        s.module = std::move(inLanes);
        lowered = true;
      } else {
        lanes = 1;
      }
    }
  }
  if (!lowered)
    if (ExitCode rc = s.runPasses("einsum -> linalg",
                                  [&](OpPassManager &pm) {
                                    addLinalgPasses(pm, splitBatch
                                                            ? int64_t(64) << 20
                                                            : im2colMaxBytes);
                                  });
        rc != ExitOK)
      return rc;
  // The interface as the package states it, with the weights' bytes, before
  // bufferization strips the parameter globals.
  std::string error;
  if (!readPackageInterface(*s.module, s.interface, error))
    return s.fail(ExitInternal, s.options.input + ": " + error);
  if (splitBatch)
    if (ExitCode rc = microBatchUnderBudget(s, std::move(wholeFits));
        rc != ExitOK)
      return rc;
  std::optional<int64_t> fused = getFusedAttentionCount(*s.module);
  uint64_t dropped = weightBytes - parameterBytes(*s.module);
  std::string note = fused ? "fused attention: " + std::to_string(*fused) : "";
  int64_t mostLanes = 1;
  for (const FuseMaxCascade &c : getFuseMaxCascades(*s.module))
    mostLanes = std::max(mostLanes, c.lanes);
  if (mostLanes > 1)
    note += " in " + std::to_string(mostLanes) + " lanes";
  if (microBatch && s.options.memBudget)
    note += (note.empty() ? "" : ", ") +
            (splitBatch ? microBatchNote(*s.module)
                        : std::string("batch not split: the whole batch fits"));
  if (dropped)
    note += (note.empty() ? "" : ", ") + std::string("unused weights: ") +
            std::to_string(dropped) + " bytes dropped";
  s.progress.end(note);
  return ExitOK;
}

/// Weights, inputs and outputs, which are not in the arena, and what
/// FuseMax did, for --report.
ReportContext reportContext(CompileSession &s, const TargetBackend &target) {
  ReportContext context;
  context.model = s.options.input;
  context.target = target.name();
  context.weightsBytes = s.interface.weightBytes();
  // Small weights were folded into constants and became globals.
  s.module->walk([&](memref::GlobalOp global) {
    if (global.getConstant())
      context.weightsBytes += memrefBytes(global.getType());
  });
  if (FunctionOpInterface entry = getEntryFunction(*s.module))
    for (unsigned i = 0, e = entry.getNumArguments(); i < e; ++i) {
      ArgRole role = getArgRole(entry, i);
      if (role == ArgRole::Input || role == ArgRole::Output)
        if (auto type = dyn_cast<MemRefType>(entry.getArgumentTypes()[i]))
          context.ioBytes += memrefBytes(type);
    }
  context.fusedAttention = getFusedAttentionCount(*s.module).value_or(0);
  context.train = s.trainSummary;
  for (const FuseMaxCascade &c : getFuseMaxCascades(*s.module))
    context.fusemaxCascades.push_back(
        llvm::json::Object{{"form", c.form},
                           {"rank", c.rank},
                           {"query_tile", c.queryTile},
                           {"kv_tile", c.kvTile},
                           {"passes_before", c.passesBefore},
                           {"passes_after", c.passesAfter},
                           {"causal_skip", c.causalSkip},
                           {"lanes", c.lanes}});
  return context;
}

/// `seconds` as the user would write it (1.5, 1e-06).
std::string secondsText(double seconds) {
  std::ostringstream os;
  os << seconds;
  return os.str();
}

/// The -v note on a budgeted plan's host buffers: their modeled transfer
/// time, and whether the spill MILP proved no plan within the budget cheaper
/// (a bound of -1: not proven).
std::string hostTransferText(double transferMs, double boundMs) {
  char text[160];
  if (boundMs < 0)
    std::snprintf(text, sizeof text, " (modeled transfer %.4g ms)", transferMs);
  else if (plan::meetsSpillBound(transferMs, {true, boundMs}))
    std::snprintf(text, sizeof text,
                  " (modeled transfer %.4g ms, the least of any plan within "
                  "the budget)",
                  transferMs);
  else
    std::snprintf(text, sizeof text,
                  " (modeled transfer %.4g ms; no plan within the budget "
                  "costs less than %.4g ms)",
                  transferMs, boundMs);
  return text;
}

/// Bufferization and the arena plan; the package interface gets the pool
/// sizes.
ExitCode bufferizePhase(CompileSession &s, const TargetBackend &target) {
  s.progress.begin("bufferize + plan the arena");
  BufferMappingOptions mapping = mappingOptions(s);
  if (ExitCode rc =
          s.runPasses("bufferize + plan the arena",
                      [&](OpPassManager &pm) {
                        buildBufferizePipeline(
                            pm, mapping,
                            [&](const ArenaPlanRecord &r) { s.planRecord = r; },
                            target.fusesGemmEpilogues());
                      });
      rc != ExitOK)
    return rc;
  std::string error;
  if (!completePackageInterface(*s.module, s.interface, error))
    return s.fail(ExitInternal, s.options.input + ": " + error);
  if (!s.options.reportPath.empty())
    s.reportInfo = reportContext(s, target);
  if (!s.planRecord) {
    s.progress.end("");
    return ExitOK;
  }
  const plan::Plan &p = s.planRecord->plan;
  s.progress.end(
      std::to_string(s.planRecord->problem.buffers.size()) +
      " buffers, arena " + std::to_string(p.arenaBytes) +
      " bytes (lower bound " + std::to_string(s.planRecord->lowerBound) + ", " +
      s.planRecord->mapper + ")" +
      (s.planRecord->timedOut
           ? " [search stopped at --plan-time-limit=" +
                 secondsText(s.planRecord->timeLimitSeconds) +
                 " s: the best plan found by then]"
           : "") +
      (p.spilledBytes
           ? ", " + std::to_string(p.spilledBytes) + " bytes on the host" +
                 hostTransferText(p.transferCost,
                                  s.planRecord->transferCostBound)
           : ""));
  return ExitOK;
}

/// What --emit asks of a phase before code generation: the module's text,
/// or the planning problem.
ExitCode emitAfter(CompileSession &s, Phase phase) {
  if ((phase == Phase::Import || phase == Phase::Train ||
       phase == Phase::Decode) &&
      (!s.options.reportPath.empty() || !s.options.timelinePath.empty()))
    return s.fail(ExitUsage, "--report and --timeline need the memory plan: "
                             "emit memref or later");
  if (s.options.emit == EmitKind::Plan)
    return s.finishWithText([&](llvm::raw_ostream &os) {
      os << (s.planRecord ? plan::serializeProblem(s.planRecord->problem)
                          : plan::serializeProblem(plan::Problem{}));
    });
  return s.finishWithText([&](llvm::raw_ostream &os) { s.printModule(os); });
}

} // namespace

ExitCode compile(const CompilerOptions &options) {
  if (options.decode.enabled && !options.decode.rows) {
    // A package is two programs (DecodePackage.cpp); IR is the decode
    // step's.
    if (options.emit == EmitKind::Package)
      return compileDecodePackage(options);
    CompilerOptions step = options;
    step.decode.rows = 1;
    return compile(step);
  }
  std::unique_ptr<TargetBackend> target = options.target == TargetKind::CUDA
                                              ? createCUDABackend()
                                              : createCPUBackend();
  std::string error;
  if (ExitCode rc = checkOutputPaths(options, error); rc != ExitOK)
    return failWith(rc, error);
  if (ExitCode rc = target->checkOptions(options, error); rc != ExitOK)
    return failWith(rc, error);

  // memc-opt's textual pipelines and memc share the pass registry.
  static bool passesRegistered = (registerAllPasses(), true);
  (void)passesRegistered;

  bool train = options.train.enabled;
  bool decode = options.decode.rows > 0;
  unsigned extra = (train ? 1 : 0) + (decode ? 1 : 0);
  Phase last = lastPhase(options.emit, train, decode);
  unsigned phases = 0;
  for (Phase p : {Phase::Import, Phase::Train, Phase::Decode, Phase::Linalg,
                  Phase::Bufferize})
    if (p <= last && (p != Phase::Train || train) &&
        (p != Phase::Decode || decode))
      ++phases;
  if (last == Phase::Codegen)
    phases = 3 + extra + target->numCodegenPhases(options.emit);
  CompileSession session(options, phases);
  for (Phase phase : {Phase::Import, Phase::Train, Phase::Decode, Phase::Linalg,
                      Phase::Bufferize}) {
    if ((phase == Phase::Train && !train) ||
        (phase == Phase::Decode && !decode))
      continue;
    ExitCode rc = phase == Phase::Import   ? importPhase(session)
                  : phase == Phase::Train  ? trainPhase(session)
                  : phase == Phase::Decode ? decodePhase(session)
                  : phase == Phase::Linalg ? linalgPhase(session, *target)
                                           : bufferizePhase(session, *target);
    if (rc != ExitOK)
      return rc;
    if (phase == last)
      return emitAfter(session, phase);
  }
  return target->generate(session);
}

} // namespace memc
