//===- Generator.cpp - Random planning problems shaped like graphs --------===//
//
// Sizes follow two families of real networks so that the planners see the
// size mixes they will meet: CNN-like (activations halve stage by stage,
// with expansion and bottleneck layers) and transformer-like (a repeating
// block whose MLP and attention scores are several times the hidden state).
//
//===----------------------------------------------------------------------===//

#include "memc/Plan/Generator.h"

#include <algorithm>
#include <iterator>
#include <random>
#include <string>

namespace memc::plan {
namespace {

/// The random draws, written out so that they are the same everywhere.
class Draw {
public:
  explicit Draw(uint64_t seed) : engine(seed) {}

  /// Uniform in [lo, hi] (the modulo bias is immaterial here).
  int64_t between(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(engine() % static_cast<uint64_t>(hi - lo + 1));
  }
  /// True with probability p: 53 random bits as an exact double in [0, 1).
  bool chance(double p) {
    return static_cast<double>(engine() >> 11) * 0x1.0p-53 < p;
  }
  template <typename T, size_t N> const T &pick(const T (&choices)[N]) {
    return choices[engine() % N];
  }

private:
  std::mt19937_64 engine;
};

struct OpKind {
  const char *name;
  /// Output elements relative to the block's hidden state, in eighths.
  int eighths;
};

// A transformer block: LN, QKV projection, attention scores (heads x seq^2,
// here 2x the hidden state), softmax, context, output projection, residual
// add, LN, MLP up (4x), GELU, MLP down, residual add.
const OpKind kTransformerBlock[] = {{"LayerNormalization", 8},
                                    {"MatMul", 24},
                                    {"MatMul", 16},
                                    {"Softmax", 16},
                                    {"MatMul", 8},
                                    {"MatMul", 8},
                                    {"Add", 8},
                                    {"LayerNormalization", 8},
                                    {"MatMul", 32},
                                    {"Gelu", 32},
                                    {"MatMul", 8},
                                    {"Add", 8}};
// A CNN stage's repeating unit: inverted residual (expand 4x, depthwise,
// project) and plain conv/bn/relu layers.
const OpKind kCnnUnit[] = {{"Conv", 8},  {"BatchNormalization", 8},
                           {"Relu", 8},  {"Conv", 32},
                           {"Relu", 32}, {"Conv", 32},
                           {"Conv", 8},  {"Add", 8}};

struct Draft {
  int64_t start, end;
  std::vector<int64_t> uses;
  uint64_t size;
  uint64_t alignment;
  BufferKind kind;
  std::string producer;
};

class Builder {
public:
  Builder(uint64_t seed, const GeneratorOptions &options)
      : draw(seed), options(options) {}

  Problem build() {
    int fewest = std::max(1, options.minLayers);
    layers = static_cast<int>(
        draw.between(fewest, std::max(fewest, options.maxLayers)));
    transformer = draw.chance(0.5);
    // Hidden state of 4K..1M floats, i.e. 16 KiB..4 MiB.
    hiddenElements = uint64_t(1) << draw.between(12, 20);
    stages = static_cast<int>(draw.between(3, 5));
    makeForward();
    if (options.shape == GraphShape::ForwardBackward)
      makeBackward();
    return finish();
  }

private:
  /// The op of forward layer `layer`: the style's pattern, repeated.
  const OpKind &opOf(int layer) const {
    if (transformer)
      return kTransformerBlock[layer % std::size(kTransformerBlock)];
    return kCnnUnit[layer % std::size(kCnnUnit)];
  }

  uint64_t elementsOf(int layer) {
    uint64_t elements = hiddenElements * opOf(layer).eighths / 8;
    if (!transformer) {
      // Each CNN stage halves the activation (spatial / 4, channels x 2).
      int stage = layer * stages / layers;
      elements >>= stage;
      // Unpadded convolutions trim a little off the spatial extent.
      if (draw.chance(0.3))
        elements = elements * static_cast<uint64_t>(draw.between(56, 64)) / 64;
    }
    return std::max<uint64_t>(elements, 1);
  }

  uint64_t bytesFor(uint64_t elements) {
    uint64_t bytes = elements * 4;
    if (options.mixedAlignment)
      bytes += static_cast<uint64_t>(draw.between(0, 63));
    return bytes;
  }

  uint64_t alignment() {
    static const uint64_t kChoices[] = {16, 64, 64, 256, 4096};
    return options.mixedAlignment ? draw.pick(kChoices) : kArenaAlignment;
  }

  std::string name(const char *phase, int layer, const char *op,
                   const char *suffix = "") const {
    return std::string(phase) + std::to_string(layer) + ":" + op + suffix;
  }

