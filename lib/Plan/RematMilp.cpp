//===- RematMilp.cpp - The keep/recompute/swap decision as a MILP (CBC) ---===//
//
// Checkmate's formulation (REFERENCES.md) with recomputation at each saved
// value's first backward read, as memc carries it out, and POET's swap as
// a third choice. Binary variables:
//   k_v, s_v, r_v   per saved value: kept, swapped, recomputed at t_v (its
//                   first backward read); k_v + s_v + r_v = 1.
//   c_{u,t}         value u recomputed at point t as a link of another's
//                   chain (r_u itself when t = t_u).
// A recompute at t (r_v or c_{u,t}) needs each input w of the op present
// at t: sum of k_w (kept and still live at t), r_w (recomputed for its own
// reads at or before t and live at t), c_{w,t} >= the recompute. Memory at
// each step s: the fixed load plus the forward lifetimes plus
//   bytes_v * (k_v on (lastForwardUse, lastBackwardUse], s_v at each
//   backward read, r_v on [t_v, lastBackwardUse]) + bytes_u * c_{u,t} at t
// is at most the budget. Objective: recompute seconds plus copy seconds.
// The solution's choices go through evaluate(), which rebuilds the chains
// minimally, so its cost is at most the MILP's objective.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Remat.h"

#include "MilpBuilder.h"

#include <algorithm>
#include <map>

