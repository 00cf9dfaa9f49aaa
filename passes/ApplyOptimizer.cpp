//===- ApplyOptimizer.cpp - gradients -> in-place optimizer updates -------===//
//
// Each weight is updated as soon as both its gradient is final and nothing
// reads the weight any more (its views included: a reshape of a weight is
// its buffer after bufferization), so its gradient dies right there instead
// of living until the end of the step, and the update can write the weight
// in place.
//
//===----------------------------------------------------------------------===//
#include "dialects/memc/ProgramInterface.h"
#include "dialects/optim/OptimDialect.h"
#include "memc/Runtime/PackageFormat.h"
#include "memc/Transforms/Passes.h"

#include "mlir/IR/Verifier.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/xxhash.h"

namespace memc {
#define GEN_PASS_DEF_APPLYOPTIMIZER
#include "memc/Transforms/Passes.h.inc"
} // namespace memc

using namespace mlir;

namespace {

/// adam8bit: smaller weights keep f32 moments (bitsandbytes' threshold).
constexpr int64_t kMin8BitElements = 4096;

/// Whether a gather reads `weight` (through reshapes): a tensor.extract in
/// a tensor.generate, as the importer builds Gather. An embedding table is
/// read by rows, not projected.
bool isGathered(Value weight) {
  SmallVector<Value> work = {weight};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::CastOp>(
              user))
        work.push_back(user->getResult(0));
      else if (isa<tensor::ExtractOp>(user) &&
               user->getParentOfType<tensor::GenerateOp>())
        return true;
    }
  }
  return false;
}

/// The last op of `block` that reads `value` or a view of it.
Operation *lastRead(Value value, Block *block) {
  Operation *last = nullptr;
  SmallVector<Value> work = {value};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      Operation *op = block->findAncestorOpInBlock(*user);
      if (!op || isa<func::ReturnOp>(op))
        continue;
      if (!last || last->isBeforeInBlock(op))
        last = op;
      if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
              tensor::ExtractSliceOp>(user))
        work.push_back(user->getResult(0));
    }
  }
  return last;
}

/// A weight's optimizer-state layout: the optimizer's own, or an
/// --optimizer-layouts rule's.
struct LayoutChoice {
  std::string kind; ///< adamw | adam8bit | apollo | galore
  int64_t block = 2048, rank = 128, period = 200;
  double scale = 1.0;
};

/// One rule of the `layouts` option, `LAYOUT[:k=v,...] REGEX`.
struct LayoutRule {
  std::string text, regex;
  LayoutChoice layout;
  bool used = false;
};

/// Parses the `layouts` option (rules joined by ';'); an error names the
/// rule.
LogicalResult parseLayoutRules(StringRef option, SmallVector<LayoutRule> &out,
                               std::string &error) {
  SmallVector<StringRef> rules;
  option.split(rules, ';', -1, /*KeepEmpty=*/false);
  for (StringRef text : rules) {
    auto [spec, regex] = text.trim().split(' ');
    regex = regex.trim();
    LayoutRule rule{text.str(), regex.str(), {}, false};
    auto [kind, keys] = spec.split(':');
    rule.layout.kind = kind.str();
    if (rule.layout.kind == "galore")
      rule.layout.scale = 0.25;
    std::string why;
    if (regex.empty() || !llvm::Regex(regex).isValid(why)) {
      error = "layout rule '" + text.str() + "': no regex " + why;
      return failure();
    }
    if (kind != "adamw" && kind != "adam8bit" && kind != "apollo" &&
        kind != "galore") {
      error = "layout rule '" + text.str() + "': unknown layout '" +
              kind.str() + "'";
      return failure();
    }
    SmallVector<StringRef> items;
    keys.split(items, ',', -1, /*KeepEmpty=*/false);
    for (StringRef item : items) {
      auto [key, value] = item.split('=');
      double v = 0;
      bool lowRank = kind == "apollo" || kind == "galore";
      if (value.getAsDouble(v) ||
          !((kind == "adam8bit" && key == "block") ||
            (lowRank && (key == "rank" || key == "period" || key == "scale")))) {
        error = "layout rule '" + text.str() + "': bad key '" + item.str() +
                "'";
        return failure();
      }
      int64_t whole = int64_t(v);
      if (key == "block" &&
          !(whole >= 64 && whole == v && (whole & (whole - 1)) == 0)) {
        error = "layout rule '" + text.str() +
                "': block must be a power of two from 64";
        return failure();
      }
      if (key == "block")
        rule.layout.block = int64_t(v);
      else if (key == "rank")
        rule.layout.rank = int64_t(v);
      else if (key == "period")
        rule.layout.period = int64_t(v);
      else
        rule.layout.scale = v;
    }
    out.push_back(std::move(rule));
  }
  return success();
}

