//===- TensorIOTest.cpp - TensorProto .pb reading and writing -------------===//
//
// Protos are built in-test with the onnx classes, as exporters and
// onnx.numpy_helper write them: raw_data, and each typed field for the
// types that use it.
//
//===----------------------------------------------------------------------===//

#include "memc/Runtime/TensorIO.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

using namespace memc::rt;
using onnx::TensorProto;

namespace {

std::string tempPath(const char *stem) {
  const char *dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/" + stem +
                     "-" + std::to_string(::getpid()) + ".pb";
  return path;
}

/// Serializes `p` to a temporary file and reads it back through the runtime.
bool roundTrip(const TensorProto &p, Tensor &t, std::string &error) {
  std::string path = tempPath("memc-tensorio");
  std::string bytes;
  EXPECT_TRUE(p.SerializeToString(&bytes));
  std::FILE *f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  bool ok = readTensorFile(path, t, error);
  std::remove(path.c_str());
  return ok;
}

template <typename T> T at(const Tensor &t, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const char *>(t.buffer.data()) + i * sizeof(T),
              sizeof v);
  return v;
}

TensorProto make(int dataType, std::vector<int64_t> dims) {
  TensorProto p;
  p.set_name("t");
  p.set_data_type(dataType);
  for (int64_t d : dims)
    p.add_dims(d);
  return p;
}

} // namespace

TEST(TensorIO, FloatRawData) {
  TensorProto p = make(TensorProto::FLOAT, {2, 3});
  float v[6] = {1, -2, 3.5f, NAN, INFINITY, 0};
  p.set_raw_data(v, sizeof v);
  Tensor t;
  std::string error;
  ASSERT_TRUE(roundTrip(p, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::F32);
  EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t.numElements(), 6u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.buffer.data()) % 64, 0u);
  EXPECT_EQ(at<float>(t, 2), 3.5f);
  EXPECT_TRUE(std::isnan(at<float>(t, 3)));
  EXPECT_EQ(at<float>(t, 4), INFINITY);
}

