//===- FakeCusolver.cpp - a libcusolver for tests, on host memory ---------===//
//
// cusolverDnSgesvdj on the "device" pointers FakeCuda.cpp hands out (host
// memory), computed by LAPACK's sgesdd, so runtime/cuda's orientation of
// GaLore's SVD (the row-major gradient read as its column-major transpose,
// which singular vectors become the projector) is checked by real numbers.
//
// Environment: MEMC_FAKE_CUSOLVER_TRACE=1 prints one line per SVD to stderr
// ("fake cusolver: gesvdj MxN"); MEMC_FAKE_CUSOLVER_NO_CONVERGENCE=1 answers
// every SVD as gesvdj does when it runs out of sweeps (info = min(m,n)+1,
// outputs untouched).
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" void sgesdd_(const char *jobz, const int *m, const int *n, float *a,
                        const int *lda, float *s, float *u, const int *ldu,
                        float *vt, const int *ldvt, float *work,
                        const int *lwork, int *iwork, int *info,
                        size_t jobzLength);

namespace {
int gHandle, gParams;
bool env(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && *v != '0';
}
} // namespace

extern "C" {
int cusolverDnCreate(void **h) {
  *h = &gHandle;
  return 0;
}
int cusolverDnDestroy(void *) { return 0; }
int cusolverDnSetStream(void *, void *) { return 0; }
int cusolverDnCreateGesvdjInfo(void **p) {
  *p = &gParams;
  return 0;
}
int cusolverDnDestroyGesvdjInfo(void *) { return 0; }
int cusolverDnXgesvdjSetTolerance(void *, double) { return 0; }
int cusolverDnXgesvdjSetMaxSweeps(void *, int) { return 0; }

int cusolverDnSgesvdj_bufferSize(void *, int jobz, int econ, int m, int n,
                                 const float *, int, const float *,
                                 const float *, int, const float *, int,
                                 int *lwork, void *) {
  if (jobz != 1 || econ != 1 || m < 1 || n < 1)
    return 3; // CUSOLVER_STATUS_INVALID_VALUE: memc asks only for this form
  *lwork = 1;
  return 0;
}

/// A (m x n, column-major, lda) = U S V^T with U m x k and V n x k
/// (column-major, ldu/ldv), k = min(m, n); A is overwritten.
int cusolverDnSgesvdj(void *, int jobz, int econ, int m, int n, float *A,
                      int lda, float *S, float *U, int ldu, float *V, int ldv,
                      float *, int, int *info, void *) {
  if (jobz != 1 || econ != 1 || m < 1 || n < 1 || lda < m || ldu < m ||
      ldv < n)
    return 3;
  int k = std::min(m, n);
  if (env("MEMC_FAKE_CUSOLVER_TRACE"))
    std::fprintf(stderr, "fake cusolver: gesvdj %dx%d\n", m, n);
  if (env("MEMC_FAKE_CUSOLVER_NO_CONVERGENCE")) {
    *info = k + 1;
    return 0;
  }
  std::vector<float> a(size_t(m) * n), u(size_t(m) * k), vt(size_t(k) * n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i)
      a[size_t(j) * m + i] = A[size_t(j) * lda + i];
  std::vector<int> iwork(8 * size_t(k));
  float size = 0;
  int query = -1, lapackInfo = 0;
  sgesdd_("S", &m, &n, a.data(), &m, S, u.data(), &m, vt.data(), &k, &size,
          &query, iwork.data(), &lapackInfo, 1);
  int lwork = int(size) + 1;
  std::vector<float> work(lwork);
  if (lapackInfo == 0)
    sgesdd_("S", &m, &n, a.data(), &m, S, u.data(), &m, vt.data(), &k,
            work.data(), &lwork, iwork.data(), &lapackInfo, 1);
  if (lapackInfo != 0) {
    *info = k + 1;
    return 0;
  }
  for (int j = 0; j < k; ++j) {
    for (int i = 0; i < m; ++i)
      U[size_t(j) * ldu + i] = u[size_t(j) * m + i];
    for (int i = 0; i < n; ++i)
      V[size_t(j) * ldv + i] = vt[size_t(i) * k + j];
  }
  *info = 0;
  return 0;
}
}
