//===- FakeCublas.cpp - a libcublas for tests, on host memory -------------===//
//
// Column-major strided batched GEMM, computed naively on the CPU with the
// same "device" pointers FakeCuda.cpp hands out (host memory). runtime/cuda's
// row-major to column-major mapping is then checked by real numbers.
//
//===----------------------------------------------------------------------===//
#include <cstddef>
#include <cstdint>

namespace {
int gGemms = 0;
bool gWorkspace = false;

template <typename T>
void gemm(int opA, int opB, int m, int n, int k, T alpha, const T *A, int lda,
          long long sA, const T *B, int ldb, long long sB, T beta, T *C,
          int ldc, long long sC, int batch) {
  for (int b = 0; b < batch; ++b) {
    const T *a = A + b * sA, *bb = B + b * sB;
    T *c = C + b * sC;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        T acc = 0;
        for (int p = 0; p < k; ++p) {
          T x = opA ? a[p + i * lda] : a[i + p * lda];
          T y = opB ? bb[j + p * ldb] : bb[p + j * ldb];
          acc += x * y;
        }
        T &out = c[i + j * ldc];
        out = alpha * acc + (beta == 0 ? T(0) : beta * out);
      }
  }
}
} // namespace

extern "C" {
int cublasCreate_v2(void **h) {
  static int handle;
  *h = &handle;
  return 0;
}
int cublasDestroy_v2(void *) { return 0; }
int cublasSetStream_v2(void *, void *) { return 0; }
int cublasSetWorkspace_v2(void *, void *, size_t) {
  gWorkspace = true;
  return 0;
}
int cublasSgemmStridedBatched(void *, int opA, int opB, int m, int n, int k,
                              const float *alpha, const float *A, int lda,
                              long long sA, const float *B, int ldb,
                              long long sB, const float *beta, float *C,
                              int ldc, long long sC, int batch) {
  ++gGemms;
  gemm(opA, opB, m, n, k, *alpha, A, lda, sA, B, ldb, sB, *beta, C, ldc, sC,
       batch);
  return 0;
}
int cublasDgemmStridedBatched(void *, int opA, int opB, int m, int n, int k,
                              const double *alpha, const double *A, int lda,
                              long long sA, const double *B, int ldb,
                              long long sB, const double *beta, double *C,
                              int ldc, long long sC, int batch) {
  ++gGemms;
  gemm(opA, opB, m, n, k, *alpha, A, lda, sA, B, ldb, sB, *beta, C, ldc, sC,
       batch);
  return 0;
}
const char *cublasGetStatusString(int) { return "fake status"; }

int fake_cublas_num_gemms() { return gGemms; }
int fake_cublas_workspace_set() { return gWorkspace ? 1 : 0; }
void fake_cublas_reset() {
  gGemms = 0;
  gWorkspace = false;
}
}
