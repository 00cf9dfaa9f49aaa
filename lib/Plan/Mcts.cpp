//===- Mcts.cpp - PUCT search on the mallocGame ---------------------------===//
//
// AlphaZero's search (PUCT over the network's priors), adapted to a
// single-player game whose returns are all close to each other (arena/LB of
// 1.00 to 1.10): Q values are min-max normalized over the tree (as in
// MuZero) before they meet the exploration term, and every complete episode
// a simulation produces is a plan, so the best one is kept, not only the
// one played move by move.
//
// Cost control for large programs: a decision with one legal move is played
// without search (most buffers have only the top), the work budget is
// shared equally by the remaining decisions, and above rolloutLimit buffers
// leaves are scored by the value network instead of a rollout to the end.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Mapper.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace memc::plan {
namespace {

constexpr double kPuct = 1.5;

struct Node {
  std::vector<GameMove> moves;
  std::vector<float> priors;
  std::vector<int> children; // Node index, -1 until visited.
  std::vector<int> visits;
  std::vector<double> totals;
  int visitSum = 0;
};

class Search {
public:
  Search(const MallocGame &game, const PolicyNet &net,
         const MctsOptions &options)
      : game(game), net(net), options(options), engine(options.seed),
        useRollouts(game.size() <= options.rolloutLimit),
        started(std::chrono::steady_clock::now()) {}

  MctsResult run() {
    MallocGame::State state = game.initialState();
    while (!game.terminal(state)) {
      std::vector<MoveInfo> infos = game.legalMoves(state);
      result.work += 1 + state.ranges.size() / 8;
      if (infos.size() == 1) {
        game.play(state, infos.front().move);
        continue;
      }
      int sims = simulationsFor(state);
      GameMove chosen;
      if (sims < 2) {
        chosen = greedyMove(state, infos);
      } else {
        chosen = searchFrom(state, infos, sims);
        ++result.searchedDecisions;
      }
      game.play(state, chosen);
    }
    result.playedScore = game.score(state);
    consider(state);
    if (options.record)
      for (TrainingSample &sample : result.samples)
        sample.valueTarget =
            static_cast<float>(result.playedScore - game.baseline());
    return std::move(result);
  }

private:
  bool outOfTime() const {
    if (options.timeLimitSeconds <= 0)
      return false;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         started)
               .count() > options.timeLimitSeconds;
  }

  /// The share of the remaining budget one decision may spend, in
  /// simulations.
  int simulationsFor(const MallocGame::State &state) {
    if (options.simulations < 2)
      return 0;
    if (outOfTime()) {
      result.stoppedByClock = true;
      return 0;
    }
    uint64_t left =
        options.workBudget > result.work ? options.workBudget - result.work : 0;
    uint64_t decisions = game.size() - state.next;
    uint64_t perSim =
        useRollouts ? (game.size() - state.next) * (1 + state.ranges.size() / 8)
                    : 4 * (1 + state.ranges.size() / 8);
    uint64_t share = left / std::max<uint64_t>(decisions, 1);
    uint64_t sims = share / std::max<uint64_t>(perSim, 1);
    return static_cast<int>(
        std::min<uint64_t>(sims, static_cast<uint64_t>(options.simulations)));
  }

  GameMove greedyMove(const MallocGame::State &state,
                      const std::vector<MoveInfo> &infos) {
    game.moveFeatures(state, infos, features);
    return infos[net.bestMove(features.data(), infos.size())].move;
  }

  void consider(const MallocGame::State &terminal) {
    double score = game.score(terminal);
    if (terminal.deadEnd)
      return;
    if (!result.found || score > result.bestScore) {
      result.found = true;
      result.bestScore = score;
      result.best = terminal;
    }
  }

  /// Scores a fresh leaf: a greedy rollout to the end (which may also be
  /// the best plan yet), or the value network.
  double evaluate(MallocGame::State &state) {
    if (game.terminal(state)) {
      consider(state);
      return game.score(state);
    }
    if (!useRollouts) {
      float f[kStateFeatures];
      game.stateFeatures(state, f);
      ++result.work;
      return net.value(f) + game.baseline();
    }
    while (!game.terminal(state)) {
      std::vector<MoveInfo> infos = game.legalMoves(state);
      result.work += 1 + state.ranges.size() / 8;
      game.play(state, infos.size() == 1 ? infos.front().move
                                         : greedyMove(state, infos));
    }
    consider(state);
    return game.score(state);
  }

