//===- ActivationRecompute.cpp - saved activations kept, recomputed or swapped //
//
// Builds the train step's keep/recompute/swap problem (lib/Plan/Remat.h)
// from the tensor IR, solves it under the budget and carries out its
// recomputes. The model works on tensor values in the entry block's order:
// one step per top-level op, a value live from its op to its last reader,
// views (reshapes, casts, slices) counted with what they view, since they
// share its buffer once bufferized. Scratch space inside kernels and the
// arena's fragmentation are not in it: the arena planner, run later under
// the same budget, places host buffers for whatever the estimate missed.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "dialects/einsum/EinsumDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Analysis/BufferLiveness.h"
#include "memc/Analysis/OpWork.h"
#include "memc/Plan/Problem.h"
#include "memc/Plan/Remat.h"
#include "memc/Transforms/TrainStep.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

#include <map>

namespace memc {
#define GEN_PASS_DEF_ACTIVATIONRECOMPUTE
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;
namespace plan = memc::plan;

namespace {

/// Rates of a target, for op costs.
struct TargetRates {
  double flopsPerSecond;
  double bytesPerSecond;
  /// Fixed cost of running one op (a loop nest's setup, a kernel launch).
  double opSeconds;
};

TargetRates ratesFor(StringRef target) {
  // CPU: two cores through OpenBLAS and generated loops with FMA; CUDA: an
  // H100-class device's FP32 rate and HBM bandwidth (REFERENCES.md).
  if (target == "cuda")
    return {5.0e13, 3.0e12, 5.0e-6};
  return {3.0e10, 1.0e10, 1.0e-6};
}

bool isView(Operation *op) { return memc::viewedOperand(op).has_value(); }

/// A value memc-fuse-elementwise will not materialize: made by a pointwise
/// einsum and read once, by an einsum that is not a contraction (the fused
/// loop computes it in registers).
bool fusedAway(Value v) {
  if (!memc::isPointwiseEinsum(v.getDefiningOp()) || !v.hasOneUse())
    return false;
  auto user = dyn_cast<EinsumOp>(*v.getUsers().begin());
  if (!user)
    return false;
  bool reduces = llvm::any_of(user.getReducedRanks(), [](bool r) { return r; });
  return !reduces || user.getInputs().size() == 1;
}

uint64_t bytesOf(Value v) { return memc::tensorBytes(v.getType()); }

/// Seconds to run `op` again on the target.
double opSeconds(Operation *op, const TargetRates &rates) {
  double bytes = 0;
  for (Value v : op->getOperands())
    bytes += double(bytesOf(v));
  for (Value v : op->getResults())
    bytes += double(bytesOf(v));
  double flops = memc::opFlops(op);
  return rates.opSeconds +
         std::max(flops / rates.flopsPerSecond, bytes / rates.bytesPerSecond);
}

struct ActivationRecomputePass
    : public memc::impl::ActivationRecomputeBase<ActivationRecomputePass> {
  using Base::Base;

  void runOnOperation() override {
    // Chen's segments and recompute-all need no budget; the solvers fit
    // one.
    bool baseline =
        solver == "chen" || solver == "recompute-all" || solver == "swap-all";
    if (budget <= 0 && !baseline)
      return;
    func::FuncOp fn = memc::getEntryBody(getOperation());
    if (!fn || fn.getNumResults() == 0)
      return;
    if (!plan::isRematSolver(solver)) {
      fn.emitError() << "memc-activation-recompute: unknown solver '" << solver
                     << "' (" << plan::rematSolverList() << ")";
      return signalPassFailure();
    }
    if (target != "cpu" && target != "cuda") {
      fn.emitError() << "memc-activation-recompute: unknown target '"
                     << target << "' (cpu, cuda)";
      return signalPassFailure();
    }
    Block &body = fn.getBody().front();
    forward = memc::trainStepForward(body);
    if (forward.empty())
      return;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = int64_t(i);

    plan::RematProblem problem = buildProblem(body);
    plan::RematPlan decision = decide(problem);
    if (!decision.feasible) {
      // Only a forced solver can pick an infeasible plan (the others repair
      // or fall back): say so instead of running a wrong step.
      fn.emitError() << "memc-activation-recompute: " << decision.why;
      return signalPassFailure();
    }
    apply(body, problem, decision);
    record(problem, decision);
  }

private:
  /// The problem's values and, per value, its op and result.
  plan::RematProblem buildProblem(Block &body) {
    TargetRates rates = ratesFor(target);
    int64_t steps = int64_t(body.getOperations().size());
    plan::RematProblem problem;
    problem.numSteps = steps;
    problem.fixedLoad.assign(steps, 0);
    // CPU: a memcpy within DRAM; CUDA: pinned host memory over PCIe, at
    // the ~25 GB/s a PCIe 4.0 x16 link sustains each way (conservative for
    // an H100's 5.0), each copy a driver call.
    plan::TransferModel transfer;
    if (target == "cuda") {
      transfer.bytesPerMs = 25.0e6;
      transfer.latencyMs = 0.01;
    }

    // Every root tensor value made by a top-level op.
    for (Operation &op : body) {
      if (isView(&op) || isa<tensor::EmptyOp>(op) ||
          matchPattern(&op, m_Constant()))
        continue;
      for (Value r : op.getResults()) {
        uint64_t bytes = bytesOf(r);
        if (!bytes)
          continue;
        // A value fused into its reader takes no memory; it is still a
        // value a recompute chain may have to make again (in the same
        // fused loop as before, so it rounds the same).
        bool transient = fusedAway(r);
        if (transient)
          bytes = 0;
        int64_t made = position[&op];
        int64_t lastForward = made;
        SmallVector<int64_t> backward;
        bool returned = false;
        memc::forEachReaderThroughViews(
            r, body, [](Operation *) {},
            [&](Operation *top) {
              if (isa<func::ReturnOp>(top))
                returned = true;
              else if (forward.contains(top))
                lastForward = std::max(lastForward, position[top]);
              else
                backward.push_back(position[top]);
            });
        // A returned value is written into its output (or, for an update,
        // its weight's) buffer, outside the arena.
        if (returned)
          continue;
        if (!forward.contains(&op)) {
          int64_t last = made;
          for (int64_t u : backward)
            last = std::max(last, u);
          for (int64_t s = made; s <= last; ++s)
            problem.fixedLoad[s] += bytes;
          continue;
        }
        plan::RematValue value;
        value.name = memc::describeOp(&op);
        value.bytes = bytes;
        value.made = made;
        value.lastForwardUse = lastForward;
        llvm::sort(backward);
        backward.erase(std::unique(backward.begin(), backward.end()),
                       backward.end());
        value.backwardUses.assign(backward.begin(), backward.end());
        value.recomputeCost = opSeconds(&op, rates);
        value.recomputable =
            (isMemoryEffectFree(&op) || isa<AttentionOp>(op)) &&
            !memc::isRecomputed(&op);
        value.swapCost =
            transfer.cost(bytes, 1 + value.backwardUses.size()) / 1e3;
        index[r] = int(problem.values.size());
        valueOf.push_back(r);
        if (transient)
          fusedValues.insert(r);
        problem.values.push_back(std::move(value));
      }
    }
    // Inputs: the values the op reads, through views.
    for (size_t v = 0; v < valueOf.size(); ++v) {
      for (Value u : memc::valuesRead(valueOf[v].getDefiningOp()))
        if (auto it = index.find(memc::viewRoot(u)); it != index.end())
          problem.values[v].inputs.push_back(it->second);
    }
    return problem;
  }

  plan::RematPlan decide(const plan::RematProblem &problem) {
    uint64_t b = uint64_t(budget);
    StringRef s = solver;
    if (s == "milp")
      return plan::solveMilp(problem, b, timeLimit);
    if (s == "greedy")
      return plan::solveGreedy(problem, b);
    if (s == "chen")
      return plan::solveChen(problem);
    if (s == "recompute-all")
      return plan::recomputeAll(problem);
    if (s == "swap-all")
      return plan::swapAll(problem);
    if (s == "keep")
      return plan::keepAll(problem);
    return plan::solveRemat(problem, b, timeLimit, size_t(milpMaxValues));
  }

  /// Clones the recomputed values' ops (and chain links) before each
  /// point's op; the backward reads the clones.
  void apply(Block &body, const plan::RematProblem &problem,
             const plan::RematPlan &decision) {
    SmallVector<Operation *> ops;
    for (Operation &op : body)
      ops.push_back(&op);
    OpBuilder b(&getContext());
    // A value recomputed for its own readers: its clone, for later points.
    llvm::DenseMap<Value, Value> ownClone;
    std::map<int64_t, SmallVector<int>> byPoint;
    for (auto [t, v] : decision.recomputations)
      byPoint[t].push_back(v);
    for (auto &[t, chain] : byPoint) {
      Operation *at = ops[t];
      b.setInsertionPoint(at);
      IRMapping mapping;
      for (auto [w, clone] : ownClone)
        mapping.map(w, clone);
      llvm::DenseSet<Operation *> cloned;
      for (int v : chain) {
        Value orig = valueOf[v];
        Operation *op = orig.getDefiningOp();
        if (!cloned.insert(op).second)
          continue;
        // The views the op reads of recomputed values are cloned too.
        for (Value u : memc::valuesRead(op))
          cloneViewChain(b, u, mapping);
        Operation *clone = b.clone(*op, mapping);
        memc::setRecomputed(clone);
        // Unbudgeted, a materialized result had readers in both halves (or
        // a reader no loop fuses): the op and its clone stay unfused, so
        // the moved readers round as before. A value fused into its one
        // reader is fused into the reader's clone the same way.
        if (!fusedValues.contains(orig)) {
          memc::setUnfused(clone);
          memc::setUnfused(op);
        }
        ++numRecomputed;
      }
      for (int v : chain) {
        if (decision.choice[v] != plan::RematChoice::Recompute ||
            decision.madeAt[v] != t)
          continue;
        Value orig = valueOf[v];
        Value clone = mapping.lookup(orig);
        ownClone[orig] = clone;
        rewireBackward(b, body, orig, clone);
      }
    }
  }

  /// Maps `u` (a view of a recomputed value, or of a view of one) to the
  /// same view of the clone.
  void cloneViewChain(OpBuilder &b, Value u, IRMapping &mapping) {
    if (mapping.contains(u))
      return;
    Operation *def = u.getDefiningOp();
    std::optional<unsigned> aliased = memc::viewedOperand(def);
    if (!aliased)
      return;
    cloneViewChain(b, def->getOperand(*aliased), mapping);
    if (mapping.contains(def->getOperand(*aliased)))
      b.clone(*def, mapping);
  }

  /// Points the backward's reads of `orig`, and of views of it, at `clone`
  /// (views that come before the clone made again from it).
  void rewireBackward(OpBuilder &b, Block &body, Value orig, Value clone) {
    Operation *at = &*b.getInsertionPoint();
    for (OpOperand &use : llvm::make_early_inc_range(orig.getUses())) {
      Operation *owner = use.getOwner();
      Operation *top = body.findAncestorOpInBlock(*owner);
      if (!top || isa<func::ReturnOp>(top))
        continue;
      if (top == owner &&
          memc::viewedOperand(owner) == use.getOperandNumber() &&
          owner->isBeforeInBlock(at)) {
        // A view made before the clone: its backward reads go to the same
        // view of the clone; it dies if nothing else reads it.
        Value view = owner->getResult(0);
        if (memc::backwardUses(view, body, forward).empty())
          continue;
        IRMapping m;
        m.map(orig, clone);
        Operation *copy = b.clone(*owner, m);
        rewireBackward(b, body, view, copy->getResult(0));
        if (view.use_empty())
          owner->erase();
        continue;
      }
      if (forward.contains(top))
        continue;
      use.set(clone);
    }
  }

  /// The decision, for the report: on the module and on each saved value's
  /// op.
  void record(const plan::RematProblem &problem,
              const plan::RematPlan &decision) {
    MLIRContext *ctx = &getContext();
    Builder b(ctx);
    plan::RematPlan unbudgeted = plan::keepAll(problem);
    for (size_t v = 0; v < problem.values.size(); ++v) {
      if (!problem.values[v].saved())
        continue;
      Operation *op = valueOf[v].getDefiningOp();
      memc::setRematChoice(op, plan::toString(decision.choice[v]));
    }
    getOperation()->setAttr(
        "memc.remat",
        b.getDictionaryAttr({
            b.getNamedAttr("solver", b.getStringAttr(decision.solver)),
            b.getNamedAttr("budget", b.getI64IntegerAttr(budget)),
            b.getNamedAttr("estimated_peak_bytes",
                           b.getI64IntegerAttr(int64_t(decision.peakBytes))),
            b.getNamedAttr("unbudgeted_peak_bytes",
                           b.getI64IntegerAttr(int64_t(unbudgeted.peakBytes))),
            b.getNamedAttr("extra_ms",
                           b.getF64FloatAttr(decision.extraSeconds * 1e3)),
            b.getNamedAttr("optimal", b.getBoolAttr(decision.optimal)),
            b.getNamedAttr("timed_out", b.getBoolAttr(decision.timedOut)),
        }));
  }

  llvm::DenseSet<Operation *> forward;
  llvm::DenseMap<Operation *, int64_t> position;
  llvm::DenseMap<Value, int> index;
  SmallVector<Value> valueOf;
  /// Values memc-fuse-elementwise computes inside their reader's loop.
  llvm::DenseSet<Value> fusedValues;
};

} // namespace
