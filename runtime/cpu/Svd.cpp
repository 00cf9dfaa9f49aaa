//===- Svd.cpp - GaLore's projector from LAPACK's SVD ---------------------===//
//
// memc_rt_svd_projector: the thin SVD of a row-major gradient by LAPACK's
// divide-and-conquer driver (sgesdd, jobz = 'S', from OpenBLAS), on the
// matrix itself in column-major order, as torch.linalg.svd calls it on the
// CPU, so that the singular vectors come out with the same signs. If it
// does not converge, the QR-iteration driver (sgesvd) is tried; if neither
// does (an ill-conditioned or non-finite gradient), the projector keeps its
// previous value and one warning line names the weight.
//
//===----------------------------------------------------------------------===//
#include "memc_runtime.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <vector>

extern "C" {
// LAPACK's Fortran ABI (LP64, as Debian's OpenBLAS): the trailing lengths
// are the hidden lengths of the character arguments.
void sgesdd_(const char *jobz, const int *m, const int *n, float *a,
             const int *lda, float *s, float *u, const int *ldu, float *vt,
             const int *ldvt, float *work, const int *lwork, int *iwork,
             int *info, size_t jobzLength);
void sgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n,
             float *a, const int *lda, float *s, float *u, const int *ldu,
             float *vt, const int *ldvt, float *work, const int *lwork,
             int *info, size_t jobuLength, size_t jobvtLength);
}

namespace {

/// Thin SVD of the column-major m x n matrix `a` (overwritten): u (m x k),
/// vt (k x n), k = min(m, n), column-major. False if LAPACK failed.
bool thinSvd(int m, int n, std::vector<float> &a, std::vector<float> &u,
             std::vector<float> &vt) {
  int k = std::min(m, n), info = 0, query = -1;
  std::vector<float> s(k);
  u.assign(size_t(m) * k, 0.0f);
  vt.assign(size_t(k) * n, 0.0f);
  std::vector<float> original = a;
  float size = 0;
  std::vector<int> iwork(8 * size_t(k));
  sgesdd_("S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &k,
          &size, &query, iwork.data(), &info, 1);
  if (info == 0) {
    int lwork = int(size) + 1;
    std::vector<float> work(lwork);
    sgesdd_("S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &k,
            work.data(), &lwork, iwork.data(), &info, 1);
    if (info == 0)
      return true;
  }
  a = original;
  info = 0;
  sgesvd_("S", "S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(),
          &k, &size, &query, &info, 1, 1);
  if (info != 0)
    return false;
  int lwork = int(size) + 1;
  std::vector<float> work(lwork);
  sgesvd_("S", "S", &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(),
          &k, work.data(), &lwork, &info, 1, 1);
  return info == 0;
}

} // namespace

void memc_rt_svd_projector(const float *g, int64_t rows, int64_t cols,
                           int64_t rank, int32_t right, float *p,
                           const char *name) {
  int m = int(rows), n = int(cols), k = int(std::min(rows, cols));
  int r = int(std::min<int64_t>(rank, k));
  std::vector<float> a(size_t(m) * n), u, vt;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      a[size_t(j) * m + i] = g[size_t(i) * n + j];
  if (!thinSvd(m, n, a, u, vt)) {
    std::fprintf(stderr,
                 "memc-run: warning: GaLore: the SVD of %s's gradient "
                 "(%dx%d) did not converge; it keeps its previous "
                 "projector\n",
                 name ? name : "a weight", m, n);
    return;
  }
  if (right) {
    // P = Vh[:r, :], [r, n] row-major.
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < n; ++j)
        p[size_t(i) * n + j] = vt[size_t(j) * k + i];
  } else {
    // P = U[:, :r], [m, r] row-major.
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < r; ++j)
        p[size_t(i) * r + j] = u[size_t(j) * m + i];
  }
}
