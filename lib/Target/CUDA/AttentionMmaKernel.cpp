//===- AttentionMmaKernel.cpp - fused attention on tensor cores -----------===//
//
// FlashAttention-2's loop (REFERENCES: FuseMax's 1-pass cascade) with both
// products on tensor cores: nvgpu.mma.sync m16n8k8 on TF32 operands, f32
// accumulators. Each warp owns 16 query rows of the block's tile; the block
// shares each K/V tile, copied once into shared memory.
//
// Both products are 3xTF32 (MmaBuilder in KernelBuilder.h: accuracy and
// the fragment layouts).
// The scores come out of Q·Kᵀ in C's layout, and the weights go into
// weights·V in A's: a lane's A values for keys 8c..8c+7 are held by lanes
// 4 * group + member/2 (a0, a1) and that + 2 (a2, a3), so eight index
// shuffles move them, with no shared memory and no barrier.
//
// Row statistics: a row's 8 keys of one mma live in its group's 4 lanes, so
// the row maximum is two xor shuffles; the denominator is kept as each
// lane's partial sum (every lane of a group rescales by the same factor) and
// summed across the group once, at the end.
//
//===----------------------------------------------------------------------===//
#include "memc/Target/CUDA/AttentionKernels.h"

#include <limits>

using namespace mlir;

namespace memc {

void buildMmaAttentionKernel(KernelBuilder &k, const AttentionProblem &problem,
                             const AttentionMmaTiles &tiles) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  MmaBuilder mb(k);
  const int64_t P = problem.P, D = problem.D, M = problem.M, F = problem.F;
  const int64_t R = 16 * tiles.warps, BK = tiles.keys, T = 32 * tiles.warps;
  const int64_t keyBlocks = BK / 8, colBlocks = F / 8;
  gpu::LaunchOp launch = k.launch((P + R - 1) / R, problem.batch, 1, T,
                                  {k.sharedTile(R, attentionMmaQKStride(D)),
                                   k.sharedTile(BK, attentionMmaQKStride(D)),
                                   k.sharedTile(BK, attentionMmaVStride(F))});
  ArrayRef<BlockArgument> smem = launch.getWorkgroupAttributions();
  Value qs = smem[0], ks = smem[1], vs = smem[2];

  Value tid = launch.getThreadIds().x;
  Value bi = launch.getBlockIds().y;
  Value lane = k.rem(tid, 32);
  Value group = k.div(lane, 4), member = k.rem(lane, 4);
  // The lane's two rows within the block's tile (fragment rows group and
  // group + 8 of its warp's 16) and in the sequence.
  Value rowA = k.add(k.mul(k.div(tid, 32), 16), group);
  Value rowB = k.add(rowA, 8);
  Value p0 = k.mul(launch.getBlockIds().x, R);
  Value pA = k.add(p0, rowA), pB = k.add(p0, rowB);
  Value pair = k.mul(member, 2); // first C column of the lane

  // Q's tile, pre-scaled so that softmax's exp is one exp2 (the first
  // barrier of the K/V loop orders these stores before any read).
  copyTile(k, problem.query, bi, p0, R, D, P, qs, tid, T,
           k.f32(problem.scale * M_LOG2E));
  Value tileCount = kvTileCount(k, problem, p0, R, BK);

