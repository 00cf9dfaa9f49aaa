//===- AttentionMatch.cpp - softmax attention chains in einsum IR ---------===//
//
// The match is by data flow on the einsum IR, whatever the exporter's
// spelling: heads split by Reshape/Transpose arrive as copies feeding the
// contractions, batch and head ranks are any ranks shared by Q, K and V,
// scales on Q or K are upstream of the scores and need nothing, and scales
// or masks on the scores are re-applied to each tile (sliced along P and M),
// whether they are constants or computed at run time (a padding mask from
// the inputs: only the kernel form for GPUs needs a constant triangle).
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/FuseMax/AttentionMatch.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>

using namespace mlir;
using namespace memc::einsum;

namespace memc::fusemax {
namespace {

Value stripReshapes(Value v, SmallVectorImpl<Operation *> *seen = nullptr) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def))
      break;
    if (seen)
      seen->push_back(def);
    v = def->getOperand(0);
  }
  return v;
}

/// Weights and constants: values whose contents are known at compile time.
bool isConstantLike(Value v) {
  v = stripReshapes(v);
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
    v = stripReshapes(slice.getSource());
  if (auto arg = dyn_cast<BlockArgument>(v))
    return isa<func::FuncOp>(arg.getOwner()->getParentOp());
  return matchPattern(v, m_Constant());
}

class Matcher {
public:
  explicit Matcher(Attention &a) : a(a) {}
  std::string why;

  /// Matches the chain that ends in contraction `av`. Returns false with an
  /// empty `why` when `av` is not fed by a softmax at all (a plain matmul),
  /// with a reason when it is attention that cannot be fused.
  bool match(EinsumOp av) {
    if (!isContraction(av))
      return false;
    a.av = av;
    a.avRankM = reducedRank(av);
    for (unsigned i = 0; i < 2 && !a.div; ++i) {
      auto div = av.getInputs()[i].getDefiningOp<EinsumOp>();
      if (!div || div.getCompute() != ComputeOp::div ||
          div.getReduce() != ReduceOp::none)
        continue;
      auto subExp = div.getInputs()[0].getDefiningOp<EinsumOp>();
      if (!subExp || subExp.getCompute() != ComputeOp::sub_exp)
        continue;
      a.div = div;
      a.subExp = subExp;
      a.avA = i;
    }
    if (!a.div)
      return false; // no softmax: not attention
    return matchSoftmax() && matchModifiers() && matchScores() && matchAV();
  }

private:
  bool fail(const Twine &reason) {
    why = reason.str();
    return false;
  }

  /// `op`'s operand `operand` is `reduce_{m} input` broadcast back along m.
  bool matchRowBroadcast(EinsumOp op, unsigned operand, ReduceOp kind,
                         Value input, EinsumOp &reduction) {
    unsigned n = cast<ShapedType>(input.getType()).getRank();
    AffineMap map = op.getInputMap(operand);
    if (map.getNumResults() == n) {
      for (unsigned j = 0; j < n; ++j) {
        AffineExpr e = map.getResult(j);
        if (j == a.dimM ? e != getAffineConstantExpr(0, op.getContext())
                        : e != getAffineDimExpr(j, op.getContext()))
          return false;
      }
    } else if (map.getNumResults() + 1 == n) {
      unsigned k = 0;
      for (unsigned j = 0; j < n; ++j)
        if (j != a.dimM &&
            map.getResult(k++) != getAffineDimExpr(j, op.getContext()))
          return false;
    } else {
      return false;
    }
    Value base = stripReshapes(op.getInputs()[operand], &a.reshapes);
    reduction = base.getDefiningOp<EinsumOp>();
    if (!reduction || reduction.getCompute() != ComputeOp::copy ||
        reduction.getReduce() != kind || reduction.getInputs()[0] != input ||
        !reduction.getInputMap(0).isIdentity())
      return false;
    AffineMap res = reduction.getResultMap();
    if (res.getNumResults() + 1 != n)
      return false;
    unsigned k = 0;
    for (unsigned j = 0; j < n; ++j)
      if (j != a.dimM &&
          res.getResult(k++) != getAffineDimExpr(j, op.getContext()))
        return false;
    return true;
  }

