//===- GemmEpilogue.cpp - the elementwise op after a GEMM, fused in -------===//
#include "memc/Transforms/GemmEpilogue.h"
#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Transforms/GemmMatch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include <limits>

using namespace mlir;

namespace {

/// The buffer a memref is a view of: an arena buffer (a memref.view with
/// its planned byte offset; before the plan, its memref.alloc) or a
/// function argument; null when none of these.
Value rootBuffer(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<memref::ViewOp, memref::AllocOp>(def))
      return v;
    if (auto cast = dyn_cast<memref::CastOp>(def)) {
      v = cast.getSource();
      continue;
    }
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return {};
    v = view.getViewSource();
  }
  return isa<BlockArgument>(v) ? v : Value();
}

/// The bytes `root` covers: [begin, end) of the arena for an arena buffer,
/// or all of a function argument or an allocation (distinct ones never
/// overlap).
struct Span {
  Value key; ///< the arena's memref, or the argument
  int64_t begin = 0, end = std::numeric_limits<int64_t>::max();
};

std::optional<Span> spanOf(Value v) {
  Value root = rootBuffer(v);
  if (!root)
    return std::nullopt;
  if (isa<BlockArgument>(root) || root.getDefiningOp<memref::AllocOp>())
    return Span{root};
  auto view = root.getDefiningOp<memref::ViewOp>();
  auto offset = view->getAttrOfType<IntegerAttr>("memc.offset");
  auto type = cast<MemRefType>(view.getType());
  if (!offset || !type.hasStaticShape())
    return std::nullopt;
  // Every arena view comes from the same arena argument, through
  // memc_rt_arena_view calls: their key is that argument.
  Value arena = view.getSource();
  if (auto call = arena.getDefiningOp<func::CallOp>())
    if (call.getNumOperands() > 0)
      arena = call.getOperand(0);
  int64_t bytes = type.getNumElements() * type.getElementTypeBitWidth() / 8;
  return Span{arena, offset.getInt(), offset.getInt() + bytes};
}

bool mayOverlap(Value a, Value b) {
  std::optional<Span> x = spanOf(a), y = spanOf(b);
  if (!x || !y)
    return true;
  return x->key == y->key && x->begin < y->end && y->begin < x->end;
}

/// Static strides and offset of `type`, or failure.
bool stridesOf(Type type, SmallVectorImpl<int64_t> &strides, int64_t &offset) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.hasStaticShape() ||
      failed(memref.getStridesAndOffset(strides, offset)))
    return false;
  return !ShapedType::isDynamic(offset) &&
         llvm::none_of(strides, ShapedType::isDynamic);
}

/// Where C's M ranks end in a memref of C's elements (C's shape split into
/// M x N, row-major with row stride ld): the first rank of N.
std::optional<unsigned> rowRanks(MemRefType type, int64_t m, int64_t n,
                                 int64_t ld) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!stridesOf(type, strides, offset))
    return std::nullopt;
  ArrayRef<int64_t> shape = type.getShape();
  unsigned rank = shape.size();
  for (unsigned s = 0; s <= rank; ++s) {
    int64_t rows = 1;
    for (unsigned d = 0; d < s; ++d)
      rows *= shape[d];
    if (rows != m)
      continue;
    // Row-major strides: within N contiguous, across M ld apart.
    bool ok = true;
    int64_t expect = 1;
    for (unsigned d = rank; d-- > s;) {
      ok &= shape[d] == 1 || strides[d] == expect;
      expect *= shape[d];
    }
    if (expect != n)
      continue;
    expect = ld;
    for (unsigned d = s; d-- > 0;) {
      ok &= shape[d] == 1 || strides[d] == expect;
      expect *= shape[d];
    }
    if (ok)
      return s;
  }
  return std::nullopt;
}

/// How a memref of the consumer's shape (M ranks before `split`) lays out
/// (i, j): i * ld + (j / width) * pitch + j % width (width 0: + j).
struct Layout {
  int64_t ld = 0, width = 0, pitch = 0;
  int64_t rowRank = -1; ///< the M rank of extent > 1, if any
};

