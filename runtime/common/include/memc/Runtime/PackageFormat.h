//===- PackageFormat.h - The contract of a memc package ---------*- C++ -*-===//
//
// The spellings of the package format, in one place: what the compiler
// writes (lib/Driver/Package.cpp, lib/Driver/CUDAPackage.cpp, lib/Target,
// passes/EmitEntryPoint.cpp) and what the runtimes read (runtime/common,
// runtime/cpu, runtime/cuda, memc-run) both come from here, so the two
// sides cannot drift apart. docs/package-format.md and docs/cuda.md describe
// the format in words.
//
// Header-only and standard C++ only: lib/ includes it without linking the
// runtime, and the runtime without any MLIR or LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_PACKAGEFORMAT_H
#define MEMC_RUNTIME_PACKAGEFORMAT_H

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace memc {
namespace package {

//===----------------------------------------------------------------------===//
// Files of a package directory
//===----------------------------------------------------------------------===//

/// Every package: its interface and its weights (docs/package-format.md).
inline constexpr char kManifestFile[] = "manifest.txt";
inline constexpr char kWeightsFile[] = "weights.bin";
/// `target cpu`: the compiled program, a shared object memc-run dlopens.
inline constexpr char kModelFile[] = "model.so";
/// `target cuda` (docs/cuda.md): the host side as data, the kernels' constant
/// buffers, the kernels as PTX and, when ptxas was found, as a cubin.
inline constexpr char kLaunchPlanFile[] = "launch_plan.txt";
inline constexpr char kConstantsFile[] = "constants.bin";
inline constexpr char kKernelsPtxFile[] = "kernels.ptx";
inline constexpr char kKernelsCubinFile[] = "kernels.cubin";
/// --cuda-host-kernels: the kernels built for the host (tests only).
inline constexpr char kHostKernelsFile[] = "kernels-host.so";
/// The subdirectory holding the same CUDA program without cuBLAS (its own
/// launch plan, constants and kernels), which the runtime falls back to.
inline constexpr char kNoCublasDir[] = "nocublas";

//===----------------------------------------------------------------------===//
// manifest.txt
//===----------------------------------------------------------------------===//

/// The first line: `memc-package 1`.
inline constexpr char kManifestMagic[] = "memc-package";
inline constexpr int kManifestVersion = 1;

/// Record keywords. `input`, `weight`, `output`, `arena_bytes` and
/// `host_pool_bytes` also spell model.so's interface records.
inline constexpr char kModelRecord[] = "model";
inline constexpr char kTargetRecord[] = "target";
inline constexpr char kArenaBytesRecord[] = "arena_bytes";
inline constexpr char kHostPoolBytesRecord[] = "host_pool_bytes";
inline constexpr char kInputRecord[] = "input";
inline constexpr char kWeightRecord[] = "weight";
inline constexpr char kOutputRecord[] = "output";

/// Train packages (`memc --train`, docs/package-format.md "Train packages").
/// `train <loss> <optimizer>`: the package is one training step; the
/// program then takes, after the inputs (the model's, then the labels) and
/// the weights (a trainable one ends its line with `trainable`, and the
/// program overwrites its buffer with the updated value), one `state` per
/// optimizer state tensor (`state <name> <dtype> <dims> <parameter>`,
/// zero-initialized by the runtime and updated in place), then the `step`
/// (`step <name> i64 scalar`: the optimizer's step count t, from 1), then
/// the outputs (the loss, `output loss f32 scalar`).
inline constexpr char kTrainRecord[] = "train";
inline constexpr char kStateRecord[] = "state";
inline constexpr char kStepRecord[] = "step";
inline constexpr char kTrainableFlag[] = "trainable";
/// The names the compiler gives the labels input, the step and the loss.
inline constexpr char kLabelsName[] = "labels";
inline constexpr char kStepName[] = "step";
inline constexpr char kLossName[] = "loss";
/// A train package keeps the ONNX model it came from, so that memc-run
/// --save-model writes it back with the trained initializers.
inline constexpr char kTrainModelFile[] = "model.onnx";
/// memc-run --save-state / --resume: the file's first line.
inline constexpr char kStateFileMagic[] = "memc-train-state";
inline constexpr int kStateFileVersion = 1;

/// Decode packages (`memc --decode`, docs/package-format.md "Decode
/// packages"). A program of one has, after the weights, one `kv <name>
/// <dtype> <dims>` per KV cache buffer (zero-initialized by the runtime,
/// kept across calls and written in place by the program); its inputs are
/// the token ids [batch, rows] and `position` (i64 scalar: the sequence row
/// of the first of them).
inline constexpr char kKVRecord[] = "kv";
inline constexpr char kPositionName[] = "position";
/// Paged caches: the input mapping each batch x head row's logical blocks
/// to blocks of the cache pools, i64 [BH, capacity / block].
inline constexpr char kBlockTableName[] = "block_table";
/// The package's own manifest says `decode <capacity> <batch> <layout>`
/// and names its two programs, each a package in a subdirectory:
/// `program prefill <rows>` and `program decode 1`.
inline constexpr char kDecodeRecord[] = "decode";
inline constexpr char kProgramRecord[] = "program";
/// `kv_dtype f32|f16|i8`: the caches' element type (i8 caches each have a
/// `<name>.scale` f32 cache of one scale per row).
inline constexpr char kKVDtypeRecord[] = "kv_dtype";
/// An i8 cache's scales are the `kv` record of its name with this suffix.
inline constexpr char kKVScaleSuffix[] = ".scale";
inline constexpr char kPrefillProgram[] = "prefill";
inline constexpr char kDecodeProgram[] = "decode";
inline constexpr char kLayoutContiguous[] = "contiguous";
inline constexpr char kLayoutPaged[] = "paged";

/// The values of `target`; a manifest without the line is for the CPU.
inline constexpr char kTargetCPU[] = "cpu";
inline constexpr char kTargetCUDA[] = "cuda";

/// Dims are spelled `1x128x64`, rank 0 `scalar`.
inline constexpr char kScalarDims[] = "scalar";
inline constexpr char kDimSeparator = 'x';

/// Every weight starts at a multiple of this offset in weights.bin (the
/// runtime maps the file and passes pointers into it).
inline constexpr unsigned kWeightAlignment = 64;
/// The alignment the compiled program may assume of every argument
/// pointer (inputs, weights, outputs, arena, host pool).
inline constexpr unsigned kArgumentAlignment = 64;

/// A manifest is a few lines per tensor; anything bigger is not one. Also
/// the bound on model.so's interface string.
inline constexpr uint64_t kMaxManifestBytes = uint64_t(64) << 20;

//===----------------------------------------------------------------------===//
// model.so (target cpu)
//===----------------------------------------------------------------------===//

/// The program's entry point: `void memc_entry(void **args)`, one pointer
/// per input, weight and output in manifest order, then the arena when
/// arena_bytes > 0 and the host pool when host_pool_bytes > 0.
inline constexpr char kEntrySymbol[] = "memc_entry";
/// An exported NUL-terminated string: the program's own record of its
/// arguments and pool sizes, which the runtime checks manifest.txt against.
inline constexpr char kInterfaceSymbol[] = "memc_interface";
/// Its first line: `memc-interface 1`.
inline constexpr char kInterfaceMagic[] = "memc-interface";
inline constexpr int kInterfaceVersion = 1;

//===----------------------------------------------------------------------===//
// launch_plan.txt (target cuda; docs/cuda.md)
//===----------------------------------------------------------------------===//

/// The first line: `memc-launch-plan 1`.
inline constexpr char kLaunchPlanMagic[] = "memc-launch-plan";
inline constexpr int kLaunchPlanVersion = 1;

/// Record keywords (`host_pool_bytes` as in the manifest).
inline constexpr char kArchRecord[] = "arch";
inline constexpr char kConstantRecord[] = "constant";
inline constexpr char kLaunchRecord[] = "launch";
inline constexpr char kGemmRecord[] = "gemm";
inline constexpr char kCopyRecord[] = "copy";
inline constexpr char kSpillRecord[] = "spill";
inline constexpr char kFetchRecord[] = "fetch";
inline constexpr char kWaitRecord[] = "wait";
/// GaLore's projector refresh (a thin SVD through cuSOLVER).
inline constexpr char kSvdRecord[] = "svd";

/// Addresses: `input:I+OFF`, `weight:I+OFF`, `output:I+OFF`, `const:I+OFF`,
/// `arena+OFF`, `host+OFF`.
inline constexpr char kInputRef[] = "input";
inline constexpr char kWeightRef[] = "weight";
inline constexpr char kOutputRef[] = "output";
/// Train packages: `state:I+OFF` (the I-th state), `step:0+OFF`.
inline constexpr char kStateRef[] = "state";
inline constexpr char kStepRef[] = "step";
/// Decode programs: `kv:I+OFF`, the I-th KV cache (the manifest's `kv`
/// records), which the runtime owns and both programs of a package share.
inline constexpr char kKVRef[] = "kv";
inline constexpr char kConstRef[] = "const";
inline constexpr char kArenaRef[] = "arena";
inline constexpr char kHostRef[] = "host";
/// Scalar kernel arguments (`i32:V`, `i64:V`, `f32:V`, `f64:V`) and a
/// GEMM's element type (`f32`, `f64`) are spelled as element types (below).
/// The prefix of an architecture (`sm_90`) and of an event (`e0`).
inline constexpr char kArchPrefix[] = "sm_";
inline constexpr char kEventPrefix = 'e';

/// The hardware's limits on a launch and the plan's on events.
inline constexpr uint64_t kMaxGridX = 2147483647; // 2^31 - 1
inline constexpr uint64_t kMaxGridYZ = 65535;
inline constexpr uint64_t kMaxThreadsPerBlock = 1024;
inline constexpr uint64_t kMaxEvent = 65535;

/// constants.bin, kernels.ptx and kernels.cubin: the constants and kernels
/// of one program, far below this.
inline constexpr uint64_t kMaxProgramFileBytes = uint64_t(1) << 32;

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

/// The element types a package may use, in the order of kDTypes.
enum class DType : uint8_t {
  F32,
  F64,
  F16,
  BF16,
  I8,
  I16,
  I32,
  I64,
  U8,
  U16,
  U32,
  U64,
  Bool,
};

struct DTypeInfo {
  DType type;
  const char *name; ///< The manifest's and the interface's spelling.
  unsigned bytes;   ///< Per element; bool is one byte.
};

/// Indexed by DType.
inline constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "f32", 4},   {DType::F64, "f64", 8}, {DType::F16, "f16", 2},
    {DType::BF16, "bf16", 2}, {DType::I8, "i8", 1},   {DType::I16, "i16", 2},
    {DType::I32, "i32", 4},   {DType::I64, "i64", 8}, {DType::U8, "u8", 1},
    {DType::U16, "u16", 2},   {DType::U32, "u32", 4}, {DType::U64, "u64", 8},
    {DType::Bool, "bool", 1},
};
inline constexpr size_t kNumDTypes = sizeof(kDTypes) / sizeof(kDTypes[0]);