  bool matchSoftmax() {
    EinsumOp div = a.div, subExp = a.subExp;
    if (!div.getInputMap(0).isIdentity() || !div.getResultMap().isIdentity() ||
        !subExp.getInputMap(0).isIdentity() ||
        !subExp.getResultMap().isIdentity())
      return fail("softmax operands are not indexed elementwise");
    std::optional<unsigned> m = positionOf(a.av.getInputMap(a.avA), a.avRankM);
    if (!m)
      return fail("the contraction does not sum over a plain rank of the "
                  "softmax output");
    a.dimM = *m;
    Value sn = div.getInputs()[0];
    a.scores = subExp.getInputs()[0];
    if (!matchRowBroadcast(div, 1, ReduceOp::add, sn, a.sum) ||
        !matchRowBroadcast(subExp, 1, ReduceOp::max, a.scores, a.max))
      return fail("softmax is not taken over the rank the second contraction "
                  "sums over");
    if (!a.div.getResult().hasOneUse())
      return fail("the attention weights have other users");
    auto onlyUsers = [](Value v, std::initializer_list<Operation *> ops) {
      return llvm::all_of(v.getUsers(), [&](Operation *u) {
        return llvm::is_contained(ops, u);
      });
    };
    if (!onlyUsers(sn, {div, a.sum}) || !onlyUsers(a.scores, {subExp, a.max}))
      return fail("softmax intermediates have other users");
    if (!isa<FloatType>(cast<ShapedType>(sn.getType()).getElementType()))
      return fail("scores are not floating point");
    return true;
  }

  bool matchModifiers() {
    Value cur = a.scores;
    while (true) {
      auto def = cur.getDefiningOp<EinsumOp>();
      if (!def)
        return fail("the scores are not computed by an einsum");
      if (isContraction(def)) {
        a.qk = def;
        break;
      }
      ComputeOp c = def.getCompute();
      SmallVector<unsigned> positions;
      switch (c) {
      case ComputeOp::add:
      case ComputeOp::mul:
        positions = {0, 1};
        break;
      case ComputeOp::sub:
      case ComputeOp::div:
        positions = {0};
        break;
      case ComputeOp::select:
        positions = {1, 2};
        break;
      default:
        return fail(Twine("scores are modified by '") + stringifyComputeOp(c) +
                    "', which is not a scale or mask");
      }
      if (def.getReduce() != ReduceOp::none || !def.getResultMap().isIdentity())
        return fail("a score modifier is not elementwise");
      std::optional<unsigned> score;
      for (unsigned p : positions) {
        Value in = def.getInputs()[p];
        if (in.getType() != def.getResult().getType() ||
            !def.getInputMap(p).isIdentity() || !in.hasOneUse() ||
            !in.getDefiningOp<EinsumOp>())
          continue;
        if (!score || isConstantLike(def.getInputs()[*score]))
          score = p;
      }
      if (!score)
        return fail("no operand of a score modifier carries the scores");
      for (auto [i, in] : llvm::enumerate(def.getInputs())) {
        if (i == *score)
          continue;
        for (AffineExpr e : def.getInputMap(i).getResults())
          if (!isa<AffineDimExpr>(e) &&
              e != getAffineConstantExpr(0, def.getContext()))
            return fail("a mask or scale operand is not indexed by plain "
                        "ranks");
      }
      a.modifiers.push_back({def, *score});
      cur = def.getInputs()[*score];
    }
    std::reverse(a.modifiers.begin(), a.modifiers.end());
    // With modifiers, the contraction feeds the first one only; without,
    // it is softmax's input, whose users were checked.
    if (!a.modifiers.empty() && !a.qk.getResult().hasOneUse())
      return fail("the scores have other users");
    return true;
  }

  bool matchScores() {
    EinsumOp qk = a.qk;
    AffineMap res = qk.getResultMap();
    unsigned n = res.getNumResults();
    if (n != cast<ShapedType>(a.scores.getType()).getRank())
      return fail("score shapes disagree");
    auto rankAt = [&](unsigned j) {
      return cast<AffineDimExpr>(res.getResult(j)).getPosition();
    };
    a.qkRankM = rankAt(a.dimM);
    AffineMap m0 = qk.getInputMap(0), m1 = qk.getInputMap(1);
    bool in0 = usesRank(m0, a.qkRankM), in1 = usesRank(m1, a.qkRankM);
    if (in0 == in1)
      return fail("the softmax rank is not a key rank of the scores");
    a.qkQ = in0 ? 1 : 0;
    AffineMap qMap = qk.getInputMap(a.qkQ), kMap = qk.getInputMap(1 - a.qkQ);
    if (!positionOf(kMap, a.qkRankM))
      return fail("keys are not indexed by a plain sequence rank");
    std::optional<unsigned> p;
    for (unsigned j = 0; j < n; ++j) {
      if (j == a.dimM)
        continue;
      unsigned r = rankAt(j);
      bool q = usesRank(qMap, r), k = usesRank(kMap, r);
      if (q && k)
        continue; // a batch or head rank
      if (k)
        return fail("keys have a second rank besides the sequence");
      if (p)
        return fail("queries have more than one sequence rank");
      p = j;
    }
    if (!p)
      return fail("queries have no sequence rank");
    a.dimP = *p;
    a.qkRankP = rankAt(*p);
    if (!positionOf(qMap, a.qkRankP))
      return fail("queries are not indexed by a plain sequence rank");
    return true;
  }