namespace memc::plan {

#ifndef MEMC_HAVE_CBC

bool haveMilpSolver() { return false; }

RematPlan solveMilp(const RematProblem &, uint64_t, double, unsigned) {
  RematPlan plan;
  plan.solver = "milp";
  plan.feasible = false;
  plan.why = "this build has no MILP solver (COIN-OR CBC)";
  return plan;
}

#else

bool haveMilpSolver() { return true; }

RematPlan solveMilp(const RematProblem &problem, uint64_t budget,
                    double timeLimitSeconds, unsigned maxChain) {
  const std::vector<RematValue> &values = problem.values;
  size_t n = values.size();
  detail::MilpBuilder milp;
  // Costs in milliseconds keep CBC's tolerances meaningful.
  constexpr double kScale = 1e3;
  std::vector<int> keep(n, -1), swap(n, -1), recompute(n, -1);
  for (size_t v = 0; v < n; ++v) {
    const RematValue &value = values[v];
    if (!value.saved())
      continue;
    keep[v] = milp.addBinary(0.0);
    swap[v] = milp.addBinary(value.swapCost * kScale,
                             value.swappable ? 1.0 : 0.0);
    recompute[v] = milp.addBinary(value.recomputeCost * kScale,
                                  value.recomputable ? 1.0 : 0.0);
    milp.addRow({{keep[v], 1.0}, {swap[v], 1.0}, {recompute[v], 1.0}}, 'E',
                1.0);
  }

  // Chain variables per point, created as recomputes reach back.
  std::map<std::pair<int64_t, int>, int> link;
  std::vector<std::pair<int64_t, int>> pending; // (point, value) to expand
  std::map<int, unsigned> depth;                // column -> chain depth
  auto recomputeAt = [&](int u, int64_t t, unsigned d) -> int {
    const RematValue &uv = values[u];
    if (uv.saved() && uv.backwardUses.front() == t)
      return recompute[u];
    if (!uv.recomputable || d > maxChain)
      return -1;
    auto [it, inserted] = link.try_emplace({t, u}, -1);
    if (inserted) {
      it->second = milp.addBinary(uv.recomputeCost * kScale);
      depth[it->second] = d;
      pending.push_back({t, u});
    }
    return it->second;
  };
  std::vector<std::pair<int64_t, int>> work;
  for (size_t v = 0; v < n; ++v)
    if (values[v].saved() && values[v].recomputable)
      work.push_back({values[v].backwardUses.front(), int(v)});
  // Input presence rows for every recompute (own or link).
  auto presenceRows = [&](int64_t t, int u, int column, unsigned d) {
    for (int w : values[u].inputs) {
      const RematValue &wv = values[w];
      std::vector<std::pair<int, double>> terms{{column, 1.0}};
      if (wv.made <= t && t <= wv.lastForwardUse)
        continue; // still live from the forward
      if (wv.saved()) {
        if (wv.made <= t && t <= wv.backwardUses.back())
          terms.push_back({keep[w], -1.0});
        if (wv.backwardUses.front() < t && t <= wv.backwardUses.back())
          terms.push_back({recompute[w], -1.0});
      }
      if (int c = recomputeAt(w, t, d + 1); c >= 0)
        terms.push_back({c, -1.0});
      milp.addRow(std::move(terms), 'L', 0.0);
    }
  };
  for (auto [t, v] : work)
    presenceRows(t, v, recompute[v], 0);
  while (!pending.empty()) {
    auto [t, u] = pending.back();
    pending.pop_back();
    int column = link.at({t, u});
    presenceRows(t, u, column, depth[column]);
  }

  // Memory per step.
  int64_t steps = problem.numSteps;
  std::vector<std::vector<std::pair<int, double>>> rows(steps);
  std::vector<double> constant(steps, 0.0);
  for (int64_t s = 0; s < steps && size_t(s) < problem.fixedLoad.size(); ++s)
    constant[s] = double(problem.fixedLoad[s]);
  auto span = [&](int64_t from, int64_t to, int column, double bytes) {
    for (int64_t s = std::max<int64_t>(from, 0);
         s <= std::min<int64_t>(to, steps - 1); ++s) {
      if (column < 0)
        constant[s] += bytes;
      else
        rows[s].push_back({column, bytes});
    }
  };
  for (size_t v = 0; v < n; ++v) {
    const RematValue &value = values[v];
    double bytes = double(value.bytes);
    span(value.made, value.lastForwardUse, -1, bytes);
    if (!value.saved())
      continue;
    span(value.lastForwardUse + 1, value.backwardUses.back(), keep[v], bytes);
    for (int64_t u : value.backwardUses)
      span(u, u, swap[v], bytes);
    span(value.backwardUses.front(), value.backwardUses.back(), recompute[v],
         bytes);
  }
  for (auto [key, column] : link)
    span(key.first, key.first, column, double(values[key.second].bytes));
  RematPlan plan;
  plan.solver = "milp";
  for (int64_t s = 0; s < steps; ++s) {
    if (constant[s] > double(budget)) {
      plan.feasible = false;
      plan.why = "step " + std::to_string(s) + " needs " +
                 std::to_string(uint64_t(constant[s])) +
                 " bytes whatever is recomputed or swapped";
      return plan;
    }
    if (!rows[s].empty())
      milp.addRow(std::move(rows[s]), 'L', double(budget) - constant[s]);
  }

  std::vector<double> x;
  bool infeasible = false;
  milp.solve(timeLimitSeconds, /*maxNodes=*/0, x, plan.optimal, plan.timedOut,
             infeasible);
  if (x.empty()) {
    plan.feasible = false;
    plan.why = infeasible ? "no keep/recompute/swap choice fits the budget"
                          : "the MILP found no solution within its time limit";
    return plan;
  }
  std::vector<RematChoice> choice(n, RematChoice::Keep);
  for (size_t v = 0; v < n; ++v) {
    if (!values[v].saved())
      continue;
    if (x[swap[v]] > 0.5)
      choice[v] = RematChoice::Swap;
    else if (x[recompute[v]] > 0.5)
      choice[v] = RematChoice::Recompute;
  }
  bool optimal = plan.optimal, timedOut = plan.timedOut;
  plan = evaluate(problem, std::move(choice));
  plan.solver = "milp";
  plan.optimal = optimal;
  plan.timedOut = timedOut;
  return plan;
}

#endif // MEMC_HAVE_CBC

} // namespace memc::plan
