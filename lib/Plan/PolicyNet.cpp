//===- PolicyNet.cpp - The mallocGame's policy/value network --------------===//
//
// Forward and backward passes by hand. Sums run in a fixed order and the
// random initialization uses raw 64-bit draws (no std::*_distribution), so
// training from one seed gives the same bytes on every machine that rounds
// floats the same way.
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/PolicyNet.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace memc::plan {
namespace {

constexpr int kHidden = 32;
constexpr const char *kMagic = "memc-policy-net";

// The committed weights file, as a string literal (see CMakeLists.txt).
#include "PolicyWeights.inc"

Mlp makeMlp(int inputs, std::mt19937_64 &engine) {
  Mlp mlp;
  mlp.inputs = inputs;
  mlp.hidden = kHidden;
  mlp.w1.resize(static_cast<size_t>(kHidden) * inputs);
  mlp.b1.assign(kHidden, 0.0f);
  mlp.w2.assign(kHidden, 0.0f);
  double limit = std::sqrt(6.0 / (inputs + kHidden));
  for (float &w : mlp.w1) {
    double unit = static_cast<double>(engine() >> 11) * 0x1.0p-53; // [0, 1)
    w = static_cast<float>((2.0 * unit - 1.0) * limit);
  }
  return mlp;
}

} // namespace

float Mlp::forward(const float *input, float *activations) const {
  float out = b2;
  for (int h = 0; h < hidden; ++h) {
    const float *row = &w1[static_cast<size_t>(h) * inputs];
    float sum = b1[h];
    for (int i = 0; i < inputs; ++i)
      sum += row[i] * input[i];
    float a = std::tanh(sum);
    if (activations)
      activations[h] = a;
    out += w2[h] * a;
  }
  return out;
}

void Mlp::backward(const float *input, const float *activations,
                   float outputGradient, std::vector<double> &gradient) const {
  const size_t w1Base = 0, b1Base = w1.size(), w2Base = b1Base + b1.size(),
               b2Base = w2Base + w2.size();
  for (int h = 0; h < hidden; ++h) {
    double a = activations[h];
    gradient[w2Base + h] += outputGradient * a;
    // d tanh(x) / dx = 1 - tanh(x)^2.
    double pre = outputGradient * w2[h] * (1.0 - a * a);
    gradient[b1Base + h] += pre;
    for (int i = 0; i < inputs; ++i)
      gradient[w1Base + static_cast<size_t>(h) * inputs + i] += pre * input[i];
  }
  gradient[b2Base] += outputGradient;
}

std::vector<float> Mlp::parameters() const {
  std::vector<float> values(w1);
  values.insert(values.end(), b1.begin(), b1.end());
  values.insert(values.end(), w2.begin(), w2.end());
  values.push_back(b2);
  return values;
}

void Mlp::setParameters(const std::vector<float> &values) {
  auto at = values.begin();
  std::copy(at, at + w1.size(), w1.begin());
  at += w1.size();
  std::copy(at, at + b1.size(), b1.begin());
  at += b1.size();
  std::copy(at, at + w2.size(), w2.begin());
  at += w2.size();
  b2 = *at;
}

PolicyNet PolicyNet::initialized(uint64_t seed) {
  std::mt19937_64 engine(seed);
  PolicyNet net;
  net.policyHead = makeMlp(kMoveFeatures, engine);
  net.valueHead = makeMlp(kStateFeatures, engine);
  return net;
}

const PolicyNet &PolicyNet::embedded() {
  static const PolicyNet net = [] {
    Outcome<PolicyNet> parsed = parse(kEmbeddedPolicy);
    // The build embeds a file the tests parse, so this holds; an untrained
    // net (uniform priors) is the safe reading of an empty one.
    return parsed ? *parsed : initialized(0);
  }();
  return net;
}

std::string PolicyNet::serialize(const std::string &headerComment) const {
  std::ostringstream out;
  std::istringstream comment(headerComment);
  for (std::string line; std::getline(comment, line);)
    out << "# " << line << "\n";
  out << kMagic << " v1\n";
  auto writeMlp = [&](const char *name, const Mlp &mlp) {
    out << name << ' ' << mlp.inputs << ' ' << mlp.hidden << "\n";
    char text[32];
    auto row = [&](const float *values, size_t count) {
      for (size_t i = 0; i < count; ++i) {
        std::snprintf(text, sizeof text, "%.9g", values[i]);
        out << (i ? " " : "") << text;
      }
      out << "\n";
    };
    for (int h = 0; h < mlp.hidden; ++h)
      row(&mlp.w1[static_cast<size_t>(h) * mlp.inputs], mlp.inputs);
    row(mlp.b1.data(), mlp.b1.size());
    row(mlp.w2.data(), mlp.w2.size());
    row(&mlp.b2, 1);
  };
  writeMlp("policy", policyHead);
  writeMlp("value", valueHead);
  out << "end\n";
  return out.str();
}

Outcome<PolicyNet> PolicyNet::parse(const std::string &text) {
  // Words with their line numbers, comments dropped.
  std::vector<std::pair<std::string, int>> words;
  {
    std::istringstream in(text);
    std::string line;
    for (int lineNo = 1; std::getline(in, line); ++lineNo) {
      size_t hash = line.find('#');
      if (hash != std::string::npos)
        line.resize(hash);
      std::istringstream lineIn(line);
      for (std::string word; lineIn >> word;)
        words.push_back({word, lineNo});
    }
  }
  size_t at = 0;
  auto fail = [&](const std::string &why) {
    int lineNo = at < words.size() ? words[at].second
                                   : (words.empty() ? 1 : words.back().second);
    return Outcome<PolicyNet>::failure("line " + std::to_string(lineNo) + ": " +
                                       why);
  };
  auto expect = [&](const std::string &word) {
    if (at < words.size() && words[at].first == word) {
      ++at;
      return true;
    }
    return false;
  };
  auto number = [&](double &value) {
    if (at >= words.size())
      return false;
    const std::string &w = words[at].first;
    char *end = nullptr;
    value = std::strtod(w.c_str(), &end);
    if (w.empty() || end != w.c_str() + w.size() || !std::isfinite(value))
      return false;
    ++at;
    return true;
  };
  if (!expect(kMagic) || !expect("v1"))
    return fail("expected '" + std::string(kMagic) + " v1'");
  PolicyNet net;
  auto readMlp = [&](const char *name, int inputs, Mlp &mlp) -> std::string {
    double in = 0, hidden = 0;
    const size_t header = at;
    if (!expect(name) || !number(in) || !number(hidden))
      return std::string("expected '") + name + " <inputs> <hidden>'";
    if (in != inputs || hidden < 1 || hidden > 4096 ||
        hidden != std::floor(hidden))
      at = header; // Report the header's line.
    if (in != inputs || hidden < 1 || hidden > 4096 ||
        hidden != std::floor(hidden))
      return std::string(name) + " network must have " +
             std::to_string(inputs) + " inputs and 1..4096 hidden units";
    mlp.inputs = inputs;
    mlp.hidden = static_cast<int>(hidden);
    mlp.w1.resize(static_cast<size_t>(mlp.hidden) * inputs);
    mlp.b1.resize(mlp.hidden);
    mlp.w2.resize(mlp.hidden);
    std::vector<float> values(mlp.parameterCount());
    for (float &v : values) {
      double x = 0;
      if (!number(x))
        return std::string("expected a finite number in the ") + name +
               " weights";
      v = static_cast<float>(x);
    }
    mlp.setParameters(values);
    return "";
  };
  std::string why = readMlp("policy", kMoveFeatures, net.policyHead);
  if (why.empty())
    why = readMlp("value", kStateFeatures, net.valueHead);
  if (!why.empty())
    return fail(why);
  if (!expect("end") || at != words.size())
    return fail("expected 'end' after the weights, and nothing more");
  return net;
}

Outcome<PolicyNet> PolicyNet::readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Outcome<PolicyNet>::failure(path + ": cannot open");
  std::ostringstream contents;
  contents << file.rdbuf();
  Outcome<PolicyNet> net = parse(contents.str());
  if (!net)
    return Outcome<PolicyNet>::failure(path + ": " + net.error());
  return net;
}