  bool matchAV() {
    AffineMap aMap = a.av.getInputMap(a.avA);
    AffineMap vMap = a.av.getInputMap(1 - a.avA);
    for (AffineExpr e : aMap.getResults()) {
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d)
        return fail("attention weights are not indexed by plain ranks");
      a.avRankOfS.push_back(d.getPosition());
    }
    if (!positionOf(vMap, a.avRankM))
      return fail("values are not indexed by a plain sequence rank");
    for (auto [j, r] : llvm::enumerate(a.avRankOfS))
      if (j != a.dimM && !positionOf(a.av.getResultMap(), r))
        return fail("a rank of the attention weights is not in the output");
    // The mask: a triangle that hides m - p >= k lets whole tiles go.
    for (Modifier &mod : a.modifiers) {
      EinsumOp op = mod.op;
      auto triangleAt = [&](unsigned operand) -> std::optional<int64_t> {
        AffineMap map = op.getInputMap(operand);
        unsigned r = map.getNumResults();
        if (r < 2 || positionOf(map, a.dimP) != r - 2 ||
            positionOf(map, a.dimM) != r - 1)
          return std::nullopt;
        Value v = op.getInputs()[operand];
        std::optional<memc::UpperTriangle> t = triangleOf(v);
        if (!t)
          return std::nullopt;
        if (op.getCompute() == ComputeOp::add) {
          if (t->value > kMaskedBelow)
            return std::nullopt;
        } else {
          // select(cond, x, y): the fill is masking where cond selects it.
          unsigned fill = mod.scoreOperand == 1 ? 2 : 1;
          std::optional<double> f = splatValue(op.getInputs()[fill]);
          if (!f || *f > kMaskedBelow)
            return std::nullopt;
          if (t->value != (fill == 1 ? 1.0 : 0.0))
            return std::nullopt;
        }
        return t->diagonal;
      };
      std::optional<int64_t> k;
      if (op.getCompute() == ComputeOp::add)
        k = triangleAt(1 - mod.scoreOperand);
      else if (op.getCompute() == ComputeOp::select)
        k = triangleAt(0);
      if (k && (!a.maskedFrom || *k < *a.maskedFrom))
        a.maskedFrom = k;
    }
    return true;
  }

  Attention &a;
};

} // namespace

bool isContraction(EinsumOp op) {
  return op && op.getCompute() == ComputeOp::mul &&
         op.getReduce() == ReduceOp::add && op.getInputs().size() == 2 &&
         llvm::count(op.getReducedRanks(), true) == 1;
}

unsigned reducedRank(EinsumOp op) {
  SmallVector<bool> reduced = op.getReducedRanks();
  return llvm::find(reduced, true) - reduced.begin();
}

std::optional<unsigned> positionOf(AffineMap map, unsigned d) {
  for (auto [i, e] : llvm::enumerate(map.getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(e); dim && dim.getPosition() == d)
      return i;
  return std::nullopt;
}

bool usesRank(AffineMap map, unsigned d) {
  return llvm::any_of(map.getResults(),
                      [&](AffineExpr e) { return e.isFunctionOfDim(d); });
}

std::optional<memc::UpperTriangle> triangleOf(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    if (!func)
      return std::nullopt;
    return memc::getUpperTriangle(func, arg.getArgNumber());
  }
  DenseElementsAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return memc::findUpperTriangle(attr);
  return std::nullopt;
}

std::optional<double> splatValue(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

bool matchAttention(EinsumOp av, Attention &a, std::string &why) {
  Matcher matcher(a);
  bool matched = matcher.match(av);
  why = std::move(matcher.why);
  return matched;
}

} // namespace memc::fusemax
