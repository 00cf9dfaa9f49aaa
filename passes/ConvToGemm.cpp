//===- ConvToGemm.cpp - windowed contractions as im2col + one GEMM --------===//
//
// A convolution in the einsum dialect is a contraction whose one operand is
// read through window maps (x[n, c, o0 + k0, o1 + k1]); so is a
// convolution's weight gradient (its backward). As loop nests these run in
// scalar order; as a GEMM they run in OpenBLAS. The rewrite materializes the
// windowed operand with one axis per rank it reads (im2col: P[batch, free,
// contracted] = x[map], a copy), reorders the plain operand to [batch,
// contracted, free] where it is not already, contracts the two (a batched
// row-major GEMM, which memc-contractions-to-blas hands to BLAS) and
// reorders the result to the op's where needed. Every element is the same
// sum of the same products, in another order (GEMM's).
//
// The price is memory: P is the window's size times the operand's. An op
// whose P would exceed `max-bytes` is rewritten a chunk of its batch at a
// time (an einsum.iterate whose chunks each copy at most that); one without
// a batch rank to chunk, or with fewer than `min-macs` products
// (where the loops are as fast: the bundled CNN example's 3x3 convolutions
// at batch 1, 0.44M and 1.2M products, run in 0.096 ms either way, and the
// copies double its arena), stays as it is.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/ProgramInterface.h"
#include "memc/Analysis/TileSizes.h"
#include "memc/Transforms/GemmMatch.h"
#include "memc/Transforms/Passes.h"
#include "memc/Transforms/StaticSlices.h"

#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/DenseSet.h"

namespace memc {
#define GEN_PASS_DEF_CONVTOGEMM
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;

namespace {

/// The dims of a map whose results are all plain dims, in result order.
std::optional<SmallVector<unsigned>> plainDims(AffineMap map) {
  SmallVector<unsigned> dims;
  llvm::SmallDenseSet<unsigned> seen;
  for (AffineExpr e : map.getResults()) {
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || !seen.insert(d.getPosition()).second)
      return std::nullopt;
    dims.push_back(d.getPosition());
  }
  return dims;
}

/// The dims `map` reads, in the op's rank order.
SmallVector<unsigned> dimsRead(AffineMap map, unsigned numDims) {
  SmallVector<unsigned> dims;
  for (unsigned d = 0; d < numDims; ++d)
    if (map.isFunctionOfDim(d))
      dims.push_back(d);
  return dims;
}

/// The rank that moves fastest through the windowed operand as `map`
/// reads it: the longest rank of `freeW` or `contracted` in its last result
/// that has one (an image's column, o1 in o1 * s + k1); -1 if none.
int64_t innermostRank(AffineMap map, ArrayRef<int64_t> extents,
                      ArrayRef<unsigned> freeW, ArrayRef<unsigned> contracted) {
  for (AffineExpr e : llvm::reverse(map.getResults())) {
    int64_t best = -1;
    for (unsigned d = 0; d < extents.size(); ++d) {
      if (!e.isFunctionOfDim(d) || extents[d] == 1 ||
          (!llvm::is_contained(freeW, d) && !llvm::is_contained(contracted, d)))
        continue;
      if (best < 0 || extents[d] > extents[best])
        best = d;
    }
    if (best >= 0)
      return best;
  }
  return -1;
}

bool isFreeRank(int64_t d, ArrayRef<unsigned> freeW) {
  return d >= 0 && llvm::is_contained(freeW, unsigned(d));
}

/// True when `map` (unit ranks already read as 0) reads all of an operand
/// of `type` in the order `order` of plain ranks, each over the operand's
/// whole dimension: the copy to `order` would be the operand itself.
bool readsWhole(AffineMap map, RankedTensorType type, ArrayRef<int64_t> extents,
                ArrayRef<unsigned> order) {
  SmallVector<unsigned> dims;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    auto c = dyn_cast<AffineConstantExpr>(e);
    if (c && c.getValue() == 0 && type.getDimSize(i) == 1)
      continue;
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || extents[d.getPosition()] != type.getDimSize(i))
      return false;
    dims.push_back(d.getPosition());
  }
  return llvm::equal(dims, order);
}

