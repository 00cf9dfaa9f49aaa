//===- Problem.h - Memory planning problems and plans -----------*- C++ -*-===//
//
// The data that memc's memory planner works on (DESIGN.md, "Memory planning
// and the mallocGame"): buffers with a size, an alignment and a live interval
// over the final schedule, an optional device capacity, and the plan that
// gives every buffer an arena offset or a place on the host.
//
// Plain C++17 with no MLIR or LLVM: the compiler pass fills a Problem from
// bufferized IR, and tools (the mapper trainer, the bench) build Problems
// from generated or dumped instances without linking the compiler.
//
// One convention runs through the library: a buffer occupies
// footprint(b) = alignUp(size, alignment) bytes from its offset. The lower
// bound, every planner and the verifier use the same footprint, which is what
// keeps the lower bound a true lower bound with mixed alignments (with raw
// sizes a 1-byte buffer aligned to 4096 would count 4096 bytes in the bound
// but 1 byte at the top of the arena). For the 64-byte alignment memc uses
// everywhere the footprint changes nothing: the arena is rounded to 64 bytes.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_PROBLEM_H
#define MEMC_PLAN_PROBLEM_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace memc::plan {

/// Arena sizes are multiples of this: the runtime allocates the arena with
/// this alignment and buffers inside it assume no more by default.
constexpr uint64_t kArenaAlignment = 64;

/// A value or the reason there is none. The library is built without
/// exceptions (as the rest of memc), so failures that callers must report,
/// such as a budget below the smallest feasible one, travel this way.
template <typename T> class Outcome {
public:
  Outcome(T value) : value(std::move(value)) {}
  static Outcome failure(std::string message) {
    Outcome result;
    result.message = std::move(message);
    return result;
  }

  bool ok() const { return value.has_value(); }
  explicit operator bool() const { return ok(); }
  T &operator*() { return *value; }
  const T &operator*() const { return *value; }
  T *operator->() { return &*value; }
  const T *operator->() const { return &*value; }
  /// Why there is no value; empty when there is one.
  const std::string &error() const { return message; }

private:
  Outcome() = default;
  std::optional<T> value;
  std::string message;
};

/// What a buffer holds; the timeline colours by it and the mapper may weigh
/// it (temporaries are short-lived scratch space, activations are op results).
enum class BufferKind { Activation, Temporary };

/// "activation" or "temporary", as the plan report spells them.
const char *toString(BufferKind kind);

/// One intermediate buffer of a scheduled program.
struct Buffer {
  /// Caller-chosen identifier, unique within a Problem. Per-step use lists
  /// (minFeasibleBudget) name buffers by it; plans index buffers by position.
  int64_t id = 0;
  /// Bytes the program reads and writes; 0 is allowed (it occupies nothing).
  uint64_t size = 0;
  /// Required alignment of the offset: a power of two.
  uint64_t alignment = kArenaAlignment;
  /// Live interval over schedule steps, both ends inclusive: the buffer is
  /// written at `start` and last read at `end`.
  int64_t start = 0;
  int64_t end = 0;
  /// Steps whose op reads or writes the buffer, within [start, end]; empty
  /// means {start, end}. A buffer kept on the host must be staged into the
  /// arena at each of these steps, so they shape budgeted mapping.
  std::vector<int64_t> uses;
  /// Modeled cost, in milliseconds, of keeping the buffer on the host: its
  /// copies out after the producer and in before each consumer.
  double transferCost = 0.0;
  BufferKind kind = BufferKind::Activation;
  /// Name of the producing op, for reports and error messages.
  std::string producer;
};

/// How transfer costs are modeled when the caller has no measured numbers:
/// a buffer on the host is copied out after its producer and in before each
/// consumer, so once per use step, each copy paying a fixed latency plus
/// bytes over bandwidth. Defaults: 12 GB/s (pinned-memory PCIe 4.0 x16 in
/// practice, and in the range of a single-threaded host memcpy) and 10 us
/// per copy (a CUDA memcpy launch).
struct TransferModel {
  double bytesPerMs = 12.0e6;
  double latencyMs = 0.01;
  /// Modeled milliseconds for `copies` copies of `bytes` bytes.
  double cost(uint64_t bytes, size_t copies) const {
    return static_cast<double>(copies) *
           (latencyMs + static_cast<double>(bytes) / bytesPerMs);
  }
};

