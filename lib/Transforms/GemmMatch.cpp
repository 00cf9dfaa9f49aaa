//===- GemmMatch.cpp - batched GEMMs in linalg.generic form ---------------===//
#include "memc/Transforms/GemmMatch.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace memc {
namespace {

/// The dims of `map` in result order (all must be plain dims, or 0 on a
/// dimension of extent 1, which is dropped from `shape` and `strides`: a
/// slice [m, c, 0, 0] of a [16, 8, 1, 1] kernel offset is a matrix).
std::optional<SmallVector<unsigned>> dimsOf(AffineMap map,
                                            SmallVector<int64_t> &shape,
                                            SmallVector<int64_t> &strides) {
  SmallVector<unsigned> dims;
  SmallVector<int64_t> keptShape, keptStrides;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    if (auto c = dyn_cast<AffineConstantExpr>(e);
        c && c.getValue() == 0 && shape[i] == 1)
      continue;
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d)
      return std::nullopt;
    dims.push_back(d.getPosition());
    keptShape.push_back(shape[i]);
    keptStrides.push_back(strides[i]);
  }
  shape = std::move(keptShape);
  strides = std::move(keptStrides);
  return dims;
}

/// The stride of dimensions [from, from + count) of a strided memref taken
/// as one dimension: they must nest (each stride the next one's times its
/// extent; dimensions of extent 1 do not matter). 0 when they do not nest;
/// -1 when every extent is 1 (any stride will do).
int64_t groupStride(ArrayRef<int64_t> shape, ArrayRef<int64_t> strides,
                    size_t from, size_t count) {
  // Consecutive elements of the collapsed dimension are one step of its
  // innermost non-unit dimension apart.
  int64_t innermost = -1, inner = -1, innerExtent = 1;
  for (size_t i = from + count; i-- > from;) {
    if (shape[i] == 1)
      continue;
    if (inner != -1 && strides[i] != inner * innerExtent)
      return 0;
    if (innermost == -1)
      innermost = strides[i];
    inner = strides[i];
    innerExtent = shape[i];
  }
  return innermost;
}

/// Checks that `dims` (an operand's ranks in memory order) is: all batch
/// ranks in `batchOrder` order, then the `first` group, then the `second`
/// group, or the two groups swapped (transposed); each group in the order
/// of `groupOrder`. In memory, each group must collapse to one dimension and
/// the inner group must be contiguous (a row-major matrix with a leading
/// dimension, as in a subview of a larger tensor). Fills `view`.
bool matchMatrix(ArrayRef<unsigned> dims, ArrayRef<int64_t> shape,
                 ArrayRef<int64_t> strides, ArrayRef<unsigned> batchOrder,
                 ArrayRef<unsigned> first, ArrayRef<unsigned> second,
                 bool allowTranspose, MatrixView &view) {
  size_t nb = batchOrder.size();
  if (dims.size() != nb + first.size() + second.size())
    return false;
  if (!llvm::equal(dims.take_front(nb), batchOrder))
    return false;
  ArrayRef<unsigned> rest = dims.drop_front(nb);
  auto product = [&](size_t from, size_t count) {
    int64_t p = 1;
    for (size_t i = from; i < from + count; ++i)
      p *= shape[i];
    return p;
  };
  auto fill = [&](size_t outerCount, size_t innerCount) {
    size_t outer = nb, inner = nb + outerCount;
    int64_t innerStride = groupStride(shape, strides, inner, innerCount);
    int64_t outerStride = groupStride(shape, strides, outer, outerCount);
    int64_t batchStride = groupStride(shape, strides, 0, nb);
    int64_t cols = product(inner, innerCount);
    if (innerStride != 1 && innerStride != -1)
      return false; // rows are not contiguous
    if (outerStride == 0 || batchStride == 0)
      return false;
    view.ld = outerStride == -1 ? std::max<int64_t>(cols, 1) : outerStride;
    if (view.ld < cols)
      return false;
    view.batchStride =
        batchStride == -1 ? product(nb, outerCount + innerCount) : batchStride;
    return true;
  };
  if (llvm::equal(rest.take_front(first.size()), first) &&
      llvm::equal(rest.drop_front(first.size()), second)) {
    view.transposed = false;
    return fill(first.size(), second.size());
  }
  if (allowTranspose && llvm::equal(rest.take_front(second.size()), second) &&
      llvm::equal(rest.drop_front(second.size()), first)) {
    view.transposed = true;
    return fill(second.size(), first.size());
  }
  return false;
}

