/*===- memc_runtime.h - C ABI of the memc CPU runtime -------------*- C -*-===*\
|*                                                                            *|
|* The functions a compiled memc program (model.so) calls. They live in the   *|
|* process that loads the program (memc-run links this library with           *|
|* -rdynamic), so model.so leaves them undefined and the dynamic loader binds *|
|* them at dlopen time. Plain C, no MLIR/LLVM: the program and the runtime    *|
|* only share this ABI.                                                       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef MEMC_RUNTIME_CPU_MEMC_RUNTIME_H
#define MEMC_RUNTIME_CPU_MEMC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

/* Every symbol below must reach the executable's dynamic symbol table even
 * when the surrounding build hides symbols by default. */
#define MEMC_RT_EXPORT __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

/*===------------------------------------------------------------------------===
 * Allocation (MLIR's "generic" allocation functions)
 *
 * memc lowers memref.alloc/dealloc with finalize-memref-to-llvm
 * {use-generic-functions=true}, which calls these instead of malloc/free so
 * that the runtime can measure the program's temporary memory. Every block is
 * at least 64-byte aligned; the runtime tracks live and peak bytes (the sizes
 * the program asked for) with atomics, so calls from any thread are safe.
 *===------------------------------------------------------------------------===*/

/** malloc-like; the result is 64-byte aligned. NULL only when out of memory. */
MEMC_RT_EXPORT void *_mlir_memref_to_llvm_alloc(size_t size);
/** aligned_alloc-like: alignment is raised to at least 64 (and to a power of
 *  two); size need not be a multiple of it. */
MEMC_RT_EXPORT void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                        size_t size);
/** Frees a block of either function above; NULL is a no-op. */
MEMC_RT_EXPORT void _mlir_memref_to_llvm_free(void *ptr);

/** Sets the peak to the bytes live now, so the next peak measures one run. */
MEMC_RT_EXPORT void memc_rt_reset_peak(void);
/** Largest number of live bytes since the last reset (or process start). */
MEMC_RT_EXPORT uint64_t memc_rt_peak_bytes(void);
/** Bytes allocated and not yet freed. */
MEMC_RT_EXPORT uint64_t memc_rt_live_bytes(void);

/*===------------------------------------------------------------------------===
 * GEMM
 *
 * Row-major batched GEMM: for b in [0, batch),
 *   C_b = alpha * op(A_b) * op(B_b) + beta * C_b,   X_b = X + b * strideX,
 * op(X) = X^T when transX != 0. op(A_b) is MxK, op(B_b) is KxN, C_b is MxN;
 * lda/ldb/ldc are row strides in elements. A batch stride of 0 broadcasts.
 * beta == 0 overwrites C (NaNs in C are not propagated), as in BLAS.
 * OpenBLAS does the work; many small GEMMs run in parallel over the batch.
 *===------------------------------------------------------------------------===*/
MEMC_RT_EXPORT void memc_rt_sgemm(int64_t batch, int32_t transA, int32_t transB,
                                  int64_t M, int64_t N, int64_t K, float alpha,
                                  const float *A, int64_t lda, int64_t strideA,
                                  const float *B, int64_t ldb, int64_t strideB,
                                  float beta, float *C, int64_t ldc,
                                  int64_t strideC);
/* memc_rt_sgemm for a B that is a weight of the loaded package, which
 * never changes while the package is loaded: op(B_b) is packed into memc's
 * panel layout on its first use and the packed copy is reused by every
 * later call (memc's own kernel multiplies it). Arguments the packed kernel
 * does not take (transA, alpha != 1, beta other than 0 or 1) run as
 * memc_rt_sgemm. */
MEMC_RT_EXPORT void
memc_rt_sgemm_packed_b(int64_t batch, int32_t transA, int32_t transB, int64_t M,
                       int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, int64_t strideA, const float *B,
                       int64_t ldb, int64_t strideB, float beta, float *C,
                       int64_t ldc, int64_t strideC);
/* The same for an A that is a weight (a convolution's filters). */
MEMC_RT_EXPORT void
memc_rt_sgemm_packed_a(int64_t batch, int32_t transA, int32_t transB, int64_t M,
                       int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, int64_t strideA, const float *B,
                       int64_t ldb, int64_t strideB, float beta, float *C,
                       int64_t ldc, int64_t strideC);
/* C (M x N, row stride ldc) = op(A) B, or C += op(A) B when beta is 1 (0 or
 * 1 only), where A is a weight as in memc_rt_sgemm_packed_a and B (K x N) is
 * a convolution's input read through its window, never copied into an
 * im2col matrix: element (k, j) of B is X[row(k) + column(j)]. `window` is
 * {kRank, nRank, offset, kRank pairs (extent, stride), nRank pairs (extent,
 * stride)}: k and j in mixed radix over the pairs' extents, the first pair
 * outermost; row(k) = offset + sum of digit * stride over the K pairs,
 * column(j) the same over the N pairs without the offset. A 3x3 stride-1
 * convolution's window (K pairs channels, 3 rows, 3 columns one apart; N
 * pairs output rows one input row apart, columns one apart) with 16
 * channels, 16 filters and 32 tiles of 2x2 outputs or more is computed as
 * Winograd's F(2x2, 3x3) on AVX-512 CPUs: the same at every thread count,
 * within rounding of the GEMM's result (MEMC_WINOGRAD=0: the GEMM). */
MEMC_RT_EXPORT void
memc_rt_sgemm_packed_a_window(int64_t M, int64_t N, int64_t K, int32_t transA,
                              const float *A, int64_t lda, const float *X,
                              const int64_t *window, float beta, float *C,
                              int64_t ldc);
