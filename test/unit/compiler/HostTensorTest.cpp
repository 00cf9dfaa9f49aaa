//===- HostTensorTest.cpp - compile-time tensors of the importer ----------===//
#include "lib/Import/ImportContext.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace memc::onnximport;
using TP = onnx::TensorProto;

TEST(HostTensor, FloatRoundTrips) {
  std::vector<double> values = {0.0, -1.5, 3.140625, 65504.0, 1e-3};
  for (int32_t type : {TP::FLOAT, TP::DOUBLE, TP::FLOAT16}) {
    HostTensor t = HostTensor::fromDoubles(type, {5}, values);
    ASSERT_EQ(t.raw.size(), 5 * onnxElemBytes(type));
    for (int i = 0; i < 5; ++i)
      EXPECT_NEAR(t.getDouble(i), values[i], std::fabs(values[i]) * 1e-3)
          << "type " << type << " element " << i;
  }
}

TEST(HostTensor, HalfSpecialValues) {
  HostTensor t = HostTensor::fromDoubles(
      TP::FLOAT16, {4}, {INFINITY, -INFINITY, NAN, 5.9604644775390625e-08});
  EXPECT_TRUE(std::isinf(t.getDouble(0)) && t.getDouble(0) > 0);
  EXPECT_TRUE(std::isinf(t.getDouble(1)) && t.getDouble(1) < 0);
  EXPECT_TRUE(std::isnan(t.getDouble(2)));
  EXPECT_EQ(t.getDouble(3), 5.9604644775390625e-08); // smallest subnormal
}

TEST(HostTensor, BFloat16RoundsToNearestEven) {
  // 1 + 2^-8 lies halfway between two bf16 values; ties go to even (1.0).
  HostTensor t = HostTensor::fromDoubles(TP::BFLOAT16, {2},
                                         {1.0 + 1.0 / 256, 1.0 + 3.0 / 256});
  EXPECT_EQ(t.getDouble(0), 1.0);
  EXPECT_EQ(t.getDouble(1), 1.0 + 4.0 / 256);
}

TEST(HostTensor, IntsAndBools) {
  HostTensor i64 = HostTensor::fromInts(TP::INT64, {3},
                                        {INT64_MAX, -7, 0});
  EXPECT_EQ(i64.getInt(0), INT64_MAX); // no detour through double
  EXPECT_EQ(i64.toInts(), (std::vector<int64_t>{INT64_MAX, -7, 0}));
  HostTensor b = HostTensor::fromInts(TP::BOOL, {3}, {5, 0, -1});
  EXPECT_EQ(b.toInts(), (std::vector<int64_t>{1, 0, 1}));
  HostTensor i8 = HostTensor::fromInts(TP::INT8, {1}, {-3});
  EXPECT_EQ(i8.getDouble(0), -3.0);
}

TEST(HostTensor, ElementTypeMapping) {
  mlir::MLIRContext ctx;
  EXPECT_TRUE(onnxElemType(&ctx, TP::FLOAT).isF32());
  EXPECT_TRUE(onnxElemType(&ctx, TP::BOOL).isInteger(1));
  // Unsigned types are refused rather than treated as signed.
  EXPECT_FALSE(onnxElemType(&ctx, TP::UINT8));
  EXPECT_FALSE(onnxElemType(&ctx, TP::STRING));
  EXPECT_STREQ(manifestDType(TP::INT64), "i64");
  EXPECT_EQ(onnxTypeOf(onnxElemType(&ctx, TP::FLOAT16)), TP::FLOAT16);
}
