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
#include <iterator>
#include <map>
#include <set>

namespace memc::plan {

bool isRematSolver(const std::string &name) {
  return std::find(std::begin(kRematSolvers), std::end(kRematSolvers),
                   name) != std::end(kRematSolvers);
}

std::string rematSolverList(const char *lastSeparator) {
  std::string list;
  size_t n = std::size(kRematSolvers);
  for (size_t i = 0; i < n; ++i)
    list += std::string(i == 0       ? ""
                        : i + 1 == n ? lastSeparator
                                     : ", ") +
            kRematSolvers[i];
  return list;
}

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

/// Whether value `w` is in the arena at step `t` because of its own choice:
/// still live from the forward, kept and not yet dead, or recomputed for its
/// own reads at `own` <= t.
bool presentAt(const RematValue &w, RematChoice choice, int64_t own,
               int64_t t) {
  if (w.made <= t && t <= w.lastForwardUse)
    return true;
  if (!w.saved())
    return false;
  int64_t last = w.backwardUses.back();
  if (choice == RematChoice::Keep)
    return w.made <= t && t <= last;
  if (choice == RematChoice::Recompute)
    return own <= t && t <= last;
  return false;
}

/// evaluate() plus the value whose recompute has no way to get an input.
RematPlan evaluateWithFailure(const RematProblem &problem,
                              std::vector<RematChoice> choice, bool reuseLinks,
                              int &failed) {
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

  // Each recomputed value's own point: its first backward read, or with
  // reuseLinks the first point whose chain needs it, if earlier.
  std::vector<int64_t> own(n, -1);
  std::multimap<int64_t, int> pending;
  for (size_t v = 0; v < n; ++v) {
    const RematValue &value = problem.values[v];
    if (choice[v] == RematChoice::Swap && (!value.saved() || !value.swappable)) {
      plan.feasible = false;
      plan.why = "'" + value.name + "' cannot be swapped";
      failed = int(v);
      choice[v] = RematChoice::Keep;
      continue;
    }
    if (choice[v] != RematChoice::Recompute)
      continue;
    if (!value.saved() || !value.recomputable) {
      plan.feasible = false;
      plan.why = "'" + value.name + "' cannot be recomputed";
      failed = int(v);
      choice[v] = RematChoice::Keep;
      continue;
    }
    own[v] = value.backwardUses.front();
    pending.insert({own[v], int(v)});
  }
  // The values made at each point, inputs first.
  std::map<int64_t, std::vector<int>> chains;
  for (auto [t, v] : pending) {
    if (own[v] != t)
      continue; // made earlier, for a chain
    std::vector<int> &chain = chains[t];
    std::set<int> inChain(chain.begin(), chain.end());
    std::function<bool(int)> need = [&](int u) -> bool {
      if (inChain.count(u))
        return true;
      for (int w : problem.values[u].inputs) {
        const RematValue &wv = problem.values[w];
        if (inChain.count(w))
          continue;
        bool recomputed = choice[w] == RematChoice::Recompute;
        // Made at this very point for its own reads: before its readers.
        bool madeHere = recomputed && own[w] == t;
        if (!madeHere && presentAt(wv, choice[w], own[w], t))
          continue;
        if (!wv.recomputable)
          return false;
        if (reuseLinks && recomputed && own[w] > t)
          own[w] = t;
        if (!need(w))
          return false;
      }
      inChain.insert(u);
      chain.push_back(u);
      return true;
    };
    if (!need(v)) {
      plan.feasible = false;
      plan.why = "recomputing '" + problem.values[v].name +
                 "' needs an input that is neither kept nor recomputable";
      failed = v;
    }
  }

  for (size_t v = 0; v < n; ++v) {
    const RematValue &value = problem.values[v];
    add(value.made, value.lastForwardUse, value.bytes);
    if (!value.saved())
      continue;
    int64_t last = value.backwardUses.back();
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
      add(own[v], last, value.bytes);
      break;
    }
  }
  for (auto &[t, chain] : chains)
    for (int u : chain) {
      plan.recomputations.push_back({t, u});
      plan.extraSeconds += problem.values[u].recomputeCost;
      // A link that is not made here for its own reads lives at t only.
      if (!(choice[u] == RematChoice::Recompute && own[u] == t))
        add(t, t, problem.values[u].bytes);
    }