/* memc_rt_sgemm_packed_a (batch 1, B not transposed) and
 * memc_rt_sgemm_packed_a_window with the elementwise op after the GEMM
 * fused in: each element v of the product (plus C's old value when beta is
 * 1) becomes v + bias[i] (when bias is not null), then
 * addend[i * ldAddend + (j / addendWidth) * addendPitch + j % addendWidth]
 * + v (when addend is not null; addendWidth 0: addend[i * ldAddend + j],
 * else output rows inside a padded buffer as D's may be), then
 * min(max(v, lo), hi) (as arith.maximumf/minimumf: NaN stays NaN, +0 is
 * above -0), and goes to D[i * ldd + (j / width) * pitch + j % width]
 * (width 0: D[i * ldd + j]), a convolution's output rows inside a padded
 * buffer. With `pads` ({top, bottom, left, right}; width > 0) each row i's
 * plane around them, pitch = left + width + right floats a row, gets
 * padValue in its border too, so it needs no fill. C is scratch: it may
 * hold partial sums afterwards. With beta 0, C may be null (a
 * memc.gemm_epilogue has none): the partial sums then go to per-thread
 * buffers of at most M x 256 floats. */
MEMC_RT_EXPORT void memc_rt_sgemm_packed_a_ep(
    int32_t transA, int64_t M, int64_t N, int64_t K, const float *A,
    int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
    const float *bias, const float *addend, int64_t ldAddend,
    int64_t addendWidth, int64_t addendPitch, float lo, float hi, float *D,
    int64_t ldd, int64_t width, int64_t pitch, const int64_t *pads,
    float padValue);
MEMC_RT_EXPORT void memc_rt_sgemm_packed_a_window_ep(
    int64_t M, int64_t N, int64_t K, int32_t transA, const float *A,
    int64_t lda, const float *X, const int64_t *window, float beta, float *C,
    int64_t ldc, const float *bias, const float *addend, int64_t ldAddend,
    int64_t addendWidth, int64_t addendPitch, float lo, float hi, float *D,
    int64_t ldd, int64_t width, int64_t pitch, const int64_t *pads,
    float padValue);
MEMC_RT_EXPORT void memc_rt_dgemm(int64_t batch, int32_t transA, int32_t transB,
                                  int64_t M, int64_t N, int64_t K, double alpha,
                                  const double *A, int64_t lda, int64_t strideA,
                                  const double *B, int64_t ldb, int64_t strideB,
                                  double beta, double *C, int64_t ldc,
                                  int64_t strideC);

/*===------------------------------------------------------------------------===
 * GaLore's projector (memc-svd-projector-to-runtime)
 *
 * The thin SVD g = U S Vh of the row-major rows x cols gradient g (LAPACK's
 * sgesdd, as torch.linalg.svd on the CPU); writes into p the first
 * min(rank, rows, cols) = r right singular vectors as rows (Vh[:r, :],
 * r x cols) when right != 0, else the first r left singular vectors as
 * columns (U[:, :r], rows x r), row-major. If LAPACK fails to converge, p
 * keeps its values and one warning line on stderr names the weight `name`.
 *===------------------------------------------------------------------------===*/
MEMC_RT_EXPORT void memc_rt_svd_projector(const float *g, int64_t rows,
                                          int64_t cols, int64_t rank,
                                          int32_t right, float *p,
                                          const char *name);

/*===------------------------------------------------------------------------===
 * memref.copy fallback
 *
 * finalize-memref-to-llvm lowers a memref.copy whose operands are not both
 * contiguous to a call of `memrefCopy` (normally in libmlir_c_runner_utils).
 * The runtime provides it so such programs load without MLIR's libraries.
 * src/dst point to unranked descriptors {int64_t rank; void *descriptor;}
 * whose descriptor is the ranked struct {T *allocated; T *aligned;
 * int64_t offset; int64_t sizes[rank]; int64_t strides[rank];}.
 *===------------------------------------------------------------------------===*/
MEMC_RT_EXPORT void memrefCopy(int64_t elemSize, void *src, void *dst);

/*===------------------------------------------------------------------------===
 * Arena views (memc-arena-noalias)
 *
 * The planned program reaches each arena buffer through memc_rt_arena_view
 * (pool + offset), which the compiler declares with a noalias result: LLVM
 * then treats every buffer like a separate allocation and vectorizes loops
 * without overlap checks, as it did for heap buffers. Buffers that share
 * bytes at different times are kept apart by memc_rt_arena_release, called
 * after a buffer's last use: an opaque call that may read the buffer, so no
 * access to it moves past the point where the next tenant of its bytes
 * begins. Both do nothing else and must stay out of line for that reason.
 *===------------------------------------------------------------------------===*/
MEMC_RT_EXPORT void *memc_rt_arena_view(void *pool, int64_t offset);
MEMC_RT_EXPORT void memc_rt_arena_release(void *buffer);

/*===------------------------------------------------------------------------===
 * Parallel kernels (memc-parallel-kernels, memc-parallel-calls-to-runtime)
 *
 * Runs fn(args, lo, hi) over consecutive row ranges [lo, hi) that cover
 * [0, rows) exactly once, on the runtime's pool (MEMC_NUM_THREADS threads,
 * the caller included), and returns when all are done. `args` is the
 * caller's block of 8-byte argument slots, read by `fn` (a trampoline of
 * the compiled program). The ranges are contiguous and about equal, one or
 * a few per thread; the rows are independent, so the results do not depend
 * on how they are cut.
 *===------------------------------------------------------------------------===*/
typedef void (*memc_rt_rows_fn)(void *args, int64_t lo, int64_t hi);
MEMC_RT_EXPORT void memc_rt_parallel_for(memc_rt_rows_fn fn, void *args,
                                         int64_t rows);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MEMC_RUNTIME_CPU_MEMC_RUNTIME_H */