/// True when the body is `yield(out + a * b)` in either operand order.
bool isMulAddBody(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1 || body.getOperations().size() != 3)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value other = add.getLhs() == acc   ? add.getRhs()
                : add.getRhs() == acc ? add.getLhs()
                                      : Value();
  auto mul = other ? other.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

/// The operands (A, B, C) of a two-input `acc + a * b` generic on static
/// memrefs of one element type with static strides, their strides and
/// the element type; false when `op` is not one.
bool mulAddOperands(linalg::GenericOp op, SmallVector<Value> &operands,
                    SmallVector<SmallVector<int64_t>> &strides, Type &elem) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !op.hasPureBufferSemantics())
    return false;
  if (op.getNumReductionLoops() < 1 || !isMulAddBody(op))
    return false;
  operands = {op.getDpsInputs()[0], op.getDpsInputs()[1], op.getDpsInits()[0]};
  elem = Type();
  for (Value v : operands) {
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.hasStaticShape())
      return false;
    int64_t offset;
    SmallVector<int64_t> s;
    if (failed(t.getStridesAndOffset(s, offset)) ||
        llvm::any_of(s, ShapedType::isDynamic))
      return false;
    strides.push_back(std::move(s));
    if (elem && t.getElementType() != elem)
      return false;
    elem = t.getElementType();
  }
  return true;
}

/// The ranks of `group` in the order they appear in `memOrder`.
SmallVector<unsigned> orderIn(ArrayRef<unsigned> memOrder,
                              ArrayRef<unsigned> group) {
  SmallVector<unsigned> ordered;
  for (unsigned d : memOrder)
    if (llvm::is_contained(group, d))
      ordered.push_back(d);
  return ordered;
}

/// Adds `scale` times the coefficients of `e` to `flat` (one per dim, then
/// the constant term); false when `e` is not linear (mod, floordiv, a
/// product of two dims).
bool linearCoefficients(AffineExpr e, int64_t scale,
                        SmallVectorImpl<int64_t> &flat) {
  if (auto d = dyn_cast<AffineDimExpr>(e)) {
    flat[d.getPosition()] += scale;
    return true;
  }
  if (auto c = dyn_cast<AffineConstantExpr>(e)) {
    flat.back() += scale * c.getValue();
    return true;
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return false;
  if (e.getKind() == AffineExprKind::Add)
    return linearCoefficients(bin.getLHS(), scale, flat) &&
           linearCoefficients(bin.getRHS(), scale, flat);
  if (e.getKind() == AffineExprKind::Mul) {
    if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
      return linearCoefficients(bin.getLHS(), scale * c.getValue(), flat);
    if (auto c = dyn_cast<AffineConstantExpr>(bin.getLHS()))
      return linearCoefficients(bin.getRHS(), scale * c.getValue(), flat);
  }
  return false;
}

} // namespace

