//===- AttentionLoops.cpp - fused attention as tiled einsum loops ---------===//
//
// Ranks, in every einsum below: b (batch x heads), p (query row of the
// tile), m (key row of the tile), f (query/key feature), g (value feature).
// The loops carry tensors (scf.for iter_args), which one-shot bufferization
// updates in place; a causal mask is rebuilt per tile from indices, never
// read from a [queries, keys] tensor. Lengths no tile divides get full
// tiles and one shorter last tile of queries and of keys, each a static
// step of its own after its loop.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/AttentionLoops.h"
#include "memc/Analysis/TileSizes.h"
#include "memc/Transforms/StaticSlices.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <limits>
#include <map>

using namespace mlir;
using memc::einsum::ComputeOp;
using memc::einsum::EinsumOp;
using memc::einsum::ReduceOp;

namespace memc {
namespace {

/// Builds einsum ops written as on paper: each operand with one letter per
/// dimension ("bpm"), a scalar with "".
class Spell {
public:
  Spell(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value op(ComputeOp compute, ArrayRef<std::pair<Value, StringRef>> inputs,
           StringRef out) {
    std::string letters;
    std::map<char, int64_t> extents;
    for (auto [v, idx] : inputs) {
      auto type = cast<RankedTensorType>(v.getType());
      for (auto [i, c] : llvm::enumerate(idx)) {
        if (letters.find(c) == std::string::npos)
          letters.push_back(c);
        extents[c] = type.getDimSize(i);
      }
    }
    for (char c : out)
      if (letters.find(c) == std::string::npos)
        letters.push_back(c);
    auto mapOf = [&](StringRef idx) {
      SmallVector<AffineExpr> exprs;
      for (char c : idx)
        exprs.push_back(b.getAffineDimExpr(letters.find(c)));
      return AffineMap::get(letters.size(), 0, exprs, b.getContext());
    };
    SmallVector<Value> values;
    SmallVector<AffineMap> maps;
    for (auto [v, idx] : inputs) {
      values.push_back(v);
      maps.push_back(mapOf(idx));
    }
    maps.push_back(mapOf(out));
    SmallVector<int64_t> shape;
    for (char c : out)
      shape.push_back(extents.at(c));
    SmallVector<std::string> names;
    for (char c : letters)
      names.push_back(std::string(1, c));
    SmallVector<StringRef> ranks(names.begin(), names.end());
    bool reduces = letters.size() != out.size();
    ReduceOp reduce = !reduces                     ? ReduceOp::none
                      : compute == ComputeOp::copy && reduceMax ? ReduceOp::max
                                                                : ReduceOp::add;
    reduceMax = false;
    return EinsumOp::create(b, loc, RankedTensorType::get(shape, b.getF32Type()),
                            values, maps, ranks, compute, reduce);
  }
  /// max_{ranks not in out} of a copy.
  Value max(Value v, StringRef idx, StringRef out) {
    reduceMax = true;
    return op(ComputeOp::copy, {{v, idx}}, out);
  }
  Value scalar(double v) {
    auto type = RankedTensorType::get({}, b.getF32Type());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr((float)v)));
  }
  Value splat(ArrayRef<int64_t> shape, double v) {
    auto type = RankedTensorType::get(shape, b.getF32Type());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr((float)v)));
  }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value slice(Value src, ArrayRef<OpFoldResult> offsets,
              ArrayRef<int64_t> sizes) {
    return sliceAt(b, loc, src, offsets, sizes);
  }
  Value insert(Value piece, Value dest, ArrayRef<OpFoldResult> offsets) {
    return insertAt(b, loc, piece, dest, offsets);
  }
  /// dest[offsets] += piece
  Value accumulate(Value piece, Value dest, ArrayRef<OpFoldResult> offsets,
                   StringRef idx) {
    auto type = cast<RankedTensorType>(piece.getType());
    Value old = slice(dest, offsets, type.getShape());
    return insert(op(ComputeOp::add, {{old, idx}, {piece, idx}}, idx), dest,
                  offsets);
  }

  OpBuilder &b;
  Location loc;

