//===- HostTensor.cpp - compile-time tensors and ONNX type mapping --------===//
#include "ImportContext.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cstring>

using namespace mlir;

std::string memc::formatDims(const std::vector<int64_t> &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

namespace memc::onnximport {

using TP = onnx::TensorProto;

size_t onnxElemBytes(int32_t t) {
  switch (t) {
  case TP::FLOAT:
  case TP::INT32:
  case TP::UINT32:
    return 4;
  case TP::DOUBLE:
  case TP::INT64:
  case TP::UINT64:
    return 8;
  case TP::FLOAT16:
  case TP::BFLOAT16:
  case TP::INT16:
  case TP::UINT16:
    return 2;
  case TP::INT8:
  case TP::UINT8:
  case TP::BOOL:
    return 1;
  default:
    return 0;
  }
}

// Unsigned ONNX types are not mapped: MLIR's arith ops are signless, and a
// uint8 would silently compare and divide as signed. They are reported as
// unsupported instead.
Type onnxElemType(MLIRContext *ctx, int32_t t) {
  switch (t) {
  case TP::FLOAT:
    return Float32Type::get(ctx);
  case TP::DOUBLE:
    return Float64Type::get(ctx);
  case TP::FLOAT16:
    return Float16Type::get(ctx);
  case TP::BFLOAT16:
    return BFloat16Type::get(ctx);
  case TP::INT8:
    return IntegerType::get(ctx, 8);
  case TP::INT16:
    return IntegerType::get(ctx, 16);
  case TP::INT32:
    return IntegerType::get(ctx, 32);
  case TP::INT64:
    return IntegerType::get(ctx, 64);
  case TP::BOOL:
    return IntegerType::get(ctx, 1);
  default:
    return {};
  }
}

int32_t onnxTypeOf(Type t) {
  if (t.isF32())
    return TP::FLOAT;
  if (t.isF64())
    return TP::DOUBLE;
  if (t.isF16())
    return TP::FLOAT16;
  if (t.isBF16())
    return TP::BFLOAT16;
  if (t.isInteger(1))
    return TP::BOOL;
  if (t.isInteger(8))
    return TP::INT8;
  if (t.isInteger(16))
    return TP::INT16;
  if (t.isInteger(32))
    return TP::INT32;
  if (t.isInteger(64))
    return TP::INT64;
  return TP::UNDEFINED;
}

const char *manifestDType(int32_t t) {
  switch (t) {
  case TP::FLOAT: return "f32";
  case TP::DOUBLE: return "f64";
  case TP::FLOAT16: return "f16";
  case TP::BFLOAT16: return "bf16";
  case TP::INT8: return "i8";
  case TP::INT16: return "i16";
  case TP::INT32: return "i32";
  case TP::INT64: return "i64";
  case TP::UINT8: return "u8";
  case TP::UINT16: return "u16";
  case TP::UINT32: return "u32";
  case TP::UINT64: return "u64";
  case TP::BOOL: return "bool";
  default: return "unknown";
  }
}

const char *onnxTypeName(int32_t t) {
  if (onnx::TensorProto_DataType_IsValid(t))
    return onnx::TensorProto_DataType_Name(
               static_cast<onnx::TensorProto_DataType>(t))
        .c_str();
  return "UNKNOWN";
}

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}
size_t HostTensor::elemBytes() const { return onnxElemBytes(elemType); }
bool HostTensor::isFloat() const {
  return elemType == TP::FLOAT || elemType == TP::DOUBLE ||
         elemType == TP::FLOAT16 || elemType == TP::BFLOAT16;
}

static float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) {
        man <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

int64_t HostTensor::getInt(int64_t i) const {
  const char *p = raw.data() + i * elemBytes();
  switch (elemType) {
  case TP::INT64: { int64_t v; std::memcpy(&v, p, 8); return v; }
  case TP::INT32: { int32_t v; std::memcpy(&v, p, 4); return v; }
  case TP::INT16: { int16_t v; std::memcpy(&v, p, 2); return v; }
  case TP::INT8: return static_cast<int8_t>(*p);
  case TP::UINT8:
  case TP::BOOL: return static_cast<uint8_t>(*p);
  default: return static_cast<int64_t>(getDouble(i));
  }
}

double HostTensor::getDouble(int64_t i) const {
  const char *p = raw.data() + i * elemBytes();
  switch (elemType) {
  case TP::FLOAT: { float v; std::memcpy(&v, p, 4); return v; }
  case TP::DOUBLE: { double v; std::memcpy(&v, p, 8); return v; }
  case TP::FLOAT16: { uint16_t v; std::memcpy(&v, p, 2); return halfToFloat(v); }
  case TP::BFLOAT16: {
    uint16_t v; std::memcpy(&v, p, 2);
    uint32_t bits = uint32_t(v) << 16; float f; std::memcpy(&f, &bits, 4);
    return f;
  }
  default: return static_cast<double>(getInt(i));
  }
}

std::vector<int64_t> HostTensor::toInts() const {
  std::vector<int64_t> v(numel());
  for (int64_t i = 0; i < (int64_t)v.size(); ++i)
    v[i] = getInt(i);
  return v;
}
std::vector<double> HostTensor::toDoubles() const {
  std::vector<double> v(numel());
  for (int64_t i = 0; i < (int64_t)v.size(); ++i)
    v[i] = getDouble(i);
  return v;
}

HostTensor HostTensor::fromInts(int32_t elemType, std::vector<int64_t> shape,
                                const std::vector<int64_t> &values) {
  HostTensor t;
  t.elemType = elemType;
  t.shape = std::move(shape);
  if (t.isFloat()) {
    std::vector<double> d(values.begin(), values.end());
    return fromDoubles(elemType, t.shape, d);
  }
  size_t eb = t.elemBytes();
  t.raw.resize(values.size() * eb);
  for (size_t i = 0; i < values.size(); ++i) {
    int64_t v = values[i];
    if (elemType == TP::BOOL)
      v = v != 0;
    std::memcpy(t.raw.data() + i * eb, &v, eb); // little-endian truncation
  }
  return t;
}

static uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  int32_t exp = ((x >> 23) & 0xff) - 127 + 15;
  uint32_t man = x & 0x7fffffu;
  if (((x >> 23) & 0xff) == 0xff)
    return sign | 0x7c00u | (man ? 0x200u : 0);
  if (exp >= 31)
    return sign | 0x7c00u;
  if (exp <= 0) {
    if (exp < -10)
      return sign;
    man |= 0x800000u;
    uint32_t shift = 14 - exp;
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return sign | half;
  }
  uint32_t half = sign | (exp << 10) | (man >> 13);
  uint32_t rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1)))
    ++half;
  return half;
}

