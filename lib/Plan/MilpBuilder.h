//===- MilpBuilder.h - Binary programs for COIN-OR CBC ----------*- C++ -*-===//
//
// Internal to lib/Plan, and only built with CBC (MEMC_HAVE_CBC). The
// recompute/swap MILP and the spill MILP state their programs as sparse
// rows over binary columns and hand them to CBC's C interface here.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_PLAN_MILPBUILDER_H
#define MEMC_LIB_PLAN_MILPBUILDER_H

#ifdef MEMC_HAVE_CBC

#include <cstddef>
#include <utility>
#include <vector>

namespace memc::plan::detail {

/// Sparse rows and binary columns (minimized), then one CBC model.
class MilpBuilder {
public:
  /// A column in [0, upper] (upper 0 fixes it), integral; its index.
  int addBinary(double objective, double upper = 1.0) {
    objective_.push_back(objective);
    upper_.push_back(upper);
    return int(objective_.size()) - 1;
  }
  /// sum(coef * column) `sense` rhs, with sense 'L', 'G' or 'E'.
  void addRow(std::vector<std::pair<int, double>> terms, char sense,
              double rhs) {
    rows_.push_back({std::move(terms), sense, rhs});
  }
  size_t numColumns() const { return objective_.size(); }

  /// Solves within `seconds` and, when `maxNodes` > 0, that many branch and
  /// bound nodes (a limit that, unlike the clock, gives the same answer on
  /// every machine); fills `solution` when CBC found one.
  void solve(double seconds, int maxNodes, std::vector<double> &solution,
             bool &optimal, bool &timedOut, bool &infeasible) const;

private:
  struct Row {
    std::vector<std::pair<int, double>> terms;
    char sense;
    double rhs;
  };
  std::vector<double> objective_, upper_;
  std::vector<Row> rows_;
};

} // namespace memc::plan::detail

#endif // MEMC_HAVE_CBC

#endif // MEMC_LIB_PLAN_MILPBUILDER_H
