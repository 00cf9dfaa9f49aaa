//===- ONNXImporter.cpp - ONNX model -> einsum IR -------------------------===//
#include "FoldBatchNorm.h"
#include "GraphChecks.h"
#include "GraphImporter.h"
#include "ImportContext.h"
#include "OpRegistry.h"
#include "PastKV.h"
#include "dialects/memc/ProgramInterface.h"
#include "memc/Analysis/MaskStructure.h"

#include "mlir/IR/DialectResourceBlobManager.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

using namespace mlir;

namespace memc::onnximport {

//===----------------------------------------------------------------------===//
// NodeImporter: the node's view of the graph
//===----------------------------------------------------------------------===//

NodeImporter::NodeImporter(GraphImporter &graph, const onnx::NodeProto &node,
                           int64_t opset)
    : graph_(graph), node_(node), opset_(opset) {}

OpBuilder &NodeImporter::b() { return graph_.builder; }
MLIRContext *NodeImporter::ctx() { return graph_.builder.getContext(); }
Location NodeImporter::loc() {
  std::string name = node_.name().empty() ? node_.output(0) : node_.name();
  return NameLoc::get(StringAttr::get(ctx(), name),
                      FileLineColLoc::get(ctx(), graph_.path, 0, 0));
}

bool NodeImporter::hasInput(unsigned i) const {
  return i < (unsigned)node_.input_size() && !node_.input(i).empty();
}

Value NodeImporter::input(unsigned i) {
  if (!hasInput(i))
    return {};
  return graph_.lookup(node_.input(i));
}

const HostTensor *NodeImporter::constInput(unsigned i) {
  if (!hasInput(i))
    return nullptr;
  auto it = graph_.constants.find(node_.input(i));
  return it == graph_.constants.end() ? nullptr : &it->second;
}

std::optional<std::vector<int64_t>> NodeImporter::constInts(unsigned i,
                                                            const char *what) {
  const HostTensor *t = constInput(i);
  if (!t) {
    (void)unsupported(std::string(what) + " (input " + std::to_string(i) +
                      ") is not a compile-time constant");
    return std::nullopt;
  }
  return t->toInts();
}

const onnx::AttributeProto *NodeImporter::attr(const std::string &name) const {
  for (const auto &a : node_.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
int64_t NodeImporter::attrInt(const std::string &name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}
float NodeImporter::attrFloat(const std::string &name, float dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}
std::string NodeImporter::attrString(const std::string &name,
                                     const std::string &dflt) const {
  const auto *a = attr(name);
  return a ? a->s() : dflt;
}
std::vector<int64_t> NodeImporter::attrInts(const std::string &name,
                                            std::vector<int64_t> dflt) const {
  const auto *a = attr(name);
  if (!a)
    return dflt;
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

bool NodeImporter::wantsOutput(unsigned i) const {
  return i < (unsigned)node_.output_size() && !node_.output(i).empty();
}
void NodeImporter::setOutput(unsigned i, Value v) {
  if (wantsOutput(i))
    graph_.values[node_.output(i)] = v;
}
bool NodeImporter::isRunningStatistic(unsigned i) const {
  return hasInput(i) && graph_.runningStats.count(node_.input(i));
}
void NodeImporter::storeRunningStatistic(unsigned i, Value v) {
  auto load = input(i).getDefiningOp<ml_program::GlobalLoadOp>();
  assert(load && isRunningStatistic(i) && "not a running statistic");
  ml_program::GlobalStoreOp::create(b(), loc(), load.getGlobalAttr(), v);
}
void NodeImporter::setConstOutput(unsigned i, HostTensor t) {
  if (wantsOutput(i))
    graph_.constants[node_.output(i)] = std::move(t);
}

LogicalResult NodeImporter::unsupported(const std::string &why) {
  graph_.fail(ExitUnsupported, node_, opset_, why);
  return failure();
}
LogicalResult NodeImporter::invalid(const std::string &why) {
  graph_.fail(ExitInvalidModel, node_, opset_, why);
  return failure();
}

std::optional<int64_t> NodeImporter::normAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    (void)invalid("axis " + std::to_string(axis) + " out of range for rank " +
                  std::to_string(rank));
    return std::nullopt;
  }
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

GraphImporter::GraphImporter(MLIRContext &ctx, std::string path,
                             const ImportOptions &options, ImportError &error)
    : builder(&ctx), path(std::move(path)), options(options), error(error) {}

void GraphImporter::fail(ExitCode code, const std::string &message) {
  if (error.code != ExitOK)
    return; // keep the first error: it is the cause
  error.code = code;
  error.message = path + ": " + message;
}

void GraphImporter::fail(ExitCode code, const onnx::NodeProto &node,
                         int64_t opset, const std::string &why) {
  std::string name = node.name().empty() ? "(unnamed)" : node.name();
  std::string domain = node.domain().empty() ? "" : node.domain() + "::";
  fail(code, "node '" + name + "' (" + domain + node.op_type() + ", opset " +
                 std::to_string(opset) + "): " + why);
}

Value GraphImporter::lookup(const std::string &name) {
  auto it = values.find(name);
  if (it != values.end())
    return it->second;
  auto c = constants.find(name);
  if (c == constants.end())
    return {};
  Value v = materialize(name, c->second);
  values[name] = v;
  return v;
}

/// A name as the manifest spells it: no whitespace, never empty.
static std::string sanitize(const std::string &name) {
  std::string s = name;
  for (char &c : s)
    if (std::isspace((unsigned char)c))
      c = '_';
  return s.empty() ? "_" : s;
}

Value GraphImporter::materialize(const std::string &name,
                                 const HostTensor &t) {
  MLIRContext *ctx = builder.getContext();
  Type elem = onnxElemType(ctx, t.elemType);
  auto type = RankedTensorType::get(t.shape, elem);
  if (t.numel() > options.maxInlineConstantElements && !name.empty()) {
    // A parameter: a private global whose value is the initializer's bytes
    // (a dense_resource blob), read by the entry; memc-bind-parameters
    // makes it a weight argument and the package writer puts the bytes in
    // weights.bin.
    std::string manifestName = sanitize(name), symbol = manifestName;
    for (unsigned n = 1; !symbolNames.insert(symbol).second; ++n)
      symbol = manifestName + "_" + std::to_string(n);
    ml_program::GlobalOp global;
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPoint(func);
      auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
          ArrayRef<char>(t.raw.data(), t.raw.size()), alignof(uint64_t));
      auto value = DenseResourceElementsAttr::get(type, symbol, std::move(blob));
      global = ml_program::GlobalOp::create(
          builder, func.getLoc(), builder.getStringAttr(symbol),
          TypeAttr::get(type), /*is_mutable=*/nullptr, value,
          builder.getStringAttr("private"));
    }
    setParameterName(global, manifestName);
    // Only the importer sees the bytes: record a causal-mask triangle for
    // FuseMax attention, which skips the K/V tiles it hides.
    // Boolean triangles feed Where; float ones are added, and only a fill
    // that drives softmax weights to 0 makes a mask.
    bool isBool = t.elemType == onnx::TensorProto::BOOL;
    if (t.shape.size() >= 2 && (t.isFloat() || isBool))
      if (std::optional<UpperTriangle> tri = findUpperTriangle(
              t.shape, [&](int64_t i) { return t.getDouble(i); }))
        if (isBool || tri->value <= -1e4)
          setUpperTriangle(global, *tri);
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(&func.getBody().front());
    return ml_program::GlobalLoadConstOp::create(
        builder, func.getLoc(), type,
        FlatSymbolRefAttr::get(global.getSymNameAttr()));
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&func.getBody().front());
  return NodeImporter::constantIn(builder, func.getLoc(), t);
}

std::map<std::string, std::string>
GraphImporter::findRunningStatistics(const onnx::GraphProto &graph,
                                     bool trainingOnly) const {
  std::map<std::string, std::string> stats;
  for (const auto &node : graph.node()) {
    if (node.op_type() != "BatchNormalization" ||
        !(node.domain().empty() || node.domain() == "ai.onnx"))
      continue;
    bool training = false;
    for (const auto &a : node.attribute())
      training |= a.name() == "training_mode" && a.i() != 0;
    for (int i = 3; (training || !trainingOnly) && i < 5 &&
                    i < node.input_size();
         ++i)
      if (constants.count(node.input(i)))
        stats.emplace(node.input(i), node.name().empty() ? node.output(0)
                                                         : node.name());
  }
  return stats;
}

bool GraphImporter::chooseTrainable(const onnx::GraphProto &graph,
                                    const TrainableSpec &spec,
                                    std::vector<std::string> &out) {
  std::optional<llvm::Regex> frozen;
  if (!spec.frozenRegex.empty()) {
    frozen.emplace(spec.frozenRegex);
    std::string why;
    if (!frozen->isValid(why)) {
      fail(ExitUsage, "--frozen=" + spec.frozenRegex +
                          ": not a regular expression (" + why + ")");
      return false;
    }
  }
  auto isFloat = [&](const std::string &name) {
    auto it = constants.find(name);
    return it != constants.end() &&
           it->second.elemType == onnx::TensorProto::FLOAT;
  };
  // BatchNormalization's mean and variance are statistics, not parameters
  // (PyTorch's buffers): `all` leaves them out.
  std::map<std::string, std::string> statistics =
      findRunningStatistics(graph, /*trainingOnly=*/false);
  std::set<std::string> chosen;
  for (const std::string &name : spec.names) {
    if (auto stat = runningStats.find(name); stat != runningStats.end()) {
      fail(ExitTrainSpec, "--trainable: '" + name +
                              "' is a running statistic of "
                              "BatchNormalization node '" +
                              stat->second +
                              "' (training_mode=1): the step updates it "
                              "from the batch, gradients do not");
      return false;
    }
    if (!isFloat(name)) {
      fail(ExitTrainSpec,
           "--trainable: '" + name + "' is " +
               (constants.count(name) ? "not a float (f32) initializer"
                                      : "no initializer of the model"));
      return false;
    }
    chosen.insert(name);
  }
  // In the graph's order, so the weights' order does not depend on how the
  // names were given.
  for (const auto &tp : graph.initializer()) {
    const std::string &name = tp.name();
    bool wanted = spec.names.empty()
                      ? isFloat(name) && !statistics.count(name)
                      : chosen.count(name) > 0;
    if (wanted && !(frozen && frozen->match(name)) &&
        std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(name);
  }
  if (out.empty()) {
    bool anyFloat = false;
    for (const auto &tp : graph.initializer())
      anyFloat |= isFloat(tp.name());
    fail(ExitTrainSpec,
         "--train: no trainable initializer is left (" +
             std::string(anyFloat ? "--frozen matches every one"
                                  : "the model has no f32 initializer") +
             ")");
    return false;
  }
  return true;
}

Value GraphImporter::materializeTrainable(const std::string &name,
                                          const HostTensor &t,
                                          bool trainable) {
  MLIRContext *ctx = builder.getContext();
  auto type = RankedTensorType::get(t.shape, onnxElemType(ctx, t.elemType));
  std::string manifestName = sanitize(name), symbol = manifestName;
  for (unsigned n = 1; !symbolNames.insert(symbol).second; ++n)
    symbol = manifestName + "_" + std::to_string(n);
  ml_program::GlobalOp global;
  {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(func);
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(t.raw.data(), t.raw.size()), alignof(uint64_t));
    auto value = DenseResourceElementsAttr::get(type, symbol, std::move(blob));
    global = ml_program::GlobalOp::create(
        builder, func.getLoc(), builder.getStringAttr(symbol),
        TypeAttr::get(type), builder.getUnitAttr(), value,
        builder.getStringAttr("private"));
  }
  setParameterName(global, manifestName);
  setTrainable(global, trainable);
  return ml_program::GlobalLoadOp::create(
      builder, func.getLoc(), type,
      SymbolRefAttr::get(global.getSymNameAttr()));
}

/// Reads an initializer (raw, typed fields or external data) into `out`.
bool GraphImporter::readInitializer(const onnx::TensorProto &tp,
                                    HostTensor &out) {
  out.elemType = tp.data_type();
  out.shape.assign(tp.dims().begin(), tp.dims().end());
  size_t eb = onnxElemBytes(out.elemType);
  if (!eb || !onnxElemType(builder.getContext(), out.elemType)) {
    fail(ExitUnsupported, "initializer '" + tp.name() + "' has element type " +
                              onnxTypeName(out.elemType) +
                              ", which memc does not support");
    return false;
  }
  int64_t n = out.numel();
  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : tp.external_data()) {
      if (kv.key() == "location") {
        location = kv.value();
        continue;
      }
      if (kv.key() != "offset" && kv.key() != "length")
        continue;
      std::optional<int64_t> value = parseNonNegativeInt64(kv.value());
      if (!value) {
        fail(ExitInvalidModel, "initializer '" + tp.name() +
                                   "': external data " + kv.key() + " '" +
                                   kv.value() +
                                   "' is not a non-negative 64-bit integer");
        return false;
      }
      (kv.key() == "offset" ? offset : length) = *value;
    }
    std::string dir = path.substr(0, path.find_last_of('/') + 1);
    std::string file = dir + location;
    // Only a regular file: a FIFO or device would block or never end.
    struct stat st;
    bool regular = stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    std::ifstream in;
    if (regular && !location.empty() &&
        location.find("..") == std::string::npos)
      in.open(file, std::ios::binary);
    if (!in.is_open() || !in) {
      fail(ExitFileNotFound, "initializer '" + tp.name() +
                                 "': external data file '" + file +
                                 "' cannot be read");
      return false;
    }
    if (length < 0)
      length = n * eb;
    if (length != n * (int64_t)eb) {
      fail(ExitInvalidModel, "initializer '" + tp.name() + "': external data "
                             "length " + std::to_string(length) +
                             " bytes, its shape needs " +
                             std::to_string(n * eb));
      return false;
    }
    in.seekg(0, std::ios::end);
    int64_t fileSize = in.tellg();
    if (offset > fileSize || length > fileSize - offset) {
      fail(ExitNotONNX, "initializer '" + tp.name() + "': external data file '" +
                            file + "' is truncated (" +
                            std::to_string(fileSize) + " bytes, needs " +
                            std::to_string(offset) + " + " +
                            std::to_string(length) + ")");
      return false;
    }
    out.raw.resize(length);
    in.seekg(offset);
    in.read(out.raw.data(), length);
    if (in.gcount() != length) {
      fail(ExitNotONNX, "initializer '" + tp.name() + "': external data file '" +
                            file + "' is truncated");
      return false;
    }
  } else if (!decodeInlineTensor(tp, out)) {
    fail(ExitInvalidModel, "initializer '" + tp.name() +
                               "': its data does not hold one value per "
                               "element of its shape (" +
                               std::to_string(n) + " elements)");
    return false;
  }
  if ((int64_t)out.raw.size() != n * (int64_t)eb) {
    fail(ExitInvalidModel, "initializer '" + tp.name() + "' holds " +
                               std::to_string(out.raw.size()) +
                               " bytes, its shape needs " +
                               std::to_string(n * eb));
    return false;
  }
  return true;
}

