//===- MilpBuilder.cpp - Binary programs for COIN-OR CBC ------------------===//

#include "MilpBuilder.h"

#ifdef MEMC_HAVE_CBC

#include <algorithm>

#include <coin/Cbc_C_Interface.h>

namespace memc::plan::detail {

void MilpBuilder::solve(double seconds, int maxNodes,
                        std::vector<double> &solution, bool &optimal,
                        bool &timedOut, bool &infeasible) const {
  Cbc_Model *model = Cbc_newModel();
  Cbc_setLogLevel(model, 0);
  for (size_t c = 0; c < objective_.size(); ++c)
    Cbc_addCol(model, "", 0.0, upper_[c], objective_[c], 1, 0, nullptr,
               nullptr);
  for (const Row &row : rows_) {
    std::vector<int> cols;
    std::vector<double> coefs;
    for (auto [c, a] : row.terms) {
      cols.push_back(c);
      coefs.push_back(a);
    }
    Cbc_addRow(model, "", int(cols.size()), cols.data(), coefs.data(),
               row.sense, row.rhs);
  }
  Cbc_setMaximumSeconds(model, std::max(seconds, 0.01));
  if (maxNodes > 0)
    Cbc_setMaximumNodes(model, maxNodes);
  Cbc_setAllowableFractionGap(model, 1e-6);
  Cbc_solve(model);
  optimal = Cbc_isProvenOptimal(model);
  infeasible = Cbc_isProvenInfeasible(model);
  timedOut = Cbc_isSecondsLimitReached(model);
  if (Cbc_numberSavedSolutions(model) > 0 || optimal) {
    const double *x = Cbc_getColSolution(model);
    solution.assign(x, x + objective_.size());
  }
  Cbc_deleteModel(model);
}

} // namespace memc::plan::detail

#endif // MEMC_HAVE_CBC