struct WindowedContraction : OpRewritePattern<EinsumOp> {
  WindowedContraction(MLIRContext *ctx, int64_t maxBytes, int64_t minMacs,
                      bool keepWeightWindows)
      : OpRewritePattern(ctx), maxBytes(maxBytes), minMacs(minMacs),
        keepWeightWindows(keepWeightWindows) {}

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    return rewriteToGemm(op, rewriter, /*whole=*/true);
  }

  /// The rewrite; `whole` is false for one chunk of a chunked op (no
  /// further chunking, no min-macs test: the whole op passed it).
  LogicalResult rewriteToGemm(EinsumOp op, PatternRewriter &rewriter,
                              bool whole) const {
    if (op.getCompute() != ComputeOp::mul || op.getReduce() != ReduceOp::add ||
        op.getInputs().size() != 2)
      return failure();
    auto resultType = cast<RankedTensorType>(op.getType());
    if (!resultType.hasStaticShape() ||
        !resultType.getElementType().isIntOrFloat() ||
        !isa<FloatType>(resultType.getElementType()))
      return failure();
    // One operand through a window (a sum or product of ranks in its map;
    // a constant alone is a slice's unit dim, CompactSlicedOperand's), the
    // other and the result plain.
    auto isWindow = [](AffineMap map) {
      return llvm::any_of(map.getResults(), [](AffineExpr e) {
        return isa<AffineBinaryOpExpr>(e);
      });
    };
    int windowed = -1;
    for (unsigned i = 0; i < 2; ++i)
      if (isWindow(op.getInputMap(i)))
        windowed = windowed == -1 ? int(i) : 2;
    if (windowed < 0 || windowed > 1)
      return failure();
    unsigned plain = 1 - windowed;
    std::optional<SmallVector<unsigned>> plainOrder =
        plainDims(op.getInputMap(plain));
    std::optional<SmallVector<unsigned>> outOrder =
        plainDims(op.getResultMap());
    if (!plainOrder || !outOrder)
      return failure();
    unsigned n = op.getNumRanks();
    AffineMap windowMap = op.getInputMap(windowed);
    SmallVector<unsigned> winDims = dimsRead(windowMap, n);
    auto in = [](ArrayRef<unsigned> set, unsigned d) {
      return llvm::is_contained(set, d);
    };
    // GEMM roles: batch (everywhere), contracted (both operands, not the
    // result), and each operand's free ranks (itself and the result).
    SmallVector<unsigned> batch, contracted, freeW, freeP;
    for (unsigned d = 0; d < n; ++d) {
      bool w = in(winDims, d), p = in(*plainOrder, d), o = in(*outOrder, d);
      if (w && p && o)
        batch.push_back(d);
      else if (w && p)
        contracted.push_back(d);
      else if (w && o)
        freeW.push_back(d);
      else if (p && o)
        freeP.push_back(d);
      else
        return failure(); // reduced in one operand only, or a broadcast
    }

    SmallVector<int64_t> extents = op.getRankExtents();
    // Ranks of extent 1 take no part: each operand drops them (a collapse,
    // no copy), and the result gets them back by an expand_shape. Without
    // them the GEMM's groups are contiguous more often (NCHW inference at
    // batch 1 needs no transpose at all).
    auto dropUnit = [&](SmallVector<unsigned> &v) {
      llvm::erase_if(v, [&](unsigned d) { return extents[d] == 1; });
    };
    for (SmallVector<unsigned> *v : {&batch, &contracted, &freeW, &freeP})
      dropUnit(*v);
    if (contracted.empty() || (freeW.empty() && freeP.empty()))
      return failure();
    // Without a free rank of the plain operand (a depthwise convolution:
    // one filter per channel) each GEMM is a matrix-vector product, which
    // the copy costs as much as; the loops read the window in place.
    if (freeP.empty())
      return rewriter.notifyMatchFailure(
          op, "the plain operand has no free rank (a depthwise "
              "convolution): one GEMV per batch entry");
    Type elem = resultType.getElementType();
    unsigned elemBytes = elem.getIntOrFloatBitWidth() / 8;
    // The copy keeps the windowed operand's innermost rank innermost, so
    // that it reads and writes rows: [batch, freeW, contracted] when that
    // rank is contracted (a weight gradient sums over the image's columns),
    // [batch, contracted, freeW] when it is free (a forward convolution's
    // output columns: the GEMM is W [m, c k] times P [c k, o], whose result
    // is NCHW itself). In the latter, the result's leading ranks of freeW
    // (the images of a batch) stay outside as a batch of GEMMs that share
    // the plain operand (GemmMatch's broadcast batch), so the result needs
    // no reordering copy.
    SmallVector<unsigned> outLies = *outOrder;
    dropUnit(outLies);
    bool contractedFirst =
        isFreeRank(innermostRank(windowMap, extents, freeW, contracted), freeW);
    SmallVector<unsigned> lead, restW = freeW;
    if (contractedFirst && batch.empty()) {
      for (unsigned d : outLies) {
        if (!in(freeW, d) || lead.size() + 1 == freeW.size())
          break;
        lead.push_back(d);
      }
      llvm::erase_if(restW, [&](unsigned d) { return in(lead, d); });
    }
    SmallVector<unsigned> pOrder;
    llvm::append_range(pOrder, batch);
    if (contractedFirst) {
      llvm::append_range(pOrder, lead);
      llvm::append_range(pOrder, contracted);
      llvm::append_range(pOrder, restW);
    } else {
      llvm::append_range(pOrder, freeW);
      llvm::append_range(pOrder, contracted);
    }
    MLIRContext *ctx = rewriter.getContext();
    // Unit ranks read as index 0.
    SmallVector<AffineExpr> unitToZero;
    for (unsigned d = 0; d < n; ++d)
      unitToZero.push_back(extents[d] == 1 ? getAffineConstantExpr(0, ctx)
                                           : getAffineDimExpr(d, ctx));
    // The im2col copy P[pOrder] = windowed[map] is needed unless it would be
    // the operand itself (a 1x1 convolution of stride 1).
    AffineMap winMapNoUnits =
        windowMap.replaceDimsAndSymbols(unitToZero, {}, n, 0);
    bool copiesWindow =
        !readsWhole(winMapNoUnits,
                    cast<RankedTensorType>(op.getInputs()[windowed].getType()),
                    extents, pOrder);
    // The plain operand's ranks as it lies, without its unit ranks.
    SmallVector<unsigned> bLies = *plainOrder;
    dropUnit(bLies);
    // A forward convolution of a weight keeps its window when asked: the
    // GEMM kernel then packs the input straight from it (no copy at all).
    if (whole && keepWeightWindows && copiesWindow && batch.empty() &&
        keepsWindow(op, plain, bLies, freeP, freeW, contracted, outLies))
      return rewriter.notifyMatchFailure(
          op, "kept whole for the packed window GEMM (keep-weight-windows)");
    // The copy's bytes: none when the operand is P itself (a 1x1
    // convolution of stride 1 is never chunked for a copy it does not make).
    int64_t pBytes = copiesWindow ? elemBytes : 0;
    for (unsigned d : pOrder)
      pBytes *= extents[d];
    // A small contraction gains nothing from BLAS that pays for the copy.
    int64_t macs = 1;
    for (unsigned d = 0; d < n; ++d)
      macs *= extents[d];
    if (whole && macs < minMacs)
      return rewriter.notifyMatchFailure(op, "fewer than min-macs products");
    // A copy over max-bytes (under --mem-budget, an eighth of the budget)
    // is made one chunk of a batch rank at a time where the op has one.
    if (whole && pBytes > maxBytes &&
        succeeded(rewriteChunked(op, rewriter, windowed, plain, freeW,
                                 contracted,
                                 (pBytes + maxBytes - 1) / maxBytes)))
      return success();
    if (pBytes > maxBytes)
      return rewriter.notifyMatchFailure(
          op, "the im2col operand exceeds max-bytes");

    Location loc = op.getLoc();
    ArrayAttr names = op.getRanks();
    // An einsum over the op's ranks `dims`: `inputs` with their maps over
    // the op's ranks, the result in `resultOrder`.
    auto build = [&](ComputeOp compute, ReduceOp reduce,
                     ArrayRef<std::pair<Value, AffineMap>> inputs,
                     ArrayRef<unsigned> dims,
                     ArrayRef<unsigned> resultOrder) -> Value {
      SmallVector<AffineExpr> toNew(n, getAffineConstantExpr(0, ctx));
      for (auto [i, d] : llvm::enumerate(dims))
        toNew[d] = getAffineDimExpr(i, ctx);
      SmallVector<AffineMap> maps;
      SmallVector<Value> values;
      for (auto [v, map] : inputs) {
        values.push_back(v);
        maps.push_back(map.replaceDimsAndSymbols(toNew, {}, dims.size(), 0));
      }
      SmallVector<AffineExpr> outExprs;
      SmallVector<int64_t> shape;
      for (unsigned d : resultOrder) {
        outExprs.push_back(toNew[d]);
        shape.push_back(extents[d]);
      }
      maps.push_back(AffineMap::get(dims.size(), 0, outExprs, ctx));
      SmallVector<StringRef> ranks;
      for (unsigned d : dims)
        ranks.push_back(cast<StringAttr>(names[d]).getValue());
      return EinsumOp::create(rewriter, loc,
                              RankedTensorType::get(shape, elem), values, maps,
                              ranks, compute, reduce);
    };
    auto dimsMap = [&](ArrayRef<unsigned> order) {
      SmallVector<AffineExpr> exprs;
      for (unsigned d : order)
        exprs.push_back(getAffineDimExpr(d, ctx));
      return AffineMap::get(n, 0, exprs, ctx);
    };
    auto cat = [](std::initializer_list<ArrayRef<unsigned>> parts) {
      SmallVector<unsigned> v;
      for (ArrayRef<unsigned> p : parts)
        llvm::append_range(v, p);
      return v;
    };

    // im2col: P[pOrder] = windowed[map]; the operand itself where that
    // copy would be the identity (a 1x1 convolution of stride 1).
    SmallVector<unsigned> winUsed = winDims;
    dropUnit(winUsed);
    Value p = op.getInputs()[windowed];
    if (copiesWindow)
      p = build(ComputeOp::copy, ReduceOp::none, {{p, winMapNoUnits}}, winUsed,
                pOrder);
    else if (size_t(cast<RankedTensorType>(p.getType()).getRank()) !=
             pOrder.size())
      p = collapseUnits(rewriter, loc, p);
    // The plain operand without its unit ranks, as it lies when that is
    // [batch, contracted, freeP] or [batch, freeP, contracted] (a GEMM takes
    // either), else reordered to the first.
    Value b = op.getInputs()[plain];
    SmallVector<unsigned> bOrder = bLies;
    if (bLies != cat({batch, contracted, freeP}) &&
        bLies != cat({batch, freeP, contracted})) {
      bOrder = cat({batch, contracted, freeP});
      b = build(ComputeOp::copy, ReduceOp::none,
                {{b, op.getInputMap(plain).replaceDimsAndSymbols(unitToZero,
                                                                 {}, n, 0)}},
                bLies, bOrder);
    } else if (bLies.size() != plainOrder->size()) {
      b = collapseUnits(rewriter, loc, b);
    }
    // The GEMM, in the result's order where that is one of its two.
    SmallVector<unsigned> wFirst = cat({batch, lead, restW, freeP}),
                          pFirst = cat({batch, lead, freeP, restW});
    SmallVector<unsigned> rOrder = contractedFirst ? pFirst : wFirst;
    if (outLies == wFirst || outLies == pFirst)
      rOrder = outLies;
    Value r = build(ComputeOp::mul, ReduceOp::add,
                    {{p, dimsMap(pOrder)}, {b, dimsMap(bOrder)}},
                    cat({pOrder, freeP}), rOrder);
    if (outLies != rOrder)
      r = build(ComputeOp::copy, ReduceOp::none, {{r, dimsMap(rOrder)}},
                rOrder, outLies);
    if (outLies.size() != outOrder->size())
      r = expandUnits(rewriter, loc, r, resultType);
    rewriter.replaceOp(op, r);
    return success();
  }

  /// Whether `op` (no batch rank) is what memc-contractions-to-blas turns
  /// into memc_rt_sgemm_packed_a_window: f32, an inference program, the
  /// plain operand a weight argument of the entry lying (`pLies`) as
  /// [freeP, contracted] or its transpose, the result as [freeP, freeW],
  /// and the window linear in the ranks (GemmMatch.h, as the match there
  /// requires). Ranks of extent 1 are already dropped from the lists.
  bool keepsWindow(EinsumOp op, unsigned plain, ArrayRef<unsigned> pLies,
                   ArrayRef<unsigned> freeP, ArrayRef<unsigned> freeW,
                   ArrayRef<unsigned> contracted,
                   ArrayRef<unsigned> outLies) const {
    auto module = op->getParentOfType<ModuleOp>();
    if (!module || memc::getTrainFacts(module) ||
        !cast<RankedTensorType>(op.getType()).getElementType().isF32())
      return false;
    auto arg = dyn_cast<BlockArgument>(op.getInputs()[plain]);
    func::FuncOp entry = memc::getEntryBody(module);
    if (!arg || !entry || arg.getOwner() != &entry.getBody().front() ||
        memc::getArgRole(entry, arg.getArgNumber()) != memc::ArgRole::Weight)
      return false;
    auto isGroup = [](ArrayRef<unsigned> dims, ArrayRef<unsigned> group) {
      return dims.size() == group.size() && llvm::all_of(dims, [&](unsigned d) {
               return llvm::is_contained(group, d);
             });
    };
    auto splitsAs = [&](ArrayRef<unsigned> dims, ArrayRef<unsigned> first,
                        ArrayRef<unsigned> second) {
      return dims.size() == first.size() + second.size() &&
             isGroup(dims.take_front(first.size()), first) &&
             isGroup(dims.drop_front(first.size()), second);
    };
    return splitsAs(outLies, freeP, freeW) &&
           (splitsAs(pLies, freeP, contracted) ||
            splitsAs(pLies, contracted, freeP)) &&
           memc::isLinearInDims(op.getInputMap(1 - plain));
  }

  /// Groups for collapsing (or expanding) between `shape` and `shape`
  /// without its unit dims: each unit dim joins the next non-unit one (the
  /// last non-unit one when it trails).
  static SmallVector<ReassociationIndices>
  unitGroups(ArrayRef<int64_t> shape) {
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices pending;
    for (int64_t i = 0, e = shape.size(); i < e; ++i) {
      pending.push_back(i);
      if (shape[i] != 1) {
        groups.push_back(pending);
        pending.clear();
      }
    }
    if (!pending.empty() && !groups.empty())
      llvm::append_range(groups.back(), pending);
    return groups;
  }
  static Value collapseUnits(PatternRewriter &rewriter, Location loc,
                             Value v) {
    auto type = cast<RankedTensorType>(v.getType());
    return tensor::CollapseShapeOp::create(rewriter, loc, v,
                                           unitGroups(type.getShape()));
  }
  static Value expandUnits(PatternRewriter &rewriter, Location loc, Value v,
                           RankedTensorType to) {
    return tensor::ExpandShapeOp::create(rewriter, loc, to, v,
                                         unitGroups(to.getShape()));
  }

  /// `op` as an einsum.iterate over at least `parts` chunks of a rank,
  /// each iteration the op on its operands' slices, rewritten to a GEMM:
  /// a free rank of the windowed operand that it and the result index
  /// plainly (a forward convolution's batch: each chunk's result is written
  /// into its rows), else a contracted rank both operands index plainly (a
  /// weight gradient's batch: the chunks' results are summed). Fails,
  /// changing nothing, without such a rank.
  LogicalResult rewriteChunked(EinsumOp op, PatternRewriter &rewriter,
                               unsigned windowed, unsigned plain,
                               ArrayRef<unsigned> freeW,
                               ArrayRef<unsigned> contracted,
                               int64_t parts) const {
    SmallVector<int64_t> extents = op.getRankExtents();
    // The dimension of `map`'s result that is rank `d` alone, if any.
    auto plainDimOf = [&](AffineMap map, unsigned d) {
      return map.getResultPosition(rewriter.getAffineDimExpr(d));
    };
    // Chunks of at least 2 (a batch, not a forward convolution's few input
    // channels, whose one-channel GEMMs would be slivers).
    auto chunkOf = [&](unsigned d) {
      int64_t chunk = memc::largestDivisorAtMost(
          extents[d], std::max<int64_t>(1, extents[d] / parts));
      return chunk < 2 || chunk == extents[d] ? int64_t(0) : chunk;
    };
    struct Choice {
      unsigned rank;
      int64_t chunk;
      /// Sliced dimension per operand (-1: not sliced) and of the result.
      SmallVector<int64_t> dims;
      bool summed;
    };
    // The first rank of `ranks` that the windowed operand and `other` (an
    // operand, or 2: the result) index plainly and that has chunks.
    auto choose = [&](ArrayRef<unsigned> ranks, unsigned other,
                      bool summed) -> std::optional<Choice> {
      AffineMap otherMap =
          other == 2 ? op.getResultMap() : op.getInputMap(other);
      for (unsigned d : ranks) {
        auto w = plainDimOf(op.getInputMap(windowed), d);
        auto o = plainDimOf(otherMap, d);
        if (int64_t chunk = chunkOf(d); w && o && chunk) {
          SmallVector<int64_t> dims(3, -1);
          dims[windowed] = *w;
          dims[other] = *o;
          return Choice{d, chunk, dims, summed};
        }
      }
      return std::nullopt;
    };
    std::optional<Choice> choice = choose(freeW, 2, /*summed=*/false);
    if (!choice)
      choice = choose(contracted, plain, /*summed=*/true);
    if (!choice)
      return failure();

    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    // `v` [or its type] with dimension `dim` cut to `chunk` at `off`.
    auto cut = [&](RankedTensorType type, int64_t dim) {
      SmallVector<int64_t> shape(type.getShape());
      shape[dim] = choice->chunk;
      return RankedTensorType::get(shape, type.getElementType());
    };
    auto offsets = [&](RankedTensorType type, int64_t dim, Value off) {
      SmallVector<OpFoldResult> at(type.getRank(), rewriter.getIndexAttr(0));
      at[dim] = off;
      return at;
    };
    Value init =
        choice->summed
            ? Value(arith::ConstantOp::create(
                  rewriter, loc, resultType,
                  DenseElementsAttr::get(
                      resultType,
                      rewriter.getZeroAttr(resultType.getElementType()))))
            : Value(tensor::EmptyOp::create(rewriter, loc,
                                            resultType.getShape(),
                                            resultType.getElementType()));
    auto iterate = IterateOp::create(rewriter, loc, "chunk",
                                     extents[choice->rank] / choice->chunk,
                                     ValueRange{init});
    OpBuilder::InsertionGuard guard(rewriter);
    Block &body = iterate.getBody().front();
    rewriter.setInsertionPointToStart(&body);
    Value off = arith::MulIOp::create(
        rewriter, loc, body.getArgument(0),
        arith::ConstantIndexOp::create(rewriter, loc, choice->chunk));
    SmallVector<Value> inputs(op.getInputs());
    for (unsigned i = 0; i < 2; ++i) {
      if (choice->dims[i] < 0)
        continue;
      auto type = cast<RankedTensorType>(inputs[i].getType());
      inputs[i] = memc::sliceAt(rewriter, loc, inputs[i],
                                offsets(type, choice->dims[i], off),
                                cut(type, choice->dims[i]).getShape());
    }
    RankedTensorType partType =
        choice->summed ? resultType : cut(resultType, choice->dims[2]);
    // The op itself on the slices: same maps, ranks and attributes.
    auto part = cast<EinsumOp>(rewriter.clone(*op));
    part->setOperands(inputs);
    part.getResult().setType(partType);
    Operation *next;
    if (choice->summed) {
      // sum + part over the result's own ranks.
      AffineMap id = rewriter.getMultiDimIdentityMap(resultType.getRank());
      SmallVector<StringRef> names;
      for (AffineExpr e : op.getResultMap().getResults())
        names.push_back(cast<StringAttr>(
                            op.getRanks()[cast<AffineDimExpr>(e).getPosition()])
                            .getValue());
      next = EinsumOp::create(rewriter, loc, resultType,
                              ValueRange{body.getArgument(1), part.getResult()},
                              ArrayRef<AffineMap>{id, id, id}, names,
                              ComputeOp::add, ReduceOp::none);
    } else {
      next =
          memc::insertAt(rewriter, loc, part.getResult(), body.getArgument(1),
                         offsets(resultType, choice->dims[2], off))
              .getDefiningOp();
    }
    YieldOp::create(rewriter, loc, next->getResult(0));
    // The chunk itself as im2col + GEMM, before what reads it.
    rewriter.setInsertionPoint(next);
    (void)rewriteToGemm(part, rewriter, /*whole=*/false);
    rewriter.replaceOp(op, iterate.getResults());
    return success();
  }

  int64_t maxBytes, minMacs;
  bool keepWeightWindows;
};

