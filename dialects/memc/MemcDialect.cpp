//===- MemcDialect.cpp - verifiers of the program interface ---------------===//
#include "dialects/memc/MemcDialect.h"

#include "dialects/memc/ProgramInterface.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace memc;

#include "dialects/memc/MemcDialect.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/memc/MemcOps.cpp.inc"

void MemcDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/memc/MemcOps.cpp.inc"
      >();
}

LogicalResult SwapOutOp::verify() {
  for (Operation *user : getResult().getUsers())
    if (!isa<SwapInOp>(user))
      return emitOpError("result may only be read by memc.swap_in, not by ")
             << user->getName();
  return success();
}

LogicalResult SwapInOp::verify() {
  if (!getHost().getDefiningOp<SwapOutOp>())
    return emitOpError("operand must be the result of a memc.swap_out");
  return success();
}

LogicalResult GemmEpilogueOp::verify() {
  Block &body = getBody().front();
  auto scratch = body.getNumArguments() == 1
                     ? dyn_cast<MemRefType>(body.getArgument(0).getType())
                     : MemRefType();
  if (!scratch || !scratch.hasStaticShape() ||
      !scratch.getLayout().isIdentity())
    return emitOpError("body must have one argument, the GEMM's result: a "
                       "statically shaped memref with the identity layout");
  if (body.getArgument(0).use_empty())
    return emitOpError("body does not use its argument");
  return success();
}

namespace {
using D = MemcDialect;

LogicalResult verifyNonNegative(Operation *op, NamedAttribute attr) {
  auto value = dyn_cast<IntegerAttr>(attr.getValue());
  if (!value || value.getType().isIndex() || value.getInt() < 0)
    return op->emitOpError("'")
           << attr.getName().getValue()
           << "' must be a non-negative integer, got " << attr.getValue();
  return success();
}

LogicalResult verifyKind(Operation *op, NamedAttribute attr, bool ok,
                         StringRef what) {
  if (ok)
    return success();
  return op->emitOpError("'") << attr.getName().getValue() << "' must be "
                              << what << ", got " << attr.getValue();
}

LogicalResult verifyTriangle(Operation *op, NamedAttribute attr) {
  auto dict = dyn_cast<DictionaryAttr>(attr.getValue());
  bool ok = dict && dict.getAs<IntegerAttr>("diagonal") &&
            dict.getAs<FloatAttr>("value");
  for (NamedAttribute field :
       dict ? dict.getValue() : ArrayRef<NamedAttribute>{})
    ok &= field.getName() == "diagonal" || field.getName() == "value" ||
          (field.getName() == "below" && isa<FloatAttr>(field.getValue()));
  return verifyKind(op, attr, ok,
                    "{diagonal = K : i64, value = V : f64[, below = B : f64]}");
}

LogicalResult verifyCascades(Operation *op, NamedAttribute attr) {
  auto array = dyn_cast<ArrayAttr>(attr.getValue());
  if (!array)
    return verifyKind(op, attr, false, "an array of dictionaries");
  for (Attribute entry : array) {
    auto dict = dyn_cast<DictionaryAttr>(entry);
    bool ok = dict && dict.getAs<StringAttr>("form") &&
              dict.getAs<StringAttr>("rank") &&
              dict.getAs<BoolAttr>("causal_skip");
    for (StringRef key :
         {"query_tile", "kv_tile", "passes_before", "passes_after"})
      ok &= dict && dict.getAs<IntegerAttr>(key) &&
            dict.getAs<IntegerAttr>(key).getInt() >= 0;
    // Lanes: absent in IR from before they existed, else at least 1.
    if (ok && dict.get("lanes"))
      ok = dict.getAs<IntegerAttr>("lanes") &&
           dict.getAs<IntegerAttr>("lanes").getInt() >= 1;
    if (ok) {
      StringRef form = dict.getAs<StringAttr>("form").getValue();
      ok = form == "cascade" || form == "kernel";
    }
    if (!ok)
      return op->emitOpError("'")
             << attr.getName().getValue()
             << "' entries must be {form = \"cascade\"|\"kernel\", rank, "
                "query_tile, kv_tile, passes_before, passes_after, "
                "causal_skip[, lanes >= 1]}, got "
             << entry;
  }
  return success();
}

LogicalResult verifyOnFunctionArgOrResult(Operation *op, NamedAttribute attr,
                                          bool isResult) {
  if (!isa<FunctionOpInterface>(op))
    return op->emitOpError("'") << attr.getName().getValue()
                                << "' belongs on the arguments of a function";
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  if (isResult) {
    if (name == D::OverwritesAttrHelper::getNameStr()) {
      auto fn = cast<FunctionOpInterface>(op);
      auto target = dyn_cast<StringAttr>(value);
      bool found = false;
      for (unsigned i = 0, e = fn.getNumArguments(); target && i < e; ++i)
        found |= getArgName(fn, i) == target.getValue();
      return verifyKind(op, attr, found, "the name of an argument");
    }
    if (name != D::OutputAttrHelper::getNameStr() &&
        name != D::GradientAttrHelper::getNameStr())
      return op->emitOpError("'")
             << name << "' is not a result attribute "
             << "(results take 'memc.output', 'memc.gradient' and "
                "'memc.overwrites')";
    return verifyKind(op, attr, isa<StringAttr>(value), "a string");
  }
  if (name == D::InputAttrHelper::getNameStr() ||
      name == D::WeightAttrHelper::getNameStr() ||
      name == D::OutputAttrHelper::getNameStr() ||
      name == D::StateAttrHelper::getNameStr() ||
      name == D::StateOfAttrHelper::getNameStr() ||
      name == D::StepAttrHelper::getNameStr() ||
      name == D::KvCacheAttrHelper::getNameStr())
    return verifyKind(op, attr, isa<StringAttr>(value), "a string");
  if (name == D::ArenaAttrHelper::getNameStr() ||
      name == D::HostPoolAttrHelper::getNameStr() ||
      name == D::TrainableAttrHelper::getNameStr())
    return verifyKind(op, attr, isa<UnitAttr>(value), "a unit attribute");
  if (name == D::ParameterAttrHelper::getNameStr())
    return verifyKind(op, attr, isa<FlatSymbolRefAttr>(value),
                      "a symbol reference to an ml_program.global");
  if (name == D::UpperTriangleAttrHelper::getNameStr())
    return verifyTriangle(op, attr);
  if (name == D::PastKvAttrHelper::getNameStr()) {
    auto axis = dyn_cast<IntegerAttr>(value);
    return verifyKind(op, attr, axis && axis.getInt() >= 0,
                      "a non-negative axis");
  }
  return op->emitOpError("'") << name << "' is not an argument attribute of "
                              << "the memc dialect";
}
} // namespace

