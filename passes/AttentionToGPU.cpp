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
// Where the chip has TF32 mma (sm_80 on) and the head sizes allow it, the
// tensor-core kernel (AttentionMmaKernel.cpp) is generated instead; this one
// serves sm_70/75, other head sizes, and `tensor-cores=false`, which is
// also how the two are measured against each other (docs/cuda.md).
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"

#include "memc/Target/CUDA/AttentionKernels.h"

#include <limits>

namespace memc {
#define GEN_PASS_DEF_ATTENTIONTOGPU
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using memc::AttentionProblem;
using memc::KernelBuilder;
using memc::einsum::AttentionOp;

namespace {

/// The CUDA-core kernel for `tiles`; the builder is before the op.
void buildSimtKernel(KernelBuilder &k, const AttentionProblem &problem,
                     const memc::AttentionKernelTiles &tiles);

struct AttentionToGPUPass : memc::impl::AttentionToGPUBase<AttentionToGPUPass> {
  using AttentionToGPUBase::AttentionToGPUBase;
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
  AttentionProblem problem{
      op.getQuery(),
      op.getKey(),
      op.getValue(),
      op.getOutput(),
      op.getBias(),
      qType.getDimSize(0),
      qType.getDimSize(1),
      qType.getDimSize(2),
      cast<MemRefType>(op.getKey().getType()).getDimSize(1),
      cast<MemRefType>(op.getValue().getType()).getDimSize(2),
      op.getScale().convertToDouble(),
      op.getMaskedFrom(),
      op.getQueryOffset()};
  if (problem.batch > 65535)
    return op.emitError("memc-attention-to-gpu: ")
           << problem.batch
           << " batch x heads exceed the grid's y dimension (65535)";
  std::optional<memc::AttentionMmaTiles> mmaTiles =
      tensorCores
          ? memc::chooseAttentionMmaTiles(problem.P, problem.D, problem.F)
          : std::nullopt;
  std::optional<memc::AttentionKernelTiles> tiles =
      memc::chooseAttentionKernelTiles(problem.P, problem.D, problem.F);
  if (!mmaTiles && !tiles)
    return op.emitError("memc-attention-to-gpu: head sizes ")
           << problem.D << " and " << problem.F << " need more than "
           << memc::kAttentionSharedLimit
           << " bytes of shared memory for the smallest tiles";
  OpBuilder b(op);
  KernelBuilder k(b, op.getLoc());
  if (mmaTiles)
    memc::buildMmaAttentionKernel(k, problem, *mmaTiles);
  else
    buildSimtKernel(k, problem, *tiles);
  op.erase();
  return success();
}

void buildSimtKernel(KernelBuilder &k, const AttentionProblem &problem,
                     const memc::AttentionKernelTiles &tiles) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  const int64_t P = problem.P, D = problem.D, M = problem.M, F = problem.F;
  const int64_t R = tiles.rows, BK = tiles.keys, G = tiles.lanes,
                T = tiles.threads;
  const int64_t keysPerLane = BK / G, colsPerLane = F / G;
  gpu::LaunchOp launch =
      k.launch((P + R - 1) / R, problem.batch, 1, T,
               {k.sharedTile(R, D + 1), k.sharedTile(BK, D + 1),
                k.sharedTile(BK, F), k.sharedTile(R, BK + 1)});
  ArrayRef<BlockArgument> smem = launch.getWorkgroupAttributions();
  Value qs = smem[0], ks = smem[1], vs = smem[2], ps = smem[3];

  Value tid = launch.getThreadIds().x;
  Value bi = launch.getBlockIds().y;
  Value row = k.div(tid, G), lane = k.rem(tid, G);
  Value p0 = k.mul(launch.getBlockIds().x, R);
  Value p = k.add(p0, row);

  // Q's tile, pre-scaled so that softmax's exp is one exp2.
  memc::copyTile(k, problem.query, bi, p0, R, D, P, qs, tid, T,
                 k.f32(problem.scale * M_LOG2E));

  Value tileCount = memc::kvTileCount(k, problem, p0, R, BK);
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
  SmallVector<Value> last =
      k.forCarrying(tileCount, inits, [&](Value t, ValueRange carried) {
        Value m = carried[0], l = carried[1];
        SmallVector<Value> o(carried.drop_front(2));
        Value k0 = k.mul(t, BK);
        k.barrier(); // the previous tile's readers are done
        memc::copyTile(k, problem.key, bi, k0, BK, D, M, ks, tid, T);
        memc::copyTile(k, problem.value, bi, k0, BK, F, M, vs, tid, T);
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
          Value visible = memc::keyVisible(k, problem, key, p);
          s[j] =
              k.select(visible, memc::addBias(k, problem, s[j], bi, key), ninf);
          rowMax = k.fmax(rowMax, s[j]);
        }
        rowMax = k.groupReduce(rowMax, G,
                               [&](Value x, Value y) { return k.fmax(x, y); });
        Value mNext = k.fmax(m, rowMax);
        // Until a row has seen a visible key its maximum is -inf; subtract
        // 0 then, so exp2 gives 0 and not NaN.
        Value unseen = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                             mNext, ninf);
        Value ref = k.select(unseen, k.f32(0.0), mNext);
        Value alpha = k.exp2(k.fsub(m, ref));
        Value sum = k.f32(0.0);
        for (int64_t j = 0; j < keysPerLane; ++j) {
          Value w = k.exp2(k.fsub(s[j], ref));
          k.store(w, ps, {row, keyRow[j]});
          sum = k.fadd(sum, w);
        }
        sum = k.groupReduce(sum, G,
                            [&](Value x, Value y) { return k.fadd(x, y); });
        Value lNext = k.fma(l, alpha, sum);
        for (Value &v : o)
          v = k.fmul(v, alpha);
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
    k.store(k.fmul(last[2 + c], inv), problem.output, {bi, p, colRow[c]});
}

} // namespace
