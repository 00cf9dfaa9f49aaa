//===- AccumulationsToAtomics.cpp - scatter-adds as parallel atomics ------===//
//
// The gradient of a gather (an embedding table's) adds each row of dz into
// the table row its index names: memc-autodiff emits it as an scf.for nest,
// since two tokens may name the same row. On a GPU that nest is one thread:
// the LM of make bench-train spent 2.3 s of its 3.1 s step in it on an
// H200. Its iterations only ever do M[i] += v, which commute, so on the GPU
// the nest becomes one scf.parallel whose points add with memref.atomic_rmw
// (one thread per point after memc-map-parallel-loops-to-gpu). Like any
// atomic accumulation, the order of the additions (and so the rounding) is
// not fixed from run to run.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace memc {
#define GEN_PASS_DEF_ACCUMULATIONSTOATOMICS
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// The accumulation `M[idx] = M[idx] + v` that ends a loop body.
struct Accumulation {
  memref::LoadOp load;
  arith::AddFOp add;
  memref::StoreOp store;
  Value value; ///< v
};

/// The buffer a memref names for aliasing: a view's memc.buffer id (the
/// arena keeps buffers live at the same time apart), else the value.
std::pair<Value, Attribute> bufferOf(Value memref) {
  if (auto view = memref.getDefiningOp<memref::ViewOp>())
    if (Attribute id = view->getAttr("memc.buffer"))
      return {view.getSource(), id};
  return {memref, Attribute()};
}

/// `body` computes indices and values without side effects, loads from
/// buffers other than M, and ends with one accumulation into M.
std::optional<Accumulation> matchAccumulation(Block &body) {
  Operation *terminator = body.getTerminator();
  auto store = dyn_cast_or_null<memref::StoreOp>(terminator->getPrevNode());
  if (!store)
    return std::nullopt;
  auto add = store.getValue().getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != &body || !add->hasOneUse())
    return std::nullopt;
  for (unsigned i = 0; i < 2; ++i) {
    auto load = add->getOperand(i).getDefiningOp<memref::LoadOp>();
    if (!load || load->getBlock() != &body || !load->hasOneUse() ||
        load.getMemRef() != store.getMemRef() ||
        load.getIndices() != store.getIndices())
      continue;
    Accumulation acc{load, add, store, add->getOperand(1 - i)};
    auto target = bufferOf(store.getMemRef());
    for (Operation &op : body.without_terminator()) {
      if (&op == store.getOperation() || &op == load.getOperation())
        continue;
      if (auto other = dyn_cast<memref::LoadOp>(op)) {
        auto source = bufferOf(other.getMemRef());
        // Another view of M's arena with no id, or M itself: may alias.
        if (source.first == target.first &&
            (!source.second || !target.second ||
             source.second == target.second))
          return std::nullopt;
        continue;
      }
      if (!isMemoryEffectFree(&op))
        return std::nullopt;
    }
    return acc;
  }
  return std::nullopt;
}

struct AccumulationsToAtomicsPass
    : memc::impl::AccumulationsToAtomicsBase<AccumulationsToAtomicsPass> {
  /// `root` and the loops perfectly nested in it, outermost first, when
  /// all have constant bounds and carry nothing.
  SmallVector<scf::ForOp> perfectNest(scf::ForOp root) {
    SmallVector<scf::ForOp> nest;
    for (scf::ForOp loop = root; loop;) {
      if (loop.getNumRegionIterArgs() != 0 ||
          !matchPattern(loop.getLowerBound(), m_Constant()) ||
          !matchPattern(loop.getUpperBound(), m_Constant()) ||
          !matchPattern(loop.getStep(), m_Constant()))
        return {};
      nest.push_back(loop);
      Block *body = loop.getBody();
      auto inner = dyn_cast<scf::ForOp>(&body->front());
      loop = inner && &body->front() == body->getTerminator()->getPrevNode()
                 ? inner
                 : scf::ForOp();
    }
    return nest;
  }

  void runOnOperation() override {
    SmallVector<scf::ForOp> roots;
    for (Operation &op : getOperation().getBody().getOps())
      if (auto loop = dyn_cast<scf::ForOp>(op))
        roots.push_back(loop);
    for (scf::ForOp root : roots) {
      SmallVector<scf::ForOp> nest = perfectNest(root);
      if (nest.empty())
        continue;
      Block &body = *nest.back().getBody();
      std::optional<Accumulation> acc = matchAccumulation(body);
      if (!acc)
        continue;
      OpBuilder b(root);
      SmallVector<Value> lbs, ubs, steps;
      for (scf::ForOp loop : nest) {
        lbs.push_back(loop.getLowerBound());
        ubs.push_back(loop.getUpperBound());
        steps.push_back(loop.getStep());
      }
      auto parallel = scf::ParallelOp::create(b, root.getLoc(), lbs, ubs, steps);
      b.setInsertionPointToStart(parallel.getBody());
      IRMapping map;
      for (auto [loop, iv] : llvm::zip(nest, parallel.getInductionVars()))
        map.map(loop.getInductionVar(), iv);
      for (Operation &op : body.without_terminator())
        if (&op != acc->load.getOperation() && &op != acc->add.getOperation() &&
            &op != acc->store.getOperation())
          b.clone(op, map);
      SmallVector<Value> indices;
      for (Value index : acc->store.getIndices())
        indices.push_back(map.lookupOrDefault(index));
      memref::AtomicRMWOp::create(b, acc->store.getLoc(),
                                  arith::AtomicRMWKind::addf,
                                  map.lookupOrDefault(acc->value),
                                  acc->store.getMemRef(), indices);
      root.erase();
    }
  }
};

} // namespace