std::optional<Layout> layoutOf(Type type, unsigned split) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!stridesOf(type, strides, offset))
    return std::nullopt;
  ArrayRef<int64_t> shape = cast<MemRefType>(type).getShape();
  Layout layout;
  for (unsigned d = 0; d < split; ++d) {
    if (shape[d] == 1)
      continue;
    if (layout.rowRank >= 0)
      return std::nullopt; // two M ranks: no single row stride
    layout.rowRank = d;
    layout.ld = strides[d];
  }
  SmallVector<unsigned> cols;
  for (unsigned d = split; d < shape.size(); ++d)
    if (shape[d] != 1)
      cols.push_back(d);
  bool contiguous = true;
  int64_t expect = 1;
  for (unsigned d : llvm::reverse(cols)) {
    contiguous &= strides[d] == expect;
    expect *= shape[d];
  }
  if (contiguous)
    return layout;
  // Output rows inside a padded buffer: [.., rows, width] with unit
  // stride along the row.
  if (cols.size() != 2 || strides[cols[1]] != 1)
    return std::nullopt;
  layout.width = shape[cols[1]];
  layout.pitch = strides[cols[0]];
  return layout;
}

/// The finite f32 constant `v` is, if any.
std::optional<float> constantOf(Value v) {
  FloatAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.getType().isF32())
    return std::nullopt;
  float f = attr.getValue().convertToFloat();
  if (f != f)
    return std::nullopt;
  return f;
}

/// Whether the ops strictly between `from` and `to` (same block) leave the
/// GEMM's operands alone: views, pure ops, arena calls (`releases` gets the
/// releases) and fills (`fills` gets them) of buffers that overlap none of
/// `kept`.
bool onlyHarmlessBetween(Operation *from, Operation *to, ArrayRef<Value> kept,
                         SmallVectorImpl<Operation *> &releases,
                         SmallVectorImpl<linalg::FillOp> &fills) {
  for (Operation *op = from->getNextNode(); op != to; op = op->getNextNode()) {
    // A fresh allocation (before the plan) writes no operand.
    if (isa<ViewLikeOpInterface, memref::CastOp, memref::AllocOp>(op) ||
        (op->getNumRegions() == 0 && isMemoryEffectFree(op)))
      continue;
    if (auto call = dyn_cast<func::CallOp>(op)) {
      if (call.getCallee() == "memc_rt_arena_release") {
        releases.push_back(op);
        continue;
      }
      if (call.getCallee() == "memc_rt_arena_view")
        continue;
      return false;
    }
    auto fill = dyn_cast<linalg::FillOp>(op);
    if (!fill || !fill.hasPureBufferSemantics())
      return false;
    for (Value v : kept)
      if (mayOverlap(fill.getDpsInits()[0], v))
        return false;
    fills.push_back(fill);
  }
  return true;
}

/// Fills `match.padFill` and its pads when one of `fills` (those between
/// the GEMM and the consumer) fills, with a constant, the whole buffer
/// whose interior D is ([.., M, rows, pitch], D's rows at a static offset).
void findPadFill(ArrayRef<linalg::FillOp> fills, memc::GemmEpilogueMatch &match,
                 int64_t m, int64_t n) {
  if (match.width == 0)
    return;
  Value root = rootBuffer(match.d);
  auto rootType = root ? dyn_cast<MemRefType>(root.getType()) : nullptr;
  SmallVector<int64_t> dStrides;
  int64_t dOffset;
  if (!rootType || !rootType.hasStaticShape() ||
      !rootType.getLayout().isIdentity() || rootType.getRank() < 2 ||
      !stridesOf(match.d.getType(), dStrides, dOffset))
    return;
  int64_t planeRows = rootType.getDimSize(rootType.getRank() - 2);
  int64_t pitch = rootType.getDimSize(rootType.getRank() - 1);
  int64_t rows = n / match.width;
  if (pitch != match.pitch || planeRows * pitch != match.ldd ||
      rootType.getNumElements() != m * match.ldd || dOffset >= match.ldd)
    return;
  int64_t top = dOffset / pitch, left = dOffset % pitch;
  int64_t bottom = planeRows - rows - top, right = pitch - match.width - left;
  if (bottom < 0 || right < 0)
    return;
  for (linalg::FillOp fill : fills) {
    if (fill.getDpsInits()[0] != root)
      continue;
    std::optional<float> value = constantOf(fill.getInputs()[0]);
    if (!value)
      return;
    match.padFill = fill;
    match.pads[0] = top;
    match.pads[1] = bottom;
    match.pads[2] = left;
    match.pads[3] = right;
    match.padValue = *value;
    return;
  }
}

} // namespace

