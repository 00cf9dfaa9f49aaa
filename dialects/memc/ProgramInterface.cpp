//===- ProgramInterface.cpp - typed access to a program's interface -------===//
#include "dialects/memc/ProgramInterface.h"

#include <algorithm>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace memc {
namespace {
// The attribute names, from the dialect's ODS (Memc.td).
using D = MemcDialect;
constexpr StringLiteral kEntry = D::EntryAttrHelper::getNameStr();
constexpr StringLiteral kArenaBytes = D::ArenaBytesAttrHelper::getNameStr();
constexpr StringLiteral kHostPoolBytes =
    D::HostPoolBytesAttrHelper::getNameStr();
constexpr StringLiteral kFused = D::FusedAttentionAttrHelper::getNameStr();
constexpr StringLiteral kCascades = D::FusemaxCascadesAttrHelper::getNameStr();
constexpr StringLiteral kInput = D::InputAttrHelper::getNameStr();
constexpr StringLiteral kWeight = D::WeightAttrHelper::getNameStr();
constexpr StringLiteral kOutput = D::OutputAttrHelper::getNameStr();
constexpr StringLiteral kParameter = D::ParameterAttrHelper::getNameStr();
constexpr StringLiteral kTrainable = D::TrainableAttrHelper::getNameStr();
constexpr StringLiteral kArena = D::ArenaAttrHelper::getNameStr();
constexpr StringLiteral kHostPool = D::HostPoolAttrHelper::getNameStr();
constexpr StringLiteral kUpperTriangle =
    D::UpperTriangleAttrHelper::getNameStr();
constexpr StringLiteral kBuffer = D::BufferAttrHelper::getNameStr();
constexpr StringLiteral kOffset = D::OffsetAttrHelper::getNameStr();
constexpr StringLiteral kTenant = D::TenantAttrHelper::getNameStr();
constexpr StringLiteral kHost = D::HostAttrHelper::getNameStr();
constexpr StringLiteral kStaging = D::StagingAttrHelper::getNameStr();
constexpr StringLiteral kTrain = D::TrainAttrHelper::getNameStr();
constexpr StringLiteral kGradient = D::GradientAttrHelper::getNameStr();
constexpr StringLiteral kState = D::StateAttrHelper::getNameStr();
constexpr StringLiteral kStateOf = D::StateOfAttrHelper::getNameStr();
constexpr StringLiteral kStep = D::StepAttrHelper::getNameStr();
constexpr StringLiteral kOverwrites = D::OverwritesAttrHelper::getNameStr();
constexpr StringLiteral kKVCache = D::KvCacheAttrHelper::getNameStr();
constexpr StringLiteral kDecode = D::DecodeAttrHelper::getNameStr();

StringRef roleAttrName(ArgRole role) {
  switch (role) {
  case ArgRole::Input:
    return kInput;
  case ArgRole::Weight:
    return kWeight;
  case ArgRole::Output:
    return kOutput;
  case ArgRole::Arena:
    return kArena;
  case ArgRole::HostPool:
    return kHostPool;
  case ArgRole::State:
    return kState;
  case ArgRole::Step:
    return kStep;
  case ArgRole::KVCache:
    return kKVCache;
  case ArgRole::None:
    break;
  }
  return "";
}

DictionaryAttr triangleAttr(MLIRContext *ctx, const UpperTriangle &t) {
  Builder b(ctx);
  SmallVector<NamedAttribute> fields = {
      b.getNamedAttr("diagonal", b.getI64IntegerAttr(t.diagonal)),
      b.getNamedAttr("value", b.getF64FloatAttr(t.value))};
  if (t.below)
    fields.push_back(b.getNamedAttr("below", b.getF64FloatAttr(*t.below)));
  return b.getDictionaryAttr(fields);
}

std::optional<UpperTriangle> triangleFrom(Attribute attr) {
  auto dict = dyn_cast_or_null<DictionaryAttr>(attr);
  if (!dict)
    return std::nullopt;
  auto diagonal = dict.getAs<IntegerAttr>("diagonal");
  auto value = dict.getAs<FloatAttr>("value");
  if (!diagonal || !value)
    return std::nullopt;
  UpperTriangle t{diagonal.getInt(), value.getValueAsDouble(), std::nullopt};
  if (auto below = dict.getAs<FloatAttr>("below"))
    t.below = below.getValueAsDouble();
  return t;
}
} // namespace

