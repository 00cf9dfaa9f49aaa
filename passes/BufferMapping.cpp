//===- BufferMapping.cpp - temporaries into one planned arena -------------===//
//
// Liveness (lib/Analysis) -> planning problem -> mapper (lib/Plan) -> IR:
// allocations become views into the arena argument; buffers the plan keeps
// on the host become views into the host pool, staged into the arena around
// the ops that use them.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/BufferMapping.h"
#include "dialects/memc/ProgramInterface.h"

#include "memc/Analysis/BufferLiveness.h"
#include "memc/Plan/Heuristics.h"
#include "memc/Plan/Mapper.h"
#include "memc/Plan/Verifier.h"
#include "memc/Transforms/GemmEpilogue.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"

#include <chrono>

namespace memc {
#define GEN_PASS_DEF_BUFFERMAPPING
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace memc {
namespace {

/// Whether `op` may write the buffer behind any of `aliases`. Ops without
/// precise effects (region ops, calls) are assumed to write.
bool mayWrite(Operation *op, const llvm::DenseSet<Value> &aliases) {
  auto iface = dyn_cast<MemoryEffectOpInterface>(op);
  if (!iface || op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
    return true;
  SmallVector<MemoryEffects::EffectInstance> effects;
  iface.getEffects(effects);
  for (const MemoryEffects::EffectInstance &e : effects)
    if (isa<MemoryEffects::Write>(e.getEffect()) &&
        (!e.getValue() || aliases.contains(e.getValue())))
      return true;
  return false;
}

/// A view of `bytes`-sized `type` at `offset` in `pool`, built at `b`.
/// A view of `type` at `offset` in `pool`, built at `b`. `tenant` numbers
/// the views: each stands for one stretch of time in which its bytes belong
/// to one buffer, and the distinct attribute keeps CSE from merging two
/// tenants of the same bytes into one value, which memc-arena-noalias would
/// then present to LLVM as one object spanning the other tenants' time.
Value viewAt(OpBuilder &b, Location loc, Value pool, uint64_t offset,
             MemRefType type, int64_t &tenant) {
  Value shift = arith::ConstantIndexOp::create(b, loc, offset);
  auto view = memref::ViewOp::create(b, loc, type, pool, shift, ValueRange{});
  memc::ArenaSlot slot;
  slot.offset = offset;
  slot.tenant = tenant++;
  memc::setArenaSlot(view, slot);
  return view;
}

struct BufferMappingPass
    : public memc::impl::BufferMappingBase<BufferMappingPass> {
  using Base::Base;
  BufferMappingPass(const BufferMappingOptions &options,
                    std::function<void(const ArenaPlanRecord &)> onPlan)
      : Base(options), onPlan(std::move(onPlan)) {}

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp func = memc::getEntryBody(module, funcName);
    if (!func)
      return; // nothing to plan (memc-opt on a module without the model)
    if (memc::getArenaBytes(module) ||
        llvm::any_of(func.getArguments(), [&](BlockArgument a) {
          return memc::isPoolArgument(a, memc::ArgRole::Arena);
        })) {
      func.emitError("memc-buffer-mapping: @")
          << func.getSymName() << " already has an arena";
      return signalPassFailure();
    }
    plan::TransferModel transfer;
    FailureOr<BufferLiveness> live = computeBufferLiveness(func, transfer);
    if (failed(live))
      return signalPassFailure();

    ArenaPlanRecord record;
    if (failed(decide(func, *live, record)))
      return signalPassFailure();
    rewrite(func, *live, record);
    // A memc.gemm_epilogue was one step of the plan; its GEMM's result
    // takes no arena bytes and stays on the heap until
    // memc-contractions-to-blas's fused call does without it.
    memc::dissolveGemmEpilogues(func);
    if (onPlan)
      onPlan(record);
  }

  /// Whether a recomputed op writes the buffer (into its own memref or a
  /// view of it) at one of its steps: memc-elementwise-in-place puts a
  /// recomputed value into the buffer of an operand that dies there.
  static bool writtenByRecomputedOp(const ArenaAlloc &alloc,
                                    const plan::Buffer &b,
                                    const BufferLiveness &live) {
    llvm::SmallPtrSet<Value, 8> values{alloc.alloc->getResult(0)};
    for (Operation *view : alloc.views)
      values.insert(view->getResults().begin(), view->getResults().end());
    for (int64_t s : b.uses) {
      auto dps = dyn_cast<DestinationStyleOpInterface>(live.steps[s]);
      if (dps && memc::isRecomputed(dps) &&
          llvm::any_of(dps.getDpsInits(),
                       [&](Value init) { return values.contains(init); }))
        return true;
    }
    return false;
  }

  /// Runs the mapper and fills `record`; fails on a budget below the floor
  /// or (with verify-plan) a plan the verifier rejects.
  LogicalResult decide(func::FuncOp func, BufferLiveness &live,
                       ArenaPlanRecord &record) {
    auto t0 = std::chrono::steady_clock::now();
    // The problem as solved: the liveness, under the budget.
    record.problem = live.problem;
    record.problem.capacity = memBudget;
    const plan::Problem &problem = record.problem;
    record.budget = memBudget;
    record.unplanned = live.unplanned;
    for (const ArenaAlloc &a : live.allocs)
      record.bufferTypes.push_back(a.type);
    for (Operation *op : live.steps)
      record.stepNames.push_back(describeOp(op));
    for (auto [b, alloc] : llvm::zip_equal(problem.buffers, live.allocs)) {
      Operation *first = b.start >= 0 && size_t(b.start) < live.steps.size()
                             ? live.steps[b.start]
                             : nullptr;
      record.recomputed.push_back((first && memc::isRecomputed(first)) ||
                                  writtenByRecomputedOp(alloc, b, live));
      record.swappedIn.push_back(first && isCopyFromHost(first));
    }
    for (const plan::Buffer &b : live.hostBuffers)
      record.swappedBytes += b.size;
    record.floor = plan::minFeasibleBudgetFromUses(problem);

    plan::MapperOptions mapperOptions;
    mapperOptions.seed = seed;
    mapperOptions.timeLimitSeconds = planTimeLimit;
    record.timeLimitSeconds = planTimeLimit;
    plan::Outcome<plan::MapperResult> mapped =
        plan::runMapper(problem, mapperOptions);
    if (!mapped) {
      record.budgetTooSmall = memBudget > 0 &&
                              memBudget < record.floor.minBudget;
      if (onPlan)
        onPlan(record);
      if (record.budgetTooSmall) {
        std::string step =
            record.floor.step >= 0 ? record.stepNames[record.floor.step] : "";
        return func.emitError("memory budget of ")
               << uint64_t(memBudget)
               << " bytes is below the smallest feasible budget, "
               << record.floor.minBudget << " bytes: " << step << " at step "
               << record.floor.step << " needs its operands and results ("
               << record.floor.workingSetBytes << " bytes) in memory at once";
      }
      return func.emitError("memory planning failed: ") << mapped.error();
    }
    record.plan = mapped->plan;
    record.mapper = mapped->winner;
    record.timedOut = mapped->timedOut;
    record.heuristics = mapped->heuristicArenaBytes;
    record.lowerBound = mapped->lowerBound;
    record.transferCostBound = mapped->transferCostBound;

    // Host buffers get their own, planned, offsets in the host pool: the
    // plan's spilled buffers, then the swapped activations' host copies.
    plan::Problem hostProblem;
    std::vector<size_t> hostIndex;
    auto addHost = [&](plan::Buffer buffer) {
      buffer.id = int64_t(hostProblem.buffers.size());
      hostProblem.buffers.push_back(std::move(buffer));
    };
    for (size_t i = 0; i < problem.buffers.size(); ++i)
      if (record.plan.placements[i].location == plan::Location::Host &&
          problem.buffers[i].uses.size() > 1) {
        hostIndex.push_back(i);
        addHost(problem.buffers[i]);
      }
    for (const plan::Buffer &b : live.hostBuffers)
      addHost(b);
    record.hostOffsets.assign(problem.buffers.size(), 0);
    if (!hostProblem.buffers.empty()) {
      plan::Plan hostPlan = plan::bestFitPlan(hostProblem);
      for (size_t k = 0; k < hostIndex.size(); ++k)
        record.hostOffsets[hostIndex[k]] = hostPlan.placements[k].offset;
      for (size_t k = 0; k < live.hostBuffers.size(); ++k)
        record.swapOffsets.push_back(
            hostPlan.placements[hostIndex.size() + k].offset);
      record.hostPoolBytes = hostPlan.arenaBytes;
    }

    if (verifyPlan) {
      std::vector<std::string> violations =
          plan::verifyPlan(problem, record.plan);
      if (!violations.empty())
        return func.emitError("memc-buffer-mapping: the plan from ")
               << record.mapper << " fails verification: " << violations[0];
      if (memBudget > 0 && record.plan.arenaBytes > memBudget)
        return func.emitError("memc-buffer-mapping: the arena (")
               << record.plan.arenaBytes << " bytes) exceeds the budget";
      record.verified = true;
    }
    record.plannerSeconds = std::chrono::duration<double>(
                                std::chrono::steady_clock::now() - t0)
                                .count();
    return success();
  }

  void rewrite(func::FuncOp func, BufferLiveness &live,
               const ArenaPlanRecord &record) {
    OpBuilder b(func.getContext());
    Location loc = func.getLoc();
    auto i8 = b.getI8Type();
    if (live.allocs.empty() && live.hostAllocs.empty())
      return;
    // Buffers of zero bytes still need an arena to view into.
    uint64_t arenaBytes =
        std::max<uint64_t>(record.plan.arenaBytes, plan::kArenaAlignment);
    memc::setPoolBytes(func->getParentOfType<ModuleOp>(), arenaBytes,
                       record.hostPoolBytes);
    auto addPool = [&](uint64_t bytes, memc::ArgRole role) -> Value {
      unsigned index = func.getNumArguments();
      auto type = MemRefType::get({static_cast<int64_t>(bytes)}, i8);
      (void)func.insertArgument(index, type, {}, loc);
      memc::setArgRole(func, index, role);
      return func.getArgument(index);
    };
    Value arena = addPool(arenaBytes, memc::ArgRole::Arena);
    Value hostPool = record.hostPoolBytes > 0
                         ? addPool(record.hostPoolBytes, memc::ArgRole::HostPool)
                         : Value();

    for (size_t i = 0; i < live.allocs.size(); ++i) {
      ArenaAlloc &entry = live.allocs[i];
      const plan::Placement &place = record.plan.placements[i];
      memref::AllocOp alloc = entry.alloc;
      MemRefType type = alloc.getType();
      b.setInsertionPoint(alloc);
      bool staged = place.location == plan::Location::Host;
      const std::vector<int64_t> &uses = live.problem.buffers[i].uses;
      if (!entry.laneMembers.empty()) {
        if (staged) {
          alloc.emitError("memc-buffer-mapping: the plan keeps the buffers "
                          "of lanes on the host, where they cannot be "
                          "staged");
          return signalPassFailure();
        }
        // Lane l's region is l regions after the first.
        for (auto [member, inner] : entry.laneMembers) {
          b.setInsertionPoint(member);
          Location l = member.getLoc();
          Value view = viewAt(b, l, arena, place.offset + inner,
                              member.getType(), nextTenant);
          auto viewOp = view.getDefiningOp<memref::ViewOp>();
          b.setInsertionPoint(viewOp);
          Value shift = arith::AddIOp::create(
              b, l, viewOp.getByteShift(),
              arith::MulIOp::create(
                  b, l, entry.lane,
                  arith::ConstantIndexOp::create(b, l, entry.laneBytes)));
          viewOp.getByteShiftMutable().assign(shift);
          memc::ArenaSlot slot;
          slot.buffer = int64_t(i);
          memc::setArenaSlot(viewOp, slot);
          eraseDeallocs(member.getResult());
          member.replaceAllUsesWith(view);
          member.erase();
        }
        continue;
      }
      if (!staged || uses.size() == 1) {
        // Resident, or on the host but used by one op only: its one staging
        // slot is all the space it ever needs.
        uint64_t offset = staged ? place.staging.front().offset : place.offset;
        Value view = viewAt(b, alloc.getLoc(), arena, offset, type, nextTenant);
        memc::ArenaSlot slot;
        slot.buffer = int64_t(i);
        memc::setArenaSlot(view.getDefiningOp(), slot);
        eraseDeallocs(alloc.getResult());
        alloc.replaceAllUsesWith(view);
        alloc.erase();
        continue;
      }
      if (entry.aliasedByResults) {
        alloc.emitError("memc-buffer-mapping: the plan keeps this buffer on "
                        "the host, but an op result aliases it, so it cannot "
                        "be staged");
        return signalPassFailure();
      }
      Value host = viewAt(b, alloc.getLoc(), hostPool, record.hostOffsets[i],
                          type, nextTenant);
      memc::ArenaSlot hostSlot;
      hostSlot.buffer = int64_t(i);
      hostSlot.host = true;
      memc::setArenaSlot(host.getDefiningOp(), hostSlot);
      eraseDeallocs(alloc.getResult());
      alloc.replaceAllUsesWith(host);
      alloc.erase();
      stage(live, entry, uses, place, host, arena, int64_t(i));
    }
    // Swapped activations' host copies: in the host pool for their whole
    // life; the copies to and from the arena are already in the IR.
    for (size_t k = 0; k < live.hostAllocs.size(); ++k) {
      memref::AllocOp alloc = live.hostAllocs[k].alloc;
      b.setInsertionPoint(alloc);
      Value view = viewAt(b, alloc.getLoc(), hostPool, record.swapOffsets[k],
                          alloc.getType(), nextTenant);
      memc::ArenaSlot slot;
      slot.host = true;
      memc::setArenaSlot(view.getDefiningOp(), slot);
      eraseDeallocs(alloc.getResult());
      alloc.replaceAllUsesWith(view);
      alloc.erase();
    }
  }

  /// A copy into a fresh buffer from a host copy (memc.swap_in, bufferized).
  static bool isCopyFromHost(Operation *op) {
    auto copy = dyn_cast<memref::CopyOp>(op);
    if (!copy)
      return false;
    Operation *source = copy.getSource().getDefiningOp();
    return source && isa<memref::AllocOp>(source) &&
           memc::isHostAllocation(source);
  }

  /// Around the ops that use the host buffer `host`: a view of the staging
  /// slot, the buffer's views rebuilt on it, a copy in before the first op
  /// of a run (unless it is the buffer's first use) and a copy out after the
  /// run's last op when some op of the run may write it (unless no later op
  /// reads it). A run is a stretch of use steps that follow each other in the
  /// schedule with slots at the same offset: the data stays in the slot, as
  /// no other op runs in between (a zero fill and the GEMM that accumulates
  /// into it, typically).
  void stage(BufferLiveness &live, ArenaAlloc &entry,
             const std::vector<int64_t> &uses, const plan::Placement &place,
             Value host, Value arena, int64_t id) {
    OpBuilder b(host.getContext());
    auto type = cast<MemRefType>(host.getType());
    llvm::DenseSet<Value> aliases{host};
    for (Operation *view : entry.views)
      aliases.insert(view->result_begin(), view->result_end());
    size_t n = uses.size();
    for (size_t first = 0, last; first < n; first = last + 1) {
      last = first;
      while (last + 1 < n && uses[last + 1] == uses[last] + 1 &&
             place.staging[last + 1].offset == place.staging[first].offset)
        ++last;
      Operation *firstOp = live.steps[uses[first]];
      Location loc = firstOp->getLoc();
      b.setInsertionPoint(firstOp);
      Value slot = viewAt(b, loc, arena, place.staging[first].offset, type,
                          nextTenant);
      memc::ArenaSlot staging;
      staging.buffer = id;
      staging.staging = true;
      memc::setArenaSlot(slot.getDefiningOp(), staging);
      if (first > 0)
        memref::CopyOp::create(b, loc, host, slot);
      IRMapping mapping;
      mapping.map(host, slot);
      bool writes = false;
      size_t cloned = 0;
      for (size_t k = first; k <= last; ++k) {
        Operation *op = live.steps[uses[k]];
        b.setInsertionPoint(op);
        // Views the op may use, rebuilt on the slot right before it.
        for (; cloned < entry.views.size() &&
               entry.views[cloned]->isBeforeInBlock(op);
             ++cloned)
          b.clone(*entry.views[cloned], mapping);
        writes |= mayWrite(op, aliases);
        for (Value alias : aliases)
          if (Value replacement = mapping.lookupOrNull(alias))
            alias.replaceUsesWithIf(replacement, [&](OpOperand &use) {
              return op->isAncestor(use.getOwner());
            });
      }
      if (writes && last + 1 < n) {
        Operation *lastOp = live.steps[uses[last]];
        b.setInsertionPointAfter(lastOp);
        memref::CopyOp::create(b, lastOp->getLoc(), slot, host);
      }
    }
  }

  static void eraseDeallocs(Value buffer) {
    for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
      if (isa<memref::DeallocOp>(user))
        user->erase();
  }

  std::function<void(const ArenaPlanRecord &)> onPlan;
  int64_t nextTenant = 0;
};

} // namespace

std::unique_ptr<Pass>
createBufferMappingPass(const BufferMappingOptions &options,
                        std::function<void(const ArenaPlanRecord &)> onPlan) {
  return std::make_unique<BufferMappingPass>(options, std::move(onPlan));
}

} // namespace memc