std::optional<memc::GemmEpilogueMatch>
memc::matchGemmEpilogue(Operation *gemm, Value c, int64_t m, int64_t n,
                        int64_t ldc, ArrayRef<Value> reads) {
  Value cRoot = rootBuffer(c);
  if (!cRoot || isa<BlockArgument>(cRoot))
    return std::nullopt; // an argument (a program output) is read later
  // The consumer is C's first user after the GEMM. Later users are
  // allowed only when it finishes C in place (checked below): they read
  // what the fused GEMM stores.
  Block *block = gemm->getBlock();
  llvm::SmallPtrSet<Operation *, 4> others;
  Operation *first = nullptr;
  // Before the plan, the zero fill that the GEMM's beta of 0 replaces is
  // still there.
  linalg::FillOp zeroFill;
  if (auto generic = dyn_cast<linalg::GenericOp>(gemm))
    zeroFill = zeroFillOfOutput(generic, c);
  for (Operation *user : memc::usersThroughViews(cRoot)) {
    // Freeing a heap C (memc.scratch) reads nothing.
    if (user == gemm || user == zeroFill || isa<memref::DeallocOp>(user))
      continue;
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!inBlock || inBlock == gemm || !gemm->isBeforeInBlock(inBlock))
      return std::nullopt;
    others.insert(inBlock);
    if (!first || inBlock->isBeforeInBlock(first))
      first = inBlock;
  }
  auto consumer = dyn_cast_or_null<linalg::GenericOp>(first);
  if (!consumer || !consumer.hasPureBufferSemantics() ||
      consumer.hasIndexSemantics() || consumer.getNumDpsInits() != 1 ||
      consumer.getNumParallelLoops() != consumer.getNumLoops())
    return std::nullopt;

  // The operands: C (once), and at most a bias and an addend.
  OpOperand *cIn = nullptr;
  for (OpOperand *input : consumer.getDpsInputOperands())
    if (rootBuffer(input->get()) == cRoot) {
      if (cIn)
        return std::nullopt;
      cIn = input;
    }
  OpOperand *out = consumer.getDpsInitOperand(0);
  if (!cIn)
    return std::nullopt;
  // In place: the consumer writes C where it reads it (a bias and ReLU
  // over a convolution's output that a pooling reads next), and the fused
  // GEMM stores the finished elements in C itself. Otherwise C's only
  // reader is the consumer.
  bool inPlace = rootBuffer(out->get()) == cRoot;
  if ((inPlace && out->get().getType() != cIn->get().getType()) ||
      (!inPlace && others.size() != 1))
    return std::nullopt;
  auto cType = dyn_cast<MemRefType>(cIn->get().getType());
  SmallVector<int64_t> cStrides, gemmStrides;
  int64_t cOffset, gemmOffset;
  if (!cType || !cType.getElementType().isF32() ||
      !consumer.getMatchingIndexingMap(cIn).isIdentity() ||
      !stridesOf(cType, cStrides, cOffset) ||
      !stridesOf(c.getType(), gemmStrides, gemmOffset) || cOffset != gemmOffset)
    return std::nullopt;
  std::optional<unsigned> split = rowRanks(cType, m, n, ldc);
  if (!split)
    return std::nullopt;

  GemmEpilogueMatch match;
  match.consumer = consumer;
  match.lo = -std::numeric_limits<float>::infinity();
  match.hi = std::numeric_limits<float>::infinity();
  // The destination and an addend: C's shape, plain maps.
  auto sameShape = [&](OpOperand *operand) {
    auto type = dyn_cast<MemRefType>(operand->get().getType());
    return type && type.getShape() == cType.getShape() &&
           consumer.getMatchingIndexingMap(operand).isIdentity();
  };
  if (!sameShape(out) ||
      !cast<MemRefType>(out->get().getType()).getElementType().isF32())
    return std::nullopt;
  std::optional<Layout> dLayout = layoutOf(out->get().getType(), *split);
  if (!dLayout)
    return std::nullopt;
  match.d = out->get();
  match.ldd = dLayout->ld;
  match.width = dLayout->width;
  match.pitch = dLayout->pitch;
  int64_t rowRank = dLayout->rowRank; // D has C's shape

  // The body: a chain from C's element through each of these at most once,
  // in this order: + bias, addend +, maximumf with a constant, minimumf
  // with a constant.
  Block &body = consumer.getRegion().front();
  Value v = body.getArgument(cIn->getOperandNumber());
  enum Step { None, Bias, Addend, Max, Min } last = None;
  for (Operation &op : body.without_terminator()) {
    if (op.getNumOperands() != 2 || op.getNumResults() != 1 ||
        !llvm::is_contained(op.getOperands(), v) || !v.hasOneUse())
      return std::nullopt;
    Value other = op.getOperand(op.getOperand(0) == v ? 1 : 0);
    if (isa<arith::MaximumFOp, arith::MinimumFOp>(op)) {
      std::optional<float> bound = constantOf(other);
      bool isMax = isa<arith::MaximumFOp>(op);
      if (!bound || last >= (isMax ? Max : Min))
        return std::nullopt;
      (isMax ? match.lo : match.hi) = *bound;
      last = isMax ? Max : Min;
    } else if (std::optional<float> cst = constantOf(other);
               isa<arith::AddFOp>(op) && cst && last < Bias) {
      match.biasConstant = *cst;
      last = Bias;
    } else if (isa<arith::AddFOp>(op)) {
      auto arg = dyn_cast<BlockArgument>(other);
      if (!arg || arg.getOwner() != &body ||
          arg.getArgNumber() >= consumer.getNumDpsInputs())
        return std::nullopt;
      OpOperand *operand = consumer.getDpsInputOperand(arg.getArgNumber());
      if (operand == cIn)
        return std::nullopt;
      AffineMap map = consumer.getMatchingIndexingMap(operand);
      auto type = cast<MemRefType>(operand->get().getType());
      if (!type.getElementType().isF32())
        return std::nullopt;
      if (last < Bias && !map.isIdentity()) {
        // A bias: one value per row of C (its M rank, or a constant).
        SmallVector<int64_t> strides;
        int64_t offset;
        if (!stridesOf(type, strides, offset))
          return std::nullopt;
        // The runtime reads bias[i]: the M rank must move it by 1 (a
        // single value for all rows is a bias only when M is 1).
        bool byRow = rowRank < 0;
        for (auto [j, e] : llvm::enumerate(map.getResults())) {
          if (auto cst = dyn_cast<AffineConstantExpr>(e)) {
            if (cst.getValue() != 0)
              return std::nullopt;
            continue;
          }
          auto dim = dyn_cast<AffineDimExpr>(e);
          if (!dim || (int64_t(dim.getPosition()) != rowRank &&
                       cType.getDimSize(dim.getPosition()) != 1))
            return std::nullopt;
          if (int64_t(dim.getPosition()) == rowRank) {
            if (strides[j] != 1)
              return std::nullopt;
            byRow = true;
          }
        }
        if (!byRow)
          return std::nullopt;
        match.bias = operand->get();
        last = Bias;
      } else if (last < Addend && sameShape(operand)) {
        // Contiguous rows, or output rows in a padded buffer (a residual
        // that is also a convolution's padded input).
        std::optional<Layout> layout = layoutOf(type, *split);
        if (!layout || mayOverlap(operand->get(), c))
          return std::nullopt;
        match.addend = operand->get();
        match.ldAddend = layout->ld;
        match.addendWidth = layout->width;
        match.addendPitch = layout->pitch;
        last = Addend;
      } else {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
    v = op.getResult(0);
  }
  if (body.getTerminator()->getOperand(0) != v)
    return std::nullopt;
  // Every input is one the chain used.
  for (OpOperand *input : consumer.getDpsInputOperands())
    if (input != cIn && input->get() != match.bias &&
        input->get() != match.addend)
      return std::nullopt;

  // The fused GEMM writes D where the consumer did, and reads its operands
  // there: nothing in between may write them, and D may not overlap them.
  SmallVector<Value> kept(reads.begin(), reads.end());
  for (Value r : kept)
    if (mayOverlap(match.d, r))
      return std::nullopt;
  if (!inPlace && mayOverlap(match.d, c))
    return std::nullopt;
  kept.push_back(c);
  SmallVector<linalg::FillOp> fills;
  if (!onlyHarmlessBetween(gemm, consumer, kept, match.releases, fills))
    return std::nullopt;
  findPadFill(fills, match, m, n);
  return match;
}

SmallVector<Operation *>
memc::usersThroughViews(Value root, SmallVectorImpl<Operation *> *views) {
  SmallVector<Operation *> users;
  SmallVector<Value> work = {root};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      auto view = dyn_cast<ViewLikeOpInterface>(user);
      if ((view && view.getViewSource() == v) || isa<memref::CastOp>(user)) {
        if (views)
          views->push_back(user);
        work.append(user->result_begin(), user->result_end());
        continue;
      }
      users.push_back(user);
    }
  }
  return users;
}