bool GraphImporter::run(onnx::ModelProto &model, ImportResult &result) {
  MLIRContext *ctx = builder.getContext();
  const onnx::GraphProto &graph = model.graph();
  for (const auto &op : model.opset_import())
    domainOpsets[canonicalDomain(op.domain())] = op.version();
  // A model of only non-default-domain ops (training, ML) has no default
  // opset (0); its nodes are checked against their own domain's.
  opset = opsetOf("");

  // Initializers first: graph inputs that have one are constants too.
  for (const auto &tp : graph.initializer()) {
    HostTensor t;
    if (!readInitializer(tp, t))
      return false;
    constants[tp.name()] = std::move(t);
  }
  std::vector<std::string> trainable;
  if (options.trainable.enabled)
    runningStats = findRunningStatistics(graph, /*trainingOnly=*/true);
  if (options.trainable.enabled &&
      !chooseTrainable(graph, options.trainable, trainable))
    return false;
  // Inference only: a train step trains the BN's scale and shift, and
  // folding would put them out of its reach.
  if (!options.trainable.enabled)
    foldBatchNormIntoConv(*model.mutable_graph(), constants);

  // --decode of an export with past keys/values: the rows of a call and
  // the caches' capacity fix its dynamic dims.
  PastKV pastKV;
  if (options.decode.rows > 0) {
    std::string why;
    if (!findPastKV(graph, pastKV, why)) {
      fail(ExitUnsupported, why);
      return false;
    }
    if (!pastKV.pastAxis.empty() && options.decode.capacity <= 0) {
      fail(ExitUsage, "the model has past key/value inputs ('" +
                          pastKV.pastAxis.begin()->first +
                          "', ...): give the KV caches' capacity with "
                          "--kv-capacity=N");
      return false;
    }
    if (pastKV.pastAxis.empty() && options.decode.capacity > 0) {
      fail(ExitUsage, "--kv-capacity is for exports with past key/value "
                      "inputs; this model has none, so its capacity is its "
                      "sequence length");
      return false;
    }
    if (!pastKV.pastAxis.empty() &&
        options.decode.capacity <= options.decode.rows) {
      fail(ExitUsage, "--kv-capacity=" +
                          std::to_string(options.decode.capacity) +
                          " must exceed the " +
                          std::to_string(options.decode.rows) +
                          " rows of a call");
      return false;
    }
  }
  // The dim a past export fixes at `dim` of input `name` (-1: none).
  auto decodeDim = [&](const std::string &name, int64_t rank,
                       int64_t dim) -> int64_t {
    if (pastKV.pastAxis.empty())
      return -1;
    if (auto it = pastKV.pastAxis.find(name); it != pastKV.pastAxis.end())
      return dim == it->second
                 ? options.decode.capacity - options.decode.rows
                 : -1;
    if ((name == pastKV.ids && dim == 1) ||
        (pastKV.positions.count(name) && dim == rank - 1))
      return options.decode.rows;
    return -1;
  };

  // Graph inputs: static shapes, pinned by --shape where dynamic.
  SmallVector<Type> inputTypes;
  std::vector<std::string> inputs; // manifest names
  SmallVector<std::pair<unsigned, int64_t>> pastArgs; // argument, its axis
  for (const auto &vi : graph.input()) {
    if (constants.count(vi.name()))
      continue;
    if (!vi.type().has_tensor_type()) {
      fail(ExitUnsupported, "graph input '" + vi.name() +
                                "' is not a tensor (sequences and maps are "
                                "not supported)");
      return false;
    }
    const auto &tt = vi.type().tensor_type();
    Type elem = onnxElemType(ctx, tt.elem_type());
    if (!elem) {
      fail(ExitUnsupported, "graph input '" + vi.name() +
                                "' has element type " +
                                onnxTypeName(tt.elem_type()) +
                                ", which memc does not support");
      return false;
    }
    std::vector<int64_t> shape;
    auto pinned = options.inputShapes.find(vi.name());
    if (pinned != options.inputShapes.end()) {
      shape = pinned->second;
      // --shape pins dynamic dims; it cannot contradict static ones.
      if (tt.has_shape()) {
        bool conflict = tt.shape().dim_size() != (int)shape.size();
        for (int d = 0; !conflict && d < tt.shape().dim_size(); ++d)
          conflict = tt.shape().dim(d).has_dim_value() &&
                     tt.shape().dim(d).dim_value() != shape[d];
        if (conflict) {
          fail(ExitUsage, "--shape " + vi.name() +
                              " contradicts the input's declared shape");
          return false;
        }
      }
    } else {
      if (!tt.has_shape()) {
        fail(ExitUnknownDim, "graph input '" + vi.name() +
                                 "' has no shape; pin it with --shape " +
                                 vi.name() + "=DIMS");
        return false;
      }
      for (const auto &d : tt.shape().dim()) {
        int64_t fixed =
            decodeDim(vi.name(), tt.shape().dim_size(), shape.size());
        if (fixed >= 0 && vi.name() == pastKV.ids && d.has_dim_value() &&
            d.dim_value() != fixed) {
          fail(ExitUsage, "input '" + vi.name() + "' has a fixed sequence "
                          "length of " + std::to_string(d.dim_value()) +
                          ", so every call takes that many rows, not " +
                          std::to_string(fixed) +
                          (d.dim_value() == 1
                               ? " (a one-row export: --prefill-rows=1)"
                               : ": export it with a dynamic sequence "
                                 "dimension"));
          return false;
        }
        if (fixed >= 0 && (!d.has_dim_value() || d.dim_value() < 0)) {
          shape.push_back(fixed);
          continue;
        }
        if (!d.has_dim_value() || d.dim_value() < 0) {
          std::string dimName =
              d.has_dim_param() ? "'" + d.dim_param() + "'" : "?";
          fail(ExitUnknownDim, "graph input '" + vi.name() + "' dimension " +
                                   std::to_string(shape.size()) + " is " +
                                   dimName + "; pin it with --shape " +
                                   vi.name() + "=DIMS (e.g. 1x128)");
          return false;
        }
        shape.push_back(d.dim_value());
      }
    }
    if (auto it = pastKV.pastAxis.find(vi.name()); it != pastKV.pastAxis.end())
      pastArgs.push_back({unsigned(inputs.size()), it->second});
    inputTypes.push_back(RankedTensorType::get(shape, elem));
    inputs.push_back(sanitize(vi.name()));
  }

  result.module = ModuleOp::create(UnknownLoc::get(ctx));
  builder.setInsertionPointToEnd(result.module->getBody());
  Location fileLoc = FileLineColLoc::get(ctx, path, 0, 0);
  func = func::FuncOp::create(builder, fileLoc, kDefaultEntryName,
                              builder.getFunctionType(inputTypes, {}));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToEnd(entry);
  // Trainable initializers are values of the program, never host constants;
  // so are the running statistics a step updates.
  for (const std::string &name : trainable) {
    values[name] = materializeTrainable(name, constants[name]);
    constants.erase(name);
  }
  for (const auto &stat : runningStats) {
    values[stat.first] =
        materializeTrainable(stat.first, constants[stat.first], false);
    constants.erase(stat.first);
  }
  {
    unsigned i = 0;
    for (const auto &vi : graph.input())
      if (!constants.count(vi.name()))
        values[vi.name()] = entry->getArgument(i++);
  }

  // Nodes, in the graph's (topological) order (OpRegistry.cpp).
  for (const auto &node : graph.node())
    if (!importNode(*this, node))
      return false;

  // Results.
  SmallVector<Value> results;
  std::vector<std::string> outputs; // manifest names
  for (const auto &vi : graph.output()) {
    Value v = lookup(vi.name());
    if (!v) {
      fail(ExitInvalidModel, "graph output '" + vi.name() +
                                 "' is not produced by any node");
      return false;
    }
    auto type = cast<RankedTensorType>(v.getType());
    if (!checkDeclaredType(vi, type))
      return false;
    results.push_back(v);
    outputs.push_back(sanitize(vi.name()));
  }
  func::ReturnOp::create(builder, fileLoc, results);
  SmallVector<Type> argTypes(entry->getArgumentTypes());
  func.setFunctionType(builder.getFunctionType(
      argTypes, ValueRange(results).getTypes()));
  // Name every argument and result for readers of the IR and the package.
  for (auto [i, name] : llvm::enumerate(inputs))
    setArgRole(func, i, ArgRole::Input, name);
  // Past keys/values, for memc-bind-past-kv.
  for (auto [arg, axis] : pastArgs)
    func.setArgAttr(arg, MemcDialect::PastKvAttrHelper::getNameStr(),
                    builder.getI64IntegerAttr(axis));
  for (auto [i, name] : llvm::enumerate(outputs))
    setResultOutputName(func, i, name);
  setEntryFunction(*result.module, func);

  if (failed(verify(*result.module))) {
    fail(ExitInternal, "the imported IR does not verify (a memc bug)");
    return false;
  }
  return checkTensorSizes();
}

