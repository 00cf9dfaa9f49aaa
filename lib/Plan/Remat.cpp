//===- Remat.cpp - Evaluating remat plans; the greedy and the baselines ---===//
//
// Remat.h states the model. evaluate() is the one definition of what a
// choice costs: every solver's answer goes through it, so the MILP's
// objective, the greedy's moves and the baselines are compared on the same
// terms.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Remat.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

namespace memc::plan {

const char *toString(RematChoice choice) {
  switch (choice) {
  case RematChoice::Keep:
    return "keep";
  case RematChoice::Recompute:
    return "recompute";
  case RematChoice::Swap:
    return "swap";
  }
  return "keep";
}

namespace {

/// Whether value `w` is in the arena at step `t` because of its own choice
/// (kept and not yet dead, or recomputed at or before t for its own reads).
bool presentAt(const RematValue &w, RematChoice choice, int64_t t) {
  if (w.made <= t && t <= w.lastForwardUse)
    return true;
  if (!w.saved())
    return false;
  int64_t last = w.backwardUses.back();
  if (choice == RematChoice::Keep)
    return w.made <= t && t <= last;
  if (choice == RematChoice::Recompute)
    return w.backwardUses.front() <= t && t <= last;
  return false;
}

/// evaluate() plus the value whose recompute has no way to get an input.
RematPlan evaluateWithFailure(const RematProblem &problem,
                              std::vector<RematChoice> choice, int &failed) {
  failed = -1;
  RematPlan plan;
  size_t n = problem.values.size();
  choice.resize(n, RematChoice::Keep);
  int64_t steps = problem.numSteps;
  std::vector<int64_t> delta(steps + 1, 0);
  auto add = [&](int64_t from, int64_t to, uint64_t bytes) {
    from = std::max<int64_t>(from, 0);
    to = std::min<int64_t>(to, steps - 1);
    if (from > to)
      return;
    delta[from] += int64_t(bytes);
    delta[to + 1] -= int64_t(bytes);
  };

  // Recompute points: the values recomputed at each step, inputs first.
  std::map<int64_t, std::vector<int>> chains;
  for (size_t v = 0; v < n; ++v) {
    const RematValue &value = problem.values[v];
    if (choice[v] != RematChoice::Recompute)
      continue;
    if (!value.saved() || !value.recomputable) {
      plan.feasible = false;
      plan.why = "'" + value.name + "' cannot be recomputed";
      failed = int(v);
      choice[v] = RematChoice::Keep;
      continue;
    }
    int64_t t = value.backwardUses.front();
    std::vector<int> &chain = chains[t];
    std::set<int> inChain(chain.begin(), chain.end());
    std::function<bool(int)> need = [&](int u) -> bool {
      if (inChain.count(u))
        return true;
      const RematValue &uv = problem.values[u];
      for (int w : uv.inputs) {
        const RematValue &wv = problem.values[w];
        if (inChain.count(w))
          continue;
        // Recomputed at this very point for its own reads: made here,
        // before its readers.
        bool madeHere = choice[w] == RematChoice::Recompute && wv.saved() &&
                        wv.backwardUses.front() == t;
        if (!madeHere && presentAt(wv, choice[w], t))
          continue;
        if (!wv.recomputable)
          return false;
        if (!need(w))
          return false;
      }
      inChain.insert(u);
      chain.push_back(u);
      return true;
    };
    if (!need(int(v))) {
      plan.feasible = false;
      plan.why = "recomputing '" + value.name +
                 "' needs an input that is neither kept nor recomputable";
      failed = int(v);
    }
  }

  for (size_t v = 0; v < n; ++v) {
    const RematValue &value = problem.values[v];
    add(value.made, value.lastForwardUse, value.bytes);
    if (!value.saved())
      continue;
    int64_t first = value.backwardUses.front(), last = value.backwardUses.back();
    switch (choice[v]) {
    case RematChoice::Keep:
      add(value.lastForwardUse + 1, last, value.bytes);
      break;
    case RematChoice::Swap:
      for (int64_t u : value.backwardUses)
        add(u, u, value.bytes);
      plan.extraSeconds += value.swapCost;
      break;
    case RematChoice::Recompute:
      add(first, last, value.bytes);
      break;
    }
  }
  for (auto &[t, chain] : chains)
    for (int u : chain) {
      plan.recomputations.push_back({t, u});
      plan.extraSeconds += problem.values[u].recomputeCost;
      const RematValue &uv = problem.values[u];
      // A link that is not recomputed for its own reads at t lives at t
      // only.
      bool own = choice[u] == RematChoice::Recompute && uv.saved() &&
                 uv.backwardUses.front() == t;
      if (!own)
        add(t, t, uv.bytes);
    }

  int64_t load = 0;
  for (int64_t s = 0; s < steps; ++s) {
    load += delta[s];
    uint64_t total = uint64_t(std::max<int64_t>(load, 0)) +
                     (size_t(s) < problem.fixedLoad.size() ? problem.fixedLoad[s]
                                                           : 0);
    plan.peakBytes = std::max(plan.peakBytes, total);
  }
  plan.choice = std::move(choice);
  return plan;
}

/// Per-step loads of a plan (the same accounting as evaluate()).
std::vector<uint64_t> loads(const RematProblem &problem,
                            const RematPlan &plan) {
  int64_t steps = problem.numSteps;
  std::vector<int64_t> delta(steps + 1, 0);
  auto add = [&](int64_t from, int64_t to, uint64_t bytes) {
    from = std::max<int64_t>(from, 0);
    to = std::min<int64_t>(to, steps - 1);
    if (from > to)
      return;
    delta[from] += int64_t(bytes);
    delta[to + 1] -= int64_t(bytes);
  };
  for (size_t v = 0; v < problem.values.size(); ++v) {
    const RematValue &value = problem.values[v];
    add(value.made, value.lastForwardUse, value.bytes);
    if (!value.saved())
      continue;
    switch (plan.choice[v]) {
    case RematChoice::Keep:
      add(value.lastForwardUse + 1, value.backwardUses.back(), value.bytes);
      break;
    case RematChoice::Swap:
      for (int64_t u : value.backwardUses)
        add(u, u, value.bytes);
      break;
    case RematChoice::Recompute:
      add(value.backwardUses.front(), value.backwardUses.back(), value.bytes);
      break;
    }
  }
  for (auto [t, u] : plan.recomputations) {
    const RematValue &uv = problem.values[u];
    bool own = plan.choice[u] == RematChoice::Recompute &&
               uv.backwardUses.size() && uv.backwardUses.front() == t;
    if (!own)
      add(t, t, uv.bytes);
  }
  std::vector<uint64_t> out(steps);
  int64_t load = 0;
  for (int64_t s = 0; s < steps; ++s) {
    load += delta[s];
    out[s] = uint64_t(std::max<int64_t>(load, 0)) +
             (size_t(s) < problem.fixedLoad.size() ? problem.fixedLoad[s] : 0);
  }
  return out;
}

/// Bytes over the budget, summed over steps: what the greedy drives to 0.
double excess(const std::vector<uint64_t> &load, uint64_t budget) {
  double sum = 0;
  for (uint64_t l : load)
    if (l > budget)
      sum += double(l - budget);
  return sum;
}

/// Turns recomputes that have no way to get an input into keeps until the
/// plan is feasible.
RematPlan repaired(const RematProblem &problem, std::vector<RematChoice> c,
                   const std::string &solver) {
  for (;;) {
    int failed = -1;
    RematPlan plan = evaluateWithFailure(problem, c, failed);
    if (failed < 0) {
      plan.solver = solver;
      return plan;
    }
    c[failed] = RematChoice::Keep;
  }
}

} // namespace

RematPlan evaluate(const RematProblem &problem,
                   std::vector<RematChoice> choice) {
  int failed = -1;
  return evaluateWithFailure(problem, std::move(choice), failed);
}

RematPlan keepAll(const RematProblem &problem) {
  RematPlan plan = evaluate(problem, {});
  plan.solver = "keep";
  return plan;
}

RematPlan solveGreedy(const RematProblem &problem, uint64_t budget) {
  RematPlan plan = keepAll(problem);
  plan.solver = "greedy";
  std::vector<uint64_t> load = loads(problem, plan);
  double over = excess(load, budget);
  while (over > 0) {
    // The first step at the peak: what is there only because it is kept.
    int64_t peakStep =
        std::max_element(load.begin(), load.end()) - load.begin();
    double bestScore = 0;
    RematPlan best;
    std::vector<uint64_t> bestLoad;
    double bestOver = over;
    for (size_t v = 0; v < problem.values.size(); ++v) {
      const RematValue &value = problem.values[v];
      if (!value.saved() || plan.choice[v] != RematChoice::Keep ||
          peakStep <= value.lastForwardUse ||
          peakStep > value.backwardUses.back())
        continue;
      for (RematChoice alt : {RematChoice::Swap, RematChoice::Recompute}) {
        if (alt == RematChoice::Recompute &&
            (!value.recomputable || peakStep >= value.backwardUses.front()))
          continue;
        if (alt == RematChoice::Swap &&
            std::binary_search(value.backwardUses.begin(),
                               value.backwardUses.end(), peakStep))
          continue;
        std::vector<RematChoice> c = plan.choice;
        c[v] = alt;
        int failed = -1;
        RematPlan trial = evaluateWithFailure(problem, c, failed);
        if (failed >= 0)
          continue;
        std::vector<uint64_t> trialLoad = loads(problem, trial);
        double trialOver = excess(trialLoad, budget);
        double gain = over - trialOver;
        if (gain <= 0)
          continue;
        double cost = std::max(trial.extraSeconds - plan.extraSeconds, 1e-12);
        double score = gain / cost;
        if (score > bestScore) {
          bestScore = score;
          best = std::move(trial);
          bestLoad = std::move(trialLoad);
          bestOver = trialOver;
        }
      }
    }
    if (bestScore <= 0)
      break;
    best.solver = "greedy";
    plan = std::move(best);
    load = std::move(bestLoad);
    over = bestOver;
  }
  return plan;
}

RematPlan recomputeAll(const RematProblem &problem) {
  std::vector<RematChoice> c(problem.values.size(), RematChoice::Keep);
  for (size_t v = 0; v < c.size(); ++v)
    if (problem.values[v].saved() && problem.values[v].recomputable)
      c[v] = RematChoice::Recompute;
  return repaired(problem, std::move(c), "recompute-all");
}

RematPlan solveChen(const RematProblem &problem, int64_t segments) {
  std::vector<int> saved;
  for (size_t v = 0; v < problem.values.size(); ++v)
    if (problem.values[v].saved())
      saved.push_back(int(v));
  std::stable_sort(saved.begin(), saved.end(), [&](int a, int b) {
    return problem.values[a].made < problem.values[b].made;
  });
  int64_t n = int64_t(saved.size());
  if (segments <= 0)
    segments = std::max<int64_t>(1, int64_t(std::ceil(std::sqrt(double(n)))));
  std::vector<RematChoice> c(problem.values.size(), RematChoice::Keep);
  for (int64_t i = 0; i < n; ++i) {
    // Value i is the last of its segment when the next one starts another.
    bool last = i + 1 == n || (i * segments) / n != ((i + 1) * segments) / n;
    if (!last && problem.values[saved[i]].recomputable)
      c[saved[i]] = RematChoice::Recompute;
  }
  return repaired(problem, std::move(c), "chen");
}

RematPlan solveRemat(const RematProblem &problem, uint64_t budget,
                     double timeLimitSeconds, size_t milpMaxValues) {
  RematPlan keep = keepAll(problem);
  if (keep.peakBytes <= budget)
    return keep;
  size_t saved = std::count_if(problem.values.begin(), problem.values.end(),
                               [](const RematValue &v) { return v.saved(); });
  bool timedOut = false;
  if (haveMilpSolver() && saved <= milpMaxValues) {
    RematPlan milp = solveMilp(problem, budget, timeLimitSeconds);
    if (milp.feasible && milp.peakBytes <= budget)
      return milp;
    timedOut = milp.timedOut;
  }
  RematPlan greedy = solveGreedy(problem, budget);
  greedy.timedOut = timedOut;
  return greedy;
}

} // namespace memc::plan
