//===- TrainSummary.cpp - what --report says of a train step --------------===//
#include "TrainSummary.h"

#include "passes/GaLoreProjection.h"

#include "dialects/memc/MemcDialect.h"
#include "dialects/memc/ProgramInterface.h"
#include "dialects/optim/OptimDialect.h"
#include "memc/Analysis/BufferLiveness.h"
#include "memc/Analysis/OpWork.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

namespace memc {
llvm::json::Object TrainSummary::toJSON() const {
  llvm::json::Array rows;
  for (const Parameter &p : parameters) {
    llvm::json::Array shape;
    for (int64_t d : p.shape)
      shape.push_back(d);
    rows.push_back(llvm::json::Object{{"name", p.name},
                                      {"shape", std::move(shape)},
                                      {"layout", p.layout},
                                      {"bytes", (int64_t)p.bytes},
                                      {"state_bytes", (int64_t)p.stateBytes}});
  }
  llvm::json::Array saved;
  for (const Activation &a : activations)
    saved.push_back(llvm::json::Object{{"name", a.name},
                                       {"bytes", (int64_t)a.bytes},
                                       {"choice", a.choice}});
  return llvm::json::Object{
      {"param_bytes", (int64_t)paramBytes},
      {"grad_bytes", (int64_t)gradBytes},
      {"all_grad_bytes", (int64_t)allGradBytes},
      {"state_bytes", (int64_t)stateBytes},
      {"saved_activation_bytes", (int64_t)savedActivationBytes},
      {"recomputed_ops", (int64_t)recomputedOps},
      {"recomputed_flops", (int64_t)recomputedFlops},
      {"swapped_bytes", 0}, // the plan's, set with the report (Report.cpp)
      {"parameters", std::move(rows)},
      {"activations", std::move(saved)},
      {"remat", llvm::json::Object(remat)},
  };
}

TrainSummary summarizeTrainStep(ModuleOp module, unsigned forwardOps) {
  TrainSummary s;
  auto fn = dyn_cast_or_null<func::FuncOp>(
      getEntryFunction(module).getOperation());
  if (!fn || fn.isExternal())
    return s;
  Block &body = fn.getBody().front();

  // Weights and their states.
  llvm::StringMap<size_t> rowOf;
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i) {
    Type type = fn.getArgumentTypes()[i];
    if (isTrainableArg(fn, i)) {
      TrainSummary::Parameter p;
      p.name = getArgName(fn, i).str();
      auto shaped = cast<RankedTensorType>(type);
      p.shape.assign(shaped.getShape().begin(), shaped.getShape().end());
      p.bytes = tensorBytes(type);
      s.paramBytes += p.bytes;
      rowOf[p.name] = s.parameters.size();
      s.parameters.push_back(std::move(p));
    }
  }
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
    if (getArgRole(fn, i) == ArgRole::State) {
      uint64_t bytes = tensorBytes(fn.getArgumentTypes()[i]);
      s.stateBytes += bytes;
      auto it = rowOf.find(getStateOf(fn, i));
      if (it != rowOf.end())
        s.parameters[it->second].stateBytes += bytes;
    }

  // Program order of the block's ops. memc-activation-swap's copies to the
  // host stand among the forward ops without being any: they take no
  // position, so that the first forwardOps positions are still the forward.
  DenseMap<Operation *, unsigned> position;
  unsigned n = 0;
  for (Operation &op : body) {
    position[&op] = n;
    if (!isa<SwapOutOp>(op))
      ++n;
  }

