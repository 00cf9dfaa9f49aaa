//===- ImportContext.h - state shared by the ONNX op importers --*- C++ -*-===//
//
// Internal to lib/Import. Every ONNX op handler receives a NodeImporter: its
// node's attributes and inputs (as IR values, or as host constants when they
// are known at compile time), helpers that build einsum ops with ONNX's
// broadcasting rules, and a way to say "unsupported" that becomes one clear
// error line naming the node, op and opset.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_LIB_IMPORT_IMPORTCONTEXT_H
#define MEMC_LIB_IMPORT_IMPORTCONTEXT_H

#include "memc/Import/ONNXImporter.h"

#include "EinsumBuilder.h"
#include "dialects/einsum/EinsumDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>
#include <vector>

namespace memc::onnximport {

/// A tensor known at compile time: an initializer, a Constant node, or the
/// folded result of a shape subgraph. Raw little-endian bytes of `elemType`.
struct HostTensor {
  int32_t elemType = 0; ///< onnx::TensorProto_DataType
  std::vector<int64_t> shape;
  std::string raw;

  int64_t numel() const;
  size_t elemBytes() const;
  bool isFloat() const;
  int64_t getInt(int64_t i) const;
  double getDouble(int64_t i) const;
  std::vector<int64_t> toInts() const;
  std::vector<double> toDoubles() const;
  static HostTensor fromInts(int32_t elemType, std::vector<int64_t> shape,
                             const std::vector<int64_t> &values);
  static HostTensor fromDoubles(int32_t elemType, std::vector<int64_t> shape,
                                const std::vector<double> &values);
};

/// Decodes a TensorProto held in the model (raw_data or the typed fields)
/// into `out`; false for external data, unknown types, or data that does
/// not hold exactly one value per element of its shape.
bool decodeInlineTensor(const onnx::TensorProto &tp, HostTensor &out);

/// Bytes of one element of an ONNX data type, 0 when unsupported.
size_t onnxElemBytes(int32_t elemType);
/// The MLIR element type of an ONNX data type, null when unsupported.
mlir::Type onnxElemType(mlir::MLIRContext *ctx, int32_t elemType);
/// The ONNX data type of an MLIR element type.
int32_t onnxTypeOf(mlir::Type t);
/// The manifest spelling of an ONNX data type (f32, i64, bool, ...).
const char *manifestDType(int32_t elemType);
const char *onnxTypeName(int32_t elemType);

class GraphImporter;

/// The view of one node that op handlers work with.
class NodeImporter {
public:
  NodeImporter(GraphImporter &graph, const onnx::NodeProto &node,
               int64_t opset);

  const onnx::NodeProto &node() const { return node_; }
  int64_t opset() const { return opset_; }
  mlir::OpBuilder &b();
  mlir::Location loc();
  mlir::MLIRContext *ctx();

  // Inputs.
  unsigned numInputs() const { return node_.input_size(); }
  bool hasInput(unsigned i) const;
  /// The IR value of input `i` (materializes host constants).
  mlir::Value input(unsigned i);
  /// Input `i` when it is known at compile time.
  const HostTensor *constInput(unsigned i);
  /// Input `i`'s ints; fails the node (unsupported) when not constant.
  std::optional<std::vector<int64_t>> constInts(unsigned i, const char *what);

  // Attributes.
  const onnx::AttributeProto *attr(const std::string &name) const;
  int64_t attrInt(const std::string &name, int64_t dflt) const;
  float attrFloat(const std::string &name, float dflt) const;
  std::string attrString(const std::string &name,
                         const std::string &dflt) const;
  std::vector<int64_t> attrInts(const std::string &name,
                                std::vector<int64_t> dflt = {}) const;

  // Outputs.
  unsigned numOutputs() const { return node_.output_size(); }
  bool wantsOutput(unsigned i) const;
  void setOutput(unsigned i, mlir::Value v);
  void setConstOutput(unsigned i, HostTensor t);
  /// Whether input `i` is a running statistic that a train step updates in
  /// place (memc --train, BatchNormalization with training_mode=1).
  bool isRunningStatistic(unsigned i) const;
  /// Writes `v` into running statistic `i` (an ml_program.global_store that
  /// memc-bind-parameter-stores makes a result overwriting its argument).
  void storeRunningStatistic(unsigned i, mlir::Value v);

  /// Records "unsupported" for this node; returns failure for `return`.
  mlir::LogicalResult unsupported(const std::string &why);
  /// Records "invalid model" for this node.
  mlir::LogicalResult invalid(const std::string &why);

  // Builders (ONNX semantics).
  static mlir::RankedTensorType typeOf(mlir::Value v);
  static std::vector<int64_t> shapeOf(mlir::Value v);
  /// One einsum op (EinsumBuilder.h) with result `shape` x `elem`.
  mlir::Value einsum(const EinsumSpec &spec, mlir::ValueRange inputs,
                     llvm::ArrayRef<int64_t> shape, mlir::Type elem);
  /// Multidirectional (numpy) broadcasting of `inputs`, one einsum op.
  mlir::Value elementwise(einsum::ComputeOp op, llvm::ArrayRef<mlir::Value> in,
                          mlir::Type resultElem = {});
  /// reduce_{axes} map(x); keepDims keeps reduced dims as size 1.
  mlir::Value reduce(einsum::ReduceOp op, mlir::Value x,
                     llvm::ArrayRef<int64_t> axes, bool keepDims,
                     einsum::ComputeOp map = einsum::ComputeOp::copy);
  /// numpy.matmul semantics (1-D promotion, batch broadcasting).
  mlir::Value matmul(mlir::Value a, mlir::Value b);
  mlir::Value transpose(mlir::Value x, llvm::ArrayRef<int64_t> perm);
  mlir::Value reshape(mlir::Value x, llvm::ArrayRef<int64_t> shape);
  /// Broadcasts `x` to `shape` (numpy rules).
  mlir::Value broadcastTo(mlir::Value x, llvm::ArrayRef<int64_t> shape);
  mlir::Value cast(mlir::Value x, mlir::Type elem);
  /// A scalar (rank-0) constant of element type `elem`.
  mlir::Value scalar(mlir::Type elem, double v);
  /// `v` as an attribute of `elem` (integers truncate toward zero; i1 is
  /// v != 0).
  static mlir::TypedAttr scalarAttr(mlir::Type elem, double v);
  /// A copy of `x` in a new tensor: keeps an op's output distinct from its
  /// input (Identity, no-op reshapes) for the output parameters.
  mlir::Value copy(mlir::Value x);
  mlir::Value constant(const HostTensor &t);
  /// An arith.constant holding `t`, built at `b`'s insertion point.
  static mlir::Value constantIn(mlir::OpBuilder &b, mlir::Location loc,
                                const HostTensor &t);
  mlir::Value slice(mlir::Value x, llvm::ArrayRef<int64_t> offsets,
                    llvm::ArrayRef<int64_t> sizes,
                    llvm::ArrayRef<int64_t> strides);
  mlir::Value concat(llvm::ArrayRef<mlir::Value> parts, int64_t axis);
  /// Normalizes a possibly negative axis against `rank`.
  std::optional<int64_t> normAxis(int64_t axis, int64_t rank);

private:
  GraphImporter &graph_;
  const onnx::NodeProto &node_;
  int64_t opset_;
};

} // namespace memc::onnximport

#endif