StringRef getEntryName(ModuleOp module) {
  if (auto entry = module->getAttrOfType<FlatSymbolRefAttr>(kEntry))
    return entry.getValue();
  return kDefaultEntryName;
}

FunctionOpInterface getEntryFunction(ModuleOp module) {
  return dyn_cast_or_null<FunctionOpInterface>(
      SymbolTable::lookupSymbolIn(module, getEntryName(module)));
}

func::FuncOp getEntryBody(ModuleOp module) {
  return getEntryBody(module, "");
}

func::FuncOp getEntryBody(ModuleOp module, StringRef name) {
  auto fn = module.lookupSymbol<func::FuncOp>(name.empty() ? getEntryName(module)
                                                           : name);
  return fn && !fn.isExternal() ? fn : func::FuncOp();
}

void setEntryFunction(ModuleOp module, FunctionOpInterface entry) {
  module->setAttr(kEntry, FlatSymbolRefAttr::get(entry.getNameAttr()));
}

ArgRole getArgRole(FunctionOpInterface fn, unsigned arg) {
  for (ArgRole role :
       {ArgRole::Input, ArgRole::Weight, ArgRole::Output, ArgRole::Arena,
        ArgRole::HostPool, ArgRole::State, ArgRole::Step, ArgRole::KVCache})
    if (fn.getArgAttr(arg, roleAttrName(role)))
      return role;
  return ArgRole::None;
}

StringRef getArgName(FunctionOpInterface fn, unsigned arg) {
  for (StringRef name : {kInput, kWeight, kOutput, kState, kStep, kKVCache})
    if (auto attr = fn.getArgAttrOfType<StringAttr>(arg, name))
      return attr.getValue();
  return "";
}

void setArgRole(FunctionOpInterface fn, unsigned arg, ArgRole role,
                StringRef name) {
  MLIRContext *ctx = fn->getContext();
  Attribute value = role == ArgRole::Arena || role == ArgRole::HostPool
                        ? Attribute(UnitAttr::get(ctx))
                        : Attribute(StringAttr::get(ctx, name));
  fn.setArgAttr(arg, roleAttrName(role), value);
}

StringRef getResultOutputName(FunctionOpInterface fn, unsigned result) {
  if (auto attr = fn.getResultAttrOfType<StringAttr>(result, kOutput))
    return attr.getValue();
  return "";
}

void setResultOutputName(FunctionOpInterface fn, unsigned result,
                         StringRef name) {
  fn.setResultAttr(result, kOutput, StringAttr::get(fn->getContext(), name));
}

std::optional<unsigned> findArg(FunctionOpInterface fn, ArgRole role) {
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
    if (getArgRole(fn, i) == role)
      return i;
  return std::nullopt;
}

bool isPoolArgument(Value value, ArgRole role) {
  auto arg = dyn_cast<BlockArgument>(value);
  if (!arg || !arg.getOwner()->isEntryBlock())
    return false;
  auto fn = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  return fn && getArgRole(fn, arg.getArgNumber()) == role;
}

FlatSymbolRefAttr getBoundParameter(FunctionOpInterface fn, unsigned arg) {
  return fn.getArgAttrOfType<FlatSymbolRefAttr>(arg, kParameter);
}

void setBoundParameter(FunctionOpInterface fn, unsigned arg,
                       FlatSymbolRefAttr global) {
  fn.setArgAttr(arg, kParameter, global);
}

void removeBoundParameter(FunctionOpInterface fn, unsigned arg) {
  fn.removeArgAttr(arg, kParameter);
}

