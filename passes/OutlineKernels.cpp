//===- OutlineKernels.cpp - one function per distinct loop nest -----------===//
//
// IREE-style dispatches for the CPU target: every top-level linalg op and
// loop nest (FuseMax's tile loops, an scf.for with its nested ops) of the
// model function moves into its own private function, called in its place,
// and structurally equal ones share one function. LLVM then optimizes each
// distinct loop nest once, in a small function, instead of one function with
// hundreds of loop nests (whose optimization time grew superlinearly).
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Analysis/OpWork.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/RuntimeCalls.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include <functional>

namespace memc {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using memc::passesAsBarePointer;

namespace {

/// The object a buffer is a view of, as a key: a distinct key is a distinct
/// allocation that no other key overlaps while both are live. Null when
/// unknown.
const void *rootObject(Value v, func::FuncOp model) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      // The model function's parameters are distinct buffers (the target
      // marks them noalias).
      if (arg.getOwner() == &model.getBody().front())
        return arg.getAsOpaquePointer();
      return nullptr;
    }
    Operation *def = v.getDefiningOp();
    if (auto cast = dyn_cast<memref::CastOp>(def)) {
      v = cast.getSource();
      continue;
    }
    if (auto view = dyn_cast<ViewLikeOpInterface>(def)) {
      v = view.getViewSource();
      continue;
    }
    if (isa<memref::AllocOp, memref::AllocaOp>(def))
      return v.getAsOpaquePointer();
    if (auto global = dyn_cast<memref::GetGlobalOp>(def))
      return global.getNameAttr().getAttr().getAsOpaquePointer();
    // A call whose result is declared noalias: memc_rt_arena_view, one
    // object per tenant of the arena (planned buffers live at the same time
    // never overlap).
    if (auto call = dyn_cast<func::CallOp>(def)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      unsigned index = cast<OpResult>(v).getResultNumber();
      if (callee && callee.getResultAttr(index, "llvm.noalias"))
        return v.getAsOpaquePointer();
    }
    return nullptr;
  }
}

/// Whether `op` is moved into a function: a linalg op on buffers, or a
/// structured control-flow op (a loop nest, a conditional) with no results.
bool isOutlineCandidate(Operation &op) {
  if (op.getNumResults() != 0)
    return false;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(&op))
    return linalgOp.hasPureBufferSemantics();
  return isa<scf::ForOp, scf::IfOp, scf::ParallelOp, scf::ForallOp>(op);
}

/// The arena views in `op`'s regions, in walk order.
SmallVector<func::CallOp> arenaViews(Operation *op) {
  SmallVector<func::CallOp> views;
  op->walk([&](func::CallOp call) {
    if (call.getCallee() == memc::kArenaViewFunction &&
        call.getNumOperands() == 2)
      views.push_back(call);
  });
  return views;
}

/// Drops the plan's bookkeeping (memc.buffer, memc.offset, memc.tenant on
/// arena views) inside an outlined function: one function serves views of
/// different buffers, and nothing after memc-arena-noalias reads them.
void dropArenaSlots(Operation *fn) {
  fn->walk([](memref::ViewOp view) { memc::clearArenaSlot(view); });
}

/// Moves ops into private functions called in their place, sharing one
/// function between structurally equal ops.
struct Outliner {
  func::FuncOp model;
  SymbolTable &symbols;
  bool noInline, dedup;
  llvm::StringMap<func::FuncOp> byBody = {};
  unsigned counter = 0;