void memc::dissolveGemmEpilogue(Operation *gemmEpilogue) {
  Block &body = gemmEpilogue->getRegion(0).front();
  BlockArgument scratch = body.getArgument(0);
  OpBuilder b(gemmEpilogue);
  auto alloc = memref::AllocOp::create(b, scratch.getLoc(),
                                       cast<MemRefType>(scratch.getType()));
  MemcDialect::ScratchAttrHelper(b.getContext())
      .setAttr(alloc, b.getUnitAttr());
  scratch.replaceAllUsesWith(alloc.getResult());
  for (Operation &op : llvm::make_early_inc_range(body))
    op.moveBefore(gemmEpilogue);
  gemmEpilogue->erase();
}

void memc::dissolveGemmEpilogues(Operation *root) {
  SmallVector<GemmEpilogueOp> pairs;
  root->walk([&](GemmEpilogueOp op) { pairs.push_back(op); });
  for (GemmEpilogueOp op : pairs)
    dissolveGemmEpilogue(op);
}

bool memc::buffersMayOverlap(Value a, Value b) { return mayOverlap(a, b); }

Value memc::sourceOfViews(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewLikeOpInterface>())
    buffer = view.getViewSource();
  return buffer;
}

bool memc::isGemmScratch(Value buffer) {
  auto alloc = sourceOfViews(buffer).getDefiningOp<memref::AllocOp>();
  return alloc && MemcDialect::ScratchAttrHelper(alloc.getContext())
                      .isAttrPresent(alloc);
}