bool isParameter(ml_program::GlobalOp global) {
  return global->hasAttrOfType<StringAttr>(kWeight);
}

StringRef getParameterName(ml_program::GlobalOp global) {
  if (auto name = global->getAttrOfType<StringAttr>(kWeight))
    return name.getValue();
  return "";
}

void setParameterName(ml_program::GlobalOp global, StringRef name) {
  global->setAttr(kWeight, StringAttr::get(global->getContext(), name));
}

bool isTrainable(ml_program::GlobalOp global) {
  return global->hasAttr(kTrainable);
}

void setTrainable(ml_program::GlobalOp global, bool trainable) {
  if (trainable)
    global->setAttr(kTrainable, UnitAttr::get(global->getContext()));
  else
    global->removeAttr(kTrainable);
}

std::optional<ArrayRef<char>> getParameterData(ml_program::GlobalOp global) {
  Attribute value = global.getValueAttr();
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(value)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(value))
    if (!dense.isSplat() && !dense.getElementType().isInteger(1))
      return dense.getRawData();
  return std::nullopt;
}

std::optional<UpperTriangle> getUpperTriangle(FunctionOpInterface fn,
                                              unsigned arg) {
  return triangleFrom(fn.getArgAttr(arg, kUpperTriangle));
}

std::optional<UpperTriangle> getUpperTriangle(Operation *op) {
  return triangleFrom(op->getAttr(kUpperTriangle));
}

void setUpperTriangle(FunctionOpInterface fn, unsigned arg,
                      const UpperTriangle &triangle) {
  fn.setArgAttr(arg, kUpperTriangle, triangleAttr(fn->getContext(), triangle));
}

void setUpperTriangle(Operation *op, const UpperTriangle &triangle) {
  op->setAttr(kUpperTriangle, triangleAttr(op->getContext(), triangle));
}

void copyParameterFacts(ml_program::GlobalOp global, FunctionOpInterface fn,
                        unsigned arg) {
  if (Attribute triangle = global->getAttr(kUpperTriangle))
    fn.setArgAttr(arg, kUpperTriangle, triangle);
}

std::optional<TrainFacts> getTrainFacts(ModuleOp module) {
  auto dict = module->getAttrOfType<DictionaryAttr>(kTrain);
  if (!dict)
    return std::nullopt;
  auto loss = dict.getAs<StringAttr>("loss");
  auto optimizer = dict.getAs<StringAttr>("optimizer");
  if (!loss || !optimizer)
    return std::nullopt;
  return TrainFacts{loss.str(), optimizer.str()};
}

void setTrainFacts(ModuleOp module, const TrainFacts &facts) {
  Builder b(module->getContext());
  module->setAttr(kTrain, b.getDictionaryAttr(
                              {b.getNamedAttr("loss", b.getStringAttr(facts.loss)),
                               b.getNamedAttr("optimizer",
                                              b.getStringAttr(facts.optimizer))}));
}

bool isTrainableArg(FunctionOpInterface fn, unsigned arg) {
  return fn.getArgAttr(arg, kTrainable) != nullptr;
}

void setTrainableArg(FunctionOpInterface fn, unsigned arg) {
  fn.setArgAttr(arg, kTrainable, UnitAttr::get(fn->getContext()));
}

StringRef getGradientOf(FunctionOpInterface fn, unsigned result) {
  if (auto attr = fn.getResultAttrOfType<StringAttr>(result, kGradient))
    return attr.getValue();
  return "";
}

void setGradientOf(FunctionOpInterface fn, unsigned result, StringRef weight) {
  fn.setResultAttr(result, kGradient, StringAttr::get(fn->getContext(), weight));
}

StringRef getStateOf(FunctionOpInterface fn, unsigned arg) {
  if (auto attr = fn.getArgAttrOfType<StringAttr>(arg, kStateOf))
    return attr.getValue();
  return "";
}

