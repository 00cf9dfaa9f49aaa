//===- SvdTest.cpp - memc_rt_svd_projector on known factorizations -------===//
//
// g = U diag(s) V^T is built from Householder reflections (orthonormal U
// and V known exactly) and distinct singular values, so the projector's
// rows (right) or columns (left) must be the leading singular vectors up
// to sign, in order of decreasing singular value; a rank above min(rows,
// cols) is clipped.
//
//===----------------------------------------------------------------------===//
#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace {

/// The n x n Householder reflection I - 2 h h^T / |h|^2 for h_i = i + seed,
/// row-major: orthonormal columns.
std::vector<double> householder(int n, double seed) {
  std::vector<double> h(n), q(size_t(n) * n);
  double norm = 0;
  for (int i = 0; i < n; ++i) {
    h[i] = std::sin(i + seed) + 0.5;
    norm += h[i] * h[i];
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      q[size_t(i) * n + j] = (i == j) - 2 * h[i] * h[j] / norm;
  return q;
}

struct Factorization {
  int rows, cols;
  std::vector<double> u, v; ///< rows x rows, cols x cols (columns = vectors)
  std::vector<float> g;
};

Factorization make(int rows, int cols) {
  Factorization f{rows, cols, householder(rows, 1.0), householder(cols, 2.0),
                  std::vector<float>(size_t(rows) * cols)};
  int k = std::min(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      double acc = 0;
      for (int l = 0; l < k; ++l)
        acc += f.u[size_t(i) * rows + l] * (10.0 - l) * f.v[size_t(j) * cols + l];
      f.g[size_t(i) * cols + j] = float(acc);
    }
  return f;
}

/// |<x, y>| for unit vectors: 1 when they are equal up to sign.
double alignment(const std::vector<double> &x, const std::vector<double> &y) {
  double dot = 0;
  for (size_t i = 0; i < x.size(); ++i)
    dot += x[i] * y[i];
  return std::fabs(dot);
}

TEST(SvdProjector, RightSingularVectorsAsRows) {
  Factorization f = make(12, 5); // rows >= cols: P = Vh[:r, :]
  const int r = 3;
  std::vector<float> p(size_t(r) * f.cols, 0.0f);
  memc_rt_svd_projector(f.g.data(), f.rows, f.cols, r, 1, p.data(), "w");
  for (int l = 0; l < r; ++l) {
    std::vector<double> got(f.cols), want(f.cols);
    for (int j = 0; j < f.cols; ++j) {
      got[j] = p[size_t(l) * f.cols + j];
      want[j] = f.v[size_t(j) * f.cols + l];
    }
    EXPECT_NEAR(alignment(got, want), 1.0, 1e-5) << "vector " << l;
  }
}

TEST(SvdProjector, LeftSingularVectorsAsColumns) {
  Factorization f = make(4, 9); // rows < cols: P = U[:, :r]
  const int r = 2;
  std::vector<float> p(size_t(f.rows) * r, 0.0f);
  memc_rt_svd_projector(f.g.data(), f.rows, f.cols, r, 0, p.data(), "w");
  for (int l = 0; l < r; ++l) {
    std::vector<double> got(f.rows), want(f.rows);
    for (int i = 0; i < f.rows; ++i) {
      got[i] = p[size_t(i) * r + l];
      want[i] = f.u[size_t(i) * f.rows + l];
    }
    EXPECT_NEAR(alignment(got, want), 1.0, 1e-5) << "vector " << l;
  }
}

TEST(SvdProjector, RankClippedToTheSmallerSide) {
  Factorization f = make(6, 3);
  std::vector<float> p(size_t(3) * f.cols, -7.0f);
  memc_rt_svd_projector(f.g.data(), f.rows, f.cols, 8, 1, p.data(), "w");
  // Three orthonormal rows: P P^T = I.
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      double dot = 0;
      for (int j = 0; j < f.cols; ++j)
        dot += double(p[size_t(a) * f.cols + j]) * p[size_t(b) * f.cols + j];
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5);
    }
}

TEST(SvdProjector, NonFiniteGradientKeepsTheProjector) {
  Factorization f = make(6, 3);
  f.g[4] = std::nanf("");
  std::vector<float> p(size_t(2) * f.cols, 0.5f);
  testing::internal::CaptureStderr();
  memc_rt_svd_projector(f.g.data(), f.rows, f.cols, 2, 1, p.data(), "fc1.weight");
  std::string err = testing::internal::GetCapturedStderr();
  for (float x : p)
    EXPECT_EQ(x, 0.5f);
  EXPECT_NE(err.find("GaLore: the SVD of fc1.weight's gradient (6x3) did not "
                     "converge; it keeps its previous projector"),
            std::string::npos)
      << err;
}

} // namespace
