//===- memc.cpp - the memc compiler ---------------------------------------===//
//
//   memc MODEL.onnx -o PKG [--emit=package|einsum|linalg|memref|llvm|llvm-ir]
//        [--shape NAME=1x128]... [--target=cpu|cuda] [--cuda-arch=sm_90]
//        [--cpu=native] [-O3] [-v]          (--emit=ptx with --target=cuda)
//
//===----------------------------------------------------------------------===//
#include "memc/Driver/Compiler.h"
#include "memc/Import/ONNXImporter.h"
#include "memc/Plan/Remat.h"
#include "memc/Transforms/KVCaches.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("memc options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::cat(category));
static cl::opt<std::string> outputPath(
    "o",
    cl::desc("Output: the package directory, or the IR file for --emit "
             "(default: stdout)"),
    cl::value_desc("path"), cl::cat(category));
static cl::opt<memc::EmitKind> emitKind(
    "emit", cl::desc("What to produce"), cl::init(memc::EmitKind::Package),
    cl::values(
        clEnumValN(memc::EmitKind::Package, "package",
                   "a runnable package directory (default)"),
        clEnumValN(memc::EmitKind::Einsum, "einsum", "imported einsum IR"),
        clEnumValN(memc::EmitKind::Linalg, "linalg",
                   "after memc-einsum-to-linalg"),
        clEnumValN(memc::EmitKind::Memref, "memref", "after memc-bufferize"),
        clEnumValN(memc::EmitKind::Plan, "plan",
                   "the memory-planning problem (lib/Plan text format), for "
                   "memc-mapper-train and the planner bench"),
        clEnumValN(memc::EmitKind::LLVMDialect, "llvm",
                   "LLVM dialect, after memc-lower-to-llvm"),
        clEnumValN(memc::EmitKind::LLVMIR, "llvm-ir",
                   "optimized LLVM IR for the host"),
        clEnumValN(memc::EmitKind::PTX, "ptx",
                   "the kernels' PTX (--target=cuda)")),
    cl::cat(category));
static cl::list<std::string>
    shapes("shape",
           cl::desc("Pin a graph input's shape: NAME=1x128 (repeatable, or "
                    "comma-separated)"),
           cl::value_desc("NAME=DIMS"), cl::CommaSeparated, cl::cat(category));
using memc::TargetKind;
static cl::opt<TargetKind>
    target("target", cl::desc("Code generation target"),
           cl::init(TargetKind::CPU),
           cl::values(clEnumValN(TargetKind::CPU, "cpu", "the host CPU"),
                      clEnumValN(TargetKind::CUDA, "cuda",
                                 "NVIDIA GPUs: PTX + launch plan")),
           cl::cat(category));
static cl::opt<std::string>
    cudaArch("cuda-arch",
             cl::desc("GPU architecture for --target=cuda (default sm_90)"),
             cl::init("sm_90"), cl::cat(category));
enum class GemmKind { Cublas, Kernels };
static cl::opt<GemmKind> cudaGemm(
    "cuda-gemm", cl::desc("GEMMs with --target=cuda"),
    cl::init(GemmKind::Cublas),
    cl::values(clEnumValN(GemmKind::Cublas, "cublas",
                          "cuBLAS calls through the runtime (default)"),
               clEnumValN(GemmKind::Kernels, "kernels",
                          "generated kernels, like every other op (no "
                          "cuBLAS needed at run time)")),
    cl::cat(category));
enum class AttentionKind { Default, TensorCores, CudaCores };
static cl::opt<AttentionKind> cudaAttention(
    "cuda-attention",
    cl::desc("The fused attention kernel with --target=cuda (default: "
             "tensor-cores from sm_80 on, else cuda-cores)"),
    cl::init(AttentionKind::Default),
    cl::values(clEnumValN(AttentionKind::TensorCores, "tensor-cores",
                          "mma.sync on TF32 operands, 3 products per step "
                          "for f32 accuracy (sm_80 on)"),
               clEnumValN(AttentionKind::CudaCores, "cuda-cores",
                          "f32 fused multiply-adds")),
    cl::cat(category));