private:
  bool reduceMax = false;
};

/// What both directions share: the operands, the tiling and the scores of
/// one tile.
struct Attention {
  Value q, k, v, bias;
  float scale;
  std::optional<int64_t> maskedFrom;
  /// The sequence row of query row 0 (an index; null: row 0).
  Value queryOffset;
  int64_t B, P, M, F, G, P0, M0, B0;

  Attention(Value q, Value k, Value v, Value bias, float scale,
            std::optional<int64_t> maskedFrom, Value queryOffset = Value())
      : q(q), k(k), v(v), bias(bias), scale(scale), maskedFrom(maskedFrom),
        queryOffset(queryOffset) {
    auto qt = cast<RankedTensorType>(q.getType());
    auto vt = cast<RankedTensorType>(v.getType());
    B = qt.getDimSize(0);
    P = qt.getDimSize(1);
    F = qt.getDimSize(2);
    M = cast<RankedTensorType>(k.getType()).getDimSize(1);
    G = vt.getDimSize(2);
    P0 = tileNear(P, kAttentionQueryTile);
    M0 = tileNear(M, kAttentionKeyTile);
    B0 = largestDivisorAtMost(
        B, std::max<int64_t>(1, kAttentionTileBytes / (P0 * M0 * 4)));
  }

  /// scale * Q_t K_t^T (+ bias) (+ causal mask) for the tile at
  /// (qoff, koff): [B, p0, m0], the tiles' rows.
  Value scores(Spell &s, Value qTile, Value kTile, Value qoff,
               Value koff) const {
    int64_t p0 = cast<RankedTensorType>(qTile.getType()).getDimSize(1);
    int64_t m0 = cast<RankedTensorType>(kTile.getType()).getDimSize(1);
    Value sc = s.op(ComputeOp::mul, {{qTile, "bpf"}, {kTile, "bmf"}}, "bpm");
    sc = s.op(ComputeOp::mul, {{sc, "bpm"}, {s.scalar(scale), ""}}, "bpm");
    if (bias) {
      Value biasTile = s.slice(bias, {s.b.getIndexAttr(0), koff}, {B, m0});
      sc = s.op(ComputeOp::add, {{sc, "bpm"}, {biasTile, "bm"}}, "bpm");
    }
    if (maskedFrom) {
      // -inf where (koff + m) - (qoff + p) >= maskedFrom.
      auto type = RankedTensorType::get({p0, m0}, s.b.getF32Type());
      int64_t from = *maskedFrom;
      Value mask = tensor::GenerateOp::create(
          s.b, s.loc, type, ValueRange{},
          [&](OpBuilder &nb, Location nl, ValueRange ivs) {
            Value row = arith::AddIOp::create(nb, nl, ivs[0], qoff);
            if (queryOffset)
              row = arith::AddIOp::create(nb, nl, row, queryOffset);
            Value col = arith::AddIOp::create(nb, nl, ivs[1], koff);
            Value ahead = arith::SubIOp::create(nb, nl, col, row);
            Value hidden = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::sge, ahead,
                arith::ConstantIndexOp::create(nb, nl, from));
            Value inf = arith::ConstantOp::create(
                nb, nl,
                nb.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
            Value zero = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0));
            tensor::YieldOp::create(
                nb, nl, arith::SelectOp::create(nb, nl, hidden, inf, zero));
          });
      sc = s.op(ComputeOp::add, {{sc, "bpm"}, {mask, "pm"}}, "bpm");
    }
    return sc;
  }

  /// One online-softmax step over a tile's scores: the new running maximum,
  /// the correction of the old sums and the tile's exp(S - max).
  struct Online {
    Value max, correction, weights;
  };
  Online online(Spell &s, Value sc, Value runningMax) const {
    Value rowMax = s.max(sc, "bpm", "bp");
    Value newMax =
        s.op(ComputeOp::max, {{runningMax, "bp"}, {rowMax, "bp"}}, "bp");
    Value corr =
        s.op(ComputeOp::sub_exp, {{runningMax, "bp"}, {newMax, "bp"}}, "bp");
    Value w = s.op(ComputeOp::sub_exp, {{sc, "bpm"}, {newMax, "bp"}}, "bpm");
    return {newMax, corr, w};
  }

  /// scf.for over [0, n) tiles carrying `inits`.
  static scf::ForOp loop(Spell &s, int64_t n, ValueRange inits,
                         function_ref<SmallVector<Value>(Value, ValueRange)>
                             body) {
    return loop(s, s.index(n), inits, body);
  }
  static scf::ForOp loop(Spell &s, Value n, ValueRange inits,
                         function_ref<SmallVector<Value>(Value, ValueRange)>
                             body) {
    return scf::ForOp::create(
        s.b, s.loc, s.index(0), n, s.index(1), inits,
        [&](OpBuilder &nb, Location nl, Value iv, ValueRange args) {
          OpBuilder::InsertionGuard guard(s.b);
          s.b.setInsertionPoint(nb.getInsertionBlock(),
                                nb.getInsertionPoint());
          SmallVector<Value> next = body(iv, args);
          scf::YieldOp::create(s.b, nl, next);
        });
  }
  Value offset(Spell &s, Value iv, int64_t tile) const {
    return arith::MulIOp::create(s.b, s.loc, iv, s.index(tile));
  }
  /// `step(koff, m0, carried)` over the K/V tiles, the full ones and then
  /// the last, shorter one when there is one. With `onlySeen` under a
  /// causal triangle only those up to the last key the `p0` queries at
  /// `qoff` see (queryOffset + qoff + p0 - 1 + maskedFrom - 1), so a decode
  /// step reads the cache's rows in use and nothing past them. A skipped
  /// tile would have added exactly nothing (its weights are exp(-inf) = 0
  /// and its correction 1), so the results are the same bit for bit.
  SmallVector<Value> keyTiles(
      Spell &s, ValueRange inits, Value qoff, int64_t p0, bool onlySeen,
      function_ref<SmallVector<Value>(Value, int64_t, ValueRange)> step) const {
    bool skips = onlySeen && maskedFrom;
    Value last = skips ? lastVisible(s, qoff, p0) : Value();
    Value full = s.index(M / M0);
    if (skips)
      full = arith::MinUIOp::create(
          s.b, s.loc,
          arith::DivUIOp::create(
              s.b, s.loc, arith::AddIOp::create(s.b, s.loc, last, s.index(M0)),
              s.index(M0)),
          full);
    scf::ForOp loop =
        Attention::loop(s, full, inits, [&](Value kt, ValueRange in) {
          return step(offset(s, kt, M0), M0, in);
        });
    SmallVector<Value> done(loop.getResults());
    if (M % M0 == 0)
      return done;
    Value koff = s.index(M - M % M0);
    if (!skips)
      return step(koff, M % M0, done);
    Value seen = arith::CmpIOp::create(s.b, s.loc, arith::CmpIPredicate::uge,
                                       last, koff);
    auto ifOp = scf::IfOp::create(s.b, s.loc, ValueRange(done).getTypes(), seen,
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(s.b);
      s.b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      scf::YieldOp::create(s.b, s.loc, step(koff, M % M0, done));
      s.b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      scf::YieldOp::create(s.b, s.loc, done);
    }
    return SmallVector<Value>(ifOp.getResults());
  }
  /// The last key the `p0` queries at `qoff` see under the causal triangle.
  Value lastVisible(Spell &s, Value qoff, int64_t p0) const {
    Value last = arith::AddIOp::create(s.b, s.loc, qoff,
                                       s.index(p0 - 1 + *maskedFrom - 1));
    if (queryOffset)
      last = arith::AddIOp::create(s.b, s.loc, last, queryOffset);
    return last;
  }
  /// `tile(qoff, p0, carried)` over the full query tiles, then the last,
  /// shorter one when there is one.
  SmallVector<Value> queryTiles(
      Spell &s, ValueRange inits,
      function_ref<SmallVector<Value>(Value, int64_t, ValueRange)> tile) const {
    scf::ForOp full = loop(s, P / P0, inits, [&](Value qt, ValueRange carried) {
      return tile(offset(s, qt, P0), P0, carried);
    });
    SmallVector<Value> done(full.getResults());
    if (P % P0)
      done = tile(s.index(P - P % P0), P % P0, done);
    return done;
  }
  /// The lowest finite f32: the running maximum's start, so a tile whose
  /// row is all masked adds nothing instead of NaN.
  static double lowest() { return -std::numeric_limits<float>::max(); }
};

