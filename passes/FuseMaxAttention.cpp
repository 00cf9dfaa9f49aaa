//===- FuseMaxAttention.cpp - 3-pass softmax attention -> 1-pass cascade --===//
//
// Exporters write attention as `softmax(mod(Q·K)) · V`: a contraction for
// the scores, elementwise modifiers (a scale by Div or Mul, an additive
// mask, a Where with a fill value), softmax (which the importer spells as
// its 3-pass cascade max / sub-exp / sum / div) and a second contraction.
// Materializing the scores takes memory quadratic in the sequence.
//
// This pass rewrites the whole chain to FuseMax's 1-pass cascade (REFERENCES:
// FlashAttention-2's recurrence): the key rank M is split into M1 x M0 and an
// `einsum.iterate` over M1 carries the running maximum RM, the running
// denominator RD and the running numerator RNV; the division by RD is
// deferred to the end. The query rank P is split too (an outer iterate over
// P1 whose result is the output, written one query tile at a time), so one
// step works on a [batch, P0, M0] tile that stays in cache, and causal
// attention can skip the K/V tiles a constant triangular mask hides
// entirely. Only tiles of the scores ever exist.
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
#include "memc/Transforms/Passes.h"

#include "dialects/einsum/EinsumDialect.h"
#include "memc/Analysis/AttentionKernelTiles.h"
#include "memc/Analysis/MaskStructure.h"
#include "memc/Analysis/PassCount.h"

#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>