struct ApplyOptimizerPass
    : public memc::impl::ApplyOptimizerBase<ApplyOptimizerPass> {
  using ApplyOptimizerBase::ApplyOptimizerBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    func::FuncOp fn = memc::getEntryBody(module);
    if (!fn) {
      module.emitError("memc-apply-optimizer: the module has no entry");
      return signalPassFailure();
    }
    if (optimizer != "sgd" && optimizer != "adamw" && optimizer != "adam8bit" &&
        optimizer != "apollo" && optimizer != "galore") {
      module.emitError("memc-apply-optimizer: unknown optimizer '")
          << optimizer << "' (sgd, adamw, adam8bit, apollo or galore)";
      return signalPassFailure();
    }
    bool adam = optimizer != "sgd";
    bool galore = optimizer == "galore";
    if ((optimizer == "apollo" || galore) &&
        (rank <= 0 || period <= 0 || !(scale > 0))) {
      module.emitError("memc-apply-optimizer: ")
          << optimizer << " needs a positive rank, period and scale";
      return signalPassFailure();
    }
    if (optimizer == "adam8bit" && block <= 0) {
      module.emitError("memc-apply-optimizer: block must be positive");
      return signalPassFailure();
    }
    SmallVector<LayoutRule> rules;
    std::string ruleError;
    if (failed(parseLayoutRules(layouts, rules, ruleError))) {
      module.emitError("memc-apply-optimizer: ") << ruleError;
      return signalPassFailure();
    }
    if (!rules.empty() && !adam) {
      module.emitError("memc-apply-optimizer: layouts are Adam's; the "
                       "optimizer is sgd");
      return signalPassFailure();
    }
    for (const LayoutRule &rule : rules) {
      const LayoutChoice &l = rule.layout;
      if (l.block <= 0 || l.rank <= 0 || l.period <= 0 || !(l.scale > 0)) {
        module.emitError("memc-apply-optimizer: layout rule '")
            << rule.text << "' needs a positive block, rank, period and scale";
        return signalPassFailure();
      }
    }
    LayoutChoice base{optimizer.getValue(), block, rank, period, scale};

    // The gradient results and the weights they belong to.
    struct Update {
      unsigned result;
      BlockArgument weight;
      SmallVector<BlockArgument> states;
      memc::optim::StateLayoutAttr layout; ///< null: dense
      std::optional<int64_t> seed;         ///< apollo's projection
      bool galoreForm = false;             ///< GaLore's own AdamW step
    };
    SmallVector<Update> updates;
    llvm::StringMap<BlockArgument> weights;
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      if (memc::isTrainableArg(fn, i))
        weights[memc::getArgName(fn, i)] = fn.getArgument(i);
    for (unsigned i = 0, e = fn.getNumResults(); i < e; ++i) {
      StringRef of = memc::getGradientOf(fn, i);
      if (of.empty())
        continue;
      auto it = weights.find(of);
      if (it == weights.end()) {
        fn.emitError("result #") << i << " is the gradient of '" << of
                                 << "', which is no trainable weight";
        return signalPassFailure();
      }
      updates.push_back({i, it->second, {}});
    }
    if (updates.empty()) {
      fn.emitError("memc-apply-optimizer: the entry returns no gradient "
                   "(run memc-autodiff first)");
      return signalPassFailure();
    }

    // Arguments: the states of each weight, then the step count.
    Location loc = fn.getLoc();
    OpBuilder b(&getContext());
    auto stepType = RankedTensorType::get({}, b.getI64Type());
    unsigned stepIndex = fn.getNumArguments();
    if (failed(fn.insertArgument(stepIndex, stepType, {}, loc)))
      return signalPassFailure();
    memc::setArgRole(fn, stepIndex, memc::ArgRole::Step,
                     memc::package::kStepName);
    BlockArgument step = fn.getArgument(stepIndex);
    MLIRContext *ctx = &getContext();
    for (Update &u : updates) {
      StringRef name = memc::getArgName(fn, u.weight.getArgNumber());
      auto type = cast<RankedTensorType>(u.weight.getType());
      LayoutChoice choice = base;
      bool ruled = false;
      for (LayoutRule &rule : rules)
        if (llvm::Regex("^(" + rule.regex + ")$").match(name)) {
          choice = rule.layout;
          rule.used = ruled = true;
          break;
        }
      bool lowRank = choice.kind == "apollo" || choice.kind == "galore";
      bool projectable = type.getRank() == 2 && type.hasStaticShape() &&
                         !isGathered(u.weight);
      if (ruled && lowRank && !projectable) {
        fn.emitError("--optimizer-layouts: '")
            << name << "' (" << type << ") cannot take the " << choice.kind
            << " layout: it projects 2-D weights that no gather reads";
        return signalPassFailure();
      }
      if (choice.kind == "adam8bit" &&
          type.getNumElements() >= kMin8BitElements)
        u.layout = memc::optim::StateLayoutAttr::get(
            ctx, memc::optim::StateKind::blockwise8, b.getI8Type(),
            choice.block, 0, 0, nullptr, memc::optim::Projection::svd);
      if (lowRank && projectable &&
          choice.rank > std::min(type.getDimSize(0), type.getDimSize(1)))
        mlir::emitWarning(u.weight.getLoc())
            << choice.kind << " rank " << choice.rank << " is more than '"
            << name << "' (" << type.getDimSize(0) << "x"
            << type.getDimSize(1) << ") has on its smaller side: it takes rank "
            << std::min(type.getDimSize(0), type.getDimSize(1));
      if (lowRank && projectable) {
        u.layout = memc::optim::StateLayoutAttr::get(
            ctx, memc::optim::StateKind::lowrank, b.getF32Type(), 0,
            choice.rank, choice.period, b.getF64FloatAttr(choice.scale),
            choice.kind == "galore" ? memc::optim::Projection::svd
                                    : memc::optim::Projection::random);
        if (choice.kind == "apollo")
          u.seed = llvm::xxh3_64bits(name) & 0x7fffffffffffffff;
      }
      u.galoreForm = galore || choice.kind == "galore";
      // Each moment's name; blockwise8 stores its absmax beside its codes.
      SmallVector<std::string> moments;
      if (adam)
        moments = {".exp_avg", ".exp_avg_sq"};
      else if (momentum > 0)
        moments = {".momentum_buffer"};
      SmallVector<std::string> suffixes;
      for (const std::string &m : moments) {
        suffixes.push_back(m);
        if (u.layout &&
            u.layout.getKind() == memc::optim::StateKind::blockwise8)
          suffixes.push_back(m + ".absmax");
      }
      // GaLore keeps its projector between refreshes.
      if (u.layout && u.layout.getKind() == memc::optim::StateKind::lowrank &&
          u.layout.getProjection() == memc::optim::Projection::svd)
        suffixes.push_back(".projector");
      SmallVector<Type> types =
          memc::optim::getStateTypes(type, moments.size(), u.layout);
      for (auto [stateType, suffix] : llvm::zip_equal(types, suffixes)) {
        unsigned at = step.getArgNumber();
        if (failed(fn.insertArgument(at, stateType, {}, loc)))
          return signalPassFailure();
        memc::setArgRole(fn, at, memc::ArgRole::State, (name + suffix).str());
        memc::setStateOf(fn, at, name);
        u.states.push_back(fn.getArgument(at));
      }
    }

    for (const LayoutRule &rule : rules)
      if (!rule.used) {
        fn.emitError("--optimizer-layouts: the rule '")
            << rule.regex << " " << rule.text.substr(0, rule.text.find(' '))
            << "' matches no trainable weight";
        return signalPassFailure();
      }

    // The updates, each as early as its gradient and weight allow.
    Block &body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    SmallVector<Value> results = {ret.getOperand(0)};
    SmallVector<std::optional<unsigned>> overwrites = {std::nullopt};
    for (Update &u : updates) {
      Value gradient = ret.getOperand(u.result);
      Operation *after = lastRead(u.weight, &body);
      if (Operation *def = gradient.getDefiningOp())
        if (!after || after->isBeforeInBlock(def))
          after = body.findAncestorOpInBlock(*def);
      if (after)
        b.setInsertionPointAfter(after);
      else
        b.setInsertionPointToStart(&body);
      SmallVector<Type> stateTypes = llvm::map_to_vector(
          u.states, [](BlockArgument a) { return a.getType(); });
      SmallVector<Value> states(u.states.begin(), u.states.end());
      Operation *update;
      if (adam)
        update = memc::optim::AdamWOp::create(
            b, gradient.getLoc(), u.weight.getType(), stateTypes, u.weight,
            gradient, states, /*projector=*/Value(), step,
            b.getF64FloatAttr(lr), b.getF64FloatAttr(beta1), b.getF64FloatAttr(beta2),
            b.getF64FloatAttr(eps), b.getF64FloatAttr(weightDecay),
            u.layout,
            u.seed ? b.getI64IntegerAttr(*u.seed) : IntegerAttr(),
            u.galoreForm ? b.getUnitAttr() : UnitAttr());
      else
        update = memc::optim::SGDOp::create(
            b, gradient.getLoc(), u.weight.getType(), stateTypes, u.weight,
            gradient, states, step, b.getF64FloatAttr(lr),
            b.getF64FloatAttr(momentum), b.getBoolAttr(nesterov),
            b.getF64FloatAttr(weightDecay), /*layout=*/nullptr);
      if (failed(mlir::verify(update)))
        return signalPassFailure();
      results.push_back(update->getResult(0));
      overwrites.push_back(u.weight.getArgNumber());
      for (auto [s, arg] : llvm::enumerate(u.states)) {
        results.push_back(update->getResult(1 + s));
        overwrites.push_back(arg.getArgNumber());
      }
    }
    ret->setOperands(results);
    SmallVector<DictionaryAttr> attrs;
    fn.getAllResultAttrs(attrs);
    DictionaryAttr lossAttrs = attrs.empty() ? DictionaryAttr() : attrs[0];
    fn.setType(FunctionType::get(&getContext(), fn.getArgumentTypes(),
                                 ValueRange(results).getTypes()));
    SmallVector<DictionaryAttr> newAttrs(results.size(),
                                         DictionaryAttr::get(&getContext()));
    if (lossAttrs)
      newAttrs[0] = lossAttrs;
    fn.setAllResultAttrs(newAttrs);
    for (auto [i, arg] : llvm::enumerate(overwrites))
      if (arg)
        memc::setOverwrittenArg(fn, i, *arg);
    memc::setTrainFacts(module,
                        {loss.empty() ? std::string("unknown") : loss.getValue(),
                         spec.empty() ? optimizer.getValue() : spec.getValue()});
  }
};

} // namespace
