//===- MallocGame.h - Memory planning as a single-player game ---*- C++ -*-===//
//
// memc's mallocGame (DESIGN.md, "Memory planning and the mallocGame"; after
// Wang et al. 2023). The buffers are visited in a canonical order (start
// step, then size descending, then id); each move decides the current
// buffer: put it at one of the candidate offsets, or (when a capacity is
// set) spill it to the host. Candidates are offset 0 and the top edges of the
// placed buffers that overlap it in time, aligned up, where the buffer fits:
// no overlap with a time-overlapping placed buffer or staging slot, and under
// the capacity when there is one. Every top edge that fits is the bottom of
// a free gap, so the candidates are "the bottom of each free gap that holds
// the buffer, and the top".
//
// The episode's return is -arena/lowerBound for packing (capacity 0), and
// -spilled transfer cost/total transfer cost under a capacity, with
// kDeadEndScore when the game reaches a buffer with no legal move. A spilled
// buffer follows the Problem/Plan model of budgetedPlan and the verifier: it
// borrows a staging slot of its footprint at each of its use steps, placed
// first fit (lowest offset that is free at that step, under the capacity)
// at the moment of the spill; the spill is legal only if every slot fits.
//
// Because visiting order is by start step, everything placed before the
// current buffer started no later, so the only placed ranges that can still
// overlap it are those alive at its start plus staging slots at later steps:
// the state keeps just those (a sweep), which is what keeps a move O(live)
// on 10,000-buffer programs.
//
// The features below describe a move or a state to the policy/value network
// (PolicyNet.h), all scaled to about [-1, 4] by the lower bound (packing) or
// the usable capacity (budgeted) so that one network serves every size.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_MALLOCGAME_H
#define MEMC_PLAN_MALLOCGAME_H

#include "memc/Plan/Problem.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace memc::plan {

/// Per-move and per-state feature counts (the network's input widths).
constexpr int kMoveFeatures = 16;
constexpr int kStateFeatures = 8;

/// The return of an episode that got stuck, below every budgeted return
/// (>= -1). Only budgeted games can get stuck: without a capacity the top
/// always fits.
constexpr double kDeadEndScore = -2.0;

/// One decision for the current buffer.
struct GameMove {
  bool spill = false;
  /// The arena offset when !spill.
  uint64_t offset = 0;
};

/// A legal move with what the features are computed from.
struct MoveInfo {
  GameMove move;
  /// The free gap the offset lies in: [gapLo, gapHi); gapHi is UINT64_MAX
  /// for the space above all overlapping ranges with no capacity.
  uint64_t gapLo = 0;
  uint64_t gapHi = 0;
  /// Above every overlapping range.
  bool top = false;
  /// Last live step of the range directly below (resting on the ground:
  /// INT64_MAX) and directly above (none: INT64_MAX).
  int64_t belowEnd = 0;
  int64_t aboveEnd = 0;
  /// The smallest fitting gap (top counts as unbounded; lowest on ties):
  /// XLA's and TFLite's fit rule. And the lowest fitting offset.
  bool bestFit = false;
  bool firstFit = false;
};

class MallocGame {
public:
  /// A placed range that may still overlap buffers to come: [lo, hi) over
  /// steps [start, end].
  struct Range {
    int64_t start;
    int64_t end;
    uint64_t lo;
    uint64_t hi;
  };

  struct State {
    /// Position in canonical order of the buffer to decide next.
    size_t next = 0;
    /// Placed ranges that can still overlap an undecided buffer, by lo.
    std::vector<Range> ranges;
    /// Highest end of anything placed so far.
    uint64_t extent = 0;
    double spilledCost = 0.0;
    /// A buffer had no legal move; the episode ended there.
    bool deadEnd = false;
    /// Decisions so far, in canonical order.
    std::vector<GameMove> moves;
  };

  /// `problem` must satisfy validateProblem. The game keeps a reference.
  explicit MallocGame(const Problem &problem);

  const Problem &problem() const { return *problem_; }
  size_t size() const { return order_.size(); }
  /// Canonical order: positions into problem().buffers.
  const std::vector<size_t> &order() const { return order_; }
  bool budgeted() const { return problem_->capacity != 0; }
  uint64_t lowerBound() const { return lowerBound_; }
  /// What the features are scaled by: the lower bound, or the usable
  /// capacity (capacity rounded down to kArenaAlignment) when budgeted.
  double scale() const { return scale_; }

  State initialState() const;
  bool terminal(const State &state) const {
    return state.deadEnd || state.next == order_.size();
  }
  /// The buffer to decide next (!terminal(state)).
  const Buffer &current(const State &state) const {
    return problem_->buffers[order_[state.next]];
  }
  /// The legal moves for the current buffer, places by ascending offset,
  /// then the spill when legal. Empty only at a dead end.
  std::vector<MoveInfo> legalMoves(const State &state) const;
  /// Plays `move` (one of legalMoves(state)); then, if the next buffer has
  /// no legal move, marks the state a dead end.
  void play(State &state, const GameMove &move) const;
  /// The episode's return (see the file comment); terminal states only.
  double score(const State &state) const;
  /// What score() is compared against: -1 for packing (arena = lower
  /// bound), 0 under a capacity (nothing spilled). The value network
  /// predicts score - baseline.
  double baseline() const { return budgeted() ? 0.0 : -1.0; }
  /// The arena plan of a terminal, non-dead-end state, named `algorithm`.
  Plan toPlan(const State &state, const char *algorithm) const;

  /// kMoveFeatures floats per move into `out` (resized).
  void moveFeatures(const State &state, const std::vector<MoveInfo> &moves,
                    std::vector<float> &out) const;
  /// kStateFeatures floats into `out`.
  void stateFeatures(const State &state, float *out) const;

private:
  /// First-fit offset for a `bytes`-byte range aligned to `alignment` at
  /// step `step`, under the usable capacity; false when none fits.
  bool fitSlot(const State &state, int64_t step, uint64_t bytes,
               uint64_t alignment, uint64_t &offset) const;
  void insertRange(State &state, const Range &range) const;
  void checkDeadEnd(State &state) const;

  const Problem *problem_;
  std::vector<size_t> order_;
  std::vector<std::vector<int64_t>> useSteps_; // By canonical position.
  uint64_t lowerBound_ = 0;
  uint64_t usable_ = 0; // 0 = unbounded.
  double scale_ = 1.0;
  double totalCost_ = 0.0;
  int64_t firstStep_ = 0, lastStep_ = 0;
  /// By canonical position: live footprint bytes at the buffer's start, the
  /// most over its interval, and the most at or after its start.
  std::vector<uint64_t> loadAtStart_, peakOver_, peakAfter_;
};

} // namespace memc::plan

#endif // MEMC_PLAN_MALLOCGAME_H