/// A packing problem (capacity 0) or a budgeted mapping problem.
struct Problem {
  std::vector<Buffer> buffers;
  /// Device bytes available to the arena; 0 means unbounded.
  uint64_t capacity = 0;
};

/// `value` rounded up to a multiple of `alignment` (a power of two).
uint64_t alignUp(uint64_t value, uint64_t alignment);

/// The bytes a buffer occupies in the arena: its size rounded up to its
/// alignment (see the file comment for why).
uint64_t footprint(const Buffer &buffer);

/// The steps at which `buffer` must be in device memory if it lives on the
/// host: its uses, sorted and without duplicates, or {start, end}.
std::vector<int64_t> useSteps(const Buffer &buffer);

/// Everything wrong with `problem` as planner input, one sentence each:
/// duplicate ids, alignments that are not powers of two, start > end, uses
/// outside the live interval, negative or non-finite transfer costs.
/// Planners assume a valid problem; callers building Problems from outside
/// data (files, tools) check here first.
std::vector<std::string> validateProblem(const Problem &problem);

/// The packing lower bound: the largest sum of live footprints at any step.
/// No placement of the buffers, by any algorithm, needs a smaller arena.
/// A sweep over interval endpoints, O(n log n).
uint64_t lowerBound(const Problem &problem);

/// The smallest device capacity under which a budgeted plan exists, and the
/// step that decides it. Every op needs its operands and results in device
/// memory at once, so the largest single-step working set, rounded up to the
/// arena alignment, is the floor; at that capacity keeping every buffer on
/// the host and staging it at its uses always fits.
struct BudgetFloor {
  /// alignUp(workingSetBytes, kArenaAlignment).
  uint64_t minBudget = 0;
  /// Sum of footprints of the buffers that `step` touches.
  uint64_t workingSetBytes = 0;
  /// The step with the largest working set (the first one on ties); -1 when
  /// no step touches any buffer.
  int64_t step = -1;
};

/// The budget floor from an explicit list: `idsTouchedByStep[s]` holds the ids
/// of the buffers that the op at step s reads or writes (its operands and
/// results; repeats count once). Fails on an id not in `problem`.
Outcome<BudgetFloor>
minFeasibleBudget(const Problem &problem,
                  const std::vector<std::vector<int64_t>> &idsTouchedByStep);

/// The budget floor from the buffers' own use steps (Buffer::uses).
BudgetFloor minFeasibleBudgetFromUses(const Problem &problem);

/// Where a plan puts one buffer.
enum class Location {
  /// No decision: always a verifier violation in a finished plan.
  Unplaced,
  /// In the arena at Placement::offset for its whole live interval.
  Arena,
  /// In host memory, staged into the arena at each use step.
  Host,
};

/// Arena space that a host buffer borrows for the op at `step`.
struct StagingSlot {
  int64_t step = 0;
  uint64_t offset = 0;
};

struct Placement {
  Location location = Location::Unplaced;
  /// Arena offset; meaningful for Location::Arena only.
  uint64_t offset = 0;
  /// For Location::Host: one slot per use step (useSteps), ascending by step.
  /// Each slot occupies the buffer's footprint at that single step.
  std::vector<StagingSlot> staging;
};

/// A planner's answer. Placements are parallel to Problem::buffers.
struct Plan {
  /// Which planner made it: "naive", "greedy_by_size", "best_fit",
  /// "budgeted_best_fit" or "budgeted_all_host".
  std::string algorithm;
  std::vector<Placement> placements;
  /// The arena the program allocates: the highest end of any arena buffer or
  /// staging slot (offset + footprint), rounded up to kArenaAlignment.
  uint64_t arenaBytes = 0;
  /// Sum of the sizes of the buffers on the host.
  uint64_t spilledBytes = 0;
  /// Sum of the transfer costs of the buffers on the host, in ms.
  double transferCost = 0.0;
};

/// Fills arenaBytes, spilledBytes and transferCost from the placements, as
/// every planner does before returning.
void summarizePlan(const Problem &problem, Plan &plan);

} // namespace memc::plan

#endif // MEMC_PLAN_PROBLEM_H
