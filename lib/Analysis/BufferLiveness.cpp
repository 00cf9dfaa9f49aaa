//===- BufferLiveness.cpp - Arena buffers of a bufferized function --------===//
#include "memc/Analysis/BufferLiveness.h"

#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"

#include "memc/Plan/Heuristics.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <functional>

using namespace mlir;

namespace memc {

uint64_t memrefBytes(MemRefType type) {
  Type element = type.getElementType();
  uint64_t bytes = 0;
  if (element.isIndex())
    bytes = 8;
  else if (element.isIntOrFloat())
    bytes = (element.getIntOrFloatBitWidth() + 7) / 8;
  else if (auto complex = dyn_cast<ComplexType>(element);
           complex && complex.getElementType().isIntOrFloat())
    bytes = 2 * ((complex.getElementType().getIntOrFloatBitWidth() + 7) / 8);
  return bytes * static_cast<uint64_t>(type.getNumElements());
}

std::string describeOp(Operation *op) {
  std::string name;
  op->getLoc()->walk([&](Location loc) {
    if (auto named = dyn_cast<NameLoc>(loc)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  std::string opName = op->getName().getStringRef().str();
  return name.empty() ? opName : name + " (" + opName + ")";
}

namespace {

/// Transfer cost (ms) of a buffer that cannot be staged: large enough that
/// no planner prefers spilling it, finite as Problem requires.
constexpr double kUnstageableCost = 1.0e9;

/// Ops that occupy no step of the schedule: they define values (allocations,
/// views, constants) or end lifetimes, but do no work on buffer contents.
bool isScheduleNeutral(Operation *op) {
  if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp,
          memref::GetGlobalOp, ViewLikeOpInterface, func::ReturnOp>(op) ||
      op->hasTrait<OpTrait::ConstantLike>())
    return true;
  // Index arithmetic (a lane's first chunk) touches no buffer.
  return op->getNumRegions() == 0 && isPure(op) &&
         llvm::all_of(op->getOperandTypes(),
                      [](Type t) { return t.isIntOrIndexOrFloat(); }) &&
         llvm::all_of(op->getResultTypes(),
                      [](Type t) { return t.isIntOrIndexOrFloat(); });
}

/// The lanes of a top-level scf.forall marked memc.micro_batch, else 1.
int64_t lanesOf(Operation *op) {
  if (op->getName().getStringRef() != "scf.forall")
    return 1;
  auto lanes = dyn_cast_if_present<IntegerAttr>(
      op->getAttr(MemcDialect::MicroBatchAttrHelper::getNameStr()));
  return lanes ? std::max<int64_t>(1, lanes.getInt()) : 1;
}

bool isViewOf(Operation *op, Value source) {
  auto view = dyn_cast<ViewLikeOpInterface>(op);
  return view && view.getViewSource() == source;
}

std::string printType(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  auto memref = cast<MemRefType>(type);
  for (int64_t d : memref.getShape())
    os << d << "x";
  os << memref.getElementType();
  return text;
}

/// Follows every alias of `root` (views, and results of region ops that a
/// nested terminator may forward it to). Fills the top-level views and the
/// sorted, unique steps that use it; returns false when the buffer cannot be
/// planned, with `why`.
bool collectUses(Value root, Block &body, const BufferLiveness &live,
                 bool nested, ArenaAlloc &out, std::vector<int64_t> &steps,
                 std::string &why) {
  SmallVector<Value> worklist{root};
  llvm::SmallPtrSet<Value, 8> seen{root};
  auto push = [&](Value v) {
    if (isa<BaseMemRefType>(v.getType()) && seen.insert(v).second)
      worklist.push_back(v);
  };
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *owner = use.getOwner();
      Operation *top = body.findAncestorOpInBlock(*owner);
      if (!top) {
        why = "used outside the function body";
        return false;
      }
      if (owner == top && isViewOf(owner, value)) {
        out.views.push_back(owner);
        for (Value r : owner->getResults())
          push(r);
        continue;
      }
      if (isa<memref::DeallocOp>(top))
        continue;
      if (isa<func::ReturnOp>(top)) {
        why = "returned by the function";
        return false;
      }
      if (owner != top) {
        if (isViewOf(owner, value)) {
          for (Value r : owner->getResults())
            push(r);
        } else if (owner->hasTrait<OpTrait::IsTerminator>()) {
          // Forwarded to a parent region's results (an scf.for iteration
          // value, say): those results alias the buffer.
          if (nested) {
            // An allocation inside a loop body is a new buffer each
            // iteration: one that a loop yields out of its own body cannot
            // share one slot. Forwarding without leaving the iteration is
            // fine: out of a region that runs at most once each time its
            // op does (an scf.if branch), or by a nested op (a loop, an if)
            // that the allocation encloses. The parent's results alias the
            // buffer, and are followed to the next terminator.
            Operation *parent = owner->getParentOp();
            auto branch = dyn_cast<RegionBranchOpInterface>(parent);
            bool once = branch && !branch.hasLoop();
            if (!once && parent->isProperAncestor(root.getDefiningOp())) {
              why = "yielded out of its region by " +
                    owner->getName().getStringRef().str();
              return false;
            }
            for (Value r : parent->getResults())
              push(r);
          } else {
            for (Value r : top->getResults())
              push(r);
          }
          out.aliasedByResults = true;
        }
      } else {
        for (Value r : owner->getResults())
          if (isa<BaseMemRefType>(r.getType())) {
            push(r); // a result that may alias an operand (e.g. a call)
            out.aliasedByResults = true;
          }
      }
      // A use inside a loop whose body is scheduled op by op: the step of
      // the body op for a buffer made in the body; every step of the body
      // for one made outside, which every iteration reads.
      if (auto span = live.loopSpans.find(top); span != live.loopSpans.end()) {
        if (!top->isProperAncestor(root.getDefiningOp())) {
          for (int64_t s = span->second.first; s <= span->second.second; ++s)
            steps.push_back(s);
          continue;
        }
        for (Operation *op = owner; op != top; op = op->getParentOp())
          if (auto it = live.stepOf.find(op); it != live.stepOf.end()) {
            steps.push_back(it->second);
            break;
          }
        continue;
      }
      auto it = live.stepOf.find(top);
      if (it == live.stepOf.end()) {
        why = "used by " + top->getName().getStringRef().str() +
              ", which is not a schedule step";
        return false;
      }
      steps.push_back(it->second);
    }
  }
  llvm::sort(steps);
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  std::stable_sort(out.views.begin(), out.views.end(),
                   [](Operation *a, Operation *b) {
                     return a->isBeforeInBlock(b);
                   });
  return true;
}

/// The buffers made in the lanes of one scf.forall, one lane's worth.
struct LaneGroup {
  std::vector<plan::Buffer> buffers;
  std::vector<ArenaAlloc> allocs;
};

/// One lane's buffers planned on their own (best fit: a lane's body is one
/// chunk's straight-line schedule), as one buffer of all lanes' regions.
void addLaneGroup(BufferLiveness &live, scf::ForallOp forall,
                  LaneGroup &group) {
  plan::Problem lane;
  for (auto [i, b] : llvm::enumerate(group.buffers)) {
    b.id = static_cast<int64_t>(i);
    lane.buffers.push_back(b);
  }
  plan::Plan plan = plan::bestFitPlan(lane);
  ArenaAlloc entry;
  entry.alloc = group.allocs.front().alloc;
  entry.lanes = lanesOf(forall);
  entry.lane = forall.getInductionVar(0);
  plan::Buffer region;
  region.id = static_cast<int64_t>(live.allocs.size());
  region.alignment = plan::kArenaAlignment;
  std::vector<int64_t> uses;
  for (auto [a, b, place] :
       llvm::zip_equal(group.allocs, group.buffers, plan.placements)) {
    entry.laneMembers.push_back({a.alloc, place.offset});
    llvm::append_range(entry.views, a.views);
    entry.aliasedByResults |= a.aliasedByResults;
    region.alignment = std::max(region.alignment, b.alignment);
    llvm::append_range(uses, b.uses);
  }
  llvm::sort(uses);
  uses.erase(std::unique(uses.begin(), uses.end()), uses.end());
  entry.laneBytes = llvm::alignTo(plan.arenaBytes, region.alignment);
  entry.type = std::to_string(entry.lanes) + " lanes x " +
               std::to_string(group.allocs.size()) + " buffers";
  region.size = entry.laneBytes * static_cast<uint64_t>(entry.lanes);
  region.start = uses.front();
  region.end = uses.back();
  // The lanes run at once: no op of theirs is a point to stage them at.
  region.transferCost = kUnstageableCost;
  region.kind = plan::BufferKind::Temporary;
  region.producer = describeOp(forall);
  region.uses = std::move(uses);
  live.problem.buffers.push_back(std::move(region));
  live.allocs.push_back(std::move(entry));
}

} // namespace

FailureOr<BufferLiveness>
computeBufferLiveness(func::FuncOp func, const plan::TransferModel &transfer) {
  BufferLiveness live;
  llvm::MapVector<Operation *, LaneGroup> laneGroups;
  if (func.isExternal())
    return live;
  if (!func.getBody().hasOneBlock())
    return func.emitError("buffer liveness: the function has ")
           << func.getBody().getBlocks().size()
           << " blocks; memory planning needs structured control flow";
  Block &body = func.getBody().front();
  auto addStep = [&](Operation *op) {
    live.stepOf[op] = static_cast<int64_t>(live.steps.size());
    live.steps.push_back(op);
  };
  for (Operation &op : body) {
    if (isScheduleNeutral(&op))
      continue;
    // A loop over a batch's chunks (memc-micro-batch): its body's ops are
    // steps of their own, so the buffers of one chunk share space. Each
    // iteration runs the body's steps in order, and a buffer made in the
    // body is dead before the next iteration makes it again.
    // Lanes of such loops: one lane's ops, those of its loop's body among
    // them, are the steps.
    if (op.hasAttr(MemcDialect::MicroBatchAttrHelper::getNameStr()) &&
        op.getNumRegions() == 1 && op.getRegion(0).hasOneBlock()) {
      int64_t first = static_cast<int64_t>(live.steps.size());
      bool lanes = lanesOf(&op) > 1;
      std::function<void(Block &)> addBody = [&](Block &block) {
        for (Operation &inner : block.without_terminator()) {
          if (isScheduleNeutral(&inner))
            continue;
          if (lanes && isa<scf::ForOp>(inner) &&
              inner.hasAttr(MemcDialect::MicroBatchAttrHelper::getNameStr()))
            addBody(inner.getRegion(0).front());
          else
            addStep(&inner);
        }
      };
      addBody(op.getRegion(0).front());
      if (static_cast<int64_t>(live.steps.size()) > first) {
        live.loopSpans[&op] = {first,
                               static_cast<int64_t>(live.steps.size()) - 1};
        continue;
      }
    }
    addStep(&op);
  }

  func.walk([&](memref::AllocOp alloc) {
    MemRefType type = alloc.getType();
    std::string where = describeOp(alloc) + " " + printType(type);
    if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
      live.unplanned.push_back(where + ": dynamic shape or non-identity layout");
      return;
    }
    uint64_t bytes = memrefBytes(type);
    if (bytes == 0 && type.getNumElements() != 0) {
      live.unplanned.push_back(where + ": element type without a byte size");
      return;
    }
    bool nested = alloc->getBlock() != &body;
    ArenaAlloc entry;
    entry.alloc = alloc;
    entry.type = printType(type);
    Operation *top = body.findAncestorOpInBlock(*alloc);
    int64_t lanes = top ? lanesOf(top) : 1;
    std::vector<int64_t> steps;
    std::string why;
    if (!collectUses(alloc.getResult(), body, live, nested, entry, steps,
                     why)) {
      live.unplanned.push_back(where + ": " + why);
      return;
    }
    if (steps.empty())
      return; // never used: canonicalization removes it
    uint64_t alignment = std::max<uint64_t>(
        alloc.getAlignment().value_or(plan::kArenaAlignment),
        plan::kArenaAlignment);
    plan::Buffer buffer;
    buffer.id = static_cast<int64_t>(live.allocs.size());
    buffer.size = bytes;
    buffer.alignment =
        llvm::isPowerOf2_64(alignment) ? alignment : plan::kArenaAlignment;
    buffer.start = steps.front();
    buffer.end = steps.back();
    buffer.transferCost = entry.aliasedByResults
                              ? kUnstageableCost
                              : transfer.cost(bytes, steps.size());
    buffer.kind = nested || steps.size() == 1
                      ? plan::BufferKind::Temporary
                      : plan::BufferKind::Activation;
    buffer.producer = describeOp(live.steps[buffer.start]);
    buffer.uses = std::move(steps);
    if (isHostAllocation(alloc)) {
      buffer.id = static_cast<int64_t>(live.hostAllocs.size());
      live.hostBuffers.push_back(std::move(buffer));
      live.hostAllocs.push_back(std::move(entry));
      return;
    }
    if (lanes > 1) {
      LaneGroup &group = laneGroups[top];
      group.buffers.push_back(std::move(buffer));
      group.allocs.push_back(std::move(entry));
      return;
    }
    live.problem.buffers.push_back(std::move(buffer));
    live.allocs.push_back(std::move(entry));
  });
  for (auto &[top, group] : laneGroups)
    addLaneGroup(live, cast<scf::ForallOp>(top), group);
  return live;
}

} // namespace memc