void setStateOf(FunctionOpInterface fn, unsigned arg, StringRef weight) {
  fn.setArgAttr(arg, kStateOf, StringAttr::get(fn->getContext(), weight));
}

std::optional<unsigned> getOverwrittenArg(FunctionOpInterface fn,
                                          unsigned result) {
  auto attr = fn.getResultAttrOfType<StringAttr>(result, kOverwrites);
  if (!attr)
    return std::nullopt;
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
    if (getArgName(fn, i) == attr.getValue())
      return i;
  return std::nullopt;
}

bool overwritesArg(FunctionOpInterface fn, unsigned result) {
  return fn.getResultAttr(result, kOverwrites) != nullptr;
}

void setOverwrittenArg(FunctionOpInterface fn, unsigned result, unsigned arg) {
  fn.setResultAttr(result, kOverwrites,
                   StringAttr::get(fn->getContext(), getArgName(fn, arg)));
}

void removeOverwrittenArg(FunctionOpInterface fn, unsigned result) {
  fn.removeResultAttr(result,
                      StringAttr::get(fn->getContext(), kOverwrites));
}

std::optional<uint64_t> getArenaBytes(ModuleOp module) {
  if (auto attr = module->getAttrOfType<IntegerAttr>(kArenaBytes))
    return attr.getInt();
  return std::nullopt;
}

std::optional<uint64_t> getHostPoolBytes(ModuleOp module) {
  if (auto attr = module->getAttrOfType<IntegerAttr>(kHostPoolBytes))
    return attr.getInt();
  return std::nullopt;
}

void setPoolBytes(ModuleOp module, uint64_t arenaBytes,
                  uint64_t hostPoolBytes) {
  Builder b(module->getContext());
  module->setAttr(kArenaBytes, b.getI64IntegerAttr(arenaBytes));
  module->setAttr(kHostPoolBytes, b.getI64IntegerAttr(hostPoolBytes));
}

std::optional<int64_t> getFusedAttentionCount(ModuleOp module) {
  if (auto attr = module->getAttrOfType<IntegerAttr>(kFused))
    return attr.getInt();
  return std::nullopt;
}

SmallVector<FuseMaxCascade> getFuseMaxCascades(ModuleOp module) {
  SmallVector<FuseMaxCascade> cascades;
  auto array = module->getAttrOfType<ArrayAttr>(kCascades);
  if (!array)
    return cascades;
  for (auto dict : array.getAsRange<DictionaryAttr>()) {
    FuseMaxCascade c;
    auto str = [&](StringRef key) {
      auto a = dict.getAs<StringAttr>(key);
      return a ? a.str() : std::string();
    };
    auto num = [&](StringRef key) {
      auto a = dict.getAs<IntegerAttr>(key);
      return a ? a.getInt() : 0;
    };
    c.form = str("form");
    c.rank = str("rank");
    c.queryTile = num("query_tile");
    c.kvTile = num("kv_tile");
    c.passesBefore = num("passes_before");
    c.passesAfter = num("passes_after");
    if (auto skip = dict.getAs<BoolAttr>("causal_skip"))
      c.causalSkip = skip.getValue();
    c.lanes = std::max<int64_t>(1, num("lanes"));
    cascades.push_back(std::move(c));
  }
  return cascades;
}

void setFuseMaxFacts(ModuleOp module, ArrayRef<FuseMaxCascade> cascades) {
  Builder b(module->getContext());
  SmallVector<Attribute> entries;
  for (const FuseMaxCascade &c : cascades)
    entries.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("passes_before", b.getI64IntegerAttr(c.passesBefore)),
         b.getNamedAttr("passes_after", b.getI64IntegerAttr(c.passesAfter)),
         b.getNamedAttr("rank", b.getStringAttr(c.rank)),
         b.getNamedAttr("kv_tile", b.getI64IntegerAttr(c.kvTile)),
         b.getNamedAttr("query_tile", b.getI64IntegerAttr(c.queryTile)),
         b.getNamedAttr("causal_skip", b.getBoolAttr(c.causalSkip)),
         b.getNamedAttr("lanes", b.getI64IntegerAttr(c.lanes)),
         b.getNamedAttr("form", b.getStringAttr(c.form))}));
  module->setAttr(kFused, b.getI64IntegerAttr(cascades.size()));
  module->setAttr(kCascades, b.getArrayAttr(entries));
}