void PolicyNet::priors(const float *moveFeatures, size_t count,
                       std::vector<float> &out) const {
  out.resize(count);
  float top = -INFINITY;
  for (size_t m = 0; m < count; ++m) {
    out[m] = policyHead.forward(moveFeatures + m * kMoveFeatures);
    top = std::max(top, out[m]);
  }
  float sum = 0.0f;
  for (float &p : out) {
    p = std::exp(p - top);
    sum += p;
  }
  for (float &p : out)
    p /= sum;
}

size_t PolicyNet::bestMove(const float *moveFeatures, size_t count) const {
  size_t best = 0;
  float bestLogit = -INFINITY;
  for (size_t m = 0; m < count; ++m) {
    float logit = policyHead.forward(moveFeatures + m * kMoveFeatures);
    if (logit > bestLogit) {
      bestLogit = logit;
      best = m;
    }
  }
  return best;
}

float PolicyNet::value(const float *stateFeatures) const {
  return valueHead.forward(stateFeatures);
}

double PolicyNet::loss(const TrainingSample &sample, double valueWeight,
                       std::vector<double> *gradient) const {
  const size_t count = sample.policyTarget.size();
  const size_t policyParams = policyHead.parameterCount();
  std::vector<float> logits(count), hidden(count * policyHead.hidden);
  float top = -INFINITY;
  for (size_t m = 0; m < count; ++m) {
    logits[m] = policyHead.forward(&sample.moveFeatures[m * kMoveFeatures],
                                   &hidden[m * policyHead.hidden]);
    top = std::max(top, logits[m]);
  }
  double sum = 0.0;
  for (size_t m = 0; m < count; ++m)
    sum += std::exp(static_cast<double>(logits[m]) - top);
  double logSum = std::log(sum) + top;
  double total = 0.0;
  for (size_t m = 0; m < count; ++m)
    total -= sample.policyTarget[m] * (logits[m] - logSum);

  std::vector<float> valueHidden(valueHead.hidden);
  float v = valueHead.forward(sample.stateFeatures.data(), valueHidden.data());
  double error = static_cast<double>(v) - sample.valueTarget;
  total += valueWeight * error * error;

  if (gradient) {
    gradient->resize(policyParams + valueHead.parameterCount(), 0.0);
    std::vector<double> policyGradient(policyParams, 0.0);
    for (size_t m = 0; m < count; ++m) {
      double p = std::exp(static_cast<double>(logits[m]) - logSum);
      // d(-sum t log softmax)/d logit_m = p_m - t_m (the targets sum to 1).
      policyHead.backward(&sample.moveFeatures[m * kMoveFeatures],
                          &hidden[m * policyHead.hidden],
                          static_cast<float>(p - sample.policyTarget[m]),
                          policyGradient);
    }
    std::vector<double> valueGradient(valueHead.parameterCount(), 0.0);
    valueHead.backward(sample.stateFeatures.data(), valueHidden.data(),
                       static_cast<float>(2.0 * valueWeight * error),
                       valueGradient);
    for (size_t i = 0; i < policyParams; ++i)
      (*gradient)[i] += policyGradient[i];
    for (size_t i = 0; i < valueGradient.size(); ++i)
      (*gradient)[policyParams + i] += valueGradient[i];
  }
  return total;
}

std::vector<float> PolicyNet::parameters() const {
  std::vector<float> values = policyHead.parameters();
  std::vector<float> tail = valueHead.parameters();
  values.insert(values.end(), tail.begin(), tail.end());
  return values;
}

void PolicyNet::setParameters(const std::vector<float> &values) {
  size_t split = policyHead.parameterCount();
  policyHead.setParameters(
      std::vector<float>(values.begin(), values.begin() + split));
  valueHead.setParameters(
      std::vector<float>(values.begin() + split, values.end()));
}

void Adam::step(std::vector<float> &parameters,
                const std::vector<double> &gradient) {
  ++t;
  double correction1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  double correction2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  for (size_t i = 0; i < parameters.size(); ++i) {
    m[i] = beta1 * m[i] + (1.0 - beta1) * gradient[i];
    v[i] = beta2 * v[i] + (1.0 - beta2) * gradient[i] * gradient[i];
    double update =
        rate * (m[i] / correction1) / (std::sqrt(v[i] / correction2) + epsilon);
    parameters[i] = static_cast<float>(parameters[i] - update);
  }
}

} // namespace memc::plan