HostTensor HostTensor::fromDoubles(int32_t elemType,
                                   std::vector<int64_t> shape,
                                   const std::vector<double> &values) {
  HostTensor t;
  t.elemType = elemType;
  t.shape = std::move(shape);
  if (!t.isFloat()) {
    std::vector<int64_t> iv(values.size());
    for (size_t i = 0; i < values.size(); ++i)
      iv[i] = static_cast<int64_t>(values[i]);
    return fromInts(elemType, t.shape, iv);
  }
  size_t eb = t.elemBytes();
  t.raw.resize(values.size() * eb);
  for (size_t i = 0; i < values.size(); ++i) {
    char *p = t.raw.data() + i * eb;
    if (elemType == TP::DOUBLE) {
      std::memcpy(p, &values[i], 8);
    } else if (elemType == TP::FLOAT) {
      float f = static_cast<float>(values[i]);
      std::memcpy(p, &f, 4);
    } else if (elemType == TP::FLOAT16) {
      uint16_t h = floatToHalf(static_cast<float>(values[i]));
      std::memcpy(p, &h, 2);
    } else { // bfloat16, round to nearest even
      float f = static_cast<float>(values[i]);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      bits += 0x7fffu + ((bits >> 16) & 1);
      uint16_t h = bits >> 16;
      std::memcpy(p, &h, 2);
    }
  }
  return t;
}

bool decodeInlineTensor(const onnx::TensorProto &tp, HostTensor &out) {
  out.elemType = tp.data_type();
  out.shape.assign(tp.dims().begin(), tp.dims().end());
  size_t eb = onnxElemBytes(out.elemType);
  int64_t n = out.numel();
  if (!eb || n < 0 || tp.data_location() == TP::EXTERNAL)
    return false;
  if (tp.has_raw_data()) {
    out.raw = tp.raw_data();
    return (int64_t)out.raw.size() == n * (int64_t)eb;
  }
  // Typed fields: exactly one value per element, in the field ONNX assigns
  // to the type; the small types are stored widened in int32_data.
  auto fill = [&](const auto &field) {
    if (field.size() != n)
      return false;
    out.raw.resize(n * eb);
    for (int64_t i = 0; i < n; ++i) {
      auto v = field.Get(i); // little-endian: the low bytes come first
      std::memcpy(out.raw.data() + i * eb, &v, eb);
    }
    return true;
  };
  switch (out.elemType) {
  case TP::FLOAT:
    return fill(tp.float_data());
  case TP::DOUBLE:
    return fill(tp.double_data());
  case TP::INT64:
    return fill(tp.int64_data());
  case TP::UINT32:
  case TP::UINT64:
    return fill(tp.uint64_data());
  default:
    return fill(tp.int32_data());
  }
}

} // namespace memc::onnximport