void setArenaSlot(Operation *view, const ArenaSlot &slot) {
  Builder b(view->getContext());
  if (slot.buffer)
    view->setAttr(kBuffer, b.getI64IntegerAttr(*slot.buffer));
  if (slot.offset)
    view->setAttr(kOffset, b.getI64IntegerAttr(*slot.offset));
  if (slot.tenant)
    view->setAttr(kTenant, b.getI64IntegerAttr(*slot.tenant));
  if (slot.host)
    view->setAttr(kHost, b.getUnitAttr());
  if (slot.staging)
    view->setAttr(kStaging, b.getUnitAttr());
}

void clearArenaSlot(Operation *view) {
  for (StringRef name : {kBuffer, kOffset, kTenant, kHost, kStaging})
    view->removeAttr(name);
}

bool isRecomputed(Operation *op) {
  return op->hasAttr(D::RecomputedAttrHelper::getNameStr());
}

bool isUnfused(Operation *op) {
  return op->hasAttr(D::UnfusedAttrHelper::getNameStr());
}

void setUnfused(Operation *op) {
  op->setAttr(D::UnfusedAttrHelper::getNameStr(),
              UnitAttr::get(op->getContext()));
}

std::optional<StringRef> getRematChoice(Operation *op) {
  if (auto choice =
          op->getAttrOfType<StringAttr>(D::RematChoiceAttrHelper::getNameStr()))
    return choice.getValue();
  return std::nullopt;
}

void setRematChoice(Operation *op, StringRef choice) {
  op->setAttr(D::RematChoiceAttrHelper::getNameStr(),
              StringAttr::get(op->getContext(), choice));
}

bool isHostAllocation(Operation *alloc) { return alloc->hasAttr(kHost); }

void setHostAllocation(Operation *alloc) {
  alloc->setAttr(kHost, UnitAttr::get(alloc->getContext()));
}

void setRecomputed(Operation *op) {
  op->setAttr(D::RecomputedAttrHelper::getNameStr(),
              UnitAttr::get(op->getContext()));
}

std::optional<ArenaSlot> getArenaSlot(Operation *view) {
  ArenaSlot slot;
  auto num = [&](StringRef name) -> std::optional<int64_t> {
    if (auto a = view->getAttrOfType<IntegerAttr>(name))
      return a.getInt();
    return std::nullopt;
  };
  slot.buffer = num(kBuffer);
  slot.offset = num(kOffset);
  slot.tenant = num(kTenant);
  slot.host = view->hasAttr(kHost);
  slot.staging = view->hasAttr(kStaging);
  if (!slot.buffer && !slot.offset && !slot.tenant)
    return std::nullopt;
  return slot;
}


std::optional<DecodeFacts> getDecodeFacts(ModuleOp module) {
  auto dict = module->getAttrOfType<DictionaryAttr>(kDecode);
  if (!dict)
    return std::nullopt;
  auto rows = dict.getAs<IntegerAttr>("rows");
  auto capacity = dict.getAs<IntegerAttr>("capacity");
  if (!rows || !capacity)
    return std::nullopt;
  return DecodeFacts{rows.getInt(), capacity.getInt()};
}

void setDecodeFacts(ModuleOp module, const DecodeFacts &facts) {
  Builder b(module->getContext());
  module->setAttr(
      kDecode,
      b.getDictionaryAttr(
          {b.getNamedAttr("rows", b.getI64IntegerAttr(facts.rows)),
           b.getNamedAttr("capacity", b.getI64IntegerAttr(facts.capacity))}));
}
} // namespace memc
