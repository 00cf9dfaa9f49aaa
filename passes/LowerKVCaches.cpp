//===- LowerKVCaches.cpp - kv.append / kv.view -> tensor code -------------===//
//
// A contiguous append is one insert_slice at the position; a paged one
// writes token by token into the block the table gives each row. A view is
// built one of two ways:
//  - loops (the CPU): block by block up to the last row of the call, each
//    block decoded and inserted into a zero view, so no cache row past the
//    rows in use is touched, at the price of a trip count known only at
//    run time;
//  - parallel (GPU targets): one linalg.generic over the whole view, each
//    point reading its cache element (through the table) only when its row
//    is in use, zero otherwise. Static bounds make it one kernel of
//    BH x capacity x F threads instead of a one-thread loop nest.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "dialects/kv/KVDialect.h"
#include "memc/Transforms/KVCaches.h"
#include "memc/Transforms/StaticSlices.h"

namespace memc {
#define GEN_PASS_DEF_LOWERKVCACHES
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::kv;

namespace {

Value constantIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The pool block row `r`'s logical block `j` maps to, clamped into the
/// pool (a bad table entry reads and writes the spare, never past it).
Value blockAt(OpBuilder &b, Location loc, Value table, int64_t blocks, Value r,
              Value j) {
  Value raw = tensor::ExtractOp::create(b, loc, table, ValueRange{r, j});
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  index = arith::MaxSIOp::create(b, loc, index, constantIndex(b, loc, 0));
  return arith::MinSIOp::create(b, loc, index,
                                constantIndex(b, loc, blocks - 1));
}

/// Row r's token i (at position + i) goes to slot (position + i) % page of
/// the pool block its logical block (position + i) / page maps to.
Value appendPaged(OpBuilder &b, AppendOp op) {
  Location loc = op.getLoc();
  Value rows = op.getRows(), position = op.getPosition(), table = op.getTable();
  auto type = cast<RankedTensorType>(rows.getType());
  auto poolType = cast<RankedTensorType>(op.getCache().getType());
  int64_t page = poolType.getDimSize(1), blocks = poolType.getDimSize(0);
  auto c = [&](int64_t v) { return constantIndex(b, loc, v); };
  SmallVector<int64_t> piece(type.getShape());
  piece[0] = piece[1] = 1;
  auto perRow = scf::ForOp::create(
      b, loc, c(0), c(type.getDimSize(0)), c(1), ValueRange{op.getCache()},
      [&](OpBuilder &ob, Location ol, Value r, ValueRange outer) {
        auto perToken = scf::ForOp::create(
            ob, ol, c(0), c(type.getDimSize(1)), c(1), outer,
            [&](OpBuilder &ib, Location il, Value i, ValueRange inner) {
              Value at = arith::AddIOp::create(ib, il, position, i);
              Value j = arith::DivUIOp::create(ib, il, at, c(page));
              Value slot = arith::RemUIOp::create(ib, il, at, c(page));
              Value block = blockAt(ib, il, table, blocks, r, j);
              SmallVector<OpFoldResult> from(type.getRank(),
                                             ib.getIndexAttr(0));
              from[0] = r;
              from[1] = i;
              SmallVector<OpFoldResult> to(type.getRank(), ib.getIndexAttr(0));
              to[0] = block;
              to[1] = slot;
              Value token = memc::sliceAt(ib, il, rows, from, piece);
              scf::YieldOp::create(ib, il,
                                   memc::insertAt(ib, il, token, inner[0], to));
            });
        scf::YieldOp::create(ob, ol, perToken.getResult(0));
      });
  return perRow.getResult(0);
}

Value lowerAppend(OpBuilder &b, AppendOp op) {
  if (op.getTable())
    return appendPaged(b, op);
  auto type = cast<RankedTensorType>(op.getRows().getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  offsets[1] = op.getPosition();
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t n : type.getShape())
    sizes.push_back(b.getIndexAttr(n));
  return tensor::InsertSliceOp::create(b, op.getLoc(), op.getRows(),
                                       op.getCache(), offsets, sizes, strides);
}

/// The rows a view holds: up to the call's last row.
Value rowsInUse(OpBuilder &b, ViewOp op) {
  return arith::AddIOp::create(b, op.getLoc(), op.getPosition(),
                               constantIndex(b, op.getLoc(), op.getRows()));
}

/// The view built block by block over the blocks in use.
Value viewByLoops(OpBuilder &b, ViewOp op) {
  Location loc = op.getLoc();
  Value data = op.getCache(), scale = op.getScale(), table = op.getTable();
  auto viewType = cast<RankedTensorType>(op.getResult().getType());
  auto cacheType = cast<RankedTensorType>(data.getType());
  int64_t features = viewType.getDimSize(2), bh = viewType.getDimSize(0);
  int64_t capacity = viewType.getDimSize(1);
  int64_t block = table ? cacheType.getDimSize(1) : 0;
  if (!block)
    for (block = std::min<int64_t>(capacity, 64); capacity % block; --block)
      ;
  auto c = [&](int64_t v) { return constantIndex(b, loc, v); };
  Value zero = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(viewType,
                             b.getZeroAttr(viewType.getElementType())));
  Value end = arith::AddIOp::create(b, loc, rowsInUse(b, op), c(block - 1));
  Value used = arith::MinUIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, end, c(block)),
      c(capacity / block));
  // Contiguous: all batch x head rows of a block at once; paged: one row's
  // block at a time, through the table.
  int64_t rowsPerStep = table ? 1 : bh;
  auto perRow = scf::ForOp::create(
      b, loc, c(0), c(bh / rowsPerStep), c(1), ValueRange{zero},
      [&](OpBuilder &ob, Location ol, Value r, ValueRange outer) {
        auto perBlock = scf::ForOp::create(
            ob, ol, c(0), used, c(1), outer,
            [&](OpBuilder &ib, Location il, Value j, ValueRange inner) {
              Value first = arith::MulIOp::create(ib, il, j, c(block));
              SmallVector<OpFoldResult> at = {ib.getIndexAttr(0), first};
              if (table)
                at = {blockAt(ib, il, table, cacheType.getDimSize(0), r, j),
                      ib.getIndexAttr(0)};
              Value piece = memc::sliceAt(ib, il, data,
                                          {at[0], at[1], ib.getIndexAttr(0)},
                                          {rowsPerStep, block, features});
              Value pieceScale =
                  scale ? memc::sliceAt(ib, il, scale, at, {rowsPerStep, block})
                        : Value();
              Value rowsOf = memc::decodeKVRows(ib, il, piece, pieceScale);
              Value row = table ? r : Value(c(0));
              scf::YieldOp::create(
                  ib, il,
                  memc::insertAt(ib, il, rowsOf, inner[0],
                                 {row, first, ib.getIndexAttr(0)}));
            });
        scf::YieldOp::create(ob, ol, perBlock.getResult(0));
      });
  return perRow.getResult(0);
}