LogicalResult MemcDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  // Module facts.
  if (name == EntryAttrHelper::getNameStr() ||
      name == ArenaBytesAttrHelper::getNameStr() ||
      name == HostPoolBytesAttrHelper::getNameStr() ||
      name == FusedAttentionAttrHelper::getNameStr() ||
      name == FusemaxCascadesAttrHelper::getNameStr() ||
      name == TrainAttrHelper::getNameStr() ||
      name == RematAttrHelper::getNameStr() ||
      name == DecodeAttrHelper::getNameStr()) {
    auto module = dyn_cast<ModuleOp>(op);
    if (!module)
      return op->emitOpError("'") << name << "' belongs on the module";
    if (name == EntryAttrHelper::getNameStr()) {
      auto ref = dyn_cast<FlatSymbolRefAttr>(value);
      if (!ref)
        return verifyKind(op, attr, false, "a symbol reference");
      if (!isa_and_nonnull<FunctionOpInterface>(
              SymbolTable::lookupSymbolIn(module, ref.getAttr())))
        return op->emitOpError("'")
               << name << "' names " << ref << ", which is not a function here";
      return success();
    }
    if (name == FusemaxCascadesAttrHelper::getNameStr())
      return verifyCascades(op, attr);
    if (name == DecodeAttrHelper::getNameStr()) {
      auto dict = dyn_cast<DictionaryAttr>(value);
      auto positive = [&](StringRef key) {
        auto v = dict ? dict.getAs<IntegerAttr>(key) : IntegerAttr();
        return v && v.getInt() > 0;
      };
      return verifyKind(op, attr,
                        dict && dict.size() == 2 && positive("rows") &&
                            positive("capacity") &&
                            dict.getAs<IntegerAttr>("rows").getInt() <=
                                dict.getAs<IntegerAttr>("capacity").getInt(),
                        "{rows = R, capacity = C} with 0 < R <= C");
    }
    if (name == RematAttrHelper::getNameStr()) {
      auto dict = dyn_cast<DictionaryAttr>(value);
      return verifyKind(op, attr,
                        dict && dict.getAs<StringAttr>("solver") &&
                            dict.getAs<IntegerAttr>("budget"),
                        "{solver = \"...\", budget = N, ...}");
    }
    if (name == TrainAttrHelper::getNameStr()) {
      auto dict = dyn_cast<DictionaryAttr>(value);
      return verifyKind(op, attr,
                        dict && dict.size() == 2 &&
                            dict.getAs<StringAttr>("loss") &&
                            dict.getAs<StringAttr>("optimizer"),
                        "{loss = \"...\", optimizer = \"...\"}");
    }
    return verifyNonNegative(op, attr);
  }
  if (name == MicroBatchAttrHelper::getNameStr()) {
    auto chunk = dyn_cast<IntegerAttr>(value);
    // The dialect does not depend on SCF: the op by name.
    if (op->getName().getStringRef() == "scf.for")
      return verifyKind(op, attr, chunk && chunk.getInt() > 0,
                        "a positive chunk");
    if (op->getName().getStringRef() == "scf.forall")
      return verifyKind(op, attr, chunk && chunk.getInt() > 1,
                        "a number of lanes above 1");
    auto dict = dyn_cast<DictionaryAttr>(value);
    auto positive = [&](StringRef key) {
      auto v = dict ? dict.getAs<IntegerAttr>(key) : IntegerAttr();
      return v && v.getInt() > 0;
    };
    if (!isa<FunctionOpInterface>(op))
      return op->emitOpError("'")
             << name << "' belongs on a function, an scf.for or an scf.forall";
    return verifyKind(
        op, attr,
        isa<StringAttr>(value) ||
            (dict && positive("chunk") && positive("loops") &&
             (dict.size() == 2 || (dict.size() == 3 && positive("lanes")))),
        "{chunk = C, loops = L[, lanes = N]} or a string");
  }
  // Arena views.
  if (name == BufferAttrHelper::getNameStr() ||
      name == OffsetAttrHelper::getNameStr() ||
      name == TenantAttrHelper::getNameStr())
    return verifyNonNegative(op, attr);
  if (name == RematChoiceAttrHelper::getNameStr()) {
    auto choice = dyn_cast<StringAttr>(value);
    return verifyKind(op, attr,
                      choice && llvm::is_contained(
                                    {"keep", "recompute", "swap"},
                                    choice.getValue()),
                      "\"keep\", \"recompute\" or \"swap\"");
  }
  if (name == HostAttrHelper::getNameStr() ||
      name == StagingAttrHelper::getNameStr() ||
      name == RecomputedAttrHelper::getNameStr() ||
      name == UnfusedAttrHelper::getNameStr() ||
      name == ScratchAttrHelper::getNameStr())
    return verifyKind(op, attr, isa<UnitAttr>(value), "a unit attribute");
  // Parameters.
  if (name == WeightAttrHelper::getNameStr() ||
      name == TrainableAttrHelper::getNameStr() ||
      name == UpperTriangleAttrHelper::getNameStr()) {
    auto global = dyn_cast<ml_program::GlobalOp>(op);
    if (!global)
      return op->emitOpError("'")
             << name << "' belongs on an ml_program.global or an argument";
    if (name == UpperTriangleAttrHelper::getNameStr())
      return verifyTriangle(op, attr);
    if (name == TrainableAttrHelper::getNameStr()) {
      if (!isa<UnitAttr>(value))
        return verifyKind(op, attr, false, "a unit attribute");
      if (!global.getIsMutable())
        return op->emitOpError("a trainable parameter must be mutable");
      return success();
    }
    return verifyKind(op, attr, isa<StringAttr>(value), "a string");
  }
  return op->emitOpError("'")
         << name << "' is not an attribute of the memc dialect";
}

LogicalResult MemcDialect::verifyRegionArgAttribute(Operation *op, unsigned,
                                                    unsigned,
                                                    NamedAttribute attr) {
  return verifyOnFunctionArgOrResult(op, attr, /*isResult=*/false);
}

LogicalResult MemcDialect::verifyRegionResultAttribute(Operation *op, unsigned,
                                                       unsigned,
                                                       NamedAttribute attr) {
  return verifyOnFunctionArgOrResult(op, attr, /*isResult=*/true);
}
