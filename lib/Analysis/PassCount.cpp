//===- PassCount.cpp - FuseMax pass counting over einsum cascades ---------===//
//
// Two steps. First, ranks are grouped into classes with a union-find over
// (op, rank) and (value, dimension) nodes: an einsum's rank joins every
// operand dimension it indexes directly; reshapes join dimensions that keep
// their extent; einsum.iterate and scf.if join carried and yielded values
// dimension by dimension. Slices do not join: a K/V tile's rank m0 is a
// different rank from the full sequence rank it was cut from.
//
// Second, for each class C, the ops are visited in program order and each
// value gets the pass at whose end it is complete. An op iterating C runs in
// the first pass after all its inputs that C does not index are complete
// (they were reductions over C, or depend on one), and no earlier than the
// passes that produced its C-indexed inputs. The passes over C are the
// largest pass of an op iterating C.
//
//===----------------------------------------------------------------------===//
#include "memc/Analysis/PassCount.h"

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace memc::einsum;

namespace memc {
namespace {

/// The rank of an einsum.iterate has no index in a rank list; it takes this
/// one.
constexpr unsigned kIterateRank = ~0u;

/// (Operation*, rank) for a rank; (the value's opaque pointer, kDim + d)
/// for dimension d of a value.
using Node = std::pair<const void *, unsigned>;
constexpr unsigned kDim = 1u << 30;

Node rankNode(Operation *op, unsigned rank) { return {op, rank}; }
Node dimNode(Value v, unsigned dim) {
  return {v.getAsOpaquePointer(), kDim + dim};
}

unsigned rankOf(Value v) {
  auto t = dyn_cast<ShapedType>(v.getType());
  return t && t.hasRank() ? t.getRank() : 0;
}

class Cascade {
public:
  explicit Cascade(ArrayRef<Operation *> roots) {
    for (Operation *op : roots)
      op->walk<WalkOrder::PreOrder>(
          [&](Operation *nested) { ops.insert(nested); });
    for (Operation *op : ops)
      join(op);
  }

  /// The class leader of a node.
  Node leader(Node n) { return classes.getOrInsertLeaderValue(n); }

  /// The rank classes an op iterates, and the name of each there.
  SmallVector<std::pair<Node, std::string>> iterated(Operation *op) {
    SmallVector<std::pair<Node, std::string>> out;
    if (auto e = dyn_cast<EinsumOp>(op)) {
      for (auto [i, name] : llvm::enumerate(e.getRanks()))
        out.push_back(
            {leader(rankNode(op, i)), cast<StringAttr>(name).getValue().str()});
    } else if (auto it = dyn_cast<IterateOp>(op)) {
      out.push_back({leader(rankNode(op, kIterateRank)), it.getRank().str()});
    }
    return out;
  }

  bool indexedBy(Value v, Node cls) {
    for (unsigned d = 0, e = rankOf(v); d < e; ++d)
      if (leader(dimNode(v, d)) == cls)
        return true;
    return false;
  }

  /// Passes over `cls`; 0 when nothing iterates it.
  int64_t passes(Node cls) {
    llvm::DenseMap<Value, int64_t> avail;
    int64_t most = 0;
    auto get = [&](Value v) { return avail.lookup(v); };
    for (Operation *op : ops) {
      bool iterates =
          llvm::any_of(iterated(op), [&](auto &p) { return p.first == cls; });
      if (iterates && isa<IterateOp>(op)) {
        // One traversal of the iterative rank; everything it reads from
        // outside must be complete first.
        int64_t pass = 1;
        auto it = cast<IterateOp>(op);
        for (Value v : it.getInits())
          pass = std::max(pass, get(v) + (get(v) > 0 ? 1 : 0));
        op->walk([&](Operation *inner) {
          for (Value v : inner->getOperands())
            if (!op->isAncestor(v.getParentBlock()->getParentOp()) &&
                get(v) > 0)
              pass = std::max(pass, get(v) + 1);
        });
        for (Value r : op->getResults())
          avail[r] = pass;
        most = std::max(most, pass);
        continue;
      }
      if (iterates) {
        int64_t pass = 1;
        for (Value in : op->getOperands())
          pass = std::max(pass, indexedBy(in, cls) ? get(in) : get(in) + 1);
        for (Value r : op->getResults())
          avail[r] = pass;
        most = std::max(most, pass);
        continue;
      }
      // Not iterating the class: results are complete when inputs are.
      int64_t a = 0;
      for (Value in : op->getOperands())
        a = std::max(a, get(in));
      if (auto it = dyn_cast<IterateOp>(op)) {
        for (auto [arg, init] :
             llvm::zip(it.getBody().front().getArguments().drop_front(),
                       it.getInits()))
          avail[arg] = get(init);
        // Yields are visited before the op's results are read (the walk is
        // pre-order, but the results are only used after the op).
      }
      for (Value r : op->getResults())
        avail[r] = a;
      if (auto y = dyn_cast<YieldOp>(op)) {
        Operation *parent = op->getParentOp();
        for (auto [r, v] : llvm::zip(parent->getResults(), y.getValues()))
          avail[r] = std::max(avail[r], get(v));
      } else if (auto y = dyn_cast<scf::YieldOp>(op)) {
        Operation *parent = op->getParentOp();
        for (auto [r, v] : llvm::zip(parent->getResults(), y.getOperands()))
          avail[r] = std::max(avail[r], get(v));
      }
    }
    return most;
  }