/// The view as one parallel linalg.generic: point (r, m, f...) reads its
/// cache element when row m is in use, else is zero.
Value viewInParallel(OpBuilder &b, ViewOp op) {
  Location loc = op.getLoc();
  Value data = op.getCache(), scale = op.getScale(), table = op.getTable();
  auto viewType = cast<RankedTensorType>(op.getResult().getType());
  auto cacheType = cast<RankedTensorType>(data.getType());
  int64_t rank = viewType.getRank();
  Value end = rowsInUse(b, op);
  Value init = tensor::EmptyOp::create(b, loc, viewType.getShape(),
                                       viewType.getElementType());
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{viewType}, ValueRange{}, ValueRange{init}, maps,
      iterators, [&](OpBuilder &gb, Location gl, ValueRange) {
        SmallVector<Value> at;
        for (int64_t d = 0; d < rank; ++d)
          at.push_back(linalg::IndexOp::create(gb, gl, d));
        Value inUse = arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::ult,
                                            at[1], end);
        Type f32 = gb.getF32Type();
        auto read = scf::IfOp::create(gb, gl, TypeRange{f32}, inUse,
                                      /*withElseRegion=*/true);
        {
          OpBuilder tb = OpBuilder::atBlockBegin(read.thenBlock());
          SmallVector<Value> element(at);
          if (table) {
            int64_t page = cacheType.getDimSize(1);
            Value j = arith::DivUIOp::create(tb, gl, at[1],
                                             constantIndex(tb, gl, page));
            element[0] =
                blockAt(tb, gl, table, cacheType.getDimSize(0), at[0], j);
            element[1] = arith::RemUIOp::create(tb, gl, at[1],
                                                constantIndex(tb, gl, page));
          }
          Value x = tensor::ExtractOp::create(tb, gl, data, element);
          Type elem = cacheType.getElementType();
          if (elem.isF16())
            x = arith::ExtFOp::create(tb, gl, f32, x);
          if (elem.isInteger(8)) {
            x = arith::SIToFPOp::create(tb, gl, f32, x);
            Value s = tensor::ExtractOp::create(
                tb, gl, scale, ValueRange{element[0], element[1]});
            x = arith::MulFOp::create(tb, gl, x, s);
          }
          scf::YieldOp::create(tb, gl, x);
        }
        {
          OpBuilder eb = OpBuilder::atBlockBegin(read.elseBlock());
          scf::YieldOp::create(
              eb, gl,
              arith::ConstantOp::create(eb, gl, eb.getZeroAttr(f32))
                  .getResult());
        }
        linalg::YieldOp::create(gb, gl, read.getResult(0));
      });
  return generic.getResult(0);
}

struct LowerKVCachesPass
    : public memc::impl::LowerKVCachesBase<LowerKVCachesPass> {
  using LowerKVCachesBase::LowerKVCachesBase;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<AppendOp, ViewOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      OpBuilder b(op);
      Value lowered;
      if (auto append = dyn_cast<AppendOp>(op))
        lowered = lowerAppend(b, append);
      else if (parallel)
        lowered = viewInParallel(b, cast<ViewOp>(op));
      else
        lowered = viewByLoops(b, cast<ViewOp>(op));
      op->getResult(0).replaceAllUsesWith(lowered);
      op->erase();
    }
  }
};

} // namespace
