//===- AttentionToGPU.cpp - einsum.attention -> one fused GPU kernel ------===//
//
// FlashAttention's recurrence (REFERENCES: FuseMax's 1-pass cascade) as one
// kernel in f32 on CUDA cores. A block owns `rows` queries of one batch x
// head; `lanes` consecutive threads own one query row and split its keys
// (scores) and value columns (numerator) between them, so a row's maximum
// and denominator are combined with log2(lanes) shuffles and no block-wide
// reduction. Q's tile is read from global memory once; every K/V tile is
// read once per block into shared memory, with rows padded by one float so
// that the 8 rows a warp reads down a column fall in different banks.
//
// Why CUDA cores and not tensor cores yet: memc keeps f32 semantics (no
// TF32), and no GPU has been available to measure a 3xTF32 mma version
// against this one (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "memc/Analysis/AttentionKernelTiles.h"

#include <cmath>
#include <limits>

namespace memc {
#define GEN_PASS_DEF_ATTENTIONTOGPU
#include "passes/Passes.h.inc"
} // namespace memc

using namespace mlir;
using memc::einsum::AttentionOp;

namespace {

class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(float(v)));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return y ? add(x, index(y)) : x; }
  Value mul(Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, index(y));
  }
  Value div(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, index(y));
  }
  Value rem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, index(y));
  }
  Value min(Value x, int64_t y) {
    return arith::MinUIOp::create(b, loc, x, index(y));
  }
  Value fma(Value x, Value y, Value acc) {
    return math::FmaOp::create(b, loc, x, y, acc);
  }
  Value fmax(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value exp2(Value x) { return math::Exp2Op::create(b, loc, x); }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(Value v, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, loc, v, memref, indices);
  }
  void barrier() { gpu::BarrierOp::create(b, loc); }

  /// `op` combined over the `lanes` consecutive lanes of a row (xor
  /// shuffles stay inside an aligned group of `lanes`).
  Value rowReduce(Value v, int64_t lanes,
                  function_ref<Value(Value, Value)> combine) {
    for (int64_t offset = lanes / 2; offset >= 1; offset /= 2) {
      auto shuffle = gpu::ShuffleOp::create(b, loc, v, int32_t(offset),
                                            /*width=*/32,
                                            gpu::ShuffleMode::XOR);
      v = combine(v, shuffle.getShuffleResult());
    }
    return v;
  }

  /// for (i = start; i < end; i += step) body(i): the block's threads
  /// striding over a tile's elements.
  void forStrided(Value start, int64_t end, int64_t step,
                  function_ref<void(Value)> body) {
    auto loop = scf::ForOp::create(b, loc, start, index(end), index(step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    body(loop.getInductionVar());
  }

  /// A loop over [0, count) carrying `inits`; `body` returns the next
  /// values. Returns the last ones.
  SmallVector<Value> forCarrying(Value count, ValueRange inits,
                                 function_ref<SmallVector<Value>(
                                     Value, ValueRange)>
                                     body) {
    auto loop = scf::ForOp::create(b, loc, index(0), count, index(1), inits);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> next =
          body(loop.getInductionVar(), loop.getRegionIterArgs());
      scf::YieldOp::create(b, loc, next);
    }
    return loop.getResults();
  }

  OpBuilder &b;
  Location loc;
};

struct AttentionToGPUPass
    : memc::impl::AttentionToGPUBase<AttentionToGPUPass> {
  LogicalResult lower(AttentionOp op);

  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation().walk([&](AttentionOp op) { ops.push_back(op); });
    for (AttentionOp op : ops)
      if (failed(lower(op)))
        return signalPassFailure();
  }
};

