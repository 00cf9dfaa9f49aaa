//===- Remat.h - Keep, recompute or swap each saved activation --*- C++ -*-===//
//
// The decision behind a train step under a memory budget (DESIGN.md,
// "Training"; REFERENCES.md, "Recompute and swap"): every forward value the
// backward reads (a saved activation) is kept from the forward to its last
// backward read, recomputed at its first backward read from values that are
// there anyway, or swapped to the host pool and staged back at each read. The
// cheapest choice per value depends on the others (recomputing a value needs
// its op's inputs at that point), so the decision is an optimization over
// the whole step: Checkmate's keep/recompute problem with POET's swap
// option, solved exactly as a MILP (COIN-OR CBC) where it solves within a
// time limit and by a greedy (Capuchin/DTR-like: most bytes freed at the
// peak per second of extra work) otherwise.
//
// The model is in schedule steps (one per top-level op of the step). Each
// value is live over [made, lastForwardUse] in any case. Beyond that:
// - Keep: live through its last backward use.
// - Swap: on the host in between, in the arena at each backward use
//   (staging), for swapCost seconds of copies.
// - Recompute: made again right before its first backward use t and live
//   from t through its last backward use. Its op's inputs must be present at
//   t: kept values still live at t, or values recomputed at t as well (a
//   chain, each link paying its cost and present at t).
// The rest of the step's memory (gradients, optimizer temporaries, the
// backward's own values) is a fixed load per step.
//
// Plain C++17, no MLIR: the compiler pass fills a RematProblem from the IR
// and applies the plan; the bench and the unit tests build problems
// directly.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_REMAT_H
#define MEMC_PLAN_REMAT_H

#include <cstdint>
#include <string>
#include <vector>

namespace memc::plan {

/// One forward value of a train step.
struct RematValue {
  /// The producing op's name, for reports.
  std::string name;
  uint64_t bytes = 0;
  /// Step of the op that makes it.
  int64_t made = 0;
  /// Last forward step that reads it (>= made).
  int64_t lastForwardUse = 0;
  /// Steps of the backward that read it, ascending; empty for a value only
  /// the forward reads (it can still be part of a recompute chain).
  std::vector<int64_t> backwardUses;
  /// Seconds to run its op again.
  double recomputeCost = 0.0;
  /// Values (indices) its op reads; weights, inputs and constants are not
  /// values: they are always there.
  std::vector<int> inputs;
  /// False for an op that cannot run twice (side effects, in-place updates).
  bool recomputable = true;
  /// Seconds to copy it to the host and back.
  double swapCost = 0.0;
  /// False for a value the target cannot move to the host. Both of memc's
  /// targets can (CUDA through its pinned host pool), so
  /// memc-activation-recompute leaves it true; the solvers honour it.
  bool swappable = true;

  bool saved() const { return !backwardUses.empty(); }
};

struct RematProblem {
  int64_t numSteps = 0;
  /// Bytes live at each step that no decision changes (size numSteps).
  std::vector<uint64_t> fixedLoad;
  std::vector<RematValue> values;
};

/// The deciders `--remat` and memc-activation-recompute's `solver` accept:
/// solveRemat, solveMilp, solveGreedy, solveChen, recomputeAll, swapAll,
/// keepAll.
inline constexpr const char *kRematSolvers[] = {
    "auto", "milp", "greedy", "chen", "recompute-all", "swap-all", "keep"};
/// Whether `name` is one of kRematSolvers.
bool isRematSolver(const std::string &name);
/// kRematSolvers for messages, joined by ", " but for the last, joined by
/// `lastSeparator`: "auto, milp, ..., keep" or "auto, milp, ... or keep".
std::string rematSolverList(const char *lastSeparator = ", ");

enum class RematChoice { Keep, Recompute, Swap };
/// "keep", "recompute" or "swap".
const char *toString(RematChoice choice);

/// A decision and what it costs.
struct RematPlan {
  /// Per value; only saved values are ever anything but Keep.
  std::vector<RematChoice> choice;
  /// The values cloned at each recompute point: (step, value) pairs in an
  /// order where a value's inputs come first. Filled by evaluate().
  std::vector<std::pair<int64_t, int>> recomputations;
  /// Per value: the point where it is recomputed for its own reads (from
  /// there to its last backward read); -1 when it is not.
  std::vector<int64_t> madeAt;
  /// Bytes live at each step.
  std::vector<uint64_t> load;
  uint64_t peakBytes = 0;
  /// Seconds of recompute and copies the plan adds to a step.
  double extraSeconds = 0.0;
  /// False when some recompute lacks an input (evaluate() says which).
  bool feasible = true;
  std::string why;
  /// Who decided: "keep", "milp", "greedy", "recompute-all", "swap-all",
  /// "chen".
  std::string solver;
  /// The MILP proved it optimal.
  bool optimal = false;
  /// The MILP stopped at its time limit (the plan is its best by then, or
  /// the greedy's when it had none).
  bool timedOut = false;
};

/// Recompute chains, peak bytes and extra seconds of `choice` on `problem`.
/// A recomputed value is made at its first backward read. With
/// `reuseLinks`, a recomputed value that an earlier point's chain makes is
/// made there once and stays until its last read (Chen's segments: the
/// backward entering a segment recomputes it once), trading memory for the
/// repeated work; without, chain links live at their point only.
RematPlan evaluate(const RematProblem &problem,
                   std::vector<RematChoice> choice, bool reuseLinks = false);

/// Every value kept: the unbudgeted step.
RematPlan keepAll(const RematProblem &problem);

/// The greedy: from keeping everything, while the peak is over `budget`,
/// move the saved value that frees the most bytes at the peak per second of
/// extra work to the host or to recompute. Stops at the budget or when no
/// move lowers the peak (the plan is then over the budget: feasible()
/// false for the budget, the caller decides).
RematPlan solveGreedy(const RematProblem &problem, uint64_t budget);

/// Chen et al.'s baseline: the forward cut into about sqrt(n) segments of
/// saved values, the last value of each kept and every other one
/// recomputed, each segment once (reuseLinks) (segments = 0: sqrt of the
/// number of saved values; a very large count recomputes nothing).
RematPlan solveChen(const RematProblem &problem, int64_t segments = 0);

/// Every recomputable saved value recomputed (where its chain allows), each
/// once (reuseLinks).
RematPlan recomputeAll(const RematProblem &problem);

/// Every saved value the target can swap swapped: the swap half's own
/// baseline, as recomputeAll is the recompute half's.
RematPlan swapAll(const RematProblem &problem);

/// Whether this build has the MILP solver (COIN-OR CBC).
bool haveMilpSolver();

/// The exact problem as a MILP (CBC), with a time limit in seconds. Returns
/// a plan with solver "milp"; when CBC finds no solution in time, or proves
/// none exists under the budget, `feasible` is false and `why` says which.
/// `maxChain` bounds how deep a recompute chain may reach back.
RematPlan solveMilp(const RematProblem &problem, uint64_t budget,
                    double timeLimitSeconds, unsigned maxChain = 8);

/// The decision memc makes: the MILP where this build has it and the
/// problem has at most `milpMaxValues` saved values, else (or when it
/// finds nothing in time) the greedy; nothing changes when keeping
/// everything fits.
RematPlan solveRemat(const RematProblem &problem, uint64_t budget,
                     double timeLimitSeconds, size_t milpMaxValues = 400);

} // namespace memc::plan

#endif // MEMC_PLAN_REMAT_H