/// The forward over all query tiles of `a` (whose operands may be one
/// batch tile of the op's), written into `out`.
Value forwardLoops(Spell &s, const Attention &a, Value out) {
  OpFoldResult zero = s.b.getIndexAttr(0);
  auto queryTile = [&](Value qoff, int64_t p0,
                       ValueRange outer) -> SmallVector<Value> {
    Value qTile = s.slice(a.q, {zero, qoff, zero}, {a.B, p0, a.F});
    // One K/V tile of m0 keys at koff: the online softmax's next state.
    auto step = [&](Value koff, int64_t m0,
                    ValueRange in) -> SmallVector<Value> {
      Value kTile = s.slice(a.k, {zero, koff, zero}, {a.B, m0, a.F});
      Value vTile = s.slice(a.v, {zero, koff, zero}, {a.B, m0, a.G});
      Value sc = a.scores(s, qTile, kTile, qoff, koff);
      Attention::Online o = a.online(s, sc, in[0]);
      Value rowSum = s.op(ComputeOp::copy, {{o.weights, "bpm"}}, "bp");
      Value sum =
          s.op(ComputeOp::mul_add,
               {{in[1], "bp"}, {o.correction, "bp"}, {rowSum, "bp"}}, "bp");
      Value pv =
          s.op(ComputeOp::mul, {{o.weights, "bpm"}, {vTile, "bmg"}}, "bpg");
      Value acc =
          s.op(ComputeOp::mul_add,
               {{in[2], "bpg"}, {o.correction, "bp"}, {pv, "bpg"}}, "bpg");
      return {o.max, sum, acc};
    };
    Value max0 = s.splat({a.B, p0}, Attention::lowest());
    Value sum0 = s.splat({a.B, p0}, 0);
    Value acc0 = s.splat({a.B, p0, a.G}, 0);
    SmallVector<Value> state =
        a.keyTiles(s, ValueRange{max0, sum0, acc0}, qoff, p0,
                   /*onlySeen=*/true, step);
    Value res =
        s.op(ComputeOp::div, {{state[2], "bpg"}, {state[1], "bp"}}, "bpg");
    return {s.insert(res, outer[0], {zero, qoff, zero})};
  };
  return a.queryTiles(s, ValueRange{out}, queryTile)[0];
}