namespace memc {
#define GEN_PASS_DEF_FUSEMAXATTENTION
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace {

/// A mask value at or below this makes a score's softmax weight exactly 0 in
/// f32: exp(s - 1e4 - max) underflows for any score the row maximum does
/// not exceed by 1e4. Exporters use -inf, -1e9 or the float minimum.
constexpr double kMaskedBelow = -1e4;

/// Bytes the tile of one step (scores, their exponentials, and the running
/// numerator) should fit in: about one core's L2 cache.
constexpr int64_t kTileBytes = 1 << 20;

/// An elementwise op between the score contraction and softmax.
struct Modifier {
  EinsumOp op;
  unsigned scoreOperand;
};

struct Attention {
  EinsumOp qk, max, subExp, sum, div, av;
  SmallVector<Modifier> modifiers; ///< from the contraction towards softmax
  SmallVector<Operation *> reshapes;
  Value scores;                ///< softmax's input X[.., p, .., m]
  unsigned dimP = 0, dimM = 0; ///< of the scores
  unsigned qkQ = 0, qkRankP = 0, qkRankM = 0;
  unsigned avA = 0, avRankM = 0;
  SmallVector<unsigned> avRankOfS;   ///< the av rank indexing each scores dim
  std::optional<int64_t> maskedFrom; ///< m - p >= this is masked out
};

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

bool isContraction(EinsumOp op) {
  return op && op.getCompute() == ComputeOp::mul &&
         op.getReduce() == ReduceOp::add && op.getInputs().size() == 2 &&
         llvm::count(op.getReducedRanks(), true) == 1;
}

unsigned reducedRank(EinsumOp op) {
  SmallVector<bool> reduced = op.getReducedRanks();
  return llvm::find(reduced, true) - reduced.begin();
}

/// The position in `map` of the plain use of rank `d`, if any.
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

/// Weights and constants: values whose contents are known at compile time.
bool isConstantLike(Value v) {
  v = stripReshapes(v);
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
    v = stripReshapes(slice.getSource());
  if (auto arg = dyn_cast<BlockArgument>(v))
    return isa<func::FuncOp>(arg.getOwner()->getParentOp());
  return matchPattern(v, m_Constant());
}

/// The triangle summary of a weight argument or a constant.
std::optional<memc::UpperTriangle> triangleOf(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    if (!func)
      return std::nullopt;
    return memc::fromAttr(
        func.getArgAttr(arg.getArgNumber(), memc::kUpperTriangleAttr));
  }
  DenseElementsAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return memc::findUpperTriangle(attr);
  return std::nullopt;
}

/// The value of a splat float constant.
std::optional<double> splatValue(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
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

//===----------------------------------------------------------------------===//
// Rewrite
//===----------------------------------------------------------------------===//

int64_t largestDivisorAtMost(int64_t n, int64_t cap) {
  for (int64_t d = std::min(n, cap); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

class Rewriter {
public:
  Rewriter(Attention &a, OpBuilder &b, int64_t kvTile, int64_t queryTile)
      : a(a), b(b), loc(a.av.getLoc()) {
    auto sType = cast<RankedTensorType>(a.scores.getType());
    elem = sType.getElementType();
    sShape = llvm::to_vector(sType.getShape());
    n = sShape.size();
    P = sShape[a.dimP];
    M = sShape[a.dimM];
    int64_t batch = sType.getNumElements() / (P * M);
    auto oType = cast<RankedTensorType>(a.av.getResult().getType());
    int64_t F = oType.getNumElements() / (batch * P);
    // K/V tile: long enough that rescaling the running numerator (F per
    // query per tile) is cheap next to the tile's M0 exponentials, short
    // enough to stay in cache; it must divide M (the ranks are static).
    if (kvTile > 0 && M % kvTile == 0) {
      T = kvTile;
    } else {
      T = largestDivisorAtMost(M, std::clamp<int64_t>(2 * F, 64, 256));
      if (T < 8) // a key count with no useful divisor: one tile
        T = M;
    }
    // Query tile: as many queries as keep one step's tiles in kTileBytes.
    int64_t perQuery = (2 * batch * T + batch * F) * 4;
    Tq = queryTile > 0 && P % queryTile == 0
             ? queryTile
             : largestDivisorAtMost(
                   P, std::max<int64_t>(1, kTileBytes / perQuery));
  }

  IterateOp rewrite();
  int64_t T = 0, Tq = 0;

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// `v` sliced to `size` at `offset` along every dimension that `map`
  /// indexes by `rank`.
  Value slice(Value v, AffineMap map,
              ArrayRef<std::tuple<unsigned, Value, int64_t>> cuts) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> shape;
    bool any = false;
    for (unsigned j = 0; j < type.getRank(); ++j) {
      OpFoldResult off = b.getIndexAttr(0);
      int64_t size = type.getDimSize(j);
      if (auto d = dyn_cast<AffineDimExpr>(map.getResult(j)))
        for (auto [rank, offset, extent] : cuts)
          if (d.getPosition() == rank) {
            off = offset;
            size = extent;
            any = true;
          }
      offsets.push_back(off);
      sizes.push_back(b.getIndexAttr(size));
      strides.push_back(b.getIndexAttr(1));
      shape.push_back(size);
    }
    if (!any)
      return v;
    auto resultType = RankedTensorType::get(shape, type.getElementType());
    return tensor::ExtractSliceOp::create(b, loc, resultType, v, offsets, sizes,
                                          strides);
  }

  /// A copy of einsum `op` with new inputs and result type, and rank names.
  Value cloneEinsum(EinsumOp op, ValueRange inputs, Type type,
                    ArrayRef<std::string> names) {
    SmallVector<StringRef> refs(names.begin(), names.end());
    SmallVector<AffineMap> maps;
    for (Attribute m : op.getIndexingMaps())
      maps.push_back(cast<AffineMapAttr>(m).getValue());
    return EinsumOp::create(b, loc, type, inputs, maps, refs, op.getCompute(),
                            op.getReduce());
  }

  Value einsum(ComputeOp c, ReduceOp r, ValueRange inputs,
               ArrayRef<AffineMap> maps, ArrayRef<std::string> names,
               Type type) {
    SmallVector<StringRef> refs(names.begin(), names.end());
    return EinsumOp::create(b, loc, type, inputs, maps, refs, c, r);
  }

  Value splat(RankedTensorType type, double v) {
    return arith::ConstantOp::create(
        b, loc, type,
        DenseElementsAttr::get(
            type, b.getFloatAttr(type.getElementType(), v).getValue()));
  }

  /// One K/V tile: returns the next (RM, RD, RNV).
  SmallVector<Value> step(Value qTile, Value pOff, Value mOff, Value rm,
                          Value rd, Value rnv);

  Attention &a;
  OpBuilder &b;
  Location loc;
  Type elem;
  SmallVector<int64_t> sShape;
  unsigned n = 0;
  int64_t P = 0, M = 0;

  // Filled by rewrite().
  SmallVector<std::string> sNames, rowNames, oNames;
  RankedTensorType sTile, rowTile, oTile;
  AffineMap idS, rowMap, idRow, idO, rowInO;
};

SmallVector<Value> Rewriter::step(Value qTile, Value pOff, Value mOff, Value rm,
                                  Value rd, Value rnv) {
  EinsumOp qk = a.qk, av = a.av;
  // BQK[.., p0, m0] = Q[.., p0, e] * K[.., e, m0 of tile m1]
  Value kTile = slice(qk.getInputs()[1 - a.qkQ], qk.getInputMap(1 - a.qkQ),
                      {{a.qkRankM, mOff, T}});
  SmallVector<std::string> qkNames;
  for (unsigned r = 0; r < qk.getNumRanks(); ++r) {
    std::optional<unsigned> j = positionOf(qk.getResultMap(), r);
    qkNames.push_back(j ? sNames[*j] : std::string("e"));
  }
  SmallVector<Value> qkIns(2);
  qkIns[a.qkQ] = qTile;
  qkIns[1 - a.qkQ] = kTile;
  Value s = cloneEinsum(qk, qkIns, sTile, qkNames);
  // The scale and mask, on the tile.
  for (Modifier &mod : a.modifiers) {
    SmallVector<Value> ins;
    for (auto [i, v] : llvm::enumerate(mod.op.getInputs()))
      ins.push_back(i == mod.scoreOperand
                        ? s
                        : slice(v, mod.op.getInputMap(i),
                                {{a.dimP, pOff, Tq}, {a.dimM, mOff, T}}));
    s = cloneEinsum(mod.op, ins, sTile, sNames);
  }
  // LM = max_m0 BQK; RM' = max(RM, LM); SLN = exp(BQK - RM');
  // SLD = sum_m0 SLN; SLNV = sum_m0 SLN * BV; PRM = exp(RM - RM');
  // RD' = RD * PRM + SLD; RNV' = RNV * PRM + SLNV.
  Value lm = einsum(ComputeOp::copy, ReduceOp::max, {s}, {idS, rowMap}, sNames,
                    rowTile);
  Value rmNext = einsum(ComputeOp::max, ReduceOp::none, {rm, lm},
                        {idRow, idRow, idRow}, rowNames, rowTile);
  Value sln = einsum(ComputeOp::sub_exp, ReduceOp::none, {s, rmNext},
                     {idS, rowMap, idS}, sNames, sTile);
  Value sld = einsum(ComputeOp::copy, ReduceOp::add, {sln}, {idS, rowMap},
                     sNames, rowTile);
  Value vTile = slice(av.getInputs()[1 - a.avA], av.getInputMap(1 - a.avA),
                      {{a.avRankM, mOff, T}});
  SmallVector<std::string> avNames;
  for (unsigned r = 0; r < av.getNumRanks(); ++r) {
    std::optional<unsigned> j = positionOf(av.getInputMap(a.avA), r);
    std::optional<unsigned> o = positionOf(av.getResultMap(), r);
    avNames.push_back(j ? sNames[*j] : oNames[*o]);
  }
  SmallVector<Value> avIns(2);
  avIns[a.avA] = sln;
  avIns[1 - a.avA] = vTile;
  Value slnv = cloneEinsum(av, avIns, oTile, avNames);
  Value prm = einsum(ComputeOp::sub_exp, ReduceOp::none, {rm, rmNext},
                     {idRow, idRow, idRow}, rowNames, rowTile);
  Value rdNext = einsum(ComputeOp::mul_add, ReduceOp::none, {rd, prm, sld},
                        {idRow, idRow, idRow, idRow}, rowNames, rowTile);
  Value rnvNext = einsum(ComputeOp::mul_add, ReduceOp::none, {rnv, prm, slnv},
                         {idO, rowInO, idO, idO}, oNames, oTile);
  return {rmNext, rdNext, rnvNext};
}

IterateOp Rewriter::rewrite() {
  MLIRContext *ctx = b.getContext();
  EinsumOp av = a.av;
  auto oType = cast<RankedTensorType>(av.getResult().getType());
  AffineMap oMap = av.getResultMap();
  unsigned nO = oType.getRank();
  // Rank names: b0.. for batch and head ranks, p / m0 for the sequence
  // tiles, f.. for the value features.
  unsigned nb = 0;
  for (unsigned j = 0; j < n; ++j)
    sNames.push_back(j == a.dimP   ? "p"
                     : j == a.dimM ? "m0"
                                   : "b" + std::to_string(nb++));
  for (unsigned j = 0; j < n; ++j)
    if (j != a.dimM)
      rowNames.push_back(sNames[j]);
  unsigned nf = 0;
  SmallVector<unsigned> oPosOfS(n, 0);
  for (unsigned o = 0; o < nO; ++o) {
    unsigned r = cast<AffineDimExpr>(oMap.getResult(o)).getPosition();
    auto j = llvm::find(a.avRankOfS, r) - a.avRankOfS.begin();
    if (j < (long)n) {
      oNames.push_back(sNames[j]);
      oPosOfS[j] = o;
    } else {
      oNames.push_back(nf ? "f" + std::to_string(nf) : "f");
      ++nf;
    }
  }
  unsigned oDimP = oPosOfS[a.dimP];

  SmallVector<int64_t> sTileShape = sShape, rowShape, oTileShape;
  sTileShape[a.dimP] = Tq;
  sTileShape[a.dimM] = T;
  for (unsigned j = 0; j < n; ++j)
    if (j != a.dimM)
      rowShape.push_back(sTileShape[j]);
  oTileShape = llvm::to_vector(oType.getShape());
  oTileShape[oDimP] = Tq;
  sTile = RankedTensorType::get(sTileShape, elem);
  rowTile = RankedTensorType::get(rowShape, elem);
  oTile = RankedTensorType::get(oTileShape, elem);
  idS = AffineMap::getMultiDimIdentityMap(n, ctx);
  SmallVector<AffineExpr> rowExprs, rowInOExprs;
  for (unsigned j = 0; j < n; ++j)
    if (j != a.dimM) {
      rowExprs.push_back(getAffineDimExpr(j, ctx));
      rowInOExprs.push_back(getAffineDimExpr(oPosOfS[j], ctx));
    }
  rowMap = AffineMap::get(n, 0, rowExprs, ctx);
  idRow = AffineMap::getMultiDimIdentityMap(n - 1, ctx);
  idO = AffineMap::getMultiDimIdentityMap(nO, ctx);
  rowInO = AffineMap::get(nO, 0, rowInOExprs, ctx);

  b.setInsertionPoint(av);
  Value init = tensor::EmptyOp::create(b, loc, oType.getShape(), elem);
  auto outer = IterateOp::create(b, loc, "p1", P / Tq, ValueRange{init});
  Block &ob = outer.getBody().front();
  b.setInsertionPointToStart(&ob);
  Value pOff = arith::MulIOp::create(b, loc, ob.getArgument(0), index(Tq));
  EinsumOp qk = a.qk;
  Value qTile = slice(qk.getInputs()[a.qkQ], qk.getInputMap(a.qkQ),
                      {{a.qkRankP, pOff, Tq}});
  // The running maximum starts at the lowest finite value, not -inf: with a
  // mask known only at run time, a tile may hide every key of a row before
  // any visible one (left padding), and exp(-inf - -inf) would poison the
  // row with NaN. A finite start keeps every exponent finite and changes no
  // result where the first tile has a visible key.
  Value rm0 = splat(
      rowTile, APFloat::getLargest(cast<FloatType>(elem).getFloatSemantics(),
                                   /*Negative=*/true)
                   .convertToDouble());
  Value rd0 = splat(rowTile, 0.0);
  Value rnv0 = splat(oTile, 0.0);
  auto inner =
      IterateOp::create(b, loc, "m1", M / T, ValueRange{rm0, rd0, rnv0});
  {
    Block &ib = inner.getBody().front();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ib);
    Value mOff = arith::MulIOp::create(b, loc, ib.getArgument(0), index(T));
    Value rm = ib.getArgument(1), rd = ib.getArgument(2),
          rnv = ib.getArgument(3);
    SmallVector<Value> next;
    if (a.maskedFrom) {
      // The tile holds an unmasked element iff its smallest m - p,
      // mOff - (pOff + Tq - 1), is below the mask's diagonal.
      Value lowest = arith::SubIOp::create(
          b, loc, mOff, arith::AddIOp::create(b, loc, pOff, index(Tq - 1)));
      Value live = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                         lowest, index(*a.maskedFrom));
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{rowTile, rowTile, oTile},
                                    live, /*withElseRegion=*/true);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      scf::YieldOp::create(b, loc, step(qTile, pOff, mOff, rm, rd, rnv));
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      scf::YieldOp::create(b, loc, ValueRange{rm, rd, rnv});
      b.setInsertionPointAfter(ifOp);
      next.assign(ifOp.getResults().begin(), ifOp.getResults().end());
    } else {
      next = step(qTile, pOff, mOff, rm, rd, rnv);
    }
    YieldOp::create(b, loc, next);
  }
  // AV = RNV / RD, written into the output's query tile.
  Value out = einsum(ComputeOp::div, ReduceOp::none,
                     {inner.getResult(2), inner.getResult(1)},
                     {idO, rowInO, idO}, oNames, oTile);
  SmallVector<OpFoldResult> offsets(nO, b.getIndexAttr(0)), sizes, strides;
  for (int64_t d : oTileShape)
    sizes.push_back(b.getIndexAttr(d));
  strides.assign(nO, b.getIndexAttr(1));
  offsets[oDimP] = pOff;
  Value written = tensor::InsertSliceOp::create(b, loc, out, ob.getArgument(1),
                                                offsets, sizes, strides);
  YieldOp::create(b, loc, ValueRange{written});
  return outer;
}