  // Gradients: alive from their definition to their update.
  std::vector<std::pair<unsigned, int64_t>> events;
  for (Operation &op : body) {
    if (!isa<optim::SGDOp, optim::AdamWOp>(op))
      continue;
    Value g = op.getOperand(1);
    auto startOf = [&](Value v, Operation *user) {
      unsigned start = position[user];
      if (Operation *def = v.getDefiningOp())
        if (Operation *top = body.findAncestorOpInBlock(*def))
          start = position[top];
      return start;
    };
    // A gradient projected where it was final (memc-low-rank-grad-
    // projection): the full-rank one lives to its projection, R to the
    // update.
    if (Operation *projection = g.getDefiningOp();
        projection && projection->hasAttr(kGradProjectionAttr)) {
      Value full = projection->getOperand(0).getType() ==
                           op.getOperand(0).getType()
                       ? projection->getOperand(0)
                       : projection->getOperand(1);
      uint64_t fullBytes = tensorBytes(full.getType());
      Operation *at = body.findAncestorOpInBlock(*projection);
      events.push_back({startOf(full, at), (int64_t)fullBytes});
      events.push_back({position[at] + 1, -(int64_t)fullBytes});
      s.allGradBytes += fullBytes;
    } else {
      s.allGradBytes += tensorBytes(g.getType());
    }
    uint64_t bytes = tensorBytes(g.getType());
    events.push_back({startOf(g, &op), (int64_t)bytes});
    events.push_back({position[&op] + 1, -(int64_t)bytes});
    StringRef name;
    if (auto arg = dyn_cast<BlockArgument>(op.getOperand(0)))
      name = getArgName(fn, arg.getArgNumber());
    auto it = rowOf.find(name);
    if (it != rowOf.end()) {
      auto layout = op.getAttrOfType<optim::StateLayoutAttr>("layout");
      std::string kind =
          layout ? optim::stringifyStateKind(layout.getKind()).str() : "dense";
      if (layout && layout.getBlock())
        kind += " block " + std::to_string(layout.getBlock());
      if (layout && layout.getRank())
        kind += " " + optim::stringifyProjection(layout.getProjection()).str() +
                " rank " + std::to_string(layout.getRank());
      s.parameters[it->second].layout =
          kind + " " + (isa<optim::AdamWOp>(op) ? "adamw" : "sgd");
    }
  }
  llvm::sort(events);
  int64_t live = 0;
  for (auto [at, delta] : events) {
    live += delta;
    s.gradBytes = std::max<uint64_t>(s.gradBytes, live);
  }

  // Saved activations: forward results the backward reads.
  unsigned index = 0;
  for (Operation &op : body) {
    if (isa<SwapOutOp>(op))
      continue;
    if (index++ >= forwardOps)
      break;
    if (isa<arith::ConstantOp>(op))
      continue;
    for (Value r : op.getResults()) {
      // A swapped value's backward readers read its copies.
      bool saved = llvm::any_of(r.getUsers(), [&](Operation *user) {
        Operation *top = body.findAncestorOpInBlock(*user);
        return isa<SwapOutOp>(user) || (top && position[top] >= forwardOps &&
                                        !isa<func::ReturnOp>(top));
      });
      if (saved)
        s.savedActivationBytes += tensorBytes(r.getType());
    }
    if (std::optional<StringRef> choice = getRematChoice(&op)) {
      uint64_t bytes = 0;
      for (Value r : op.getResults())
        bytes += tensorBytes(r.getType());
      s.activations.push_back({describeOp(&op), bytes, choice->str()});
    }
  }
  if (auto remat = module->getAttrOfType<DictionaryAttr>("memc.remat"))
    for (NamedAttribute a : remat) {
      if (auto i = dyn_cast<IntegerAttr>(a.getValue()))
        s.remat[a.getName().strref()] =
            i.getType().isInteger(1) ? llvm::json::Value(i.getValue().getBoolValue())
                                     : llvm::json::Value(i.getInt());
      else if (auto f = dyn_cast<FloatAttr>(a.getValue()))
        s.remat[a.getName().strref()] = f.getValueAsDouble();
      else if (auto str = dyn_cast<StringAttr>(a.getValue()))
        s.remat[a.getName().strref()] = str.str();
    }
  for (Operation &op : body)
    if (isRecomputed(&op)) {
      ++s.recomputedOps;
      s.recomputedFlops += uint64_t(opFlops(&op));
    }
  for (TrainSummary::Parameter &p : s.parameters)
    if (p.layout.empty())
      p.layout = "dense";
  return s;
}

} // namespace memc
