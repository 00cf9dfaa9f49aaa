//===- TrainOptions.cpp - memc --train's flags ----------------------------===//
#include "memc/Driver/TrainOptions.h"

#include "llvm/Support/Regex.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace memc {
namespace {

bool parseNumber(const std::string &s, double &out) {
  if (s.empty() || std::isspace((unsigned char)s[0]))
    return false;
  errno = 0;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v))
    return false;
  out = v;
  return true;
}

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

} // namespace

ExitCode parseOptimizer(const std::string &text, OptimizerConfig &out,
                        std::string &error) {
  out = OptimizerConfig();
  out.spelling = text;
  size_t colon = text.find(':');
  out.kind = text.substr(0, colon);
  if (out.kind != "sgd" && out.kind != "adamw" && out.kind != "adam8bit" &&
      out.kind != "apollo" && out.kind != "galore") {
    error = "--optimizer=" + text + ": unknown optimizer '" + out.kind +
            "' (sgd, adamw, adam8bit, apollo, galore)";
    return ExitUsage;
  }
  out.weightDecay = out.kind == "sgd" ? 0 : 0.01;
  if (out.kind == "galore")
    out.scale = 0.25; // GaLore's alpha
  bool sawLr = false;
  std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  std::stringstream items(rest);
  std::string item;
  while (std::getline(items, item, ',')) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    double v = 0;
    if (eq == std::string::npos || !parseNumber(value, v)) {
      error = "--optimizer: '" + item + "': expected KEY=NUMBER";
      return ExitUsage;
    }
    auto bad = [&](const std::string &why) {
      error = "--optimizer: " + key + "=" + value + ": " + why;
      return ExitUsage;
    };
    bool sgd = out.kind == "sgd";
    bool lowRank = out.kind == "apollo" || out.kind == "galore";
    if (key == "lr") {
      if (!(v > 0))
        return bad("lr must be positive");
      out.lr = v;
      sawLr = true;
    } else if (key == "weight_decay") {
      if (!(v >= 0))
        return bad("weight_decay must be >= 0");
      out.weightDecay = v;
    } else if (sgd && key == "momentum") {
      if (!(v >= 0 && v < 1))
        return bad("momentum must be in [0, 1)");
      out.momentum = v;
    } else if (sgd && key == "nesterov") {
      if (v != 0 && v != 1)
        return bad("nesterov is 0 or 1");
      out.nesterov = v == 1;
    } else if (!sgd && (key == "beta1" || key == "beta2")) {
      if (!(v >= 0 && v < 1))
        return bad(key + " must be in [0, 1)");
      (key == "beta1" ? out.beta1 : out.beta2) = v;
    } else if (!sgd && key == "eps") {
      if (!(v > 0))
        return bad("eps must be positive");
      out.eps = v;
    } else if (lowRank && (key == "rank" || key == "period")) {
      if (!(v >= 1 && v <= (1 << 30) && v == double(int64_t(v))))
        return bad(key + " must be a positive whole number");
      (key == "rank" ? out.rank : out.period) = int64_t(v);
    } else if (lowRank && key == "scale") {
      if (!(v > 0))
        return bad("scale must be positive");
      out.scale = v;
    } else if (out.kind == "adam8bit" && key == "block") {
      int64_t n = int64_t(v);
      if (!(v >= 64 && v <= (1 << 20) && v == double(n) && (n & (n - 1)) == 0))
        return bad("block must be a power of two from 64 to 1048576");
      out.block = int64_t(v);
    } else {
      error = "--optimizer: " + out.kind + " has no hyperparameter '" + key +
              "' (" +
              (sgd ? "lr, momentum, nesterov, weight_decay"
                   : out.kind == "adam8bit"
                         ? "lr, beta1, beta2, eps, weight_decay, block"
                   : lowRank
                         ? "lr, beta1, beta2, eps, weight_decay, rank, period, "
                           "scale"
                         : "lr, beta1, beta2, eps, weight_decay") +
              ")";
      return ExitUsage;
    }
  }
  if (out.kind == "sgd" && !sawLr) {
    error = "--optimizer=" + text + ": sgd needs a learning rate (sgd:lr=X)";
    return ExitUsage;
  }
  if (out.nesterov && out.momentum == 0) {
    error = "--optimizer=" + text + ": nesterov needs a momentum";
    return ExitUsage;
  }
  return ExitOK;
}