TEST(TensorIO, FloatAndDoubleTypedFields) {
  TensorProto p = make(TensorProto::FLOAT, {3});
  for (float f : {1.5f, -2.0f, 0.25f})
    p.add_float_data(f);
  Tensor t;
  std::string error;
  ASSERT_TRUE(roundTrip(p, t, error)) << error;
  EXPECT_EQ(at<float>(t, 0), 1.5f);
  EXPECT_EQ(at<float>(t, 2), 0.25f);

  TensorProto d = make(TensorProto::DOUBLE, {2});
  d.add_double_data(1e300);
  d.add_double_data(-0.5);
  ASSERT_TRUE(roundTrip(d, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::F64);
  EXPECT_EQ(at<double>(t, 0), 1e300);
  EXPECT_EQ(at<double>(t, 1), -0.5);
}

TEST(TensorIO, NarrowIntegersAndBoolFromInt32Data) {
  Tensor t;
  std::string error;

  TensorProto i8 = make(TensorProto::INT8, {3});
  for (int v : {-128, 5, 127})
    i8.add_int32_data(v);
  ASSERT_TRUE(roundTrip(i8, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::I8);
  EXPECT_EQ(at<int8_t>(t, 0), -128);
  EXPECT_EQ(at<int8_t>(t, 2), 127);

  TensorProto i16 = make(TensorProto::INT16, {2});
  i16.add_int32_data(-30000);
  i16.add_int32_data(30000);
  ASSERT_TRUE(roundTrip(i16, t, error)) << error;
  EXPECT_EQ(at<int16_t>(t, 0), -30000);

  TensorProto u8 = make(TensorProto::UINT8, {2});
  u8.add_int32_data(255);
  u8.add_int32_data(0);
  ASSERT_TRUE(roundTrip(u8, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::U8);
  EXPECT_EQ(at<uint8_t>(t, 0), 255);

  TensorProto u16 = make(TensorProto::UINT16, {1});
  u16.add_int32_data(65535);
  ASSERT_TRUE(roundTrip(u16, t, error)) << error;
  EXPECT_EQ(at<uint16_t>(t, 0), 65535);

  TensorProto b = make(TensorProto::BOOL, {3});
  for (int v : {0, 1, 7})
    b.add_int32_data(v);
  ASSERT_TRUE(roundTrip(b, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::Bool);
  EXPECT_EQ(at<uint8_t>(t, 0), 0);
  EXPECT_EQ(at<uint8_t>(t, 1), 1);
  EXPECT_EQ(at<uint8_t>(t, 2), 1);

  TensorProto i32 = make(TensorProto::INT32, {1});
  i32.add_int32_data(-123456789);
  ASSERT_TRUE(roundTrip(i32, t, error)) << error;
  EXPECT_EQ(at<int32_t>(t, 0), -123456789);
}

TEST(TensorIO, HalfTypesFromInt32Data) {
  Tensor t;
  std::string error;
  TensorProto h = make(TensorProto::FLOAT16, {2});
  h.add_int32_data(0x3c00); // 1.0
  h.add_int32_data(0xc000); // -2.0
  ASSERT_TRUE(roundTrip(h, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::F16);
  EXPECT_EQ(halfToFloat(at<uint16_t>(t, 0)), 1.0f);
  EXPECT_EQ(halfToFloat(at<uint16_t>(t, 1)), -2.0f);

  TensorProto b = make(TensorProto::BFLOAT16, {1});
  b.add_int32_data(0x3fc0); // 1.5
  ASSERT_TRUE(roundTrip(b, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::BF16);
  EXPECT_EQ(bf16ToFloat(at<uint16_t>(t, 0)), 1.5f);
}

TEST(TensorIO, SixtyFourBitAndUnsignedFields) {
  Tensor t;
  std::string error;
  TensorProto i64 = make(TensorProto::INT64, {2});
  i64.add_int64_data(INT64_MIN);
  i64.add_int64_data(42);
  ASSERT_TRUE(roundTrip(i64, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::I64);
  EXPECT_EQ(at<int64_t>(t, 0), INT64_MIN);

  TensorProto u32 = make(TensorProto::UINT32, {1});
  u32.add_uint64_data(4000000000u);
  ASSERT_TRUE(roundTrip(u32, t, error)) << error;
  EXPECT_EQ(t.dtype, DType::U32);
  EXPECT_EQ(at<uint32_t>(t, 0), 4000000000u);

  TensorProto u64 = make(TensorProto::UINT64, {1});
  u64.add_uint64_data(UINT64_MAX);
  ASSERT_TRUE(roundTrip(u64, t, error)) << error;
  EXPECT_EQ(at<uint64_t>(t, 0), UINT64_MAX);
}

TEST(TensorIO, RawDataForOtherTypes) {
  Tensor t;
  std::string error;
  TensorProto p = make(TensorProto::INT64, {});
  int64_t v = -7;
  p.set_raw_data(&v, 8);
  ASSERT_TRUE(roundTrip(p, t, error)) << error;
  EXPECT_TRUE(t.dims.empty());
  EXPECT_EQ(t.numElements(), 1u);
  EXPECT_EQ(at<int64_t>(t, 0), -7);

  TensorProto b = make(TensorProto::BOOL, {2});
  b.set_raw_data(std::string("\x00\x02", 2));
  ASSERT_TRUE(roundTrip(b, t, error)) << error;
  EXPECT_EQ(at<uint8_t>(t, 1), 1); // normalized to 0/1

  TensorProto e = make(TensorProto::FLOAT, {0, 4});
  ASSERT_TRUE(roundTrip(e, t, error)) << error; // empty, no data at all
  EXPECT_EQ(t.numElements(), 0u);
  EXPECT_NE(t.buffer.data(), nullptr);
}

TEST(TensorIO, Rejections) {
  Tensor t;
  std::string error;

  TensorProto s = make(TensorProto::STRING, {1});
  s.add_string_data("hello");
  EXPECT_FALSE(roundTrip(s, t, error));
  EXPECT_NE(error.find("string tensors are not supported"), std::string::npos)
      << error;

  TensorProto c = make(TensorProto::COMPLEX64, {1});
  c.add_float_data(1);
  c.add_float_data(2);
  EXPECT_FALSE(roundTrip(c, t, error));
  EXPECT_NE(error.find("complex"), std::string::npos) << error;

  TensorProto few = make(TensorProto::FLOAT, {2, 2});
  few.add_float_data(1);
  EXPECT_FALSE(roundTrip(few, t, error));
  EXPECT_NE(error.find("float_data has 1 values but dims 2x2 need 4"),
            std::string::npos)
      << error;

  TensorProto raw = make(TensorProto::FLOAT, {3});
  raw.set_raw_data(std::string(11, '\0'));
  EXPECT_FALSE(roundTrip(raw, t, error));
  EXPECT_NE(error.find("raw_data has 11 bytes"), std::string::npos) << error;

  TensorProto wrongField = make(TensorProto::INT64, {1});
  wrongField.add_int32_data(1);
  EXPECT_FALSE(roundTrip(wrongField, t, error));
  EXPECT_NE(error.find("int64_data has 0 values"), std::string::npos) << error;

  TensorProto ext = make(TensorProto::FLOAT, {1});
  ext.set_data_location(TensorProto::EXTERNAL);
  EXPECT_FALSE(roundTrip(ext, t, error));
  EXPECT_NE(error.find("external"), std::string::npos) << error;

  TensorProto neg = make(TensorProto::FLOAT, {-1});
  EXPECT_FALSE(roundTrip(neg, t, error));
  EXPECT_NE(error.find("negative dimension"), std::string::npos) << error;

  // Huge dims with a tiny payload: rejected before allocating.
  TensorProto huge = make(TensorProto::FLOAT, {1 << 30, 1 << 30});
  huge.set_raw_data("abcd");
  EXPECT_FALSE(roundTrip(huge, t, error));

  TensorProto undef;
  undef.add_dims(1);
  EXPECT_FALSE(roundTrip(undef, t, error));
  EXPECT_NE(error.find("no data_type"), std::string::npos) << error;
}

TEST(TensorIO, FileErrorsNameTheFile) {
  Tensor t;
  std::string error;
  EXPECT_FALSE(readTensorFile("/nonexistent/input_0.pb", t, error));
  EXPECT_EQ(error.rfind("/nonexistent/input_0.pb: cannot open", 0), 0u)
      << error;

  // A truncated proto: the first bytes of a serialized tensor.
  TensorProto p = make(TensorProto::FLOAT, {64});
  p.set_raw_data(std::string(256, '\1'));
  std::string bytes;
  p.SerializeToString(&bytes);
  EXPECT_FALSE(
      parseTensorProto(std::string_view(bytes).substr(0, 20), t, error));
  EXPECT_NE(error.find("not a serialized onnx.TensorProto"), std::string::npos)
      << error;
  EXPECT_FALSE(parseTensorProto("not a tensor at all", t, error));
}

TEST(TensorIO, WriteThenRead) {
  Tensor t;
  t.dtype = DType::U16;
  t.dims = {2, 2};
  ASSERT_TRUE(t.allocate());
  uint16_t v[4] = {1, 2, 65535, 0};
  std::memcpy(t.buffer.data(), v, sizeof v);
  std::string path = tempPath("memc-tensorio-w"), error;
  ASSERT_TRUE(writeTensorFile(path, t, "y", error)) << error;
  Tensor back;
  ASSERT_TRUE(readTensorFile(path, back, error)) << error;
  std::remove(path.c_str());
  EXPECT_EQ(back.dtype, DType::U16);
  EXPECT_EQ(back.dims, t.dims);
  EXPECT_EQ(std::memcmp(back.buffer.data(), v, sizeof v), 0);
}

TEST(HalfConversion, KnownValues) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bff); // rounds down to max
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00); // rounds to inf
  EXPECT_EQ(floatToHalf(INFINITY), 0x7c00);
  EXPECT_EQ(floatToHalf(-INFINITY), 0xfc00);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
  EXPECT_EQ(floatToHalf(0x1.0p-24f), 0x0001); // smallest subnormal
  EXPECT_EQ(floatToHalf(0x1.0p-25f), 0x0000); // tie -> even (zero)
  EXPECT_EQ(floatToHalf(0x1.8p-25f), 0x0001);
  EXPECT_EQ(floatToHalf(0x1.0p-14f), 0x0400); // smallest normal
  // 1 + 2^-11 is halfway between 1 and the next half: ties to even (1).
  EXPECT_EQ(floatToHalf(1.0f + 0x1.0p-11f), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + 0x1.8p-10f), 0x3c02);
  EXPECT_EQ(halfToFloat(0x0001), 0x1.0p-24f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0xfc00), -INFINITY);
  // Every half survives a round trip through float.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfToFloat(uint16_t(h));
    if (!std::isnan(f)) {
      ASSERT_EQ(floatToHalf(f), h) << h;
    }
  }
}

TEST(HalfConversion, BFloat16) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBf16(1.5f), 0x3fc0);
  EXPECT_EQ(bf16ToFloat(0xbf80), -1.0f);
  EXPECT_EQ(floatToBf16(1.0f + 0x1.0p-8f), 0x3f80); // tie -> even
  EXPECT_EQ(floatToBf16(1.0f + 0x1.8p-7f), 0x3f82); // tie -> even
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(NAN))));
  EXPECT_EQ(floatToBf16(INFINITY), 0x7f80);
}
