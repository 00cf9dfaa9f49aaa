//===- AttentionKernels.cpp - pieces both attention kernels use -----------===//
#include "memc/Target/CUDA/AttentionKernels.h"

using namespace mlir;

namespace memc {

void copyTile(KernelBuilder &k, Value src, Value bi, Value first, int64_t rows,
              int64_t cols, int64_t limit, Value dst, Value tid,
              int64_t threads, Value scale) {
  k.forStrided(tid, rows * cols, threads, [&](Value i) {
    Value r = k.div(i, cols), c = k.rem(i, cols);
    Value v = k.load(src, {bi, k.min(k.add(first, r), limit - 1), c});
    k.store(scale ? k.fmul(v, scale) : v, dst, {r, c});
  });
}

Value kvTileCount(KernelBuilder &k, const AttentionProblem &problem, Value p0,
                  int64_t blockRows, int64_t tileKeys) {
  if (!problem.maskedFrom)
    return k.index((problem.M + tileKeys - 1) / tileKeys);
  // The block's last query that exists (a decode step's one row, not the
  // tile's 16), as a sequence row.
  Value lastRow = arith::MinSIOp::create(k.b, k.loc, k.add(p0, blockRows - 1),
                                         k.index(problem.P - 1));
  if (problem.queryOffset)
    lastRow = k.add(lastRow, problem.queryOffset);
  Value end = arith::MinSIOp::create(k.b, k.loc, k.index(problem.M),
                                     k.add(lastRow, *problem.maskedFrom));
  return k.div(k.add(end, tileKeys - 1), tileKeys);
}

Value keyVisible(KernelBuilder &k, const AttentionProblem &problem, Value key,
                 Value p) {
  Value valid = arith::CmpIOp::create(k.b, k.loc, arith::CmpIPredicate::ult,
                                      key, k.index(problem.M));
  if (!problem.maskedFrom)
    return valid;
  if (problem.queryOffset)
    p = k.add(p, problem.queryOffset);
  Value visible = arith::CmpIOp::create(
      k.b, k.loc, arith::CmpIPredicate::slt,
      arith::SubIOp::create(k.b, k.loc, key, p), k.index(*problem.maskedFrom));
  return arith::AndIOp::create(k.b, k.loc, valid, visible);
}

Value addBias(KernelBuilder &k, const AttentionProblem &problem, Value score,
              Value bi, Value key) {
  if (!problem.bias)
    return score;
  Value bias = k.load(problem.bias, {bi, k.min(key, problem.M - 1)});
  return k.fma(bias, k.f32(M_LOG2E), score);
}

} // namespace memc
