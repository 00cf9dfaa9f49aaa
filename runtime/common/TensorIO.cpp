//===- TensorIO.cpp - ONNX TensorProto files <-> host tensors -------------===//
//
// Every size is checked against the bytes actually present before anything
// is allocated, so a corrupt or hostile .pb file yields an error line, never
// a huge allocation or an out-of-bounds read.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/TensorIO.h"

#include "memc/Runtime/InputFile.h"

#include <onnx/onnx_pb.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace memc {
namespace rt {

namespace {

using onnx::TensorProto;

/// The package dtype of an ONNX data_type; false (and `error`) otherwise.
bool dtypeOfProto(int dataType, DType &out, std::string &error) {
  switch (dataType) {
  case TensorProto::FLOAT:
    out = DType::F32;
    return true;
  case TensorProto::DOUBLE:
    out = DType::F64;
    return true;
  case TensorProto::FLOAT16:
    out = DType::F16;
    return true;
  case TensorProto::BFLOAT16:
    out = DType::BF16;
    return true;
  case TensorProto::INT8:
    out = DType::I8;
    return true;
  case TensorProto::INT16:
    out = DType::I16;
    return true;
  case TensorProto::INT32:
    out = DType::I32;
    return true;
  case TensorProto::INT64:
    out = DType::I64;
    return true;
  case TensorProto::UINT8:
    out = DType::U8;
    return true;
  case TensorProto::UINT16:
    out = DType::U16;
    return true;
  case TensorProto::UINT32:
    out = DType::U32;
    return true;
  case TensorProto::UINT64:
    out = DType::U64;
    return true;
  case TensorProto::BOOL:
    out = DType::Bool;
    return true;
  case TensorProto::STRING:
    error = "string tensors are not supported";
    return false;
  case TensorProto::COMPLEX64:
  case TensorProto::COMPLEX128:
    error = "complex tensors are not supported";
    return false;
  case TensorProto::UNDEFINED:
    error = "tensor has no data_type (not a serialized onnx.TensorProto?)";
    return false;
  default:
    error = "unsupported tensor data_type " + std::to_string(dataType);
    return false;
  }
}

int protoOfDType(DType t) {
  switch (t) {
  case DType::F32:
    return TensorProto::FLOAT;
  case DType::F64:
    return TensorProto::DOUBLE;
  case DType::F16:
    return TensorProto::FLOAT16;
  case DType::BF16:
    return TensorProto::BFLOAT16;
  case DType::I8:
    return TensorProto::INT8;
  case DType::I16:
    return TensorProto::INT16;
  case DType::I32:
    return TensorProto::INT32;
  case DType::I64:
    return TensorProto::INT64;
  case DType::U8:
    return TensorProto::UINT8;
  case DType::U16:
    return TensorProto::UINT16;
  case DType::U32:
    return TensorProto::UINT32;
  case DType::U64:
    return TensorProto::UINT64;
  case DType::Bool:
    return TensorProto::BOOL;
  }
  return TensorProto::UNDEFINED;
}

/// Copies a repeated typed field into the buffer, converting each value with
/// `store(dst, value)`; checks the value count first.
template <typename Field, typename Store>
bool copyTyped(const Field &field, const char *fieldName, uint64_t n,
               Tensor &out, std::string &error, Store store) {
  if (uint64_t(field.size()) != n) {
    error = std::string(fieldName) + " has " + std::to_string(field.size()) +
            " values but dims " + formatDims(out.dims) + " need " +
            std::to_string(n);
    return false;
  }
  if (!out.allocate()) {
    error = "out of memory for " + formatDims(out.dims) + " " +
            dtypeName(out.dtype);
    return false;
  }
  auto *base = static_cast<unsigned char *>(out.buffer.data());
  size_t size = dtypeSize(out.dtype);
  for (uint64_t i = 0; i < n; ++i)
    store(base + i * size, field.Get(int(i)));
  return true;
}

template <typename T> void storeAs(unsigned char *dst, T v) {
  std::memcpy(dst, &v, sizeof v);
}

} // namespace

bool parseTensorProto(std::string_view bytes, Tensor &out, std::string &error) {
  out = Tensor();
  if (bytes.size() > size_t(INT_MAX)) {
    error = "file is larger than 2 GiB (protobuf's limit)";
    return false;
  }
  TensorProto p;
  if (!p.ParseFromArray(bytes.data(), int(bytes.size()))) {
    error = "not a serialized onnx.TensorProto (truncated or corrupt)";
    return false;
  }
  if (!dtypeOfProto(p.data_type(), out.dtype, error))
    return false;
  if (p.has_segment()) {
    // Real segments are never written by exporters; a SequenceProto or
    // OptionalProto holding tensors reads as one (field 3), so name both.
    error = "a sequence/optional value or a segmented tensor: not supported "
            "(memc-run reads plain onnx.TensorProto files)";
    return false;
  }
  if (p.data_location() == TensorProto::EXTERNAL) {
    error = "tensors with external data are not supported";
    return false;
  }
  for (int64_t d : p.dims()) {
    if (d < 0) {
      error = "negative dimension " + std::to_string(d);
      return false;
    }
    out.dims.push_back(d);
  }
  size_t elemSize = dtypeSize(out.dtype);
  uint64_t n = 0;
  if (!countElements(out.dims, n, elemSize)) {
    error = "dims " + formatDims(out.dims) + " are too large";
    return false;
  }

  if (p.has_raw_data()) {
    const std::string &raw = p.raw_data();
    if (raw.size() != n * elemSize) {
      error = "raw_data has " + std::to_string(raw.size()) +
              " bytes but dims " + formatDims(out.dims) + " " +
              dtypeName(out.dtype) + " need " + std::to_string(n * elemSize);
      return false;
    }
    if (!out.allocate()) {
      error = "out of memory for " + formatDims(out.dims) + " " +
              dtypeName(out.dtype);
      return false;
    }
    // ONNX raw_data is little-endian, as is every host memc targets.
    std::memcpy(out.buffer.data(), raw.data(), raw.size());
    if (out.dtype == DType::Bool) {
      auto *b = static_cast<uint8_t *>(out.buffer.data());
      for (uint64_t i = 0; i < n; ++i)
        b[i] = b[i] != 0;
    }
    return true;
  }

  switch (out.dtype) {
  case DType::F32:
    return copyTyped(p.float_data(), "float_data", n, out, error,
                     storeAs<float>);
  case DType::F64:
    return copyTyped(p.double_data(), "double_data", n, out, error,
                     storeAs<double>);
  case DType::I64:
    return copyTyped(p.int64_data(), "int64_data", n, out, error,
                     storeAs<int64_t>);
  case DType::U32:
    return copyTyped(p.uint64_data(), "uint64_data", n, out, error,
                     [](unsigned char *d, uint64_t v) {
                       storeAs<uint32_t>(d, uint32_t(v));
                     });
  case DType::U64:
    return copyTyped(p.uint64_data(), "uint64_data", n, out, error,
                     storeAs<uint64_t>);
  case DType::I32:
    return copyTyped(p.int32_data(), "int32_data", n, out, error,
                     storeAs<int32_t>);
  case DType::I8:
    return copyTyped(
        p.int32_data(), "int32_data", n, out, error,
        [](unsigned char *d, int32_t v) { storeAs<int8_t>(d, int8_t(v)); });
  case DType::I16:
    return copyTyped(
        p.int32_data(), "int32_data", n, out, error,
        [](unsigned char *d, int32_t v) { storeAs<int16_t>(d, int16_t(v)); });
  case DType::U8:
    return copyTyped(
        p.int32_data(), "int32_data", n, out, error,
        [](unsigned char *d, int32_t v) { storeAs<uint8_t>(d, uint8_t(v)); });
  case DType::Bool:
    return copyTyped(p.int32_data(), "int32_data", n, out, error,
                     [](unsigned char *d, int32_t v) {
                       storeAs<uint8_t>(d, uint8_t(v != 0));
                     });
  case DType::U16:
  case DType::F16:
  case DType::BF16:
    // float16/bfloat16 travel as their 16-bit patterns in int32_data.
    return copyTyped(
        p.int32_data(), "int32_data", n, out, error,
        [](unsigned char *d, int32_t v) { storeAs<uint16_t>(d, uint16_t(v)); });
  }
  error = "internal: unhandled dtype";
  return false;
}

bool readTensorFile(const std::string &path, Tensor &out, std::string &error) {
  // protobuf parses at most INT_MAX bytes; refusing a larger file before
  // reading it also keeps a huge or endless file from filling memory.
  std::string bytes;
  if (!readSmallFile(path, uint64_t(INT_MAX), bytes, error))
    return false;
  std::string what;
  if (!parseTensorProto(bytes, out, what)) {
    error = path + ": " + what;
    return false;
  }
  return true;
}

int onnxDataType(DType t) { return protoOfDType(t); }

bool writeTensorFile(const std::string &path, const Tensor &t,
                     const std::string &name, std::string &error) {
  TensorProto p;
  p.set_name(name);
  p.set_data_type(protoOfDType(t.dtype));
  for (int64_t d : t.dims)
    p.add_dims(d);
  uint64_t bytes = t.numElements() * dtypeSize(t.dtype);
  if (bytes > t.buffer.size()) {
    error = path + ": tensor buffer smaller than its dims";
    return false;
  }
  p.set_raw_data(t.buffer.data(), size_t(bytes));
  std::string data;
  if (!p.SerializeToString(&data)) {
    error = path + ": cannot serialize the tensor";
    return false;
  }
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    error = path + ": cannot write: " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok)
    error = path + ": write error";
  return ok;
}

} // namespace rt
} // namespace memc
