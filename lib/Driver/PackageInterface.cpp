//===- PackageInterface.cpp - what a package's manifest lists -------------===//
#include "PackageInterface.h"

#include "dialects/memc/ProgramInterface.h"
#include "memc/Runtime/PackageFormat.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;

namespace memc {
namespace {
/// The package's element type for `t` (signless: the importer refuses
/// unsigned ONNX types).
std::optional<package::DType> dtypeOf(Type t) {
  if (t.isF32())
    return package::DType::F32;
  if (t.isF64())
    return package::DType::F64;
  if (t.isF16())
    return package::DType::F16;
  if (t.isBF16())
    return package::DType::BF16;
  if (t.isInteger(1))
    return package::DType::Bool;
  if (t.isInteger(8))
    return package::DType::I8;
  if (t.isInteger(16))
    return package::DType::I16;
  if (t.isInteger(32))
    return package::DType::I32;
  if (t.isInteger(64))
    return package::DType::I64;
  return std::nullopt;
}

bool describe(ProgramArg::Kind kind, StringRef name, Type type, ProgramArg &arg,
              std::string &error) {
  auto shaped = dyn_cast<ShapedType>(type);
  std::optional<package::DType> dtype =
      shaped ? dtypeOf(shaped.getElementType()) : std::nullopt;
  if (!dtype || !shaped.hasStaticShape()) {
    error = "internal: the entry's argument '" + name.str() +
            "' is not a statically shaped tensor of a supported type";
    return false;
  }
  arg.kind = kind;
  arg.name = name.str();
  arg.dtype = package::dtypeName(*dtype);
  arg.shape.assign(shaped.getShape().begin(), shaped.getShape().end());
  return true;
}
} // namespace

uint64_t PackageInterface::weightBytes() const {
  uint64_t bytes = 0;
  for (const ProgramArg &a : args)
    bytes += a.data.size();
  return bytes;
}

unsigned PackageInterface::numWeights() const {
  unsigned n = 0;
  for (const ProgramArg &a : args)
    n += a.kind == ProgramArg::Weight;
  return n;
}

bool readPackageInterface(ModuleOp module, PackageInterface &iface,
                          std::string &error) {
  iface = PackageInterface();
  FunctionOpInterface entry = getEntryFunction(module);
  if (!entry) {
    error = "internal: the module has no entry function @" +
            getEntryName(module).str();
    return false;
  }
  SymbolTable symbols(module);
  llvm::SmallDenseSet<unsigned> overwritten;
  for (unsigned i = 0, e = entry.getNumResults(); i < e; ++i)
    if (std::optional<unsigned> arg = getOverwrittenArg(entry, i))
      overwritten.insert(*arg);
  for (unsigned i = 0, e = entry.getNumArguments(); i < e; ++i) {
    ArgRole role = getArgRole(entry, i);
    if (role == ArgRole::Arena || role == ArgRole::HostPool)
      continue;
    if (role == ArgRole::None) {
      error = "internal: argument " + std::to_string(i) + " of @" +
              entry.getName().str() +
              " is neither an input, a weight, an output nor a pool";
      return false;
    }
    ProgramArg arg;
    ProgramArg::Kind kind = role == ArgRole::Input    ? ProgramArg::Input
                            : role == ArgRole::Weight ? ProgramArg::Weight
                            : role == ArgRole::State  ? ProgramArg::State
                            : role == ArgRole::Step   ? ProgramArg::Step
                            : role == ArgRole::KVCache
                                ? ProgramArg::KVCache
                                : ProgramArg::Output;
    if (!describe(kind, getArgName(entry, i), entry.getArgumentTypes()[i], arg,
                  error))
      return false;
    if (kind == ProgramArg::Weight) {
      FlatSymbolRefAttr bound = getBoundParameter(entry, i);
      auto global = bound
                        ? symbols.lookup<ml_program::GlobalOp>(bound.getValue())
                        : ml_program::GlobalOp();
      std::optional<ArrayRef<char>> data =
          global ? getParameterData(global) : std::nullopt;
      if (!data) {
        error = "weight '" + arg.name +
                "' has no value in the module (an unbound argument or an "
                "elided resource)";
        return false;
      }
      arg.data = *data;
      // To the runtime "trainable" is what the step writes in place and the
      // trained model saves: trained weights, and running statistics.
      arg.trainable = isTrainableArg(entry, i) || overwritten.contains(i);
    }
    if (kind == ProgramArg::State)
      arg.stateOf = getStateOf(entry, i).str();
    iface.args.push_back(std::move(arg));
  }
  for (unsigned i = 0, e = entry.getNumResults(); i < e; ++i) {
    // Updated weights and states are written into their arguments.
    if (overwritesArg(entry, i))
      continue;
    ProgramArg arg;
    if (!describe(ProgramArg::Output, getResultOutputName(entry, i),
                  entry.getResultTypes()[i], arg, error))
      return false;
    iface.args.push_back(std::move(arg));
  }
  iface.arenaBytes = getArenaBytes(module).value_or(0);
  iface.hostPoolBytes = getHostPoolBytes(module).value_or(0);
  iface.train = getTrainFacts(module);
  return true;
}

bool completePackageInterface(ModuleOp module, PackageInterface &iface,
                              std::string &error) {
  FunctionOpInterface entry = getEntryFunction(module);
  unsigned next = 0;
  for (unsigned i = 0, e = entry ? entry.getNumArguments() : 0; i < e; ++i) {
    ArgRole role = getArgRole(entry, i);
    if (role == ArgRole::Arena || role == ArgRole::HostPool)
      continue;
    if (next >= iface.args.size() ||
        getArgName(entry, i) != iface.args[next].name) {
      error = "internal: the bufferized entry's argument " + std::to_string(i) +
              " is not the interface's " + std::to_string(next);
      return false;
    }
    ++next;
  }
  if (!entry || next != iface.args.size()) {
    error = "internal: the bufferized entry does not take the interface's " +
            std::to_string(iface.args.size()) + " arguments";
    return false;
  }
  iface.arenaBytes = getArenaBytes(module).value_or(0);
  iface.hostPoolBytes = getHostPoolBytes(module).value_or(0);
  return true;
}

uint64_t parameterBytes(ModuleOp module) {
  uint64_t bytes = 0;
  for (auto global : module.getOps<ml_program::GlobalOp>())
    if (isParameter(global))
      if (std::optional<ArrayRef<char>> data = getParameterData(global))
        bytes += data->size();
  return bytes;
}

} // namespace memc
