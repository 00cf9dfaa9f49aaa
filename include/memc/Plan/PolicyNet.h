//===- PolicyNet.h - The mallocGame's policy/value network ------*- C++ -*-===//
//
// Two small multilayer perceptrons, written out in plain C++ so that the
// planner needs no ML runtime and every result is bit-reproducible:
//  - policy: a move's features (MallocGame::moveFeatures) -> hidden tanh
//    layer -> one logit; the priors over a state's legal moves are the
//    softmax of their logits, so one network serves any number of moves;
//  - value: a state's features -> hidden tanh layer -> the predicted final
//    score minus the game's baseline (MallocGame::baseline).
// Training (forward, backprop and Adam) lives here too, so the trainer tool
// and the gradient-check tests use the code the mapper runs.
//
// Weights are a text file (data/mapper/policy.txt), embedded in the library
// at build time: memc needs no file at run time, and a retrained file takes
// effect on the next build or through MapperOptions::weightsPath.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_PLAN_POLICYNET_H
#define MEMC_PLAN_POLICYNET_H

#include "memc/Plan/MallocGame.h"
#include "memc/Plan/Problem.h"

#include <cstdint>
#include <string>
#include <vector>

namespace memc::plan {

/// One fully connected tanh layer and a linear output unit.
struct Mlp {
  int inputs = 0;
  int hidden = 0;
  std::vector<float> w1; // hidden x inputs, row-major.
  std::vector<float> b1; // hidden.
  std::vector<float> w2; // hidden.
  float b2 = 0.0f;

  /// Number of parameters: the order serialize and Adam use.
  size_t parameterCount() const {
    return w1.size() + b1.size() + w2.size() + 1;
  }
  /// Output for one input row; `activations` (hidden floats) is kept for
  /// backward when non-null.
  float forward(const float *input, float *activations = nullptr) const;
  /// Adds d(output)/d(parameters) * `outputGradient` to `gradient` (same
  /// layout as the parameters: w1, b1, w2, b2), given forward's
  /// activations for `input`.
  void backward(const float *input, const float *activations,
                float outputGradient, std::vector<double> &gradient) const;
  /// Parameters in order, and back.
  std::vector<float> parameters() const;
  void setParameters(const std::vector<float> &values);
};

/// A training sample: one searched decision.
struct TrainingSample {
  /// kMoveFeatures floats per legal move.
  std::vector<float> moveFeatures;
  /// The search's visit share per move (sums to 1).
  std::vector<float> policyTarget;
  /// kStateFeatures floats, and the episode's final score - baseline.
  std::vector<float> stateFeatures;
  float valueTarget = 0.0f;
};

class PolicyNet {
public:
  /// Weights drawn from `seed` (Glorot-uniform hidden layers, zero outputs,
  /// so an untrained net gives uniform priors and a zero value).
  static PolicyNet initialized(uint64_t seed);
  /// The weights built into the library from data/mapper/policy.txt.
  static const PolicyNet &embedded();
  /// Reads the text form; failures name the line.
  static Outcome<PolicyNet> parse(const std::string &text);
  static Outcome<PolicyNet> readFile(const std::string &path);

  /// The text form: `headerComment` lines (each written after "# "), then
  /// the weights with 9 significant digits (exact for floats).
  std::string serialize(const std::string &headerComment = "") const;

  /// Softmax over the logits of `count` moves (features kMoveFeatures each).
  void priors(const float *moveFeatures, size_t count,
              std::vector<float> &out) const;
  /// The move with the highest logit (the first on ties).
  size_t bestMove(const float *moveFeatures, size_t count) const;
  float value(const float *stateFeatures) const;

  /// Cross-entropy of the priors against policyTarget plus
  /// valueWeight * squared value error, for one sample; adds the gradient
  /// w.r.t. parameters() to `gradient` when non-null.
  double loss(const TrainingSample &sample, double valueWeight,
              std::vector<double> *gradient) const;

  /// All parameters: policy's, then value's.
  std::vector<float> parameters() const;
  void setParameters(const std::vector<float> &values);

  /// Move features -> logit, and state features -> value.
  Mlp policyHead;
  Mlp valueHead;
};

/// Adam (Kingma & Ba 2015) over a flat parameter vector.
class Adam {
public:
  explicit Adam(size_t parameters, double learningRate = 1e-3)
      : rate(learningRate), m(parameters, 0.0), v(parameters, 0.0) {}
  /// One step against `gradient` (averaged over the batch by the caller).
  void step(std::vector<float> &parameters,
            const std::vector<double> &gradient);

private:
  double rate;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  std::vector<double> m, v;
  long t = 0;
};

} // namespace memc::plan

#endif // MEMC_PLAN_POLICYNET_H