//===----------------------------------------------------------------------===//
// Kernel form (GPU targets): one einsum.attention
//===----------------------------------------------------------------------===//

/// What einsum.attention can express of the modifiers: a positive scale, a
/// causal triangle and one per-key mask (a bias that does not vary by
/// query, such as a padding mask); anything else keeps the block unfused on
/// a GPU.
struct KernelModifiers {
  double scale = 1.0;
  std::optional<int64_t> maskedFrom;
  /// The modifier whose non-score operand becomes `bias`.
  std::optional<Modifier> bias;
};

class KernelForm {
public:
  KernelForm(Attention &a, OpBuilder &b) : a(a), b(b), loc(a.av.getLoc()) {}
  std::string why;
  std::optional<memc::AttentionKernelTiles> tiles;
  /// The causal diagonal the kernel masks by index (and stops its K/V loop
  /// at), when there is one.
  std::optional<int64_t> maskedFrom;

  /// Builds the kernel form before `a.av` and returns its result in av's
  /// type, or null with `why` set (nothing is created then).
  Value rewrite() {
    KernelModifiers mods;
    if (!foldModifiers(mods))
      return {};
    EinsumOp qk = a.qk, av = a.av;
    SmallVector<int64_t> qkExt = qk.getRankExtents(),
                         avExt = av.getRankExtents();
    unsigned n = cast<ShapedType>(a.scores.getType()).getRank();
    AffineMap res = qk.getResultMap();
    auto qkRank = [&](unsigned j) {
      return cast<AffineDimExpr>(res.getResult(j)).getPosition();
    };
    SmallVector<unsigned> qBatch, avBatch;
    for (unsigned j = 0; j < n; ++j)
      if (j != a.dimP && j != a.dimM) {
        qBatch.push_back(qkRank(j));
        avBatch.push_back(a.avRankOfS[j]);
      }
    unsigned dRank = reducedRank(qk);
    SmallVector<unsigned> fRanks;
    for (AffineExpr e : av.getResultMap().getResults()) {
      unsigned r = cast<AffineDimExpr>(e).getPosition();
      if (!llvm::is_contained(a.avRankOfS, r))
        fRanks.push_back(r);
    }
    int64_t batch = 1, f = 1;
    for (unsigned r : qBatch)
      batch *= qkExt[r];
    for (unsigned r : fRanks)
      f *= avExt[r];
    int64_t P = qkExt[a.qkRankP], d = qkExt[dRank];
    tiles = memc::chooseAttentionKernelTiles(P, d, f);
    if (!tiles) {
      why = "head sizes " + std::to_string(d) + " and " + std::to_string(f) +
            " do not fit the attention kernel's shared memory";
      return {};
    }
    for (Value v : {Value(qk.getInputs()[0]), Value(qk.getInputs()[1]),
                    Value(av.getInputs()[1 - a.avA]), Value(av.getResult())})
      if (!cast<ShapedType>(v.getType()).getElementType().isF32()) {
        why = "the attention kernel computes in f32 only";
        return {};
      }

    auto withSeq = [](ArrayRef<unsigned> front, unsigned seq,
                      ArrayRef<unsigned> back) {
      SmallVector<unsigned> ranks(front);
      ranks.push_back(seq);
      ranks.append(back.begin(), back.end());
      return ranks;
    };
    SmallVector<unsigned> qRanks = withSeq(qBatch, a.qkRankP, {dRank}),
                          kRanks = withSeq(qBatch, a.qkRankM, {dRank}),
                          vRanks = withSeq(avBatch, a.avRankM, fRanks);
    AffineMap qMap = qk.getInputMap(a.qkQ), kMap = qk.getInputMap(1 - a.qkQ),
              vMap = av.getInputMap(1 - a.avA);
    if (!indexedBy(qMap, qRanks) || !indexedBy(kMap, kRanks) ||
        !indexedBy(vMap, vRanks))
      return {};
    maskedFrom = mods.maskedFrom;
    SmallVector<unsigned> biasRanks;
    for (unsigned j = 0; j < n; ++j)
      if (j != a.dimP && j != a.dimM)
        biasRanks.push_back(j);
    biasRanks.push_back(a.dimM);
    if (mods.bias &&
        !indexedBy(mods.bias->op.getInputMap(biasOperand(*mods.bias)),
                   biasRanks))
      return {};
    // Copies into [batch ranks..., sequence, features...], then collapsed.
    Value q = toLayout(qk.getInputs()[a.qkQ], qMap, qkExt, qRanks);
    Value k = toLayout(qk.getInputs()[1 - a.qkQ], kMap, qkExt, kRanks);
    Value v = toLayout(av.getInputs()[1 - a.avA], vMap, avExt, vRanks);
    unsigned nb = qBatch.size();
    q = collapse(q, nb, 1);
    k = collapse(k, nb, 1);
    v = collapse(v, nb, fRanks.size());
    Value bias;
    if (mods.bias)
      bias = collapseBias(biasOf(*mods.bias, biasRanks), nb);
    auto oType = RankedTensorType::get({batch, P, f}, b.getF32Type());
    Value init =
        tensor::EmptyOp::create(b, loc, oType.getShape(), b.getF32Type());
    IntegerAttr maskedFromAttr;
    if (maskedFrom)
      maskedFromAttr = b.getI64IntegerAttr(*maskedFrom);
    auto attention =
        AttentionOp::create(b, loc, TypeRange{oType}, q, k, v, bias, init,
                            b.getF32FloatAttr(mods.scale), maskedFromAttr);
    // Back to [batch ranks..., p, features...], then to av's layout.
    SmallVector<unsigned> oRanks =
        withSeq(avBatch, a.avRankOfS[a.dimP], fRanks);
    SmallVector<int64_t> oShape;
    for (unsigned r : oRanks)
      oShape.push_back(avExt[r]);
    Value o = expand(attention.getResult()[0], oShape, nb, fRanks.size());
    SmallVector<AffineExpr> outExprs;
    for (AffineExpr e : av.getResultMap().getResults()) {
      unsigned r = cast<AffineDimExpr>(e).getPosition();
      outExprs.push_back(getAffineDimExpr(
          llvm::find(oRanks, r) - oRanks.begin(), b.getContext()));
    }
    AffineMap toAv = AffineMap::get(oRanks.size(), 0, outExprs, b.getContext());
    return permute(o, toAv, av.getResult().getType());
  }

private:
  static constexpr const char *kMaskRefusal =
      "the mask is neither a constant causal triangle nor the same for every "
      "query";