/// Runs `body` on each batch tile of `a` (a.B0 of a.B rows of the leading
/// rank; all of them at once when B0 = B): `body` gets the tile's
/// Attention and the tile's slices of `sliced` (each [B, ...]) and returns
/// one value per `results` tensor ([B0, ...]), which go into those at the
/// tile's rows.
SmallVector<Value>
batchTiles(Spell &s, const Attention &a, ValueRange sliced, ValueRange results,
           function_ref<SmallVector<Value>(Attention &, ValueRange,
                                           ValueRange)>
               body) {
  auto sliceRows = [&](Value v, Value boff, int64_t rows) {
    auto type = cast<RankedTensorType>(v.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), s.b.getIndexAttr(0));
    offsets[0] = boff;
    SmallVector<int64_t> sizes(type.getShape());
    sizes[0] = rows;
    return s.slice(v, offsets, sizes);
  };
  if (a.B0 == a.B) {
    Attention whole = a;
    return body(whole, sliced, results);
  }
  scf::ForOp tiles = Attention::loop(
      s, a.B / a.B0, results,
      [&](Value bt, ValueRange carried) -> SmallVector<Value> {
        Value boff = a.offset(s, bt, a.B0);
        // One slice after the other (arguments have no evaluation order).
        Value q = sliceRows(a.q, boff, a.B0);
        Value k = sliceRows(a.k, boff, a.B0);
        Value v = sliceRows(a.v, boff, a.B0);
        Value bias = a.bias ? sliceRows(a.bias, boff, a.B0) : Value();
        Attention tile(q, k, v, bias, a.scale, a.maskedFrom, a.queryOffset);
        SmallVector<Value> pieces, inits;
        for (Value v : sliced)
          pieces.push_back(sliceRows(v, boff, a.B0));
        for (Value v : carried)
          inits.push_back(sliceRows(v, boff, a.B0));
        SmallVector<Value> done = body(tile, pieces, inits);
        SmallVector<Value> next;
        for (auto [piece, into] : llvm::zip(done, carried)) {
          auto type = cast<RankedTensorType>(into.getType());
          SmallVector<OpFoldResult> offsets(type.getRank(),
                                            s.b.getIndexAttr(0));
          offsets[0] = boff;
          next.push_back(s.insert(piece, into, offsets));
        }
        return next;
      });
  return SmallVector<Value>(tiles.getResults());
}