std::optional<GemmMatch> matchGemm(linalg::GenericOp op) {
  SmallVector<Value> operands;
  SmallVector<SmallVector<int64_t>> strides;
  Type elem;
  if (!mulAddOperands(op, operands, strides, elem))
    return std::nullopt;
  if (!elem.isF32() && !elem.isF64())
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<SmallVector<int64_t>> shapes;
  for (Value v : operands)
    shapes.emplace_back(cast<MemRefType>(v.getType()).getShape());
  auto dA = dimsOf(maps[0], shapes[0], strides[0]),
       dB = dimsOf(maps[1], shapes[1], strides[1]),
       dC = dimsOf(maps[2], shapes[2], strides[2]);
  if (!dA || !dB || !dC)
    return std::nullopt;
  unsigned numLoops = op.getNumLoops();
  auto in = [](ArrayRef<unsigned> ds, unsigned d) {
    return llvm::is_contained(ds, d);
  };
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // Group the ranks by the operands they index; a rank in only one operand
  // (or only in A and B without being the reduction) is not a GEMM.
  SmallVector<unsigned> batch, mDims, nDims, kDims;
  for (unsigned d = 0; d < numLoops; ++d) {
    bool a = in(*dA, d), b = in(*dB, d), c = in(*dC, d);
    if (a && b && c)
      batch.push_back(d);
    else if (a && c && !b)
      mDims.push_back(d);
    else if (b && c && !a)
      nDims.push_back(d);
    else if (a && b && !c)
      kDims.push_back(d);
    else
      return std::nullopt;
  }
  if (mDims.empty() || nDims.empty() || kDims.empty())
    return std::nullopt;
  // Batch ranks lead C in C's order; the M and N groups take C's order.
  auto extent = [&](ArrayRef<unsigned> ds) {
    int64_t p = 1;
    for (unsigned d : ds)
      p *= ranges[d];
    return p;
  };
  // An operand without the batch ranks (a broadcast batch, below) is the
  // same matrix in every batch entry: batch stride 0.
  auto matchOperand = [&](ArrayRef<unsigned> dims, ArrayRef<int64_t> shape,
                          ArrayRef<int64_t> s, ArrayRef<unsigned> batchOrder,
                          ArrayRef<unsigned> first, ArrayRef<unsigned> second,
                          MatrixView &view) {
    if (!batchOrder.empty() &&
        llvm::none_of(batchOrder, [&](unsigned d) { return in(dims, d); })) {
      if (!matchMatrix(dims, shape, s, {}, first, second,
                       /*allowTranspose=*/true, view))
        return false;
      view.batchStride = 0;
      return true;
    }
    return matchMatrix(dims, shape, s, batchOrder, first, second,
                       /*allowTranspose=*/true, view);
  };
  auto attempt = [&](ArrayRef<unsigned> batchDims, ArrayRef<unsigned> ms,
                     ArrayRef<unsigned> ns) -> std::optional<GemmMatch> {
    SmallVector<unsigned> batchOrder = orderIn(*dC, batchDims);
    SmallVector<unsigned> mOrder = orderIn(*dC, ms);
    SmallVector<unsigned> nOrder = orderIn(*dC, ns);
    auto a = dA, b = dB;
    SmallVector<Value> ops = operands;
    SmallVector<SmallVector<int64_t>> st = strides, sh = shapes;
    // C must be [batch, M, N] or [batch, N, M]; the latter is the GEMM
    // C^T = B^T A^T, so swap the roles of A and B.
    MatrixView viewC;
    if (!matchMatrix(*dC, sh[2], st[2], batchOrder, mOrder, nOrder,
                     /*allowTranspose=*/false, viewC)) {
      if (!matchMatrix(*dC, sh[2], st[2], batchOrder, nOrder, mOrder,
                       /*allowTranspose=*/false, viewC))
        return std::nullopt;
      std::swap(mOrder, nOrder);
      std::swap(a, b);
      std::swap(ops[0], ops[1]);
      std::swap(st[0], st[1]);
      std::swap(sh[0], sh[1]);
    }
    // Several reduction ranks (a weight gradient sums over batch and
    // sequence) are one K when they nest alike in A and B.
    SmallVector<unsigned> kOrder = orderIn(*a, kDims);
    MatrixView viewA, viewB;
    if (!matchOperand(*a, sh[0], st[0], batchOrder, mOrder, kOrder, viewA) ||
        !matchOperand(*b, sh[1], st[1], batchOrder, kOrder, nOrder, viewB))
      return std::nullopt;
    GemmMatch match;
    match.a = ops[0];
    match.b = ops[1];
    match.c = ops[2];
    match.elem = elem;
    match.batch = extent(batchOrder);
    match.m = extent(mOrder);
    match.n = extent(nOrder);
    match.k = extent(kDims);
    match.viewA = viewA;
    match.viewB = viewB;
    match.viewC = viewC;
    return match;
  };
  if (std::optional<GemmMatch> match = attempt(batch, mDims, nDims))
    return match;
  // A broadcast batch: C's leading ranks that only one operand reads (all
  // from the M group, or all from the N group) index batch entries in which
  // the other operand is the same matrix. A convolution's input gradient
  // per kernel offset is one: dX[n, c, o0, o1] = dY[n, m, o0, o1] W[m, c],
  // a batch of n GEMMs [c, o0 o1] = W^T [c, m] dY[n] [m, o0 o1].
  if (!batch.empty())
    return std::nullopt;
  for (ArrayRef<unsigned> group : {ArrayRef<unsigned>(mDims),
                                   ArrayRef<unsigned>(nDims)}) {
    SmallVector<unsigned> lead;
    for (unsigned d : *dC) {
      if (!llvm::is_contained(group, d))
        break;
      lead.push_back(d);
    }
    if (lead.empty() || lead.size() == group.size())
      continue;
    SmallVector<unsigned> ms = mDims, ns = nDims;
    SmallVector<unsigned> &rest = group.data() == mDims.data() ? ms : ns;
    llvm::erase_if(rest, [&](unsigned d) { return in(lead, d); });
    if (std::optional<GemmMatch> match = attempt(lead, ms, ns))
      return match;
  }
  return std::nullopt;
}

bool isLinearInDims(AffineMap map) {
  return llvm::all_of(map.getResults(), [&](AffineExpr e) {
    SmallVector<int64_t> flat(map.getNumDims() + 1, 0);
    return linearCoefficients(e, 1, flat);
  });
}