/// Parses a spelling ("f32", "bool", ...). False when unknown.
constexpr bool parseDType(std::string_view name, DType &out) {
  for (const DTypeInfo &info : kDTypes)
    if (name == info.name) {
      out = info.type;
      return true;
    }
  return false;
}
/// The spelling of `t`.
constexpr const char *dtypeName(DType t) { return kDTypes[size_t(t)].name; }
/// Bytes per element of `t`.
constexpr size_t dtypeSize(DType t) { return kDTypes[size_t(t)].bytes; }
/// Bytes per element of the type spelled `name`; 0 when it is unknown.
constexpr size_t dtypeSize(std::string_view name) {
  DType t = DType::F32;
  return parseDType(name, t) ? dtypeSize(t) : 0;
}
/// True for f32 f64 f16 bf16: compared with tolerances, not exactly.
constexpr bool isFloating(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::F16 ||
         t == DType::BF16;
}

namespace detail {
constexpr bool dtypeTableIsIndexed() {
  for (size_t i = 0; i < kNumDTypes; ++i)
    if (size_t(kDTypes[i].type) != i)
      return false;
  return size_t(DType::Bool) + 1 == kNumDTypes;
}
} // namespace detail
static_assert(detail::dtypeTableIsIndexed(),
              "kDTypes must list every DType in enum order");

} // namespace package
} // namespace memc

#endif // MEMC_RUNTIME_PACKAGEFORMAT_H