/// FlashAttention's backward over all tiles of `a` (whose operands may be
/// one batch tile of the op's): dQ, dK, dV.
SmallVector<Value> backwardLoops(Spell &s, const Attention &a, Value dO,
                                 Value out) {
  OpFoldResult zero = s.b.getIndexAttr(0);
  // D[b, p] = rowsum(dO * O)
  Value rowDot =
      s.op(ComputeOp::mul, {{dO, "bpg"}, {out, "bpg"}}, "bp");
  Value dQ0 = s.splat({a.B, a.P, a.F}, 0);
  Value dK0 = s.splat({a.B, a.M, a.F}, 0);
  Value dV0 = s.splat({a.B, a.M, a.G}, 0);
  Value scale = s.scalar(a.scale);
  auto queryTile = [&](Value qoff, int64_t p0,
                       ValueRange outer) -> SmallVector<Value> {
    Value qTile = s.slice(a.q, {zero, qoff, zero}, {a.B, p0, a.F});
    Value dOTile = s.slice(dO, {zero, qoff, zero}, {a.B, p0, a.G});
    Value dTile = s.slice(rowDot, {zero, qoff}, {a.B, p0});
    // The row log-sum-exp, recomputed over the K tiles.
    Value max0 = s.splat({a.B, p0}, Attention::lowest());
    Value sum0 = s.splat({a.B, p0}, 0);
    // Every K/V tile: a masked one adds nothing.
    SmallVector<Value> stats = a.keyTiles(
        s, ValueRange{max0, sum0}, qoff, p0, /*onlySeen=*/false,
        [&](Value koff, int64_t m0, ValueRange in) -> SmallVector<Value> {
          Value kTile = s.slice(a.k, {zero, koff, zero}, {a.B, m0, a.F});
          Value sc = a.scores(s, qTile, kTile, qoff, koff);
          Attention::Online o = a.online(s, sc, in[0]);
          Value rowSum = s.op(ComputeOp::copy, {{o.weights, "bpm"}}, "bp");
          Value sum =
              s.op(ComputeOp::mul_add,
                   {{in[1], "bp"}, {o.correction, "bp"}, {rowSum, "bp"}}, "bp");
          return {o.max, sum};
        });
    Value logSum = s.op(ComputeOp::log, {{stats[1], "bp"}}, "bp");
    Value lse = s.op(ComputeOp::add, {{logSum, "bp"}, {stats[0], "bp"}}, "bp");
    Value dQTile0 = s.splat({a.B, p0, a.F}, 0);
    SmallVector<Value> grads = a.keyTiles(
        s, ValueRange{dQTile0, outer[1], outer[2]}, qoff, p0,
        /*onlySeen=*/false,
        [&](Value koff, int64_t m0, ValueRange in) -> SmallVector<Value> {
          SmallVector<OpFoldResult> at = {zero, koff, zero};
          Value kTile = s.slice(a.k, at, {a.B, m0, a.F});
          Value vTile = s.slice(a.v, at, {a.B, m0, a.G});
          Value sc = a.scores(s, qTile, kTile, qoff, koff);
          Value prob =
              s.op(ComputeOp::sub_exp, {{sc, "bpm"}, {lse, "bp"}}, "bpm");
          Value dV =
              s.op(ComputeOp::mul, {{prob, "bpm"}, {dOTile, "bpg"}}, "bmg");
          Value dP =
              s.op(ComputeOp::mul, {{dOTile, "bpg"}, {vTile, "bmg"}}, "bpm");
          Value centered =
              s.op(ComputeOp::sub, {{dP, "bpm"}, {dTile, "bp"}}, "bpm");
          Value dS =
              s.op(ComputeOp::mul, {{prob, "bpm"}, {centered, "bpm"}}, "bpm");
          dS = s.op(ComputeOp::mul, {{dS, "bpm"}, {scale, ""}}, "bpm");
          Value dQPart =
              s.op(ComputeOp::mul, {{dS, "bpm"}, {kTile, "bmf"}}, "bpf");
          Value dQ =
              s.op(ComputeOp::add, {{in[0], "bpf"}, {dQPart, "bpf"}}, "bpf");
          Value dK = s.op(ComputeOp::mul, {{dS, "bpm"}, {qTile, "bpf"}}, "bmf");
          return {dQ, s.accumulate(dK, in[1], at, "bmf"),
                  s.accumulate(dV, in[2], at, "bmg")};
        });
    Value dQ = s.insert(grads[0], outer[0], {zero, qoff, zero});
    return {dQ, grads[1], grads[2]};
  };
  return a.queryTiles(s, ValueRange{dQ0, dK0, dV0}, queryTile);
}

} // namespace