  /// The scale and the mask as einsum.attention's attributes.
  bool foldModifiers(KernelModifiers &mods) {
    for (Modifier &mod : a.modifiers) {
      EinsumOp op = mod.op;
      unsigned other = 1 - mod.scoreOperand;
      switch (op.getCompute()) {
      case ComputeOp::mul:
      case ComputeOp::div: {
        std::optional<double> c = splatValue(op.getInputs()[other]);
        if (!c || !(*c > 0) || !std::isfinite(*c))
          return fail("a score scale is not a positive constant");
        // The kernel adds the bias after scaling.
        if (mods.bias)
          return fail("a score scale after a per-key mask");
        mods.scale *= op.getCompute() == ComputeOp::mul ? *c : 1.0 / *c;
        continue;
      }
      case ComputeOp::add:
      case ComputeOp::sub:
        // A constant shift of every score leaves softmax unchanged.
        if (std::optional<double> c = splatValue(op.getInputs()[other]);
            c && std::isfinite(*c))
          continue;
        if (op.getCompute() == ComputeOp::sub)
          return fail(kMaskRefusal);
        [[fallthrough]];
      case ComputeOp::select:
        // A mask: applied by index, or as the per-key bias.
        if (std::optional<int64_t> k = pureTriangle(mod)) {
          mergeMask(mods, *k);
          continue;
        }
        if (takeBias(mods, mod))
          continue;
        return fail(kMaskRefusal);
      default:
        return fail("a score modifier the attention kernel cannot apply");
      }
    }
    if (mods.maskedFrom && *mods.maskedFrom < 1)
      return fail("the mask hides every key of some query");
    return true;
  }

