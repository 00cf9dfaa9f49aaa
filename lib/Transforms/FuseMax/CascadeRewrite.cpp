//===- CascadeRewrite.cpp - attention as FuseMax's 1-pass cascade ---------===//
//
// The whole chain becomes FuseMax's 1-pass cascade (REFERENCES:
// FlashAttention-2's recurrence): the key rank M is split into M1 x M0 and an
// `einsum.iterate` over M1 carries the running maximum RM, the running
// denominator RD and the running numerator RNV; the division by RD is
// deferred to the end. The query rank P is split too (an outer iterate over
// P1 whose result is the output, written one query tile at a time), so one
// step works on a [batch, P0, M0] tile that stays in cache, and causal
// attention can skip the K/V tiles a constant triangular mask hides
// entirely. Only tiles of the scores ever exist. A length that no
// cache-sized tile divides (197 tokens) gets full tiles and one smaller
// last tile, each static: the last K/V tile is one more step after the
// iterate, the last query tile one more pass after the outer one.
//
// With lanes (a CPU with several threads), one batch or head rank of the
// scores is cut into equal shares, each the whole cascade over its own rows
// in one lane of an scf.forall marked `memc.micro_batch` = lanes: the lanes
// run on the runtime's threads with buffers of their own (BufferLiveness,
// memc-parallel-lanes), and each writes its rows of the output. A step's
// kernels were called once per tile on the pool, which a tile of a few
// heads keeps poorly busy; a lane calls them on its own thread.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/FuseMax/CascadeRewrite.h"
#include "dialects/memc/MemcDialect.h"
#include "memc/Analysis/TileSizes.h"
#include "memc/Transforms/StaticSlices.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include <algorithm>

using namespace mlir;
using namespace memc::einsum;

namespace memc::fusemax {
namespace {

/// Bytes the tile of one step (scores, their exponentials, and the running
/// numerator) should fit in: about one core's L2 cache.
constexpr int64_t kTileBytes = 1 << 20;

class CascadeBuilder {
public:
  CascadeBuilder(Attention &a, OpBuilder &b, int64_t kvTile, int64_t queryTile,
                 int64_t lanes)
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
    // Lanes: the batch or head rank with the most equal shares up to
    // `lanes`, the outermost among equals, which the scores' ops index
    // plainly (their operands are sliced along it). Only a chain in a
    // function's body: memc-parallel-lanes runs the lanes of the entry
    // function.
    auto plain = [&](unsigned j) {
      auto scoreOp = [&](EinsumOp op) {
        std::optional<unsigned> r = resultRank(op, j);
        return r && readsPlainly(op, *r);
      };
      return scoreOp(a.qk) && readsPlainly(a.av, a.avRankOfS[j]) &&
             llvm::all_of(a.modifiers,
                          [&](const Modifier &mod) { return scoreOp(mod.op); });
    };
    if (lanes > 1 && isa<FunctionOpInterface>(a.av->getParentOp()))
      for (unsigned j = 0; j < n; ++j) {
        if (j == a.dimP || j == a.dimM || !plain(j))
          continue;
        int64_t shares = largestDivisorAtMost(sShape[j], lanes);
        if (shares > laneCount) {
          laneCount = shares;
          laneDim = j;
        }
      }
    // A lane's tiles hold its own rows only. The query tile stays the one
    // chosen for all rows (`batch` is not cut): the longer one a lane's
    // rows allow computes more of a causal triangle's diagonal tiles (the
    // decoder example, 2 threads: 11.3 ms against 9.9).
    laneRows = sShape[laneDim] / laneCount;
    sShape[laneDim] = laneRows;
    // K/V tile: long enough that rescaling the running numerator (F per
    // query per tile) is cheap next to the tile's M0 exponentials, short
    // enough to stay in cache. A divisor of M near that size avoids a last
    // ragged tile; without one, the last tile is shorter.
    T = kvTile > 0 && kvTile <= M
            ? kvTile
            : tileNear(M, std::clamp<int64_t>(2 * F, 64, 256));
    // Query tile: as many queries as keep one step's tiles in kTileBytes.
    int64_t perQuery = (2 * batch * T + batch * F) * 4;
    Tq = queryTile > 0 && queryTile <= P
             ? queryTile
             : tileNear(P, std::max<int64_t>(1, kTileBytes / perQuery));
  }