/// A convolution's input gradient is a contraction per kernel offset with
/// the kernel's slice at that offset, [m, c, 0, 0] of [m, c, k0, k1]: a
/// matrix no BLAS takes (neither of its ranks is contiguous). A small such
/// operand becomes a compact copy [m, c] (the kernel's size in all, once
/// per offset), after which the contraction is a GEMM, batched over the
/// other operand's leading rank with this one broadcast.
struct CompactSlicedOperand : OpRewritePattern<EinsumOp> {
  CompactSlicedOperand(MLIRContext *ctx, int64_t maxBytes)
      : OpRewritePattern(ctx), maxBytes(maxBytes) {}

  LogicalResult matchAndRewrite(EinsumOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getCompute() != ComputeOp::mul || op.getReduce() != ReduceOp::add ||
        op.getInputs().size() != 2 || !plainDims(op.getResultMap()))
      return failure();
    for (unsigned i = 0; i < 2; ++i) {
      Value v = op.getInputs()[i];
      auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
      auto type = cast<RankedTensorType>(v.getType());
      if (!slice || !type.hasStaticShape() ||
          type.getNumElements() * 4 > maxBytes)
        continue;
      // The map: plain dims, and 0 on some unit dims (the offset's).
      AffineMap map = op.getInputMap(i);
      SmallVector<AffineExpr> kept;
      SmallVector<int64_t> shape;
      bool unitZero = false, ok = true;
      for (auto [j, e] : llvm::enumerate(map.getResults())) {
        auto c = dyn_cast<AffineConstantExpr>(e);
        if (c && c.getValue() == 0 && type.getDimSize(j) == 1) {
          unitZero = true;
          continue;
        }
        if (!isa<AffineDimExpr>(e))
          ok = false;
        kept.push_back(e);
        shape.push_back(type.getDimSize(j));
      }
      // Only a slice that is strided in memory needs the copy.
      bool contiguous = llvm::all_of(slice.getStaticStrides(),
                                     [](int64_t st) { return st == 1; }) &&
                        isContiguousSlice(slice);
      if (!ok || !unitZero || kept.empty() || contiguous)
        continue;
      // copy [ranks of the operand] (v[map]) -> [its plain ranks]
      SmallVector<unsigned> dims;
      for (AffineExpr e : kept)
        dims.push_back(cast<AffineDimExpr>(e).getPosition());
      unsigned n = dims.size();
      MLIRContext *ctx = rewriter.getContext();
      SmallVector<AffineExpr> toNew(op.getNumRanks(),
                                    getAffineConstantExpr(0, ctx));
      for (auto [j, d] : llvm::enumerate(dims))
        toNew[d] = getAffineDimExpr(j, ctx);
      AffineMap inMap = map.replaceDimsAndSymbols(toNew, {}, n, 0);
      AffineMap outMap = AffineMap::getMultiDimIdentityMap(n, ctx);
      SmallVector<StringRef> ranks;
      for (unsigned d : dims)
        ranks.push_back(cast<StringAttr>(op.getRanks()[d]).getValue());
      Value compact = EinsumOp::create(
          rewriter, op.getLoc(),
          RankedTensorType::get(shape, type.getElementType()), ValueRange{v},
          ArrayRef<AffineMap>{inMap, outMap}, ranks, ComputeOp::copy,
          ReduceOp::none);
      SmallVector<Attribute> maps(op.getIndexingMaps().begin(),
                                  op.getIndexingMaps().end());
      maps[i] = AffineMapAttr::get(
          AffineMap::get(op.getNumRanks(), 0, kept, ctx));
      rewriter.modifyOpInPlace(op, [&] {
        op->setOperand(i, compact);
        op.setIndexingMapsAttr(rewriter.getArrayAttr(maps));
      });
      return success();
    }
    return failure();
  }

  /// True when the slice's elements are one contiguous run of its source
  /// (full extents in every dim after the first sliced one).
  static bool isContiguousSlice(tensor::ExtractSliceOp slice) {
    ArrayRef<int64_t> src = slice.getSourceType().getShape();
    ArrayRef<int64_t> sizes = slice.getStaticSizes();
    bool inner = true; // dims inside the first partial one must be full
    for (size_t j = src.size(); j-- > 0;) {
      if (!inner && sizes[j] != 1)
        return false;
      if (sizes[j] != src[j])
        inner = false;
    }
    return true;
  }

  int64_t maxBytes;
};

struct ConvToGemmPass : memc::impl::ConvToGemmBase<ConvToGemmPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<WindowedContraction>(&getContext(), int64_t(maxBytes),
                                      int64_t(minMacs), keepWeightWindows);
    patterns.add<CompactSlicedOperand>(&getContext(), int64_t(64) << 10);
    // One rewrite per op, no folding: the new ops are plain and never match.
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