  /// Outlines `op` when its buffers can be passed (else leaves it).
  void outline(Operation *op) {
    MLIRContext *ctx = op->getContext();
    OpBuilder b(ctx);
    // Arguments: the distinct memref operands, then the values the op's
    // regions capture (constants are cloned into the function instead).
    SmallVector<Value> args;
    llvm::SetVector<Value> memrefs;
    bool ok = true;
    // Scalar operands (linalg.fill's value) are handled as captured ones.
    llvm::SetVector<Value> captured;
    // A chunk's slice of a buffer (a subview at the loop's induction
    // variable) has a dynamic offset, which a bare pointer cannot carry:
    // the kernel takes the whole buffer and the offsets, and makes the
    // slice itself.
    llvm::SetVector<Operation *> sunk;
    auto addMemref = [&](Value v) {
      if (passesAsBarePointer(v.getType())) {
        memrefs.insert(v);
        return true;
      }
      auto subview = v.getDefiningOp<memref::SubViewOp>();
      if (!subview || !passesAsBarePointer(subview.getSource().getType()))
        return false;
      sunk.insert(subview);
      memrefs.insert(subview.getSource());
      for (Value index : subview->getOperands().drop_front())
        captured.insert(index);
      return true;
    };
    for (Value operand : op->getOperands()) {
      if (isa<BaseMemRefType>(operand.getType())) {
        if (!addMemref(operand)) {
          ok = false;
          break;
        }
      } else {
        captured.insert(operand);
      }
    }
    if (!ok)
      return;
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(op->getRegions(), above);
    for (Value v : above)
      if (!isa<BaseMemRefType>(v.getType()) || passesAsBarePointer(v.getType()))
        captured.insert(v);
      else if (!addMemref(v))
        ok = false;
    if (!ok)
      return;
    SmallVector<Value> constants, scalars;
    for (Value v : captured) {
      if (matchPattern(v, m_Constant()) &&
          v.getDefiningOp()->getNumOperands() == 0)
        constants.push_back(v);
      else if (v.getType().isIntOrIndexOrFloat())
        scalars.push_back(v);
      else if (isa<BaseMemRefType>(v.getType()) &&
               passesAsBarePointer(v.getType()))
        memrefs.insert(v); // a buffer a loop nest's body reads or writes
      else
        ok = false;
    }
    if (!ok)
      return;
    // Where a buffer of the nest lives differs between equal layers: an
    // arena view's offset from outside the op is an argument (the same
    // constant may also be cloned for other uses), so that their loop
    // nests share one function.
    SmallVector<func::CallOp> views = arenaViews(op);
    llvm::SetVector<Value> offsets;
    for (func::CallOp view : views)
      if (Operation *def = view.getOperand(1).getDefiningOp();
          def && !op->isAncestor(def))
        offsets.insert(view.getOperand(1));
    args.append(memrefs.begin(), memrefs.end());
    args.append(scalars.begin(), scalars.end());
    args.append(offsets.begin(), offsets.end());

    // noalias on a buffer argument only where it holds at this call: every
    // buffer's object is known and no other argument views the same one.
    SmallVector<const void *> roots;
    bool allKnown = true;
    for (Value v : memrefs) {
      roots.push_back(rootObject(v, model));
      allKnown &= roots.back() != nullptr;
    }
    // The arena itself is only handed to memc_rt_arena_view, whose
    // results are the noalias objects; its tenants may be arguments too.
    SmallVector<bool> isArena = llvm::map_to_vector(memrefs, [](Value v) {
      return memc::isPoolArgument(v, memc::ArgRole::Arena);
    });

    b.setInsertionPoint(model);
    SmallVector<Type> argTypes =
        llvm::map_to_vector(args, [](Value v) { return v.getType(); });
    auto fn = func::FuncOp::create(b, op->getLoc(), "kernel",
                                   FunctionType::get(ctx, argTypes, {}));
    fn.setPrivate();
    // Private to model.so too: not exported, and LLVM may specialize it.
    fn->setAttr("llvm.linkage",
                LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
    if (noInline)
      fn->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
    for (unsigned i = 0, e = memrefs.size(); allKnown && i < e; ++i)
      if (!isArena[i] && llvm::count(roots, roots[i]) == 1)
        fn.setArgAttr(i, "llvm.noalias", b.getUnitAttr());
    Block *body = fn.addEntryBlock();
    IRMapping mapping;
    for (auto [v, arg] : llvm::zip(args, body->getArguments()))
      mapping.map(v, arg);
    b.setInsertionPointToStart(body);
    SmallVector<Operation *> clonedConstants;
    for (Value c : constants)
      clonedConstants.push_back(b.clone(*c.getDefiningOp(), mapping));
    for (Operation *subview : sunk)
      b.clone(*subview, mapping);
    Operation *clone = b.clone(*op, mapping);
    func::ReturnOp::create(b, op->getLoc());
    unsigned firstOffset = args.size() - offsets.size();
    for (auto [view, cloned] : llvm::zip_equal(views, arenaViews(clone))) {
      auto *it = llvm::find(offsets, view.getOperand(1));
      if (it != offsets.end())
        cloned->setOperand(
            1, body->getArgument(firstOffset + (it - offsets.begin())));
    }
    // A constant only the views used is dead now; left in, it would make
    // equal nests print differently.
    for (Operation *c : llvm::reverse(clonedConstants))
      if (c->use_empty())
        c->erase();
    dropArenaSlots(fn);

    func::FuncOp callee = fn;
    if (dedup) {
      std::string key;
      llvm::raw_string_ostream os(key);
      fn.print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
      auto [it, inserted] = byBody.try_emplace(key, fn);
      if (!inserted) {
        callee = it->second;
        fn.erase();
      }
    }
    if (callee == fn) {
      fn.setSymName((model.getSymName() + "_kernel_" + Twine(counter++)).str());
      symbols.insert(fn); // renames on a clash
    }
    b.setInsertionPoint(op);
    func::CallOp::create(b, op->getLoc(), callee, args);
    op->erase();
    // The kernel makes its slices itself.
    for (Operation *subview : sunk)
      if (subview->use_empty())
        subview->erase();
  }
};

struct OutlineKernelsPass
    : public memc::impl::OutlineKernelsBase<OutlineKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp model = memc::getEntryBody(module, funcName);
    if (!model)
      return;
    // A loop over a batch's chunks (memc-micro-batch) is the model's
    // schedule run once per chunk: its body's ops are the kernels.
    // So is a lane that runs such a loop (an scf.forall marked the same,
    // memc-parallel-lanes outlines it afterwards).
    SmallVector<Operation *> candidates;
    std::function<void(Block &)> collect = [&](Block &block) {
      for (Operation &op : block) {
        if (isa<scf::ForOp, scf::ForallOp>(op) &&
            op.hasAttr(memc::MemcDialect::MicroBatchAttrHelper::getNameStr())) {
          collect(op.getRegion(0).front());
          continue;
        }
        if (isOutlineCandidate(op))
          candidates.push_back(&op);
      }
    };
    collect(model.getBody().front());

    SymbolTable symbols(module);
    Outliner outliner{model, symbols, noInline, dedup};
    for (Operation *op : candidates) {
      // The heavy linalg ops of a loop nest (FuseMax's score tiles) get
      // kernels of their own first, which memc-parallel-kernels may split
      // over the threads; the nest's kernel calls them.
      if (nestedMinWork > 0 && !isa<linalg::LinalgOp>(op)) {
        SmallVector<linalg::LinalgOp> heavy;
        op->walk([&](linalg::LinalgOp inner) {
          if (inner.hasPureBufferSemantics() &&
              memc::loopWork(inner) >= nestedMinWork)
            heavy.push_back(inner);
        });
        for (linalg::LinalgOp inner : heavy)
          outliner.outline(inner);
      }
      outliner.outline(op);
    }
  }
};

} // namespace