static cl::opt<bool> cudaHostKernels(
    "cuda-host-kernels", cl::Hidden,
    cl::desc("With --target=cuda: also write kernels-host.so, the kernels "
             "built for the host CPU (for the tests' fake libcuda)"),
    cl::cat(category));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("CPU to generate code for: native (default) or an LLVM CPU "
                 "name such as x86-64-v3"),
        cl::init("native"), cl::cat(category));
static cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level 0-3"),
                                  cl::init(3), cl::Prefix, cl::cat(category));
static cl::opt<std::string> memBudget(
    "mem-budget",
    cl::desc("Arena budget: bytes, or with a unit (512KiB, 64MiB, 8GiB). "
             "Buffers that do not fit live on the host and are staged in"),
    cl::value_desc("size"), cl::cat(category));
static cl::opt<bool>
    verifyPlan("verify-plan",
               cl::desc("Check the memory plan with the independent verifier"),
               cl::cat(category));
static cl::opt<std::string>
    reportPath("report",
               cl::desc("Write the memory report (JSON) to this file"),
               cl::value_desc("file.json"), cl::cat(category));
static cl::opt<std::string>
    timelinePath("timeline", cl::desc("Write the arena timeline picture (SVG)"),
                 cl::value_desc("file.svg"), cl::cat(category));
static cl::opt<uint64_t>
    planSeed("plan-seed", cl::desc("Seed of the mapper's search (default 0)"),
             cl::init(0), cl::cat(category));
static cl::opt<std::string> planTimeLimit(
    "plan-time-limit",
    cl::desc("Seconds the memory planner's searches may take (default 1.5); "
             "past them it keeps the best plan found, never worse than the "
             "heuristics, and says so with -v"),
    cl::value_desc("seconds"), cl::cat(category));
static cl::opt<std::string> remat(
    "remat",
    cl::desc("With --train: who decides which saved activations are kept, "
             "recomputed or swapped under --mem-budget: auto (the MILP "
             "where it solves within --plan-time-limit, else the greedy; "
             "default), milp, greedy; or a baseline: chen (sqrt(n) "
             "segments), recompute-all, swap-all, keep"),
    cl::value_desc("solver"), cl::cat(category));
static cl::opt<bool> noFuseMax(
    "no-fusemax",
    cl::desc("Keep attention as its 3-pass softmax cascade (no FuseMax "
             "fusion; for comparison)"),
    cl::cat(category));
static cl::opt<bool> train(
    "train",
    cl::desc("Compile one training step (forward, loss, gradients, optimizer "
             "update) instead of inference; see --loss, --optimizer"),
    cl::cat(category));
static cl::opt<std::string>
    loss("loss",
         cl::desc("--train's loss: cross-entropy|mse|output, optionally "
                  ":OUTPUT (default cross-entropy)"),
         cl::value_desc("kind[:output]"), cl::cat(category));
static cl::opt<std::string> optimizer(
    "optimizer",
    cl::desc("--train's optimizer: sgd:lr=X[,momentum,nesterov,"
             "weight_decay] or adamw[:lr,beta1,beta2,eps,weight_decay] "
             "(default adamw)"),
    cl::value_desc("name[:k=v,...]"), cl::cat(category));