  int newNode(const MallocGame::State &state,
              const std::vector<MoveInfo> &infos, bool root) {
    Node node;
    node.moves.reserve(infos.size());
    for (const MoveInfo &info : infos)
      node.moves.push_back(info.move);
    game.moveFeatures(state, infos, features);
    net.priors(features.data(), infos.size(), node.priors);
    if (root && options.rootNoise > 0) {
      // Dirichlet(1) noise: normalized exponential draws.
      std::vector<double> noise(infos.size());
      double sum = 0;
      for (double &x : noise) {
        double unit = (static_cast<double>(engine() >> 11) + 0.5) * 0x1.0p-53;
        x = -std::log(unit);
        sum += x;
      }
      for (size_t m = 0; m < infos.size(); ++m)
        node.priors[m] =
            static_cast<float>((1 - options.rootNoise) * node.priors[m] +
                               options.rootNoise * noise[m] / sum);
    }
    node.children.assign(infos.size(), -1);
    node.visits.assign(infos.size(), 0);
    node.totals.assign(infos.size(), 0.0);
    nodes.push_back(std::move(node));
    return static_cast<int>(nodes.size()) - 1;
  }

  size_t select(const Node &node) const {
    double parentQ = 0.5;
    if (node.visitSum > 0) {
      double sum = 0;
      for (double t : node.totals)
        sum += t;
      parentQ = normalized(sum / node.visitSum);
    }
    double root = std::sqrt(static_cast<double>(node.visitSum) + 1.0);
    size_t best = 0;
    double bestScore = -INFINITY;
    for (size_t m = 0; m < node.moves.size(); ++m) {
      double q = node.visits[m] ? normalized(node.totals[m] / node.visits[m])
                                : parentQ;
      double u = kPuct * node.priors[m] * root / (1.0 + node.visits[m]);
      if (q + u > bestScore) {
        bestScore = q + u;
        best = m;
      }
    }
    return best;
  }

  double normalized(double value) const {
    if (maxValue <= minValue)
      return 0.5;
    return (value - minValue) / (maxValue - minValue);
  }

  GameMove searchFrom(const MallocGame::State &rootState,
                      const std::vector<MoveInfo> &rootInfos, int sims) {
    nodes.clear();
    minValue = INFINITY;
    maxValue = -INFINITY;
    newNode(rootState, rootInfos, /*root=*/true);
    std::vector<std::pair<int, size_t>> path;
    for (int sim = 0; sim < sims; ++sim) {
      MallocGame::State state = rootState;
      path.clear();
      int current = 0;
      double value = 0;
      for (;;) {
        size_t m = select(nodes[current]);
        path.push_back({current, m});
        game.play(state, nodes[current].moves[m]);
        ++result.work;
        int child = nodes[current].children[m];
        if (child >= 0) {
          current = child;
          continue;
        }
        if (!game.terminal(state)) {
          std::vector<MoveInfo> infos = game.legalMoves(state);
          result.work += 1 + state.ranges.size() / 8;
          int created = newNode(state, infos, /*root=*/false);
          nodes[path.back().first].children[path.back().second] = created;
        }
        value = evaluate(state);
        break;
      }
      minValue = std::min(minValue, value);
      maxValue = std::max(maxValue, value);
      for (auto [node, move] : path) {
        nodes[node].visits[move] += 1;
        nodes[node].totals[move] += value;
        nodes[node].visitSum += 1;
      }
    }
    const Node &root = nodes[0];
    size_t best = 0;
    for (size_t m = 1; m < root.moves.size(); ++m) {
      double mean =
          root.visits[m] ? root.totals[m] / root.visits[m] : -INFINITY;
      double bestMean =
          root.visits[best] ? root.totals[best] / root.visits[best] : -INFINITY;
      if (root.visits[m] > root.visits[best] ||
          (root.visits[m] == root.visits[best] && mean > bestMean))
        best = m;
    }
    if (options.record) {
      TrainingSample sample;
      game.moveFeatures(rootState, rootInfos, sample.moveFeatures);
      sample.policyTarget.resize(root.moves.size());
      for (size_t m = 0; m < root.moves.size(); ++m)
        sample.policyTarget[m] =
            static_cast<float>(root.visits[m]) / static_cast<float>(sims);
      sample.stateFeatures.resize(kStateFeatures);
      game.stateFeatures(rootState, sample.stateFeatures.data());
      result.samples.push_back(std::move(sample));
    }
    return root.moves[best];
  }

  const MallocGame &game;
  const PolicyNet &net;
  const MctsOptions &options;
  std::mt19937_64 engine;
  bool useRollouts;
  std::chrono::steady_clock::time_point started;
  std::vector<Node> nodes;
  std::vector<float> features;
  double minValue = INFINITY, maxValue = -INFINITY;
  MctsResult result;
};

} // namespace

MctsResult runMcts(const MallocGame &game, const PolicyNet &net,
                   const MctsOptions &options) {
  return Search(game, net, options).run();
}

} // namespace memc::plan
