//===- FuseMaxAttention.cpp - 3-pass softmax attention -> 1-pass cascade --===//
//
// Exporters write attention as `softmax(mod(Q·K)) · V`: a contraction for
// the scores, elementwise modifiers (a scale by Div or Mul, an additive
// mask, a Where with a fill value), softmax (which the importer spells as
// its 3-pass cascade max / sub-exp / sum / div) and a second contraction.
// Materializing the scores takes memory quadratic in the sequence.
//
// This pass rewrites the whole chain to FuseMax's 1-pass cascade (REFERENCES:
// FlashAttention-2's recurrence): the key rank M is split into M1 x M0 and an
// `einsum.iterate` over M1 carries the running maximum RM, the running
// denominator RD and the running numerator RNV; the division by RD is
// deferred to the end. The query rank P is split too (an outer iterate over
// P1 whose result is the output, written one query tile at a time), so one
// step works on a [batch, P0, M0] tile that stays in cache, and causal
// attention can skip the K/V tiles a constant triangular mask hides
// entirely. Only tiles of the scores ever exist.
//
// The match (memc/Transforms/FuseMax/AttentionMatch.h) is by data flow on
// the einsum IR, whatever the exporter's spelling. On CPUs the chain becomes
// the cascade of einsum ops above (CascadeRewrite.h); for GPUs
// (`kernel=true`) it becomes one einsum.attention (KernelForm.h), which
// memc-attention-to-gpu turns into a fused kernel. The module records how
// many chains were fused and, per chain, the passes over the key rank
// before and after, for the report.
//
//===----------------------------------------------------------------------===//
#include "memc/Transforms/Passes.h"
#include "dialects/memc/ProgramInterface.h"

#include "dialects/einsum/EinsumDialect.h"
#include "memc/Analysis/PassCount.h"
#include "memc/Transforms/FuseMax/AttentionMatch.h"
#include "memc/Transforms/FuseMax/CascadeRewrite.h"
#include "memc/Transforms/FuseMax/KernelForm.h"

namespace memc {
#define GEN_PASS_DEF_FUSEMAXATTENTION
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;
using namespace memc::einsum;
namespace fusemax = memc::fusemax;

namespace {

/// The ops of the matched chain in block order: the original cascade, for
/// its pass count and for erasing it once replaced.
SmallVector<Operation *> cascadeOps(const fusemax::Attention &a) {
  SmallVector<Operation *> before = {a.qk};
  for (const fusemax::Modifier &m : a.modifiers)
    before.push_back(m.op);
  before.append({a.max});
  before.append(a.reshapes.begin(), a.reshapes.end());
  before.append({a.subExp, a.sum, a.div, a.av});
  llvm::sort(before,
             [](Operation *x, Operation *y) { return x->isBeforeInBlock(y); });
  return before;
}

struct FuseMaxAttentionPass
    : memc::impl::FuseMaxAttentionBase<FuseMaxAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<EinsumOp> candidates;
    module.walk([&](EinsumOp op) {
      if (fusemax::isContraction(op) && !op->getParentOfType<IterateOp>())
        candidates.push_back(op);
    });
    SmallVector<memc::FuseMaxCascade> cascades;
    for (EinsumOp av : candidates) {
      fusemax::Attention a;
      std::string why;
      if (!fusemax::matchAttention(av, a, why)) {
        if (remarks && !why.empty())
          av.emitRemark("attention not fused: ") << why;
        continue;
      }
      SmallVector<Operation *> before = cascadeOps(a);
      int64_t passesBefore = memc::countPassesOver(before, a.scores, a.dimM);

      OpBuilder b(ctx);
      int64_t kvTile = 0, queryTile = 0, passesAfter = 1, laneCount = 1;
      bool skips = false;
      Value result;
      if (kernel) {
        b.setInsertionPoint(av);
        std::optional<fusemax::KernelForm> form =
            fusemax::buildKernelForm(a, b, why);
        if (!form) {
          if (remarks)
            av.emitRemark("attention not fused: ") << why;
          continue;
        }
        result = form->result;
        kvTile = form->tiles.keys;
        queryTile = form->tiles.rows;
        skips = form->maskedFrom.has_value();
      } else {
        fusemax::Cascade cascade =
            fusemax::buildCascade(a, b, tileSize, queryTileSize, lanes);
        IterateOp outer = cascade.outer;
        IterateOp inner;
        outer.walk([&](IterateOp it) {
          if (it != outer)
            inner = it;
        });
        passesAfter = memc::countPassesOverIterate({outer}, inner);
        result = cascade.result;
        kvTile = cascade.kvTile;
        queryTile = cascade.queryTile;
        laneCount = cascade.lanes;
        skips = a.maskedFrom.has_value();
      }
      if (remarks)
        av.emitRemark("fused attention: ")
            << (kernel ? "one einsum.attention kernel" : "1-pass cascade")
            << " over " << kvTile << "-key tiles and " << queryTile
            << "-query tiles" << (skips ? ", skipping fully masked tiles" : "")
            << (laneCount > 1 ? ", in " + std::to_string(laneCount) + " lanes"
                              : std::string())
            << " (passes over the key rank: " << passesBefore << " -> "
            << passesAfter << ")";
      av.getResult().replaceAllUsesWith(result);
      // Erase the cascade from the output backwards.
      for (Operation *op : llvm::reverse(before))
        if (op->use_empty())
          op->erase();
      memc::FuseMaxCascade facts;
      facts.form = kernel ? "kernel" : "cascade";
      facts.rank = "m";
      facts.queryTile = queryTile;
      facts.kvTile = kvTile;
      facts.passesBefore = passesBefore;
      facts.passesAfter = passesAfter;
      facts.causalSkip = skips;
      facts.lanes = laneCount;
      cascades.push_back(std::move(facts));
    }
    memc::setFuseMaxFacts(module, cascades);
  }
};

} // namespace
