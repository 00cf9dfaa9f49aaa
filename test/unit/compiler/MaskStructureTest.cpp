//===- MaskStructureTest.cpp - triangle summaries of causal masks ---------===//
#include "memc/Analysis/MaskStructure.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <limits>
#include <vector>

using namespace memc;

namespace {

/// A rows x cols mask: `fill` where c - r >= diagonal, `rest(r, c)` elsewhere.
std::vector<double> mask(int64_t rows, int64_t cols, int64_t diagonal,
                         double fill, double (*rest)(int64_t, int64_t)) {
  std::vector<double> m(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      m[r * cols + c] = c - r >= diagonal ? fill : rest(r, c);
  return m;
}

std::optional<UpperTriangle> summarize(const std::vector<double> &m,
                                       std::vector<int64_t> shape) {
  return findUpperTriangle(shape, [&](int64_t i) { return m[i]; });
}

TEST(MaskStructure, PureCausalTriangleHasAUniformBelow) {
  double inf = std::numeric_limits<double>::infinity();
  auto m = mask(8, 8, 1, -inf, [](int64_t, int64_t) { return 0.0; });
  auto t = summarize(m, {8, 8});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->diagonal, 1);
  EXPECT_EQ(t->value, -inf);
  ASSERT_TRUE(t->below);
  EXPECT_EQ(*t->below, 0.0);
}

TEST(MaskStructure, ABiasBelowTheTriangleIsNotUniform) {
  // An ALiBi-like bias under the triangle: still a triangle (tiles above it
  // can be skipped) but not one value elsewhere.
  auto m = mask(8, 8, 1, -1e9,
                [](int64_t r, int64_t c) { return -0.5 * double(r - c); });
  auto t = summarize(m, {8, 8});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->diagonal, 1);
  EXPECT_FALSE(t->below);
}

TEST(MaskStructure, EverySliceMustAgreeBelow) {
  // Two slices with the same triangle but different values below it.
  auto a = mask(4, 4, 1, -1e9, [](int64_t, int64_t) { return 0.0; });
  auto b = mask(4, 4, 1, -1e9, [](int64_t, int64_t) { return 1.0; });
  a.insert(a.end(), b.begin(), b.end());
  auto t = summarize(a, {2, 4, 4});
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->below);
}

TEST(MaskStructure, BooleanTriangleAndItsAttributeRoundTrip) {
  mlir::MLIRContext ctx;
  auto type =
      mlir::RankedTensorType::get({4, 4}, mlir::IntegerType::get(&ctx, 1));
  bool bits[16];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      bits[r * 4 + c] = c - r >= 1;
  auto attr = mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(bits));
  auto t = findUpperTriangle(attr);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->diagonal, 1);
  EXPECT_EQ(t->value, 1.0);
  ASSERT_TRUE(t->below);
  EXPECT_EQ(*t->below, 0.0);
  // The triangle round-trips through a parameter's memc.upper_triangle.
  ctx.loadDialect<mlir::ml_program::MLProgramDialect, memc::MemcDialect>();
  mlir::OpBuilder b(&ctx);
  auto global = mlir::ml_program::GlobalOp::create(
      b, b.getUnknownLoc(), b.getStringAttr("mask"), mlir::TypeAttr::get(type),
      nullptr, attr, b.getStringAttr("private"));
  setUpperTriangle(global, *t);
  auto back = getUpperTriangle(global);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->diagonal, 1);
  ASSERT_TRUE(back->below);
  EXPECT_EQ(*back->below, 0.0);
  // Without `below` the attribute reads back without it.
  UpperTriangle plain{2, -1e9, std::nullopt};
  setUpperTriangle(global, plain);
  auto plainBack = getUpperTriangle(global);
  ASSERT_TRUE(plainBack);
  EXPECT_FALSE(plainBack->below);
  global->erase();
}

} // namespace