  /// The operand of a mask modifier that is not the scores (add) or that
  /// chooses (select).
  static unsigned biasOperand(Modifier mod) {
    return mod.op.getCompute() == ComputeOp::add ? 1 - mod.scoreOperand : 0;
  }

  /// Takes `mod` as the kernel's bias: a mask that does not vary by query
  /// (its operand has no query rank), added, or selecting the scores
  /// against a constant masking fill. One bias at most.
  bool takeBias(KernelModifiers &mods, Modifier &mod) {
    if (mods.bias || usesRank(mod.op.getInputMap(biasOperand(mod)), a.dimP))
      return false;
    if (mod.op.getCompute() == ComputeOp::select) {
      std::optional<double> f =
          splatValue(mod.op.getInputs()[mod.scoreOperand == 1 ? 2 : 1]);
      if (!f || *f > kMaskedBelow)
        return false;
    }
    mods.bias = mod;
    return true;
  }

  /// The bias as [ranks] (f32): the added operand in that layout, or for a
  /// select, 0 where the scores are kept and the fill elsewhere.
  Value biasOf(Modifier mod, ArrayRef<unsigned> ranks) {
    EinsumOp op = mod.op;
    SmallVector<int64_t> ext = op.getRankExtents();
    unsigned operand = biasOperand(mod);
    if (op.getCompute() == ComputeOp::add)
      return toLayout(op.getInputs()[operand], op.getInputMap(operand), ext,
                      ranks);
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineExpr> dims(op.getInputMap(0).getNumDims(),
                                 getAffineConstantExpr(0, ctx));
    SmallVector<int64_t> shape;
    for (auto [i, r] : llvm::enumerate(ranks)) {
      dims[r] = getAffineDimExpr(i, ctx);
      shape.push_back(ext[r]);
    }
    AffineMap cond =
        op.getInputMap(0).replaceDimsAndSymbols(dims, {}, ranks.size(), 0);
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    unsigned fill = mod.scoreOperand == 1 ? 2 : 1;
    Value fillValue = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            scalar,
            b.getF32FloatAttr(*splatValue(op.getInputs()[fill])).getValue()));
    Value zero = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(scalar, b.getF32FloatAttr(0).getValue()));
    SmallVector<Value> ins = {op.getInputs()[0], zero, zero};
    ins[fill] = fillValue;
    AffineMap none = AffineMap::get(ranks.size(), 0, {}, ctx);
    SmallVector<std::string> names = rankNames(ranks.size());
    SmallVector<StringRef> refs(names.begin(), names.end());
    return EinsumOp::create(
        b, loc, RankedTensorType::get(shape, b.getF32Type()), ins,
        {cond, none, none,
         AffineMap::getMultiDimIdentityMap(ranks.size(), ctx)},
        refs, ComputeOp::select, ReduceOp::none);
  }

  /// [batch ranks.., keys] -> [batch, keys].
  Value collapseBias(Value v, unsigned nb) {
    auto type = cast<RankedTensorType>(v.getType());
    if (nb == 1)
      return v;
    if (nb == 0)
      return tensor::ExpandShapeOp::create(
          b, loc,
          RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType()),
          v, SmallVector<ReassociationIndices>{{0, 1}});
    SmallVector<ReassociationIndices> g(2);
    for (unsigned i = 0; i < nb; ++i)
      g[0].push_back(i);
    g[1].push_back(nb);
    return tensor::CollapseShapeOp::create(b, loc, v, g);
  }

  static void mergeMask(KernelModifiers &mods, int64_t k) {
    mods.maskedFrom = mods.maskedFrom ? std::min(*mods.maskedFrom, k) : k;
  }

  /// The diagonal of a mask that is exactly a triangle: a masking fill at
  /// m - p >= diagonal and, everywhere else, a uniform shift (add) or the
  /// score itself (select).
  std::optional<int64_t> pureTriangle(Modifier &mod) {
    EinsumOp op = mod.op;
    unsigned operand =
        op.getCompute() == ComputeOp::add ? 1 - mod.scoreOperand : 0;
    AffineMap map = op.getInputMap(operand);
    unsigned r = map.getNumResults();
    if (r < 2 || positionOf(map, a.dimP) != r - 2 ||
        positionOf(map, a.dimM) != r - 1)
      return std::nullopt;
    std::optional<memc::UpperTriangle> t = triangleOf(op.getInputs()[operand]);
    if (!t || !t->below || !std::isfinite(*t->below))
      return std::nullopt;
    if (op.getCompute() == ComputeOp::add)
      return t->value <= kMaskedBelow ? std::optional(t->diagonal)
                                      : std::nullopt;
    unsigned fill = mod.scoreOperand == 1 ? 2 : 1;
    std::optional<double> f = splatValue(op.getInputs()[fill]);
    double fillCond = fill == 1 ? 1.0 : 0.0;
    if (!f || *f > kMaskedBelow || t->value != fillCond ||
        *t->below != 1.0 - fillCond)
      return std::nullopt;
    return t->diagonal;
  }

  bool fail(const Twine &reason) {
    why = reason.str();
    return false;
  }

  /// Whether `map` indexes only by ranks among `ranks` (or constants), so
  /// that toLayout can express it; sets `why` when not.
  bool indexedBy(AffineMap map, ArrayRef<unsigned> ranks) {
    for (AffineExpr e : map.getResults()) {
      auto d = dyn_cast<AffineDimExpr>(e);
      if (d ? !llvm::is_contained(ranks, d.getPosition())
            : !isa<AffineConstantExpr>(e))
        return fail("an attention operand is not indexed by plain batch, "
                    "sequence and feature ranks");
    }
    return true;
  }

  /// `src` (indexed by `map` over a rank space with `extents`; see
  /// indexedBy) copied so that its dimensions are `ranks`, in order; `src`
  /// itself when it already is.
  Value toLayout(Value src, AffineMap map, ArrayRef<int64_t> extents,
                 ArrayRef<unsigned> ranks) {
    MLIRContext *ctx = b.getContext();
    SmallVector<AffineExpr> dims(map.getNumDims(),
                                 getAffineConstantExpr(0, ctx));
    for (auto [i, r] : llvm::enumerate(ranks))
      dims[r] = getAffineDimExpr(i, ctx);
    AffineMap in = map.replaceDimsAndSymbols(dims, {}, ranks.size(), 0);
    SmallVector<int64_t> shape;
    for (unsigned r : ranks)
      shape.push_back(extents[r]);
    return copy(src, in, AffineMap::getMultiDimIdentityMap(ranks.size(), ctx),
                RankedTensorType::get(shape, b.getF32Type()));
  }

  /// `src` copied through `map` (a permutation) into `type`.
  Value permute(Value src, AffineMap map, Type type) {
    return copy(
        src,
        AffineMap::getMultiDimIdentityMap(map.getNumDims(), b.getContext()),
        map, type);
  }

  /// `type`[out] = `src`[in], over ranks r0, r1, ...; `src` itself when
  /// both maps are the identity.
  Value copy(Value src, AffineMap in, AffineMap out, Type type) {
    if (in.isIdentity() && out.isIdentity() && src.getType() == type)
      return src;
    SmallVector<std::string> names = rankNames(in.getNumDims());
    SmallVector<StringRef> refs(names.begin(), names.end());
    return EinsumOp::create(b, loc, type, ValueRange{src}, {in, out}, refs,
                            ComputeOp::copy, ReduceOp::none);
  }

  /// r0, r1, ...: the rank names of the kernel form's layout einsums.
  static SmallVector<std::string> rankNames(unsigned n) {
    SmallVector<std::string> names;
    for (unsigned i = 0; i < n; ++i)
      names.push_back("r" + std::to_string(i));
    return names;
  }

  /// The reassociation [0..nb) [nb] [nb+1..nb+1+nf) of a [batch.., seq,
  /// features..] shape into [batch, seq, feature].
  static SmallVector<ReassociationIndices> groups(unsigned nb, unsigned nf) {
    SmallVector<ReassociationIndices> g(3);
    for (unsigned i = 0; i < nb; ++i)
      g[0].push_back(i);
    g[1].push_back(nb);
    for (unsigned i = 0; i < nf; ++i)
      g[2].push_back(nb + 1 + i);
    return g;
  }

  /// The reassociation between a rank-`rank` shape and the same shape with
  /// a unit dimension added in front (or at the back).
  static SmallVector<ReassociationIndices> unitDim(unsigned rank, bool front) {
    SmallVector<ReassociationIndices> g;
    for (unsigned i = 0; i < rank; ++i)
      g.push_back({int64_t(front ? i + 1 : i)});
    if (front)
      g.front().insert(g.front().begin(), 0);
    else
      g.back().push_back(rank);
    return g;
  }

  /// [batch ranks.., seq, features..] -> [batch, seq, feature].
  Value collapse(Value v, unsigned nb, unsigned nf) {
    auto type = cast<RankedTensorType>(v.getType());
    if (nb == 1 && nf == 1)
      return v;
    if (nb == 0 || nf == 0) {
      SmallVector<int64_t> shape(type.getShape());
      shape.insert(nb == 0 ? shape.begin() : shape.end(), 1);
      v = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get(shape, type.getElementType()), v,
          unitDim(type.getRank(), nb == 0));
      return collapse(v, std::max(nb, 1u), std::max(nf, 1u));
    }
    return tensor::CollapseShapeOp::create(b, loc, v, groups(nb, nf));
  }

  /// [batch, seq, feature] -> `shape` ([batch ranks.., seq, features..]).
  Value expand(Value v, ArrayRef<int64_t> shape, unsigned nb, unsigned nf) {
    auto type = RankedTensorType::get(shape, b.getF32Type());
    if (type == v.getType())
      return v;
    if (nb == 0 || nf == 0) {
      SmallVector<int64_t> full(shape);
      full.insert(nb == 0 ? full.begin() : full.end(), 1);
      Value e = expand(v, full, std::max(nb, 1u), std::max(nf, 1u));
      return tensor::CollapseShapeOp::create(b, loc, type, e,
                                             unitDim(shape.size(), nb == 0));
    }
    return tensor::ExpandShapeOp::create(b, loc, type, v, groups(nb, nf));
  }

  Attention &a;
  OpBuilder &b;
  Location loc;
};

