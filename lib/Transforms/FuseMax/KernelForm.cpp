//===- KernelForm.cpp - attention as one einsum.attention -----------------===//
#include "memc/Transforms/FuseMax/KernelForm.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace memc::einsum;

namespace memc::fusemax {
namespace {

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

class KernelFormBuilder {
public:
  KernelFormBuilder(Attention &a, OpBuilder &b)
      : a(a), b(b), loc(a.av.getLoc()) {}
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
                            /*query_offset=*/Value(), b.getF32FloatAttr(mods.scale), maskedFromAttr);
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

} // namespace

std::optional<KernelForm> buildKernelForm(Attention &a, OpBuilder &b,
                                          std::string &why) {
  KernelFormBuilder builder(a, b);
  Value result = builder.rewrite();
  if (!result) {
    why = std::move(builder.why);
    return std::nullopt;
  }
  return KernelForm{result, *builder.tiles, builder.maskedFrom};
}

} // namespace memc::fusemax