LogicalResult lowerAttentionToLoops(einsum::AttentionOp op) {
  if (!op.hasPureTensorSemantics())
    return op.emitOpError("lowers to loops on tensors only");
  OpBuilder b(op);
  Spell s(b, op.getLoc());
  Attention a(op.getQuery(), op.getKey(), op.getValue(), op.getBias(),
              op.getScale().convertToFloat(), op.getMaskedFrom(),
              op.getQueryOffset());
  SmallVector<Value> out = batchTiles(
      s, a, ValueRange{}, ValueRange{op.getOutput()},
      [&](Attention &tile, ValueRange, ValueRange inits) -> SmallVector<Value> {
        return {forwardLoops(s, tile, inits[0])};
      });
  op->replaceAllUsesWith(out);
  op->erase();
  return success();
}

LogicalResult lowerAttentionGradToLoops(einsum::AttentionGradOp op) {
  OpBuilder b(op);
  Spell s(b, op.getLoc());
  Attention a(op.getQuery(), op.getKey(), op.getValue(), op.getBias(),
              op.getScale().convertToFloat(), op.getMaskedFrom());
  SmallVector<Value> grads = batchTiles(
      s, a, ValueRange{op.getGradOutput(), op.getOutput()},
      ValueRange{s.splat({a.B, a.P, a.F}, 0), s.splat({a.B, a.M, a.F}, 0),
                 s.splat({a.B, a.M, a.G}, 0)},
      [&](Attention &tile, ValueRange operands,
          ValueRange) -> SmallVector<Value> {
        return backwardLoops(s, tile, operands[0], operands[1]);
      });
  op->replaceAllUsesWith(grads);
  op->erase();
  return success();
}

} // namespace memc