LogicalResult AttentionToGPUPass::lower(AttentionOp op) {
  if (op.hasPureTensorSemantics())
    return op.emitError("memc-attention-to-gpu: runs after bufferization "
                        "(einsum.attention on memrefs)");
  auto qType = cast<MemRefType>(op.getQuery().getType());
  auto vType = cast<MemRefType>(op.getValue().getType());
  int64_t batch = qType.getDimSize(0), P = qType.getDimSize(1),
          D = qType.getDimSize(2);
  int64_t M = cast<MemRefType>(op.getKey().getType()).getDimSize(1),
          F = vType.getDimSize(2);
  std::optional<memc::AttentionKernelTiles> tiles =
      memc::chooseAttentionKernelTiles(P, D, F);
  if (!tiles)
    return op.emitError("memc-attention-to-gpu: head sizes ")
           << D << " and " << F << " need more than "
           << memc::kAttentionSharedLimit
           << " bytes of shared memory for the smallest tiles";
  if (batch > 65535)
    return op.emitError("memc-attention-to-gpu: ")
           << batch << " batch x heads exceed the grid's y dimension (65535)";
  const int64_t R = tiles->rows, BK = tiles->keys, G = tiles->lanes,
                T = tiles->threads;
  const int64_t keysPerLane = BK / G, colsPerLane = F / G;
  std::optional<int64_t> maskedFrom = op.getMaskedFrom();

  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  OpBuilder b(op);
  KernelBuilder k(b, loc);
  Type f32 = b.getF32Type();
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](int64_t rows, int64_t cols) -> Type {
    return MemRefType::get({rows, cols}, f32, MemRefLayoutAttrInterface{},
                           workgroup);
  };
  Value one = k.index(1);
  auto launch = gpu::LaunchOp::create(
      b, loc, k.index((P + R - 1) / R), k.index(batch), one, k.index(T), one,
      one, /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{},
      TypeRange{shared(R, D + 1), shared(BK, D + 1), shared(BK, F),
                shared(R, BK + 1)});
  Block &body = launch.getBody().front();
  b.setInsertionPointToEnd(&body);
  gpu::TerminatorOp::create(b, loc);
  b.setInsertionPointToStart(&body);
  ArrayRef<BlockArgument> smem = launch.getWorkgroupAttributions();
  Value qs = smem[0], ks = smem[1], vs = smem[2], ps = smem[3];
  Value Q = op.getQuery(), K = op.getKey(), V = op.getValue(),
        O = op.getOutput();

  Value tid = launch.getThreadIds().x;
  Value bi = launch.getBlockIds().y;
  Value row = k.div(tid, G), lane = k.rem(tid, G);
  Value p0 = k.mul(launch.getBlockIds().x, R);
  Value p = k.add(p0, row);

  // Q's tile, pre-scaled so that softmax's exp is one exp2. Rows past P
  // read row P-1 (finite) and are never stored.
  Value qScale = k.f32(op.getScale().convertToDouble() * M_LOG2E);
  k.forStrided(tid, R * D, T, [&](Value i) {
    Value r = k.div(i, D), c = k.rem(i, D);
    Value v = k.load(Q, {bi, k.min(k.add(p0, r), P - 1), c});
    k.store(arith::MulFOp::create(b, loc, v, qScale), qs, {r, c});
  });

  // K/V tiles up to the block's last visible key.
  Value tileCount = k.index((M + BK - 1) / BK);
  if (maskedFrom) {
    Value end = arith::MinSIOp::create(
        b, loc, k.index(M), k.add(p0, R - 1 + *maskedFrom));
    tileCount = k.div(k.add(end, BK - 1), BK);
  }
  // This lane's keys within a K/V tile and its value columns: lane,
  // lane + G, ... (consecutive lanes read consecutive shared-memory rows and
  // columns).
  SmallVector<Value> keyRow, colRow;
  for (int64_t j = 0; j < keysPerLane; ++j)
    keyRow.push_back(k.add(lane, j * G));
  for (int64_t c = 0; c < colsPerLane; ++c)
    colRow.push_back(k.add(lane, c * G));
  const double negInf = -std::numeric_limits<double>::infinity();
  SmallVector<Value> inits = {k.f32(negInf), k.f32(0.0)};
  inits.append(colsPerLane, k.f32(0.0));
  SmallVector<Value> last = k.forCarrying(
      tileCount, inits, [&](Value t, ValueRange carried) {
        Value m = carried[0], l = carried[1];
        SmallVector<Value> o(carried.drop_front(2));
        Value k0 = k.mul(t, BK);
        k.barrier(); // the previous tile's readers are done
        k.forStrided(tid, BK * D, T, [&](Value i) {
          Value r = k.div(i, D), c = k.rem(i, D);
          k.store(k.load(K, {bi, k.min(k.add(k0, r), M - 1), c}), ks, {r, c});
        });
        k.forStrided(tid, BK * F, T, [&](Value i) {
          Value r = k.div(i, F), c = k.rem(i, F);
          k.store(k.load(V, {bi, k.min(k.add(k0, r), M - 1), c}), vs, {r, c});
        });
        k.barrier();

        SmallVector<Value> s = k.forCarrying(
            k.index(D), SmallVector<Value>(keysPerLane, k.f32(0.0)),
            [&](Value e, ValueRange acc) {
              Value qv = k.load(qs, {row, e});
              SmallVector<Value> next;
              for (int64_t j = 0; j < keysPerLane; ++j)
                next.push_back(k.fma(qv, k.load(ks, {keyRow[j], e}), acc[j]));
              return next;
            });
        Value ninf = k.f32(negInf);
        Value rowMax = ninf;
        for (int64_t j = 0; j < keysPerLane; ++j) {
          Value key = k.add(k0, keyRow[j]);
          Value valid = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::ult, key, k.index(M));
          if (maskedFrom) {
            Value visible = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::slt,
                arith::SubIOp::create(b, loc, key, p), k.index(*maskedFrom));
            valid = arith::AndIOp::create(b, loc, valid, visible);
          }
          s[j] = arith::SelectOp::create(b, loc, valid, s[j], ninf);
          rowMax = k.fmax(rowMax, s[j]);
        }
        rowMax = k.rowReduce(rowMax, G,
                             [&](Value x, Value y) { return k.fmax(x, y); });
        Value mNext = k.fmax(m, rowMax);
        // Until a row has seen a visible key its maximum is -inf; subtract
        // 0 then, so exp2 gives 0 and not NaN.
        Value unseen = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                             mNext, ninf);
        Value ref = arith::SelectOp::create(b, loc, unseen, k.f32(0.0), mNext);
        Value alpha = k.exp2(arith::SubFOp::create(b, loc, m, ref));
        Value sum = k.f32(0.0);
        for (int64_t j = 0; j < keysPerLane; ++j) {
          Value w = k.exp2(arith::SubFOp::create(b, loc, s[j], ref));
          k.store(w, ps, {row, keyRow[j]});
          sum = arith::AddFOp::create(b, loc, sum, w);
        }
        sum = k.rowReduce(sum, G, [&](Value x, Value y) {
          return arith::AddFOp::create(b, loc, x, y);
        });
        Value lNext = k.fma(l, alpha, sum);
        for (Value &v : o)
          v = arith::MulFOp::create(b, loc, v, alpha);
        k.barrier(); // the row's weights, from all its lanes
        o = k.forCarrying(k.index(BK), o, [&](Value j, ValueRange acc) {
          Value w = k.load(ps, {row, j});
          SmallVector<Value> next;
          for (int64_t c = 0; c < colsPerLane; ++c)
            next.push_back(k.fma(w, k.load(vs, {j, colRow[c]}), acc[c]));
          return next;
        });
        SmallVector<Value> next = {mNext, lNext};
        next.append(o.begin(), o.end());
        return next;
      });

  // O = numerator / denominator, for the rows that exist.
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, p, k.index(P));
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  Value inv = arith::DivFOp::create(b, loc, k.f32(1.0), last[1]);
  for (int64_t c = 0; c < colsPerLane; ++c)
    k.store(arith::MulFOp::create(b, loc, last[2 + c], inv), O,
            {bi, p, colRow[c]});
  op.erase();
  return success();
}

} // namespace
