//===- TrainOptions.h - memc --train's flags --------------------*- C++ -*-===//
//
// The spelling of --loss, --optimizer and --trainable (DESIGN.md
// "Training"), parsed and checked before any work: a bad value is one line
// naming the flag and the value, never a failure deep in the compile.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_DRIVER_TRAINOPTIONS_H
#define MEMC_DRIVER_TRAINOPTIONS_H

#include "memc/ExitCodes.h"
#include "memc/Import/ONNXImporter.h"

#include <string>
#include <vector>

namespace memc {

/// An optimizer and its hyperparameters (PyTorch's names and defaults).
struct OptimizerConfig {
  std::string kind = "adamw"; ///< sgd | adamw | adam8bit | apollo | galore
  double lr = 1e-3;
  double momentum = 0;    ///< sgd
  bool nesterov = false;  ///< sgd
  double beta1 = 0.9;     ///< adamw
  double beta2 = 0.999;   ///< adamw
  double eps = 1e-8;      ///< adamw
  double weightDecay = 0; ///< sgd: 0 by default; adamw: 0.01
  int64_t block = 2048;   ///< adam8bit: elements per absmax block
  int64_t rank = 128;     ///< apollo, galore: projection rank
  int64_t period = 200;   ///< apollo, galore: steps between refreshes
  double scale = 1.0;     ///< apollo, galore: the update's factor
  std::string spelling;   ///< the flag's text, for the manifest and report
};

/// One line of --optimizer-layouts: the weights whose whole name matches
/// `regex` keep their optimizer state as `layout` says (adamw | adam8bit |
/// apollo | galore, with that layout's keys only).
struct LayoutRule {
  std::string regex;
  OptimizerConfig layout;
};

struct TrainOptions {
  bool enabled = false;
  std::string loss = "cross-entropy"; ///< cross-entropy | mse | output
  std::string lossOutput;             ///< --loss=KIND:NAME
  OptimizerConfig optimizer;
  TrainableSpec trainable;
  std::vector<LayoutRule> layouts; ///< --optimizer-layouts, in file order
  /// --remat: who decides keep/recompute/swap under --mem-budget (auto,
  /// milp, greedy) or a fixed baseline (chen, recompute-all, swap-all,
  /// keep).
  std::string remat = "auto";
};

/// Parses `--optimizer=NAME[:k=v,...]`. Returns ExitOK, or ExitUsage with
/// `error` one line naming the key or value at fault.
ExitCode parseOptimizer(const std::string &text, OptimizerConfig &out,
                        std::string &error);
/// Parses `--optimizer-layouts=FILE`: one rule a line, `REGEX LAYOUT`
/// (blank lines and `#` comments skipped), LAYOUT one of adamw,
/// adam8bit[:block=B], apollo[:rank=R,period=T,scale=A],
/// galore[:rank=R,period=T,scale=A]. The --optimizer must be of Adam's
/// family (it gives lr, betas, eps and weight decay). Exit 3 when FILE
/// cannot be read, else ExitUsage naming the file and line.
ExitCode parseOptimizerLayouts(const std::string &path,
                               const OptimizerConfig &optimizer,
                               std::vector<LayoutRule> &out,
                               std::string &error);
/// The rules as memc-apply-optimizer's `layouts` option:
/// `LAYOUT[:k=v,...] REGEX` joined by ';'.
std::string layoutsOption(const std::vector<LayoutRule> &rules);
/// Parses `--loss=KIND[:OUTPUT]`.
ExitCode parseLoss(const std::string &text, TrainOptions &out,
                   std::string &error);
/// Parses `--trainable=all|@FILE|NAME,...` (FILE: one name a line; exit 3
/// when it cannot be read) and `--frozen=REGEX` into `out.trainable`.
ExitCode parseTrainable(const std::string &text, const std::string &frozen,
                        TrainOptions &out, std::string &error);

} // namespace memc

#endif