bool GraphImporter::checkDeclaredType(const onnx::ValueInfoProto &vi,
                                      RankedTensorType computed) {
  if (!vi.type().has_tensor_type())
    return true;
  const auto &tt = vi.type().tensor_type();
  std::string got = std::string(manifestDType(onnxTypeOf(
                        computed.getElementType()))) +
                    " " +
                    formatDims(std::vector<int64_t>(computed.getShape().begin(),
                                                    computed.getShape().end()));
  auto contradicts = [&](const std::string &what) {
    fail(ExitInvalidModel, "graph output '" + vi.name() + "' is declared " +
                               what + ", but the graph computes " + got);
    return false;
  };
  if (tt.elem_type() != onnx::TensorProto::UNDEFINED &&
      tt.elem_type() != onnxTypeOf(computed.getElementType()))
    return contradicts(std::string("of element type ") +
                       onnxTypeName(tt.elem_type()));
  if (!tt.has_shape())
    return true;
  if (tt.shape().dim_size() != computed.getRank())
    return contradicts("of rank " + std::to_string(tt.shape().dim_size()));
  for (int d = 0; d < tt.shape().dim_size(); ++d)
    if (tt.shape().dim(d).has_dim_value() &&
        tt.shape().dim(d).dim_value() != computed.getDimSize(d))
      return contradicts("with dimension " + std::to_string(d) + " = " +
                         std::to_string(tt.shape().dim(d).dim_value()));
  return true;
}