  llvm::SetVector<Operation *> ops;

private:
  void unite(Node a, Node b) { classes.unionSets(a, b); }

  void uniteDims(Value a, Value b) {
    for (unsigned d = 0, e = std::min(rankOf(a), rankOf(b)); d < e; ++d)
      unite(dimNode(a, d), dimNode(b, d));
  }

  void join(Operation *op) {
    if (auto e = dyn_cast<EinsumOp>(op)) {
      for (unsigned r = 0; r < e.getNumRanks(); ++r)
        classes.insert(rankNode(op, r));
      auto joinMap = [&](Value v, AffineMap map) {
        for (auto [j, expr] : llvm::enumerate(map.getResults()))
          if (auto d = dyn_cast<AffineDimExpr>(expr))
            unite(dimNode(v, j), rankNode(op, d.getPosition()));
      };
      for (auto [i, v] : llvm::enumerate(e.getInputs()))
        joinMap(v, e.getInputMap(i));
      joinMap(e.getResult(), e.getResultMap());
      return;
    }
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op)) {
      // Pair the dimensions that are not 1 when the two lists agree.
      Value src = op->getOperand(0), dst = op->getResult(0);
      auto nonUnit = [](Value v) {
        SmallVector<std::pair<unsigned, int64_t>> dims;
        auto t = cast<ShapedType>(v.getType());
        for (unsigned d = 0; d < t.getRank(); ++d)
          if (t.getDimSize(d) != 1)
            dims.push_back({d, t.getDimSize(d)});
        return dims;
      };
      auto a = nonUnit(src), b = nonUnit(dst);
      if (a.size() == b.size() && llvm::all_of(llvm::zip(a, b), [](auto p) {
            return std::get<0>(p).second == std::get<1>(p).second;
          }))
        for (auto [x, y] : llvm::zip(a, b))
          unite(dimNode(src, x.first), dimNode(dst, y.first));
      return;
    }
    if (auto it = dyn_cast<IterateOp>(op)) {
      classes.insert(rankNode(op, kIterateRank));
      Block &body = it.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      for (auto [init, arg, res, y] :
           llvm::zip(it.getInits(), body.getArguments().drop_front(),
                     it.getResults(), yield.getValues())) {
        uniteDims(init, arg);
        uniteDims(init, res);
        uniteDims(init, y);
      }
      return;
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      for (Region &r : ifOp->getRegions())
        if (!r.empty())
          for (auto [res, y] : llvm::zip(
                   ifOp.getResults(), r.front().getTerminator()->getOperands()))
            uniteDims(res, y);
      return;
    }
  }

  llvm::EquivalenceClasses<Node> classes;
};

} // namespace

std::vector<RankPasses> countPasses(ArrayRef<Operation *> roots) {
  Cascade cascade(roots);
  std::vector<RankPasses> out;
  SmallVector<Node> seen;
  for (Operation *op : cascade.ops)
    for (auto &[cls, name] : cascade.iterated(op)) {
      if (llvm::is_contained(seen, cls))
        continue;
      seen.push_back(cls);
      out.push_back({name, cascade.passes(cls), op});
    }
  return out;
}

int64_t countPassesOver(ArrayRef<Operation *> roots, Value value,
                        unsigned dim) {
  Cascade cascade(roots);
  return cascade.passes(cascade.leader(dimNode(value, dim)));
}

int64_t countPassesOverIterate(ArrayRef<Operation *> roots,
                               Operation *iterate) {
  Cascade cascade(roots);
  return cascade.passes(cascade.leader(rankNode(iterate, kIterateRank)));
}

} // namespace memc
