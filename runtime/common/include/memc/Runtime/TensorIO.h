//===- TensorIO.h - ONNX TensorProto files <-> host tensors -----*- C++ -*-===//
//
// Reads and writes the serialized onnx.TensorProto files of the ONNX
// backend-test layout (input_0.pb, output_0.pb, ...). The protobuf types stay
// inside TensorIO.cpp so that users of this header need no ONNX include path.
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_TENSORIO_H
#define MEMC_RUNTIME_TENSORIO_H

#include "memc/Runtime/Tensor.h"

#include <string>
#include <string_view>

namespace memc {
namespace rt {

/// Parses serialized TensorProto bytes into `out`. Accepts raw_data and the
/// typed fields (float_data, double_data, int32_data for the 8/16-bit types,
/// bool, float16 and bfloat16, int64_data, uint64_data for uint32/uint64).
/// Rejects strings, complex numbers, external or segmented data, and element
/// counts that do not match the dims. On failure returns false and sets
/// `error` (without the file name; see readTensorFile).
bool parseTensorProto(std::string_view bytes, Tensor &out, std::string &error);

/// Reads `path` with parseTensorProto; errors read "<path>: <what>".
bool readTensorFile(const std::string &path, Tensor &out, std::string &error);

/// The onnx.TensorProto data_type of `t` (an int, so that users of this
/// header need no protobuf include).
int onnxDataType(DType t);

/// Serializes `t` as a TensorProto with raw_data (named `name`) to `path`.
/// Errors read "<path>: <what>".
bool writeTensorFile(const std::string &path, const Tensor &t,
                     const std::string &name, std::string &error);

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_TENSORIO_H