ExitCode parseLoss(const std::string &text, TrainOptions &out,
                   std::string &error) {
  size_t colon = text.find(':');
  out.loss = text.substr(0, colon);
  out.lossOutput = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (out.loss != "cross-entropy" && out.loss != "mse" &&
      out.loss != "output") {
    error = "--loss=" + text + ": unknown loss '" + out.loss +
            "' (cross-entropy, mse, output)";
    return ExitUsage;
  }
  if (colon != std::string::npos && out.lossOutput.empty()) {
    error = "--loss=" + text + ": the output name after ':' is empty";
    return ExitUsage;
  }
  return ExitOK;
}

ExitCode parseOptimizerLayouts(const std::string &path,
                               const OptimizerConfig &optimizer,
                               std::vector<LayoutRule> &out,
                               std::string &error) {
  out.clear();
  std::string flag = "--optimizer-layouts=" + path;
  if (optimizer.kind == "sgd") {
    error = flag + ": layouts are Adam's (adamw, adam8bit, apollo, galore); "
                   "--optimizer is sgd";
    return ExitUsage;
  }
  std::ifstream in(path);
  if (!in) {
    error = flag + ": cannot read " + path;
    return ExitFileNotFound;
  }
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string text = trim(line);
    if (text.empty() || text[0] == '#')
      continue;
    auto fail = [&](const std::string &why) {
      error = path + ":" + std::to_string(number) + ": " + why;
      return ExitUsage;
    };
    size_t space = text.find_first_of(" \t");
    if (space == std::string::npos)
      return fail("expected 'REGEX LAYOUT', got '" + text + "'");
    LayoutRule rule;
    rule.regex = text.substr(0, space);
    std::string spec = trim(text.substr(space));
    std::string regexError;
    if (!llvm::Regex(rule.regex).isValid(regexError))
      return fail("'" + rule.regex + "' is no regex: " + regexError);
    if (rule.regex.find(';') != std::string::npos)
      return fail("'" + rule.regex + "': a regex here cannot contain ';'");
    std::string kind = spec.substr(0, spec.find(':'));
    if (kind != "adamw" && kind != "adam8bit" && kind != "apollo" &&
        kind != "galore")
      return fail("unknown layout '" + kind +
                  "' (adamw, adam8bit, apollo, galore)");
    std::string why;
    if (parseOptimizer(spec, rule.layout, why) != ExitOK)
      return fail(why);
    // A rule chooses the state's layout; the step's hyperparameters are
    // --optimizer's for every weight.
    for (const char *key : {"lr=", "beta1=", "beta2=", "eps=", "weight_decay="})
      if (spec.find(key) != std::string::npos)
        return fail("'" + spec + "': a layout takes only its own keys "
                    "(adam8bit: block; apollo, galore: rank, period, "
                    "scale); " + std::string(key, strlen(key) - 1) +
                    " is --optimizer's");
    out.push_back(std::move(rule));
  }
  if (out.empty()) {
    error = flag + ": " + path + " has no rule";
    return ExitUsage;
  }
  return ExitOK;
}

std::string layoutsOption(const std::vector<LayoutRule> &rules) {
  std::string text;
  for (const LayoutRule &r : rules) {
    if (!text.empty())
      text += ";";
    const OptimizerConfig &l = r.layout;
    text += l.kind;
    if (l.kind == "adam8bit")
      text += ":block=" + std::to_string(l.block);
    if (l.kind == "apollo" || l.kind == "galore") {
      std::ostringstream scale;
      scale.precision(17);
      scale << l.scale;
      text += ":rank=" + std::to_string(l.rank) +
              ",period=" + std::to_string(l.period) + ",scale=" + scale.str();
    }
    text += " " + r.regex;
  }
  return text;
}

ExitCode parseTrainable(const std::string &text, const std::string &frozen,
                        TrainOptions &out, std::string &error) {
  out.trainable.names.clear();
  out.trainable.frozenRegex = frozen;
  if (text.empty() || text == "all")
    return ExitOK;
  if (text[0] == '@') {
    std::string path = text.substr(1);
    std::ifstream in(path);
    if (!in) {
      error = "--trainable=" + text + ": cannot read " + path;
      return ExitFileNotFound;
    }
    std::string line;
    while (std::getline(in, line))
      if (std::string name = trim(line); !name.empty() && name[0] != '#')
        out.trainable.names.push_back(name);
    if (out.trainable.names.empty()) {
      error = "--trainable=" + text + ": " + path + " names no initializer";
      return ExitTrainSpec;
    }
    return ExitOK;
  }
  std::stringstream items(text);
  std::string name;
  while (std::getline(items, name, ','))
    if (!trim(name).empty())
      out.trainable.names.push_back(trim(name));
  return ExitOK;
}

} // namespace memc