bool memc::isWeightView(Value buffer, func::FuncOp entry) {
  auto arg = dyn_cast<BlockArgument>(sourceOfViews(buffer));
  return arg && entry && arg.getOwner() == &entry.getBody().front() &&
         getArgRole(entry, arg.getArgNumber()) == ArgRole::Weight;
}

std::optional<memc::PackedAGemm> memc::matchPackedAGemm(linalg::GenericOp op,
                                                        func::FuncOp entry,
                                                        int64_t minFlops) {
  // As memc-contractions-to-blas chooses: a plain GEMM calls the packed-A
  // kernel when A is a weight and B is not (a weight B packs B instead);
  // the fused call takes one product whose B is not transposed.
  if (std::optional<GemmMatch> gemm = matchGemm(op)) {
    if (!gemm->elem.isF32() || gemm->m * gemm->n * gemm->k < minFlops ||
        isWeightView(gemm->b, entry) || !isWeightView(gemm->a, entry) ||
        gemm->batch != 1 || gemm->viewB.transposed)
      return std::nullopt;
    return PackedAGemm{
        gemm->c, gemm->m, gemm->n, gemm->viewC.ld, {gemm->a, gemm->b}};
  }
  if (op.getNumDpsInputs() != 2)
    return std::nullopt;
  for (unsigned windowed : {0u, 1u}) {
    if (!isWeightView(op.getDpsInputs()[1 - windowed], entry))
      continue;
    std::optional<WindowGemmMatch> gemm = matchWindowGemm(op, windowed);
    if (!gemm || gemm->m * gemm->n * gemm->k < minFlops)
      continue;
    return PackedAGemm{
        gemm->c, gemm->m, gemm->n, gemm->viewC.ld, {gemm->a, gemm->x}};
  }
  return std::nullopt;
}