std::optional<WindowGemmMatch> matchWindowGemm(linalg::GenericOp op,
                                               unsigned windowed) {
  SmallVector<Value> operands;
  SmallVector<SmallVector<int64_t>> strides;
  Type elem;
  if (windowed > 1 || !mulAddOperands(op, operands, strides, elem) ||
      !elem.isF32())
    return std::nullopt;
  unsigned plain = 1 - windowed, numLoops = op.getNumLoops();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  // A's and C's ranks (plain), without the loop ranks of extent 1.
  auto plainRanks = [&](unsigned i)
      -> std::optional<std::tuple<SmallVector<unsigned>, SmallVector<int64_t>,
                                  SmallVector<int64_t>>> {
    SmallVector<int64_t> shape(
        cast<MemRefType>(operands[i].getType()).getShape());
    SmallVector<int64_t> s = strides[i];
    auto dims = dimsOf(maps[i], shape, s);
    if (!dims)
      return std::nullopt;
    SmallVector<unsigned> kept;
    SmallVector<int64_t> keptShape, keptStrides;
    for (auto [j, d] : llvm::enumerate(*dims))
      if (ranges[d] != 1) {
        kept.push_back(d);
        keptShape.push_back(shape[j]);
        keptStrides.push_back(s[j]);
      }
    return std::make_tuple(kept, keptShape, keptStrides);
  };
  auto a = plainRanks(plain), c = plainRanks(2);
  if (!a || !c)
    return std::nullopt;
  auto &[dA, shapeA, stridesA] = *a;
  auto &[dC, shapeC, stridesC] = *c;
  // X's element offset per loop rank and its constant part: each result
  // of its map must be linear in the ranks (no mod or floordiv).
  AffineMap xMap = maps[windowed];
  SmallVector<int64_t> xStride(numLoops, 0);
  int64_t offset = 0;
  for (auto [i, e] : llvm::enumerate(xMap.getResults())) {
    SmallVector<int64_t> flat(numLoops + 1, 0);
    if (!linearCoefficients(e, 1, flat))
      return std::nullopt;
    for (unsigned d = 0; d < numLoops; ++d)
      xStride[d] += flat[d] * strides[windowed][i];
    offset += flat.back() * strides[windowed][i];
  }
  auto in = [](ArrayRef<unsigned> ds, unsigned d) {
    return llvm::is_contained(ds, d);
  };
  SmallVector<unsigned> mDims, nDims, kDims;
  for (unsigned d = 0; d < numLoops; ++d) {
    if (ranges[d] == 1)
      continue;
    bool inA = in(dA, d), inC = in(dC, d), inX = xMap.isFunctionOfDim(d);
    if (inA && inC && !inX)
      mDims.push_back(d);
    else if (inC && inX && !inA)
      nDims.push_back(d);
    else if (inA && inX && !inC)
      kDims.push_back(d);
    else
      return std::nullopt; // a batch rank, or one operand's alone
  }
  if (mDims.empty() || nDims.empty() || kDims.empty())
    return std::nullopt;
  SmallVector<unsigned> mOrder = orderIn(dC, mDims),
                        nOrder = orderIn(dC, nDims),
                        kOrder = orderIn(dA, kDims);
  WindowGemmMatch match;
  if (!matchMatrix(dC, shapeC, stridesC, {}, mOrder, nOrder,
                   /*allowTranspose=*/false, match.viewC) ||
      !matchMatrix(dA, shapeA, stridesA, {}, mOrder, kOrder,
                   /*allowTranspose=*/true, match.viewA))
    return std::nullopt;
  match.a = operands[plain];
  match.x = operands[windowed];
  match.c = operands[2];
  match.m = match.n = match.k = 1;
  for (unsigned d : mOrder)
    match.m *= ranges[d];
  for (unsigned d : nOrder) {
    match.n *= ranges[d];
    match.nRanks.push_back({ranges[d], xStride[d]});
  }
  for (unsigned d : kOrder) {
    match.k *= ranges[d];
    match.kRanks.push_back({ranges[d], xStride[d]});
  }
  match.offset = offset;
  return match;
}

linalg::FillOp zeroFillOfOutput(linalg::GenericOp op, Value c) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  Attribute v;
  if (fill && fill.hasPureBufferSemantics() && fill.getDpsInits()[0] == c &&
      matchPattern(fill.getDpsInputs()[0], m_Constant(&v)) &&
      isa<FloatAttr>(v) && cast<FloatAttr>(v).getValue().isZero())
    return fill;
  return nullptr;
}

} // namespace memc