static cl::opt<std::string> optimizerLayouts(
    "optimizer-layouts",
    cl::desc("--train: per-weight optimizer-state layouts, one 'REGEX "
             "LAYOUT' a line (adamw, adam8bit[:block=B], "
             "apollo[:rank,period,scale], galore[:rank,period,scale]); the "
             "first rule whose regex matches a weight's whole name wins, "
             "the others take --optimizer's"),
    cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> trainable(
    "trainable",
    cl::desc("--train's trainable initializers: all (default; f32 "
             "initializers but BatchNormalization's statistics), @FILE (one "
             "name a line) or NAME,NAME,..."),
    cl::value_desc("all|@file|names"), cl::cat(category));
static cl::opt<std::string>
    frozen("frozen",
           cl::desc("--train: initializers matching this regex stay frozen"),
           cl::value_desc("regex"), cl::cat(category));
static cl::opt<bool> decode(
    "decode",
    cl::desc("Compile a causal LM for autoregressive decoding: a prefill and "
             "a one-token decode program over KV caches (memc-run "
             "--generate)"),
    cl::cat(category));
static cl::opt<std::string> kvLayout(
    "kv-layout",
    cl::desc("--decode: the KV caches' layout, contiguous (default) or "
             "paged:BLOCK"),
    cl::value_desc("layout"), cl::cat(category));
static cl::opt<std::string>
    kvDtype("kv-dtype",
            cl::desc("--decode: the KV caches' element type: f32 (default), f16, "
             "or i8 (one f32 scale per cached row of each head)"),
            cl::value_desc("type"), cl::cat(category));
static cl::opt<int64_t> prefillRows(
    "prefill-rows",
    cl::desc("--decode: prompt rows per prefill call (default: the largest "
             "divisor of the sequence length up to 64)"),
    cl::init(0), cl::cat(category));
static cl::opt<int64_t> kvCapacity(
    "kv-capacity",
    cl::desc("--decode of an export with past key/value inputs: the rows "
             "its KV caches hold (prompt plus generated tokens); a plain "
             "export's capacity is its sequence length"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> verbose("v", cl::desc("Print the phases with timings"),
                             cl::cat(category));
static cl::opt<bool> listOps("list-ops",
                             cl::desc("List the supported ONNX operators"),
                             cl::cat(category));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  std::string parseErrors;
  raw_string_ostream errs(parseErrors);
  if (!cl::ParseCommandLineOptions(
          argc, argv, "memc: ONNX -> CPU / CUDA compiler\n", &errs)) {
    std::string line = parseErrors.substr(0, parseErrors.find('\n'));
    llvm::errs() << "memc: " << line << "\n";
    return memc::ExitUsage;
  }
  if (listOps) {
    for (const std::string &op : memc::getSupportedONNXOps())
      outs() << op << "\n";
    return memc::ExitOK;
  }
  if (inputFile.empty()) {
    llvm::errs() << "memc: no input model (usage: memc MODEL.onnx -o PKG)\n";
    return memc::ExitUsage;
  }
  if (optLevel > 3) {
    llvm::errs() << "memc: -O" << optLevel << ": levels are 0 to 3\n";
    return memc::ExitUsage;
  }
  memc::CompilerOptions options;
  options.input = inputFile;
  options.output = outputPath;
  options.emit = emitKind;
  options.target = target;
  options.cudaArch = cudaArch;
  options.cudaHostKernels = cudaHostKernels;
  options.cudaCublas = cudaGemm == GemmKind::Cublas;
  if (cudaAttention != AttentionKind::Default)
    options.cudaTensorCores = cudaAttention == AttentionKind::TensorCores;
  options.cpu = cpu;
  options.optLevel = optLevel;
  options.verbose = verbose;
  options.verifyPlan = verifyPlan;
  options.reportPath = reportPath;
  options.timelinePath = timelinePath;
  options.plannerSeed = planSeed;
  if (memBudget.getNumOccurrences() &&
      (!memc::parseByteSize(memBudget, options.memBudget) ||
       options.memBudget == 0)) {
    llvm::errs() << "memc: --mem-budget=" << memBudget
                 << ": expected a positive size such as 1048576, 512KiB, "
                    "64MiB or 8GiB\n";
    return memc::ExitUsage;
  }
  if (planTimeLimit.getNumOccurrences()) {
    double seconds = 0;
    if (llvm::StringRef(planTimeLimit).getAsDouble(seconds) ||
        !(seconds > 0 && seconds <= 3600)) {
      llvm::errs() << "memc: --plan-time-limit=" << planTimeLimit
                   << ": expected seconds, more than 0 and at most 3600\n";
      return memc::ExitUsage;
    }
    options.planTimeLimit = seconds;
  }
  options.fusemax = !noFuseMax;
  bool trainFlags = loss.getNumOccurrences() || optimizer.getNumOccurrences() ||
                    trainable.getNumOccurrences() ||
                    frozen.getNumOccurrences() ||
                    optimizerLayouts.getNumOccurrences() ||
                    remat.getNumOccurrences();
  if (trainFlags && !train) {
    llvm::errs() << "memc: --loss, --optimizer, --optimizer-layouts, "
                    "--trainable, --frozen and --remat need --train\n";
    return memc::ExitUsage;
  }
  if (train) {
    std::string error;
    memc::TrainOptions &t = options.train;
    t.enabled = true;
    if (remat.getNumOccurrences()) {
      if (!memc::plan::isRematSolver(remat)) {
        llvm::errs() << "memc: --remat=" << remat << ": expected "
                     << memc::plan::rematSolverList(" or ") << "\n";
        return memc::ExitUsage;
      }
      t.remat = remat;
    }
    memc::ExitCode rc = memc::parseLoss(
        loss.getNumOccurrences() ? std::string(loss) : "cross-entropy", t,
        error);
    if (rc == memc::ExitOK)
      rc = memc::parseOptimizer(optimizer.getNumOccurrences()
                                    ? std::string(optimizer)
                                    : "adamw",
                                t.optimizer, error);
    if (rc == memc::ExitOK && optimizerLayouts.getNumOccurrences())
      rc = memc::parseOptimizerLayouts(optimizerLayouts, t.optimizer,
                                       t.layouts, error);
    if (rc == memc::ExitOK)
      rc = memc::parseTrainable(trainable, frozen, t, error);
    if (rc != memc::ExitOK) {
      llvm::errs() << "memc: " << error << "\n";
      return rc;
    }
  }
  bool decodeFlags = kvLayout.getNumOccurrences() ||
                     kvDtype.getNumOccurrences() ||
                     prefillRows.getNumOccurrences() ||
                     kvCapacity.getNumOccurrences();
  if (decodeFlags && !decode) {
    llvm::errs() << "memc: --kv-layout, --kv-dtype, --kv-capacity and "
                    "--prefill-rows need --decode\n";
    return memc::ExitUsage;
  }
  if (decode) {
    if (train) {
      llvm::errs() << "memc: --decode and --train compile different "
                      "programs: give one\n";
      return memc::ExitUsage;
    }
    options.decode.enabled = true;
    std::string layout =
        kvLayout.getNumOccurrences() ? std::string(kvLayout) : "contiguous";
    llvm::StringRef rest(layout);
    if (rest.consume_front("paged:")) {
      if (rest.getAsInteger(10, options.decode.pageSize) ||
          options.decode.pageSize < 1) {
        llvm::errs() << "memc: --kv-layout=" << layout
                     << ": the block must be a positive number of tokens "
                        "(paged:16)\n";
        return memc::ExitUsage;
      }
    } else if (layout != "contiguous") {
      llvm::errs() << "memc: --kv-layout=" << layout
                   << ": expected contiguous or paged:BLOCK\n";
      return memc::ExitUsage;
    }
    if (kvDtype.getNumOccurrences()) {
      if (!memc::isKVDtype(kvDtype)) {
        llvm::errs() << "memc: --kv-dtype=" << kvDtype
                     << ": expected f32, f16 or i8\n";
        return memc::ExitUsage;
      }
      options.decode.kvDtype = kvDtype;
    }
    if (prefillRows.getNumOccurrences() && prefillRows < 1) {
      llvm::errs() << "memc: --prefill-rows=" << prefillRows
                   << ": expected a positive number of rows\n";
      return memc::ExitUsage;
    }
    options.decode.prefillRows = prefillRows;
    if (kvCapacity.getNumOccurrences() && kvCapacity < 2) {
      llvm::errs() << "memc: --kv-capacity=" << kvCapacity
                   << ": expected at least 2 rows\n";
      return memc::ExitUsage;
    }
    options.decode.capacity = kvCapacity;
  }
  for (const std::string &s : shapes) {
    size_t eq = s.find('=');
    std::vector<int64_t> dims;
    if (eq == std::string::npos || eq == 0 ||
        !memc::parseDims(s.substr(eq + 1), dims)) {
      llvm::errs() << "memc: --shape " << s
                   << ": expected NAME=DIMS such as x=1x128\n";
      return memc::ExitUsage;
    }
    options.inputShapes[s.substr(0, eq)] = dims;
  }
  return memc::compile(options);
}