  /// The cascade; its result replaces the chain's.
  Value rewrite();
  /// The iterate over full query tiles.
  IterateOp outer;
  int64_t T = 0, Tq = 0;
  /// The lanes (1: none) and the dimension of the scores they cut.
  int64_t laneCount = 1;
  unsigned laneDim = 0;

private:
  using Cut = std::tuple<unsigned, Value, int64_t>;

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// `cuts` and, inside a lane, the lane's rows of the scores' dimension
  /// `laneDim`, which is rank `rank` of the op whose operand is cut.
  SmallVector<Cut> inLane(ArrayRef<Cut> cuts, unsigned rank) const {
    SmallVector<Cut> all(cuts);
    if (laneOffset)
      all.push_back({rank, laneOffset, laneRows});
    return all;
  }
  /// The rank of `op` (a score-shaped op) that its result's dimension `dim`
  /// is, when the result indexes it plainly.
  static std::optional<unsigned> resultRank(EinsumOp op, unsigned dim) {
    if (auto d = dyn_cast<AffineDimExpr>(op.getResultMap().getResult(dim)))
      return d.getPosition();
    return std::nullopt;
  }
  /// Whether every operand of `op` that reads rank `r` reads it as a
  /// dimension of its own, which a lane's slice can cut (not through an
  /// expression such as a grouped head's h / 3).
  static bool readsPlainly(EinsumOp op, unsigned r) {
    for (unsigned i = 0, e = op.getInputs().size(); i < e; ++i)
      for (AffineExpr x : op.getInputMap(i).getResults())
        if (!isa<AffineDimExpr>(x) && x.isFunctionOfDim(r))
          return false;
    return true;
  }
  /// inLane's rank for an operand of score-shaped `op` (0 without lanes;
  /// with them, the constructor checked that there is one).
  unsigned laneRank(EinsumOp op) const {
    return laneOffset ? *resultRank(op, laneDim) : 0;
  }
  /// The outer iterate over the full query tiles writing into `into`, then
  /// the last, shorter tile.
  Value allQueryTiles(Value into);

  /// `v` sliced to `size` at `offset` along every dimension that `map`
  /// indexes by `rank`.
  Value slice(Value v, AffineMap map,
              ArrayRef<std::tuple<unsigned, Value, int64_t>> cuts) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets;
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
      shape.push_back(size);
    }
    if (!any)
      return v;
    return sliceAt(b, loc, v, offsets, shape);
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

  /// The tile types of a step over `tq` queries and `t` keys.
  struct Tiles {
    RankedTensorType s, row, o;
  };
  Tiles tiles(int64_t tq, int64_t t) const;
  /// One K/V tile of `t` keys at `mOff` for the `tq` queries at `pOff`:
  /// returns the next (RM, RD, RNV).
  SmallVector<Value> step(Value qTile, Value pOff, int64_t tq, Value mOff,
                          int64_t t, ValueRange running);
  /// step(), or under a causal mask only where the tile has a visible key.
  SmallVector<Value> stepUnlessMasked(Value qTile, Value pOff, int64_t tq,
                                      Value mOff, int64_t t,
                                      ValueRange running);
  /// The `tq` output rows at `pOff` written into `into`.
  Value queryTile(Value pOff, int64_t tq, Value into);

  Attention &a;
  OpBuilder &b;
  Location loc;
  Type elem;
  SmallVector<int64_t> sShape;
  unsigned n = 0;
  int64_t P = 0, M = 0;
  /// Rows of `laneDim` per lane, and inside a lane the first of them.
  int64_t laneRows = 0;
  Value laneOffset;

  // Filled by rewrite().
  SmallVector<std::string> sNames, rowNames, oNames;
  SmallVector<int64_t> oShape;
  unsigned oDimP = 0;
  AffineMap idS, rowMap, idRow, idO, rowInO;
};

CascadeBuilder::Tiles CascadeBuilder::tiles(int64_t tq, int64_t t) const {
  SmallVector<int64_t> sShapeTile = sShape, rowShape, oShapeTile = oShape;
  sShapeTile[a.dimP] = tq;
  sShapeTile[a.dimM] = t;
  for (unsigned j = 0; j < n; ++j)
    if (j != a.dimM)
      rowShape.push_back(sShapeTile[j]);
  oShapeTile[oDimP] = tq;
  return {RankedTensorType::get(sShapeTile, elem),
          RankedTensorType::get(rowShape, elem),
          RankedTensorType::get(oShapeTile, elem)};
}

SmallVector<Value> CascadeBuilder::step(Value qTile, Value pOff, int64_t tq,
                                        Value mOff, int64_t t,
                                        ValueRange running) {
  EinsumOp qk = a.qk, av = a.av;
  auto [sTile, rowTile, oTile] = tiles(tq, t);
  Value rm = running[0], rd = running[1], rnv = running[2];
  // BQK[.., p0, m0] = Q[.., p0, e] * K[.., e, m0 of tile m1]
  Value kTile = slice(qk.getInputs()[1 - a.qkQ], qk.getInputMap(1 - a.qkQ),
                      inLane({{a.qkRankM, mOff, t}}, laneRank(qk)));
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
                                inLane({{a.dimP, pOff, tq}, {a.dimM, mOff, t}},
                                       laneRank(mod.op))));
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
                      inLane({{a.avRankM, mOff, t}}, a.avRankOfS[laneDim]));
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