bool GraphImporter::checkTensorSizes() {
  auto hasZeroDim = [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    return ranked && llvm::is_contained(ranked.getShape(), 0);
  };
  auto overflows = [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    if (!ranked)
      return false;
    unsigned bits = ranked.getElementType().isIntOrFloat()
                        ? ranked.getElementType().getIntOrFloatBitWidth()
                        : 64;
    return !checkedByteSize(std::vector<int64_t>(ranked.getShape().begin(),
                                                 ranked.getShape().end()),
                            std::max(1u, bits / 8));
  };
  for (BlockArgument arg : func.getArguments())
    if (overflows(arg.getType())) {
      fail(ExitInvalidModel, "graph input or weight " +
                                 std::to_string(arg.getArgNumber()) +
                                 " has a byte size that overflows 64 bits");
      return false;
    }
  for (BlockArgument arg : func.getArguments())
    if (hasZeroDim(arg.getType())) {
      fail(ExitUnsupported, "graph input or weight " +
                                std::to_string(arg.getArgNumber()) +
                                " has a zero-size dimension; memc refuses "
                                "empty tensors (README, Status)");
      return false;
    }
  WalkResult walk = func.walk([&](Operation *op) {
    for (Value r : op->getResults()) {
      if (!hasZeroDim(r.getType()) && !overflows(r.getType()))
        continue;
      std::string where = "an op";
      if (auto name = dyn_cast<NameLoc>(op->getLoc()))
        where = "node '" + name.getName().str() + "'";
      if (hasZeroDim(r.getType()))
        fail(ExitUnsupported, where + " makes a tensor with a zero-size "
                                      "dimension; memc refuses empty tensors "
                                      "(README, Status)");
      else
        fail(ExitInvalidModel, where + " makes a tensor whose byte size "
                                       "overflows 64 bits");
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

} // namespace memc::onnximport

//===----------------------------------------------------------------------===//
// Entry point
//===----------------------------------------------------------------------===//

bool memc::importONNXModel(const std::string &path,
                           const ImportOptions &options, MLIRContext &context,
                           ImportResult &result, ImportError &error) {
  using namespace memc::onnximport;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    error = {ExitFileNotFound,
             path + ": " +
                 (errno == ENOENT ? "no such file" : std::strerror(errno))};
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = {ExitFileNotFound,
             path + (S_ISDIR(st.st_mode) ? ": is a directory, not a model file"
                                         : ": not a regular file (a FIFO, "
                                           "device or socket)")};
    return false;
  }
  // Mapped, not copied: a model's weights are most of its bytes, and every
  // copy of hundreds of MB costs seconds of page faults.
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!file) {
    error = {ExitFileNotFound,
             path + ": cannot be read: " + file.getError().message()};
    return false;
  }
  return importONNXModelFromBytes((*file)->getBuffer(), path, options, context,
                                  result, error);
}

namespace {
int64_t defaultOpset(const onnx::ModelProto &model) {
  for (const auto &op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      return op.version();
  return 0;
}

/// Checks every node (subgraphs included) against its ONNX schema: arity,
/// required inputs, attribute types. Shape inference and the op importers
/// rely on these; ONNX 1.12's inference functions crash on nodes that
/// violate them. Nodes of unknown ops are left to the importer to report.
bool verifyNodes(const onnx::GraphProto &graph, int64_t opset,
                 const std::string &path, memc::ImportError &error) {
  for (const auto &node : graph.node()) {
    bool defaultDomain = node.domain().empty() || node.domain() == "ai.onnx";
    const onnx::OpSchema *schema =
        defaultDomain ? onnx::OpSchemaRegistry::Schema(node.op_type(), opset, "")
                      : nullptr;
    if (schema) {
      try {
        schema->Verify(node);
      } catch (const std::exception &e) {
        std::string what = e.what();
        std::string name = node.name().empty() ? "(unnamed)" : node.name();
        error = {memc::ExitInvalidModel,
                 path + ": node '" + name + "' (" + node.op_type() +
                     ", opset " + std::to_string(opset) +
                     "): " + what.substr(0, what.find('\n'))};
        return false;
      }
    }
    for (const auto &attr : node.attribute()) {
      if (attr.has_g() && !verifyNodes(attr.g(), opset, path, error))
        return false;
      for (const auto &g : attr.graphs())
        if (!verifyNodes(g, opset, path, error))
          return false;
    }
  }
  return true;
}
/// Compares every graph output's shape with ONNX shape inference where both
/// are static. A disagreement is a bug in memc (or in ONNX): it is reported,
/// not compiled.
bool crossCheckShapes(onnx::ModelProto &model, const memc::ImportResult &result,
                      const std::string &path, memc::ImportError &error) {
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception &) {
    return true; // ONNX cannot infer this graph: nothing to compare with
  }
  // The entry's results are the graph outputs, in order.
  ArrayRef<Type> outputs =
      memc::getEntryFunction(*result.module).getResultTypes();
  for (int i = 0; i < model.graph().output_size() && i < (int)outputs.size();
       ++i) {
    const auto &type = model.graph().output(i).type();
    if (!type.has_tensor_type() || !type.tensor_type().has_shape())
      continue;
    std::vector<int64_t> inferred;
    bool isStatic = true;
    for (const auto &d : type.tensor_type().shape().dim()) {
      isStatic &= d.has_dim_value();
      inferred.push_back(d.dim_value());
    }
    auto computed = cast<RankedTensorType>(outputs[i]).getShape();
    if (isStatic && llvm::ArrayRef<int64_t>(inferred) != computed) {
      error = {memc::ExitInternal,
               path + ": output '" + model.graph().output(i).name() +
                   "': memc computed shape " + memc::formatDims({computed.begin(), computed.end()}) +
                   ", ONNX shape inference " + memc::formatDims(inferred) +
                   " (a memc bug)"};
      return false;
    }
  }
  return true;
}
} // namespace

bool memc::importONNXModelFromBytes(llvm::StringRef bytes,
                                    const std::string &path,
                                    const ImportOptions &options,
                                    MLIRContext &context, ImportResult &result,
                                    ImportError &error) {
  using namespace memc::onnximport;
  onnx::ModelProto model;
  if (bytes.size() > size_t(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), int(bytes.size()))) {
    error = {ExitNotONNX, path + ": not an ONNX model (the protobuf does not "
                                 "parse: a truncated or foreign file)"};
    return false;
  }
  if (!model.has_graph() || model.ir_version() <= 0 ||
      model.graph().output_size() == 0) {
    error = {ExitNotONNX,
             path + ": not an ONNX model (no graph, IR version or outputs)"};
    return false;
  }
  if (!checkGraphStructure(model, path, error) ||
      !verifyNodes(model.graph(), defaultOpset(model), path, error))
    return false;
  context.loadDialect<einsum::EinsumDialect, func::FuncDialect,
                      arith::ArithDialect, tensor::TensorDialect,
                      memc::MemcDialect, ml_program::MLProgramDialect>();
  GraphImporter importer(context, path, options, error);
  if (!importer.run(model, result)) {
    if (error.code == ExitOK)
      error = {ExitInternal, path + ": import failed without a reason"};
    result.module = nullptr;
    return false;
  }
  // ONNX's own shape inference is an independent check of the shapes the
  // importer computed. It runs after the import because ONNX 1.12's
  // inference functions crash on some malformed nodes that the importer's
  // validation rejects first (test/fuzz/regressions).
  if (!crossCheckShapes(model, result, path, error)) {
    result.module = nullptr;
    return false;
  }
  return true;
}

bool memc::inspectDecodeExport(const std::string &path, DecodeExportInfo &info,
                               ImportError &error) {
  using namespace memc::onnximport;
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  onnx::ModelProto model;
  if (!file || (*file)->getBufferSize() > size_t(INT_MAX) ||
      !model.ParseFromArray((*file)->getBufferStart(),
                            int((*file)->getBufferSize())))
    return true; // the import that follows says what is wrong with it
  PastKV found;
  std::string why;
  if (!findPastKV(model.graph(), found, why)) {
    error = {ExitUnsupported, path + ": " + why};
    return false;
  }
  for (const auto &vi : model.graph().input()) {
    if (vi.name() == found.ids && vi.type().tensor_type().has_shape()) {
      const auto &d = vi.type().tensor_type().shape().dim(1);
      info.fixedRows = d.has_dim_value() ? d.dim_value() : 0;
    }
  }
  return true;
}