  plan.load.resize(steps);
  int64_t load = 0;
  for (int64_t s = 0; s < steps; ++s) {
    load += delta[s];
    plan.load[s] = uint64_t(std::max<int64_t>(load, 0)) +
                   (size_t(s) < problem.fixedLoad.size() ? problem.fixedLoad[s]
                                                         : 0);
    plan.peakBytes = std::max(plan.peakBytes, plan.load[s]);
  }
  plan.choice = std::move(choice);
  plan.madeAt = std::move(own);
  return plan;
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
                   bool reuseLinks, const std::string &solver) {
  for (;;) {
    int failed = -1;
    RematPlan plan = evaluateWithFailure(problem, c, reuseLinks, failed);
    if (failed < 0) {
      plan.solver = solver;
      return plan;
    }
    c[failed] = RematChoice::Keep;
  }
}

} // namespace

RematPlan evaluate(const RematProblem &problem,
                   std::vector<RematChoice> choice, bool reuseLinks) {
  int failed = -1;
  return evaluateWithFailure(problem, std::move(choice), reuseLinks, failed);
}

RematPlan keepAll(const RematProblem &problem) {
  RematPlan plan = evaluate(problem, {});
  plan.solver = "keep";
  return plan;
}

RematPlan solveGreedy(const RematProblem &problem, uint64_t budget) {
  RematPlan plan = keepAll(problem);
  plan.solver = "greedy";
  double over = excess(plan.load, budget);
  while (over > 0) {
    // The first step at the peak: what is there only because it is kept.
    int64_t peakStep =
        std::max_element(plan.load.begin(), plan.load.end()) -
        plan.load.begin();
    double bestScore = 0;
    RematPlan best;
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
            (!value.swappable ||
             std::binary_search(value.backwardUses.begin(),
                                value.backwardUses.end(), peakStep)))
          continue;
        std::vector<RematChoice> c = plan.choice;
        c[v] = alt;
        int failed = -1;
        RematPlan trial = evaluateWithFailure(problem, c, false, failed);
        if (failed >= 0)
          continue;
        double trialOver = excess(trial.load, budget);
        double gain = over - trialOver;
        if (gain <= 0)
          continue;
        double cost = std::max(trial.extraSeconds - plan.extraSeconds, 1e-12);
        double score = gain / cost;
        if (score > bestScore) {
          bestScore = score;
          best = std::move(trial);
          bestOver = trialOver;
        }
      }
    }
    if (bestScore <= 0)
      break;
    best.solver = "greedy";
    plan = std::move(best);
    over = bestOver;
  }
  return plan;
}

namespace {
/// `choice` for every saved value `eligible` allows, the others kept.
template <typename Eligible>
std::vector<RematChoice> everySaved(const RematProblem &problem,
                                    RematChoice choice, Eligible eligible) {
  std::vector<RematChoice> c(problem.values.size(), RematChoice::Keep);
  for (size_t v = 0; v < c.size(); ++v)
    if (problem.values[v].saved() && eligible(problem.values[v]))
      c[v] = choice;
  return c;
}
} // namespace

RematPlan recomputeAll(const RematProblem &problem) {
  return repaired(
      problem,
      everySaved(problem, RematChoice::Recompute,
                 [](const RematValue &v) { return v.recomputable; }),
      /*reuseLinks=*/true, "recompute-all");
}

RematPlan swapAll(const RematProblem &problem) {
  return repaired(problem,
                  everySaved(problem, RematChoice::Swap,
                             [](const RematValue &v) { return v.swappable; }),
                  /*reuseLinks=*/false, "swap-all");
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
  return repaired(problem, std::move(c), /*reuseLinks=*/true, "chen");
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