SmallVector<Value> CascadeBuilder::stepUnlessMasked(Value qTile, Value pOff,
                                                    int64_t tq, Value mOff,
                                                    int64_t t,
                                                    ValueRange running) {
  if (!a.maskedFrom)
    return step(qTile, pOff, tq, mOff, t, running);
  // The tile holds an unmasked element iff its smallest m - p,
  // mOff - (pOff + tq - 1), is below the mask's diagonal.
  Value lowest = arith::SubIOp::create(
      b, loc, mOff, arith::AddIOp::create(b, loc, pOff, index(tq - 1)));
  Value live = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, lowest,
                                     index(*a.maskedFrom));
  auto ifOp = scf::IfOp::create(b, loc, running.getTypes(), live,
                                /*withElseRegion=*/true);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  scf::YieldOp::create(b, loc, step(qTile, pOff, tq, mOff, t, running));
  b.setInsertionPointToStart(&ifOp.getElseRegion().front());
  scf::YieldOp::create(b, loc, running);
  b.setInsertionPointAfter(ifOp);
  return SmallVector<Value>(ifOp.getResults());
}

Value CascadeBuilder::queryTile(Value pOff, int64_t tq, Value into) {
  auto [sTile, rowTile, oTile] = tiles(tq, T);
  EinsumOp qk = a.qk;
  Value qTile = slice(qk.getInputs()[a.qkQ], qk.getInputMap(a.qkQ),
                      inLane({{a.qkRankP, pOff, tq}}, laneRank(qk)));
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
    YieldOp::create(b, loc,
                    stepUnlessMasked(qTile, pOff, tq, mOff, T,
                                     ib.getArguments().drop_front()));
  }
  SmallVector<Value> running(inner.getResults());
  if (M % T)
    running = stepUnlessMasked(qTile, pOff, tq, index(M - M % T), M % T,
                               running);
  // AV = RNV / RD, written into the output's query tile.
  Value out = einsum(ComputeOp::div, ReduceOp::none, {running[2], running[1]},
                     {idO, rowInO, idO}, oNames, oTile);
  SmallVector<OpFoldResult> offsets(oShape.size(), b.getIndexAttr(0));
  offsets[oDimP] = pOff;
  return insertAt(b, loc, out, into, offsets);
}

Value CascadeBuilder::rewrite() {
  MLIRContext *ctx = b.getContext();
  EinsumOp av = a.av;
  auto oType = cast<RankedTensorType>(av.getResult().getType());
  AffineMap oMap = av.getResultMap();
  unsigned nO = oType.getRank();
  oShape = llvm::to_vector(oType.getShape());
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
  oDimP = oPosOfS[a.dimP];
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
  if (laneCount == 1)
    return allQueryTiles(init);

  // Lane l: rows [l * laneRows, (l + 1) * laneRows) of dimension laneDim,
  // written in place into its slice of the output.
  unsigned oLaneDim = oPosOfS[laneDim];
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(laneCount)},
      ValueRange{init}, std::nullopt);
  forall->setAttr(MemcDialect::MicroBatchAttrHelper::getNameStr(),
                  b.getI64IntegerAttr(laneCount));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  laneOffset =
      arith::MulIOp::create(b, loc, forall.getInductionVar(0), index(laneRows));
  SmallVector<OpFoldResult> offsets(nO, b.getIndexAttr(0));
  offsets[oLaneDim] = laneOffset;
  SmallVector<OpFoldResult> sizes = getAsIndexOpFoldResult(ctx, oShape);
  sizes[oLaneDim] = b.getIndexAttr(laneRows);
  SmallVector<OpFoldResult> strides(nO, b.getIndexAttr(1));
  Value shared = forall.getRegionIterArgs()[0];
  oShape[oLaneDim] = laneRows;
  Value lane = tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(oShape, elem), shared, offsets, sizes,
      strides);
  Value rows = allQueryTiles(lane);
  b.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, rows, shared, offsets, sizes,
                                        strides);
  laneOffset = Value();
  return forall.getResult(0);
}

Value CascadeBuilder::allQueryTiles(Value into) {
  outer = IterateOp::create(b, loc, "p1", P / Tq, ValueRange{into});
  {
    Block &ob = outer.getBody().front();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ob);
    Value pOff = arith::MulIOp::create(b, loc, ob.getArgument(0), index(Tq));
    YieldOp::create(b, loc, queryTile(pOff, Tq, ob.getArgument(1)));
  }
  Value result = outer.getResult(0);
  if (P % Tq)
    result = queryTile(index(P - P % Tq), P % Tq, result);
  return result;
}

} // namespace

Cascade buildCascade(Attention &a, OpBuilder &b, int64_t kvTile,
                     int64_t queryTile, int64_t lanes) {
  CascadeBuilder builder(a, b, kvTile, queryTile, lanes);
  Value result = builder.rewrite();
  return {builder.outer, result, builder.T, builder.Tq, builder.laneCount};
}

} // namespace memc::fusemax