struct FuseMaxAttentionPass
    : memc::impl::FuseMaxAttentionBase<FuseMaxAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Builder attrs(ctx);
    SmallVector<EinsumOp> candidates;
    module.walk([&](EinsumOp op) {
      if (isContraction(op) && !op->getParentOfType<IterateOp>())
        candidates.push_back(op);
    });
    int64_t fused = 0;
    SmallVector<Attribute> cascades;
    for (EinsumOp av : candidates) {
      Attention a;
      Matcher matcher(a);
      if (!matcher.match(av)) {
        if (remarks && !matcher.why.empty())
          av.emitRemark("attention not fused: ") << matcher.why;
        continue;
      }
      // The original cascade, for its pass count.
      SmallVector<Operation *> before = {a.qk};
      for (Modifier &m : a.modifiers)
        before.push_back(m.op);
      before.append({a.max});
      before.append(a.reshapes.begin(), a.reshapes.end());
      before.append({a.subExp, a.sum, a.div, av});
      llvm::sort(before, [](Operation *x, Operation *y) {
        return x->isBeforeInBlock(y);
      });
      int64_t passesBefore = memc::countPassesOver(before, a.scores, a.dimM);

      OpBuilder b(ctx);
      int64_t kvTile = 0, queryTile = 0, passesAfter = 1;
      bool skips = false;
      Value result;
      if (kernel) {
        b.setInsertionPoint(av);
        KernelForm form(a, b);
        result = form.rewrite();
        if (!result) {
          if (remarks)
            av.emitRemark("attention not fused: ") << form.why;
          continue;
        }
        kvTile = form.tiles->keys;
        queryTile = form.tiles->rows;
        skips = form.maskedFrom.has_value();
      } else {
        Rewriter rewriter(a, b, tileSize, queryTileSize);
        IterateOp outer = rewriter.rewrite();
        IterateOp inner;
        outer.walk([&](IterateOp it) {
          if (it != outer)
            inner = it;
        });
        passesAfter = memc::countPassesOverIterate({outer}, inner);
        result = outer.getResult(0);
        kvTile = rewriter.T;
        queryTile = rewriter.Tq;
        skips = a.maskedFrom.has_value();
      }
      if (remarks)
        av.emitRemark("fused attention: ")
            << (kernel ? "one einsum.attention kernel" : "1-pass cascade")
            << " over " << kvTile << "-key tiles and " << queryTile
            << "-query tiles" << (skips ? ", skipping fully masked tiles" : "")
            << " (passes over the key rank: " << passesBefore << " -> "
            << passesAfter << ")";
      av.getResult().replaceAllUsesWith(result);
      // Erase the cascade from the output backwards.
      for (Operation *op : llvm::reverse(before))
        if (op->use_empty())
          op->erase();
      ++fused;
      SmallVector<NamedAttribute> fields = {
          attrs.getNamedAttr("passes_before",
                             attrs.getI64IntegerAttr(passesBefore)),
          attrs.getNamedAttr("passes_after",
                             attrs.getI64IntegerAttr(passesAfter)),
          attrs.getNamedAttr("rank", attrs.getStringAttr("m")),
          attrs.getNamedAttr("kv_tile", attrs.getI64IntegerAttr(kvTile)),
          attrs.getNamedAttr("query_tile", attrs.getI64IntegerAttr(queryTile)),
          attrs.getNamedAttr("causal_skip", attrs.getBoolAttr(skips)),
          attrs.getNamedAttr(
              "form", attrs.getStringAttr(kernel ? "kernel" : "cascade"))};
      cascades.push_back(attrs.getDictionaryAttr(fields));
    }
    module->setAttr("memc.fused_attention", attrs.getI64IntegerAttr(fused));
    module->setAttr("memc.fusemax_cascades", attrs.getArrayAttr(cascades));
  }
};

} // namespace