  // The lanes holding this lane's A values of weights·V (see the header),
  // and which of their two C columns it takes.
  Value srcLo = arith::IndexCastUIOp::create(
      b, loc, b.getI32Type(), k.add(k.mul(group, 4), k.div(member, 2)));
  Value srcHi = arith::AddIOp::create(b, loc, srcLo, k.i32(2));
  Value odd = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                    k.rem(member, 2), k.index(0));
  Value width = k.i32(32);
  auto fromLane = [&](Value v, Value src) -> Value {
    return gpu::ShuffleOp::create(b, loc, v, src, width, gpu::ShuffleMode::IDX)
        .getShuffleResult();
  };

  const double negInf = -std::numeric_limits<double>::infinity();
  // Carried: row maxima (A, B), the lane's partial denominators (A, B), the
  // numerator's accumulators (one per 8 value columns).
  SmallVector<Value> inits = {k.f32(negInf), k.f32(negInf), k.f32(0.0),
                              k.f32(0.0)};
  inits.append(colBlocks, mb.zeroAccumulator());
  SmallVector<Value> last =
      k.forCarrying(tileCount, inits, [&](Value t, ValueRange carried) {
        Value k0 = k.mul(t, BK);
        k.barrier(); // the previous tile's readers are done
        copyTile(k, problem.key, bi, k0, BK, D, M, ks, tid, T);
        copyTile(k, problem.value, bi, k0, BK, F, M, vs, tid, T);
        k.barrier();

        // Scores: for 8 head dimensions at a time, Q's A fragment (loaded
        // and split once) against each 8-key block of K.
        SmallVector<Value> scores = k.forCarrying(
            k.index(D / 8), SmallVector<Value>(keyBlocks, mb.zeroAccumulator()),
            [&](Value e, ValueRange acc) {
              Value c0 = k.add(k.mul(e, 8), member), c1 = k.add(c0, 4);
              auto a = mb.splitFragment(
                  {k.load(qs, {rowA, c0}), k.load(qs, {rowB, c0}),
                   k.load(qs, {rowA, c1}), k.load(qs, {rowB, c1})});
              SmallVector<Value> next;
              for (int64_t j = 0; j < keyBlocks; ++j) {
                Value key = k.add(group, 8 * j);
                auto kb = mb.splitFragment(
                    {k.load(ks, {key, c0}), k.load(ks, {key, c1})});
                next.push_back(mb.mma3(a, kb, acc[j]));
              }
              return next;
            });

        // s[j][r][i]: row r (A, B), key 8j + 2 member + i of the tile.
        Value ninf = k.f32(negInf);
        Value p[2] = {pA, pB};
        SmallVector<Value> s[2][2];
        Value rowMax[2] = {ninf, ninf};
        for (int64_t j = 0; j < keyBlocks; ++j)
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t i = 0; i < 2; ++i) {
              Value key = k.add(k0, k.add(pair, 8 * j + i));
              Value x = k.select(
                  keyVisible(k, problem, key, p[r]),
                  addBias(k, problem, mb.element(scores[j], r, i), bi, key),
                  ninf);
              s[r][i].push_back(x);
              rowMax[r] = k.fmax(rowMax[r], x);
            }
        Value alpha[2], mNext[2], lNext[2];
        for (int64_t r = 0; r < 2; ++r) {
          Value m = carried[r];
          mNext[r] =
              k.fmax(m, k.groupReduce(rowMax[r], 4, [&](Value x, Value y) {
                return k.fmax(x, y);
              }));
          // Until a row has seen a visible key its maximum is -inf;
          // subtract 0 then, so exp2 gives 0 and not NaN.
          Value unseen = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OEQ, mNext[r], ninf);
          Value ref = k.select(unseen, k.f32(0.0), mNext[r]);
          alpha[r] = k.exp2(k.fsub(m, ref));
          Value sum = k.f32(0.0);
          for (int64_t i = 0; i < 2; ++i)
            for (Value &x : s[r][i]) {
              x = k.exp2(k.fsub(x, ref));
              sum = k.fadd(sum, x);
            }
          lNext[r] = k.fma(carried[2 + r], alpha[r], sum);
        }
        SmallVector<Value> next = {mNext[0], mNext[1], lNext[0], lNext[1]};

        Value scale =
            mb.fragment({alpha[0], alpha[0], alpha[1], alpha[1]}, 2, 2);
        SmallVector<Value> o;
        for (Value acc : carried.drop_front(4))
          o.push_back(arith::MulFOp::create(b, loc, acc, scale));
        // weights·V, 8 keys at a time: the weights' A fragment gathered from
        // the lanes that hold it, against each 8-column block of V.
        for (int64_t c = 0; c < keyBlocks; ++c) {
          Value lo[2][2], hi[2][2];
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t i = 0; i < 2; ++i) {
              lo[r][i] = fromLane(s[r][i][c], srcLo);
              hi[r][i] = fromLane(s[r][i][c], srcHi);
            }
          auto a = mb.splitFragment({k.select(odd, lo[0][1], lo[0][0]),
                                     k.select(odd, lo[1][1], lo[1][0]),
                                     k.select(odd, hi[0][1], hi[0][0]),
                                     k.select(odd, hi[1][1], hi[1][0])});
          Value key0 = k.add(member, 8 * c), key1 = k.add(key0, 4);
          for (int64_t n = 0; n < colBlocks; ++n) {
            Value col = k.add(group, 8 * n);
            auto vb = mb.splitFragment(
                {k.load(vs, {key0, col}), k.load(vs, {key1, col})});
            o[n] = mb.mma3(a, vb, o[n]);
          }
        }
        next.append(o.begin(), o.end());
        return next;
      });

  // O = numerator / denominator (the group's partial sums added), for the
  // rows that exist.
  Value rows[2] = {pA, pB};
  for (int64_t r = 0; r < 2; ++r) {
    Value l = k.groupReduce(last[2 + r], 4,
                            [&](Value x, Value y) { return k.fadd(x, y); });
    Value inv = arith::DivFOp::create(b, loc, k.f32(1.0), l);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          rows[r], k.index(P));
    auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard insertion(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    for (int64_t n = 0; n < colBlocks; ++n)
      for (int64_t i = 0; i < 2; ++i)
        k.store(k.fmul(mb.element(last[4 + n], r, i), inv), problem.output,
                {bi, rows[r], k.add(pair, 8 * n + i)});
  }
}

} // namespace memc
