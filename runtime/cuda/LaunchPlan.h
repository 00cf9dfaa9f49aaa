//===- LaunchPlan.h - launch_plan.txt of a CUDA package ---------*- C++ -*-===//
//
// The host side of a compiled CUDA program, as data: which kernels to launch
// with which grid and arguments, which GEMMs to hand to cuBLAS, and the
// copies, in program order (docs/cuda.md has the format, PackageFormat.h its
// spellings). The parser is
// strict, like the manifest's, so a compiler bug shows up as one line naming
// the plan's line rather than as a wrong launch.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CUDA_LAUNCHPLAN_H
#define MEMC_RUNTIME_CUDA_LAUNCHPLAN_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memc {
namespace cuda {

/// An address: a base buffer and a byte offset into it. State and Step are
/// a train package's optimizer states and its one step count (the manifest's
/// `state` records and `step`); KV a decode program's caches (`kv` records).
struct BufferRef {
  enum Base { Input, Weight, Output, Const, Arena, Host, State, Step, KV };
  Base base = Arena;
  /// input/weight/output/const/state number; 0 otherwise (step:0).
  uint32_t index = 0;
  uint64_t offset = 0;
};

/// A kernel argument: a device address or a scalar.
struct Arg {
  enum Kind { Buffer, I32, I64, F32, F64 } kind = Buffer;
  BufferRef ref;
  int64_t i = 0;
  double f = 0;
};

struct Step {
  enum Kind { Launch, Gemm, Copy, Spill, Fetch, Wait, Svd } kind = Launch;
  unsigned line = 0; ///< in launch_plan.txt, for error messages

  // launch
  std::string kernel;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  unsigned sharedBytes = 0;
  std::vector<Arg> args;

  // gemm: the row-major memc_rt_sgemm ABI (runtime/cpu/memc_runtime.h).
  bool f64 = false;
  int64_t batch = 0, transA = 0, transB = 0, m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  BufferRef a, b, c;
  int64_t lda = 0, ldb = 0, ldc = 0, strideA = 0, strideB = 0, strideC = 0;

  // copy (device to device), spill (arena -> host pool), fetch (back)
  BufferRef dst, src;
  uint64_t bytes = 0;
  unsigned event = 0; ///< spill/fetch: signalled when done; wait: awaited

  // svd: GaLore's projector refresh at t = 1 and every `period` steps: the
  // thin SVD of the row-major rows x cols f32 gradient `a`, whose first
  // `rank` right (Vh[:r, :], r x cols) or left (U[:, :r], rows x r)
  // singular vectors go row-major into `c`.
  int64_t period = 0, rank = 0, rows = 0, cols = 0;
  bool right = false;
  /// The projector's rows x columns as stored.
  int64_t projectorRows() const { return right ? rank : rows; }
  int64_t projectorCols() const { return right ? cols : rank; }
};

struct ConstantSpec {
  uint64_t offset = 0; ///< in constants.bin
  uint64_t bytes = 0;
};

struct LaunchPlan {
  std::string arch;           ///< sm_XX the PTX was generated for
  uint64_t hostPoolBytes = 0; ///< pinned host memory for spilled buffers
  std::vector<ConstantSpec> constants;
  std::vector<Step> steps;
  unsigned numEvents = 0; ///< events e0 .. e<numEvents-1>
};

/// Parses launch_plan.txt. On failure returns false with `error` set to
/// "<fileName>:<line>: <what>".
bool parseLaunchPlan(std::string_view text, const std::string &fileName,
                     LaunchPlan &plan, std::string &error);

/// "input:0+64", "state:1+0", "arena+4096": the plan's spelling of a
/// reference.
std::string formatRef(const BufferRef &ref);

} // namespace cuda
} // namespace memc

#endif // MEMC_RUNTIME_CUDA_LAUNCHPLAN_H