  void add(int64_t producerStep, std::vector<int64_t> consumers, uint64_t size,
           BufferKind kind, std::string producer) {
    Draft d;
    d.uses = std::move(consumers);
    d.uses.push_back(producerStep);
    std::sort(d.uses.begin(), d.uses.end());
    d.uses.erase(std::unique(d.uses.begin(), d.uses.end()), d.uses.end());
    d.start = d.uses.front();
    d.end = d.uses.back();
    d.size = size;
    d.alignment = alignment();
    d.kind = kind;
    d.producer = std::move(producer);
    drafts.push_back(std::move(d));
  }

  void makeForward() {
    activationBytes.resize(layers);
    skipSources.assign(layers, {});
    bool training = options.shape == GraphShape::ForwardBackward;
    for (int l = 0; l < layers; ++l) {
      const char *op = opOf(l).name;
      activationBytes[l] = bytesFor(elementsOf(l));
      std::vector<int64_t> consumers;
      if (l + 1 < layers)
        consumers.push_back(l + 1);
      if (draw.chance(options.skipProbability) && l + 2 < layers) {
        int target = static_cast<int>(std::min<int64_t>(
            layers - 1,
            l + draw.between(2, std::max(2, options.maxSkipDistance))));
        consumers.push_back(target);
        skipSources[target].push_back(l);
      }
      if (training && draw.chance(options.savedProbability))
        consumers.push_back(backwardStep(l));
      add(l, consumers, activationBytes[l], BufferKind::Activation,
          name("fwd", l, op));
      if (draw.chance(options.temporaryProbability))
        add(l, {}, scratchBytes(activationBytes[l]), BufferKind::Temporary,
            name("fwd", l, op, ".scratch"));
    }
  }

  /// The step of layer `layer`'s backward op: mirrored after the forward.
  int64_t backwardStep(int layer) const {
    return 2 * int64_t(layers) - 1 - layer;
  }

  void makeBackward() {
    const int64_t optimizerStep = 2 * int64_t(layers);
    for (int l = layers - 1; l >= 0; --l) {
      int64_t step = backwardStep(l);
      std::string op = std::string(opOf(l).name) + "Grad";
      // Gradient with respect to the layer's input, read by the next
      // backward op (the one of layer l - 1).
      uint64_t inputBytes = activationBytes[l > 0 ? l - 1 : 0];
      add(step, l > 0 ? std::vector<int64_t>{step + 1} : std::vector<int64_t>{},
          inputBytes, BufferKind::Activation, name("bwd", l, op.c_str()));
      // A skip connection from layer s into this layer sends a second
      // gradient back to s, summed in when layer s + 1's backward runs.
      for (int s : skipSources[l])
        add(step, {backwardStep(s + 1)}, activationBytes[s],
            BufferKind::Activation, name("bwd", l, op.c_str(), ".skip"));
      if (draw.chance(options.weightProbability)) {
        uint64_t weightBytes = bytesFor(
            std::max<uint64_t>(hiddenElements / draw.between(1, 16), 1));
        add(step, {optimizerStep}, weightBytes, BufferKind::Activation,
            name("bwd", l, op.c_str(), ".wgrad"));
      }
      if (draw.chance(options.temporaryProbability))
        add(step, {}, scratchBytes(activationBytes[l]), BufferKind::Temporary,
            name("bwd", l, op.c_str(), ".scratch"));
    }
  }

  uint64_t scratchBytes(uint64_t activation) {
    // im2col-style workspaces can be several times the activation, cuBLAS
    // and reduction workspaces a fraction of it.
    static const int kSixteenths[] = {2, 4, 8, 16, 32, 64};
    return std::max<uint64_t>(activation * draw.pick(kSixteenths) / 16, 1);
  }

  Problem finish() {
    std::stable_sort(
        drafts.begin(), drafts.end(),
        [](const Draft &a, const Draft &b) { return a.start < b.start; });
    Problem problem;
    problem.capacity = options.capacity;
    problem.buffers.reserve(drafts.size());
    for (size_t i = 0; i < drafts.size(); ++i) {
      Draft &d = drafts[i];
      Buffer b;
      b.id = static_cast<int64_t>(i);
      b.size = d.size;
      b.alignment = d.alignment;
      b.start = d.start;
      b.end = d.end;
      b.transferCost = options.transfer.cost(d.size, d.uses.size());
      b.uses = std::move(d.uses);
      b.kind = d.kind;
      b.producer = std::move(d.producer);
      problem.buffers.push_back(std::move(b));
    }
    return problem;
  }

  Draw draw;
  const GeneratorOptions &options;
  int layers = 0;
  bool transformer = false;
  uint64_t hiddenElements = 0;
  int stages = 1;
  std::vector<uint64_t> activationBytes;
  /// Per layer, the earlier layers whose activations skip into it.
  std::vector<std::vector<int>> skipSources;
  std::vector<Draft> drafts;
};

} // namespace

Problem generateProblem(uint64_t seed, const GeneratorOptions &options) {
  return Builder(seed, options).build();
}

} // namespace memc::plan
