//===- Gemm.cpp - Batched GEMM entry points for compiled programs ---------===//
//
// memc lowers large matrix products to memc_rt_sgemm/dgemm rather than to
// loops: OpenBLAS's kernels are far faster than what linalg tiling reaches.
//
// Threading is ours, not OpenBLAS's: OpenBLAS is pinned to one thread and a
// small persistent pool splits the work, over the batch when it is large
// enough to balance, otherwise along M or N of every GEMM. Measured on the
// 2-core development VM, mixing the two (our threads over the batch,
// OpenBLAS's threads for single GEMMs) was slower than either alone: after a
// threaded call OpenBLAS's workers keep spinning on the cores for a while and
// starve the batch threads (2 x 512^3 took 4.6 ms instead of 3.1 ms). One pool
// also makes concurrent callers safe without touching OpenBLAS's global
// thread count per call. MEMC_NUM_THREADS overrides the pool size
// (default: std::thread::hardware_concurrency()).
//
//===----------------------------------------------------------------------===//

#include "AlignedBuffer.h"
#include "CallProfile.h"
#include "OpenBlasCore.h"
#include "PackedGemm.h"
#include "Switch.h"
#include "ThreadPool.h"
#include "Winograd.h"
#include "memc_runtime.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

// Declared again on purpose: a <cblas.h> from the netlib alternative lacks
// it, the library we link (OpenBLAS) always has it.
extern "C" void openblas_set_num_threads(int numThreads);
// The pthread build's own thread server, which it starts when loaded and
// stops before a fork; weak, as a serial build has none.
extern "C" int blas_thread_shutdown_(void) __attribute__((weak));

using memc::rt::ThreadPool;

namespace {

/// Below this many flops in total, waking threads costs more than it saves
/// (~25 us of single-core work at ~90 GFLOP/s).
constexpr double kMinParallelFlops = double(1 << 22);
/// A single row (a decode step's projections) is a GEMV, bound by reading
/// B, not by flops: split over the threads from this many flops (B of 64K
/// floats) on, where each thread's share still takes longer than the
/// wake-up. Read from MEMC_GEMV_PARALLEL_FLOPS where set (for measuring).
double minParallelGemvFlops() {
  static double v = [] {
    const char *s = std::getenv("MEMC_GEMV_PARALLEL_FLOPS");
    return s ? std::atof(s) : double(1 << 17);
  }();
  return v;
}
/// The flops from which a GEMM of `batch` entries of M rows is split over
/// the threads: a single row reads B and is bound by that read.
double minParallelFlops(int64_t batch, int64_t M) {
  return M == 1 && batch == 1 ? minParallelGemvFlops() : kMinParallelFlops;
}

/// A GEMM is split along M or N only into parts at least this long.
constexpr int64_t kMinSplitRows = 16;

/// OpenBLAS runs single-threaded inside our tasks. Its pthread build starts
/// its server threads when it is loaded, and they spin on the cores
/// (sched_yield) for about 0.1 s after the load and after every job: next
/// to this pool that oversubscribes a 2-core machine, where a decode step
/// whose GEMVs are split over two threads then ran at 0.18 or at 1.5 ms
/// depending on where the threads landed. One thread, and the server
/// stopped (at one thread OpenBLAS never restarts it), as soon as the
/// runtime is loaded. On a CPU it does not know, OpenBLAS is first switched
/// from its SSE3 fallback to the kernels of the CPU's features
/// (OpenBlasCore.h).
void pinBlasToOneThread() {
  static std::once_flag once;
  std::call_once(once, [] {
    memc::rt::useOpenBlasKernelsForThisCpu();
    openblas_set_num_threads(1);
    if (blas_thread_shutdown_)
      blas_thread_shutdown_();
  });
}

/// Shared libraries' constructors run before ours: OpenBLAS is loaded and
/// its threads started by now.
[[maybe_unused]] const bool kBlasPinnedAtLoad = (pinBlasToOneThread(), true);

/// One row of C (a decode step's projections, an attention row's scores):
/// C = alpha op(A) op(B) + beta C as a GEMV, op(B)^T times op(A)'s row,
/// which OpenBLAS runs several times faster than its GEMM kernels at M = 1.
/// With beta = 0, C is zeroed first, so its old contents (NaNs included)
/// never leak in, as BLAS GEMM promises.
template <typename T, typename Gemv>
bool rowGemv(Gemv gemv, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n,
             int k, T alpha, const T *a, int lda, const T *b, int ldb, T beta,
             T *c) {
  if (m != 1)
    return false;
  if (beta == T(0))
    std::fill(c, c + n, T(0));
  // op(A)'s only row: A's row 0, or A's column 0 when A is transposed.
  int incx = ta == CblasTrans ? lda : 1;
  if (tb == CblasTrans) // B is n x k: C^T = B op(A)^T
    gemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, incx, beta, c,
         1);
  else // B is k x n: C^T = B^T op(A)^T
    gemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, incx, beta, c, 1);
  return true;
}

void blasGemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb,
              float beta, float *c, int ldc) {
  if (rowGemv(cblas_sgemv, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c))
    return;
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

void blasGemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              double alpha, const double *a, int lda, const double *b, int ldb,
              double beta, double *c, int ldc) {
  if (rowGemv(cblas_dgemv, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c))
    return;
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

/// Plain loops with the exact BLAS semantics, for the argument ranges BLAS
/// rejects (dimensions past INT_MAX, row strides smaller than a row, which
/// only make sense for broadcast views). Slow but never wrong.
template <typename T>
void naiveGemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha,
               const T *a, int64_t lda, const T *b, int64_t ldb, T beta, T *c,
               int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        T av = ta ? a[p * lda + i] : a[i * lda + p];
        T bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      T &out = c[i * ldc + j];
      out = beta == T(0) ? alpha * acc : alpha * acc + beta * out;
    }
  }
}

/// The row stride of a matrix with `rows` rows only matters when rows > 1;
/// views of size-1 dimensions may carry any stride, which BLAS would reject.
int64_t fixLeadingDim(int64_t ld, int64_t rows, int64_t cols) {
  return rows <= 1 ? std::max<int64_t>(ld, std::max<int64_t>(cols, 1)) : ld;
}

/// Whether the batch entries' blocks of C (M x N, row stride ldc, strideC
/// apart) never overlap, so they can be computed in any order.
bool disjointBatches(int64_t batch, int64_t M, int64_t N, int64_t ldc,
                     int64_t strideC) {
  return batch == 1 || (strideC < 0 ? -strideC : strideC) >= (M - 1) * ldc + N;
}

/// The packed weight of every batch entry (`pack(i)`, once when the batch
/// stride is 0 and every entry shares it); false when one cannot be packed.
template <typename Packed, typename Pack>
bool packEachEntry(int64_t batch, int64_t stride,
                   std::vector<const Packed *> &out, Pack pack) {
  out.resize(size_t(batch));
  for (int64_t i = 0; i < batch; ++i) {
    out[size_t(i)] = i > 0 && stride == 0 ? out[0] : pack(i);
    if (!out[size_t(i)])
      return false;
  }
  return true;
}

/// How a batched GEMM is cut into the pool's tasks: task t covers batch
/// entries [batch t / nTasks, batch (t + 1) / nTasks) whole, or, when
/// splits > 1, part t % splits of entry t / splits.
struct TaskCut {
  int64_t batch = 1, nTasks = 1, splits = 1;

  /// Whole entries when the batch alone balances `p` threads (or an entry
  /// cannot be cut in two: maxSplits < 2), a few tasks per thread; else
  /// every entry in min(p, maxSplits) parts.
  static TaskCut choose(int64_t batch, int64_t p, int64_t maxSplits) {
    TaskCut cut;
    cut.batch = batch;
    bool batchBalances = batch >= p && (batch % p == 0 || batch >= 4 * p);
    if (batchBalances || maxSplits < 2) {
      cut.nTasks = std::min(batch, 4 * p);
    } else {
      cut.splits = std::min(p, maxSplits);
      cut.nTasks = batch * cut.splits;
    }
    return cut;
  }

  /// Task t: whole(i) for every entry it covers, or part(i, lo, hi) for its
  /// share [lo, hi) of the `length` units the entries are cut along.
  template <typename Whole, typename Part>
  void run(int64_t t, int64_t length, Whole whole, Part part) const {
    if (splits == 1) {
      for (int64_t i = batch * t / nTasks, e = batch * (t + 1) / nTasks; i < e;
           ++i)
        whole(i);
      return;
    }
    int64_t s = t % splits;
    part(t / splits, length * s / splits, length * (s + 1) / splits);
  }
};

/// MEMC_PACKED_WEIGHTS=0 runs memc_rt_sgemm_packed_a/_b as memc_rt_sgemm (to
/// compare the two, or rule the packed kernels out).
memc::rt::Switch gPackedWeights("MEMC_PACKED_WEIGHTS");

bool packedWeightsOff() { return !gPackedWeights.on(); }

/// Fewer rows of A than this leave the kernel's tile with fewer than eight
/// independent sums, so it waits on the FMA latency: a decode step's GEMVs
/// (one row) took 0.48 ms/token there against 0.35 in OpenBLAS's sgemv.
constexpr int64_t kMinPackedRows = 4;

/// The most floats of op(B) a GEMM of two activations packs per call and
/// thread (4 MiB): attention's tiles take a few hundred KiB.
constexpr int64_t kMaxPerCallPanelFloats = int64_t(1) << 20;

/// Whether a GEMM whose operands both change (attention's score and value
/// tiles, a projection of a train step) runs on memc's packed kernel, op(B)
/// packed into a per-thread buffer on every call, instead of OpenBLAS: on
/// FuseMax's 128 x 128 x 64 tiles OpenBLAS spent 28% of its time copying
/// (sgemm_oncopy, sgemm_itcopy). The choice depends on the shapes only, so
/// every task of a call takes the same kernel, and the kernel sums each
/// element's products in the same order whichever task computes it. More
/// than an eighth of the kernel's lanes empty stays with OpenBLAS (a last
/// panel of at most 16 columns takes half a tile's lanes): ViT-B/16's
/// 98-key score tiles (3 panels and 2 columns, 98 of 128 lanes) ran 3%
/// slower on the packed kernel with 32-column tiles only; in 112 lanes
/// they run on it (ViT-B/16 at 1 thread 230 -> 225 ms, alternating).
bool packsPerCall(bool ta, int64_t M, int64_t N, int64_t K, float alpha,
                  float beta) {
  constexpr int64_t w = memc::rt::kPackedPanelWidth;
  int64_t panelColumns = (N + w - 1) / w * w;
  int64_t lanes = (N + 15) / 16 * 16;
  return !ta && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) &&
         M >= kMinPackedRows && K > 0 && 8 * N >= 7 * lanes &&
         K * panelColumns <= kMaxPerCallPanelFloats && !packedWeightsOff();
}

/// One batched GEMM call and how it is cut into tasks: whole batch entries,
/// or row (splitM) or column blocks of each.
template <typename T> struct GemmJob {
  bool ta, tb;
  int64_t batch, m, n, k;
  T alpha;
  const T *a;
  int64_t lda, strideA;
  const T *b;
  int64_t ldb, strideB;
  T beta;
  T *c;
  int64_t ldc, strideC;
  bool useBlas;
  bool packPerCall = false; ///< memc's packed kernel (packsPerCall)
  TaskCut cut;
  bool splitM = true; ///< Cut along M (rows) or N (columns).

  /// C_i rows [m0, m0+mc) x columns [n0, n0+nc) of batch entry i.
  void block(int64_t i, int64_t m0, int64_t mc, int64_t n0, int64_t nc) const {
    // op(A) row r starts at a + r*lda (no trans) or a + r (trans);
    // op(B) column j at b + j (no trans) or b + j*ldb (trans).
    const T *ai = a + i * strideA + (ta ? m0 : m0 * lda);
    const T *bi = b + i * strideB + (tb ? n0 * ldb : n0);
    T *ci = c + i * strideC + m0 * ldc + n0;
    if constexpr (std::is_same_v<T, float>) {
      if (packPerCall) {
        int64_t panels = (nc + memc::rt::kPackedPanelWidth - 1) /
                         memc::rt::kPackedPanelWidth;
        if (float *scratch = memc::rt::panelScratch(
                size_t(panels * k * memc::rt::kPackedPanelWidth))) {
          memc::rt::PackedB packed =
              memc::rt::packPanels(bi, k, nc, ldb, tb, scratch);
          memc::rt::packedGemm(mc, 0, panels, ai, lda, packed, ci, ldc,
                               beta == 1.0f);
          return;
        }
      }
    }
    if (useBlas)
      blasGemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
               int(mc), int(nc), int(k), alpha, ai, int(lda), bi, int(ldb),
               beta, ci, int(ldc));
    else
      naiveGemm(ta, tb, mc, nc, k, alpha, ai, lda, bi, ldb, beta, ci, ldc);
  }

  /// A split's parts start at multiples of kMinSplitRows: OpenBLAS's
  /// kernels take their rows and columns in groups from a call's first, the
  /// last ones in other loops, and a GEMV's 1000 columns cut at 333 and 666
  /// (3 threads) summed 2 of its outputs in another order than at 1 thread.
  void task(int64_t t) const {
    int64_t length = splitM ? m : n;
    cut.run(
        t, (length + kMinSplitRows - 1) / kMinSplitRows,
        [&](int64_t i) { block(i, 0, m, 0, n); },
        [&](int64_t i, int64_t lo, int64_t hi) {
          lo *= kMinSplitRows;
          hi = std::min(length, hi * kMinSplitRows);
          if (splitM)
            block(i, lo, hi - lo, 0, n);
          else
            block(i, 0, m, lo, hi - lo);
        });
  }

  static void runTask(const void *self, int64_t t) {
    static_cast<const GemmJob *>(self)->task(t);
  }
};

/// A GEMM whose K dwarfs M x N: a convolution's weight gradient sums over
/// every output pixel of the batch (the train CNN's first one is 8 x 27 with
/// K = 32768). Cut along M or N it gives one task, and OpenBLAS streams
/// panels far larger than the caches: 0.75 ms, a fifth of the step. So K is
/// cut into chunks of kKChunk, each chunk's product is one task into a
/// partial of its own, and the partials are summed in chunk order. The
/// chunks depend on K alone, so the sums are the same at any thread count.
/// Both operands transposed (the weight gradient's layout) is computed as
/// C^T = B A with neither transposed, which OpenBLAS packs faster.
constexpr int64_t kKChunk = 2048;
constexpr int64_t kLongKMinK = 4 * kKChunk;
/// Partials stay small: at most this many elements of C.
constexpr int64_t kLongKMaxMN = 16384;

template <typename T> struct LongKJob {
  const GemmJob<T> *g;
  int64_t chunks;
  bool swapped; ///< partials are C^T (N x M)
  T *partials;  ///< chunks x (M x N)

  void chunk(int64_t c) const {
    int64_t k0 = c * kKChunk, kc = std::min(kKChunk, g->k - k0);
    const T *ac = g->a + (g->ta ? k0 * g->lda : k0);
    const T *bc = g->b + (g->tb ? k0 : k0 * g->ldb);
    T *p = partials + c * g->m * g->n;
    if (swapped)
      blasGemm(CblasNoTrans, CblasNoTrans, int(g->n), int(g->m), int(kc), T(1),
               bc, int(g->ldb), ac, int(g->lda), T(0), p, int(g->m));
    else
      blasGemm(g->ta ? CblasTrans : CblasNoTrans,
               g->tb ? CblasTrans : CblasNoTrans, int(g->m), int(g->n), int(kc),
               T(1), ac, int(g->lda), bc, int(g->ldb), T(0), p, int(g->n));
  }

  static void runTask(const void *self, int64_t c) {
    static_cast<const LongKJob *>(self)->chunk(c);
  }

  void run(ThreadPool *pool) {
    std::vector<T> storage(size_t(chunks * g->m * g->n));
    partials = storage.data();
    if (pool)
      pool->run(chunks, &LongKJob::runTask, this);
    else
      for (int64_t c = 0; c < chunks; ++c)
        chunk(c);
    for (int64_t r = 0; r < g->m; ++r) {
      for (int64_t j = 0; j < g->n; ++j) {
        int64_t at = swapped ? j * g->m + r : r * g->n + j;
        T sum = partials[at];
        for (int64_t c = 1; c < chunks; ++c)
          sum += partials[c * g->m * g->n + at];
        T &out = g->c[r * g->ldc + j];
        out = g->beta == T(0) ? g->alpha * sum : g->alpha * sum + g->beta * out;
      }
    }
  }
};

template <typename T>
void batchedGemm(int64_t batch, int32_t transA, int32_t transB, int64_t M,
                 int64_t N, int64_t K, T alpha, const T *A, int64_t lda,
                 int64_t strideA, const T *B, int64_t ldb, int64_t strideB,
                 T beta, T *C, int64_t ldc, int64_t strideC) {
  if (batch <= 0 || M <= 0 || N <= 0)
    return;
  if (K < 0) {
    std::fprintf(stderr, "memc-runtime: gemm called with K = %lld\n",
                 (long long)K);
    return;
  }
  pinBlasToOneThread();
  GemmJob<T> g;
  g.ta = transA != 0;
  g.tb = transB != 0;
  g.batch = batch;
  g.m = M;
  g.n = N;
  g.k = K;
  g.alpha = alpha;
  g.beta = beta;
  g.a = A;
  g.b = B;
  g.c = C;
  g.strideA = strideA;
  g.strideB = strideB;
  g.strideC = strideC;
  // Stored shapes: A is MxK (KxM when transposed), B is KxN (NxK).
  g.lda = fixLeadingDim(lda, g.ta ? K : M, g.ta ? M : K);
  g.ldb = fixLeadingDim(ldb, g.tb ? N : K, g.tb ? K : N);
  g.ldc = fixLeadingDim(ldc, M, N);
  auto fitsInt = [](int64_t v) { return v >= 0 && v <= INT_MAX; };
  g.useBlas = fitsInt(M) && fitsInt(N) && fitsInt(K) && fitsInt(g.lda) &&
              fitsInt(g.ldb) && fitsInt(g.ldc) &&
              g.lda >= std::max<int64_t>(1, g.ta ? M : K) &&
              g.ldb >= std::max<int64_t>(1, g.tb ? K : N) &&
              g.ldc >= std::max<int64_t>(1, N);
  if constexpr (std::is_same_v<T, float>)
    g.packPerCall = g.useBlas && packsPerCall(g.ta, M, N, K, alpha, beta);

  ThreadPool *pool = ThreadPool::get();
  if (g.useBlas && batch == 1 && K >= kLongKMinK && M * N <= kLongKMaxMN) {
    LongKJob<T> job{&g, (K + kKChunk - 1) / kKChunk, g.ta && g.tb, nullptr};
    job.run(pool);
    return;
  }
  double flops = 2.0 * double(M) * double(N) * double(K) * double(batch);
  // Batches whose C blocks overlap (strideC 0: accumulate into one C) must
  // run in order; so must tiny problems.
  bool disjointC = disjointBatches(batch, M, N, g.ldc, strideC);
  if (!pool || flops < minParallelFlops(batch, M) || !disjointC) {
    for (int64_t i = 0; i < batch; ++i)
      g.block(i, 0, M, 0, N);
    return;
  }

  // Few GEMMs: each one cut along its longer side.
  g.splitM = M >= N;
  g.cut = TaskCut::choose(batch, pool->participants(),
                          std::max(M, N) / kMinSplitRows);
  pool->run(g.cut.nTasks, &GemmJob<T>::runTask, &g);
}

/// A GEMM whose B is a weight of an inference program (packed once,
/// PackedGemm.h), cut like GemmJob: whole batch entries per task, or each
/// entry's rows (splitM) or panels.
struct PackedJob {
  int64_t batch, m;
  const float *a;
  int64_t lda, strideA;
  std::vector<const memc::rt::PackedB *> b; ///< one per batch entry
  float *c;
  int64_t ldc, strideC;
  bool accumulate;
  TaskCut cut;
  bool splitM = true;

  void block(int64_t i, int64_t m0, int64_t mc, int64_t p0, int64_t p1) const {
    if (m == 1) {
      memc::rt::packedGemv(p0, p1, a + i * strideA, *b[i], c + i * strideC,
                           accumulate);
      return;
    }
    memc::rt::packedGemm(mc, p0, p1, a + i * strideA + m0 * lda, lda, *b[i],
                         c + i * strideC + m0 * ldc, ldc, accumulate);
  }

  void task(int64_t t) const {
    int64_t panels = b[0]->numPanels();
    cut.run(
        t, splitM ? m : panels, [&](int64_t i) { block(i, 0, m, 0, panels); },
        [&](int64_t i, int64_t lo, int64_t hi) {
          if (splitM)
            block(i, lo, hi - lo, 0, panels);
          else
            block(i, 0, m, lo, hi);
        });
  }

  static void runTask(const void *self, int64_t t) {
    static_cast<const PackedJob *>(self)->task(t);
  }
};

/// The fewest elements of a weight whose one-row GEMMs run on packedGemv.
/// Smaller weights stay in OpenBLAS's sgemv, read in place: a decode step
/// of a d-64 decoder (weights of 4K-16K floats) took 10% longer a token on
/// packed copies (a cache lookup per call, a second copy in cache, and
/// the copies made during the first step).
constexpr int64_t kMinGemvPackedFloats = int64_t(1) << 18;

/// Whether a GEMM of one row (a classifier, a decode step's projection) by
/// a packed weight of K x N runs on packedGemv: AVX-512 only, weights of
/// 1 MiB or more. In ResNet-18 its classifier (1 x 1000 x 512) took 0.43
/// ms at 1 thread in OpenBLAS's sgemv, reading the weight in place.
bool gemvPays(int64_t M, int64_t N, int64_t K) {
  return M == 1 && N * K >= kMinGemvPackedFloats &&
         memc::rt::packedGemmIsa() == memc::rt::PackedGemmIsa::AVX512;
}

/// memc_rt_sgemm_packed_b's work, or false when the arguments are outside
/// what the packed kernel computes (a transposed A, alpha != 1, beta other
/// than 0 or 1, fewer than kMinPackedRows rows but for gemvPays' one,
/// strides BLAS would reject, overlapping C blocks) or the packed copy
/// cannot be allocated: the caller then runs the plain GEMM.
bool packedBatchedGemm(int64_t batch, int32_t transA, int32_t transB, int64_t M,
                       int64_t N, int64_t K, float alpha, const float *A,
                       int64_t lda, int64_t strideA, const float *B,
                       int64_t ldb, int64_t strideB, float beta, float *C,
                       int64_t ldc, int64_t strideC) {
  if (transA || alpha != 1.0f || (beta != 0.0f && beta != 1.0f) || K <= 0 ||
      (M < kMinPackedRows && !gemvPays(M, N, K)))
    return false;
  bool tb = transB != 0;
  lda = fixLeadingDim(lda, M, K);
  ldb = fixLeadingDim(ldb, tb ? N : K, tb ? K : N);
  ldc = fixLeadingDim(ldc, M, N);
  if (lda < K || ldb < (tb ? K : N) || ldc < N)
    return false;
  if (!disjointBatches(batch, M, N, ldc, strideC))
    return false;
  PackedJob job;
  job.batch = batch;
  job.m = M;
  job.a = A;
  job.lda = lda;
  job.strideA = strideA;
  job.c = C;
  job.ldc = ldc;
  job.strideC = strideC;
  job.accumulate = beta == 1.0f;
  if (!packEachEntry(batch, strideB, job.b, [&](int64_t i) {
        return memc::rt::packedWeight(B + i * strideB, K, N, ldb, tb);
      }))
    return false;

  ThreadPool *pool = ThreadPool::get();
  double flops = 2.0 * double(M) * double(N) * double(K) * double(batch);
  int64_t panels = job.b[0]->numPanels();
  if (!pool || flops < minParallelFlops(batch, M)) {
    for (int64_t i = 0; i < batch; ++i)
      job.block(i, 0, M, 0, panels);
    return true;
  }
  int64_t p = pool->participants();
  // Panels first: each thread then streams only its share of the weight.
  job.splitM = panels < p && M > panels;
  job.cut = TaskCut::choose(batch, p, job.splitM ? M : panels);
  pool->run(job.cut.nTasks, &PackedJob::runTask, &job);
  return true;
}

/// The packed-A kernel splits smaller GEMMs than OpenBLAS is given: the
/// CNN example's convolutions (2.4M flops) ran serially between parallel
/// loops at 0.10 ms per inference on 2 threads (the threads' caches trade
/// the activations back and forth), split at 0.044 ms.
constexpr double kMinParallelPackedAFlops = double(1 << 20);

/// Fewer columns of B than this leave most lanes of the packed-A kernel's
/// 32-column tiles empty (a convolution whose output is one pixel).
constexpr int64_t kMinPackedAColumns = 16;

/// The most columns of C a GEMM of a weight on the left computes as its
/// transpose: its columns, packed a K block at a time, stay in L2.
constexpr int64_t kMaxTransposedColumns = 128;

/// Whether C = op(A) B, A a weight, pays to run as C^T = B^T op(A)^T
/// (packedGemmAT): when C's N columns leave more of the kernel's 16-lane
/// registers empty than its M rows would, by more than an eighth. ResNet-18's
/// layer 4 (M = 512, N = 49) fills 49 of 64 lanes one way and all of them
/// the other.
bool transposedPays(int64_t M, int64_t N) {
  auto filled = [](int64_t x) {
    return double(x) / double((x + 15) / 16 * 16);
  };
  return memc::rt::packedGemmIsa() == memc::rt::PackedGemmIsa::AVX512 &&
         N <= kMaxTransposedColumns && filled(M) - filled(N) > 0.125;
}

/// Whether a convolution's GEMM (a window operand, batch 1) runs on
/// windowGemmDirect, which packs nothing per call, where packedGemmA packs
/// each K block of the window before its tiles read it (13% of the time of
/// ResNet-18's 64-filter convolutions). Measured against packedGemmA at one
/// thread (ms, best of 3): 64 filters, K 576, 56x56: 1.55 vs 1.66; 128
/// filters, K 1152, 28x28: 1.47 vs 1.51; K 576 stride 2: 0.77 vs 0.81.
/// With K in one block of packedGemmA's the packing pays for itself (its
/// 7x7 stride-2 convolution, K 147: 1.88 vs 1.80; 1x1 stride 2, K 128:
/// 0.109 vs 0.097), and so it does with few pixels (64 filters, K 288, 8x8:
/// 0.0187 vs 0.0174); past 1152 a tile's rows of input outgrow L1 (K 2304,
/// 14x14: 1.77 vs 1.56).
bool directPays(int64_t N, int64_t K) {
  return memc::rt::packedGemmIsa() == memc::rt::PackedGemmIsa::AVX512 &&
         K > 256 && K <= 1152 && N >= 128;
}

/// A GEMM whose A is a weight (PackedGemm.h's packedWeightA): tasks take
/// blocks of C's columns (in whole 32-column panels), or of A's 12-row
/// panels when C has too few columns to go round. With `aT` (batch 1), the
/// weight is packed as its transpose and the product runs transposed
/// (packedGemmAT, or windowGemmDirect for a window when `direct`): tasks
/// take A's rows in 32-row panels, or C's columns in blocks of 12.
struct PackedAJob {
  int64_t batch, n;
  std::vector<const memc::rt::PackedA *> a; ///< one per batch entry
  const memc::rt::PackedB *aT = nullptr;
  bool direct = false; ///< aT's product by windowGemmDirect (aT is set)
  memc::rt::RightOperand b;                 ///< batch entry 0's
  int64_t strideB = 0;
  float *c;
  int64_t ldc, strideC;
  bool accumulate;
  /// Where the finished product goes instead of C (batch 1 only).
  const memc::rt::Epilogue *epilogue = nullptr;
  TaskCut cut;
  bool splitM = false;
  /// K's blocks (packedGemmA's; halvesBlock's halves or the kernel's).
  memc::rt::KBlocks kBlocks;

  void block(int64_t i, int64_t p0, int64_t p1, int64_t n0, int64_t n1) const {
    if (direct) {
      memc::rt::windowGemmDirect(*aT, p0, p1, n0, n1, b, c, ldc, accumulate,
                                 epilogue, kBlocks.size);
      return;
    }
    if (aT) {
      memc::rt::packedGemmAT(*aT, p0, p1, n0, n1, b, c, ldc, accumulate,
                             epilogue, kBlocks.size);
      return;
    }
    memc::rt::RightOperand bi = b;
    bi.data += i * strideB;
    memc::rt::packedGemmA(*a[i], p0, p1, n0, n1, bi, c + i * strideC, ldc,
                          accumulate, epilogue, kBlocks);
  }

  int64_t rowPanels() const { return aT ? aT->numPanels() : a[0]->numPanels(); }
  /// Rows per unit of a cut along them.
  int64_t rowUnit() const {
    return aT ? memc::rt::kPackedPanelWidth : memc::rt::kPackedPanelHeight;
  }
  /// Columns per unit of a cut along them.
  int64_t columnUnit() const {
    return aT ? memc::rt::kPackedPanelHeight : memc::rt::kPackedPanelWidth;
  }

  void task(int64_t t) const {
    int64_t w = columnUnit();
    int64_t rowPanels = this->rowPanels(), colPanels = (n + w - 1) / w;
    cut.run(
        t, splitM ? rowPanels : colPanels,
        [&](int64_t i) { block(i, 0, rowPanels, 0, n); },
        [&](int64_t i, int64_t lo, int64_t hi) {
          if (splitM)
            block(i, lo, hi, 0, n);
          else // whole panels of columns
            block(i, 0, rowPanels, lo * w, std::min(n, hi * w));
        });
  }

  static void runTask(const void *self, int64_t t) {
    static_cast<const PackedAJob *>(self)->task(t);
  }
};

/// Packs `job`'s weight A (each batch entry's, strideA apart) for an M x N
/// product: as its transpose when that pays (batch 1: transposedPays, or a
/// window that directPays), else in packedWeightA's panels. False when no
/// packed copy can be had.
bool packLeftWeight(PackedAJob &job, const float *A, int64_t strideA, int64_t M,
                    int64_t N, int64_t K, int64_t lda, bool ta) {
  if (job.batch == 1 && transposedPays(M, N)) {
    job.aT = memc::rt::packedWeight(A, K, M, lda, !ta);
  } else if (job.batch == 1 && job.b.isWindow() && directPays(N, K)) {
    job.aT = memc::rt::packedWeight(A, K, M, lda, !ta);
    job.direct = job.aT != nullptr;
  }
  return job.aT || packEachEntry(job.batch, strideA, job.a, [&](int64_t i) {
           return memc::rt::packedWeightA(A + i * strideA, M, K, lda, ta);
         });
}

/// A GEMM with K in two halves on an even number of threads: sumHalf(half,
/// share, shares) for each half of K and each of its `shares` (half the
/// threads), the first half of the threads taking K's first half; then,
/// all of those done, finishRows(r0, r1) for each thread's share of C's
/// m rows.
template <typename SumHalf, typename FinishRows>
void runInHalves(ThreadPool &pool, int64_t m, const SumHalf &sumHalf,
                 const FinishRows &finishRows) {
  struct Steps {
    const SumHalf &sumHalf;
    const FinishRows &finishRows;
    int64_t m, perHalf;
  } steps{sumHalf, finishRows, m, pool.participants() / 2};
  pool.run(
      2 * steps.perHalf,
      [](const void *ctx, int64_t t) {
        const auto &s = *static_cast<const Steps *>(ctx);
        s.sumHalf(t / s.perHalf, t % s.perHalf, s.perHalf);
      },
      &steps);
  pool.run(
      2 * steps.perHalf,
      [](const void *ctx, int64_t t) {
        const auto &s = *static_cast<const Steps *>(ctx);
        int64_t parts = 2 * s.perHalf;
        s.finishRows(s.m * t / parts, s.m * (t + 1) / parts);
      },
      &steps);
}

/// `job` (batch 1, K in two halves of job.kBlocks.size) on an even number
/// of threads: each half of them sums its half of K over its share of A's
/// row panels into a scratch product; then each thread adds the two for
/// its share of C's rows (half 1's sum + (half 0's + C's old value)), as
/// packedGemmA adds a block's sums to the blocks' before it, and stores
/// them as the kernel would, through the epilogue or into C. False when
/// the scratch cannot be had.
bool splitKProduct(const PackedAJob &job, ThreadPool &pool, int64_t M,
                   int64_t N, int64_t K) {
  thread_local memc::rt::ScratchBuffer scratch;
  float *halves = scratch.get(size_t(2 * M * N));
  if (!halves)
    return false;
  int64_t kMid = job.kBlocks.size, panels = job.rowPanels();
  runInHalves(
      pool, M,
      [&](int64_t half, int64_t share, int64_t shares) {
        memc::rt::packedGemmA(*job.a[0], panels * share / shares,
                              panels * (share + 1) / shares, 0, N, job.b,
                              halves + half * M * N, N, false, nullptr,
                              {half ? kMid : 0, half ? K : kMid, kMid});
      },
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          float *sum = halves + r * N;
          const float *second = halves + M * N + r * N;
          if (job.accumulate) {
            const float *old = job.c + r * job.ldc;
            for (int64_t j = 0; j < N; ++j)
              sum[j] += old[j];
          }
          for (int64_t j = 0; j < N; ++j)
            sum[j] = second[j] + sum[j];
        }
        // C's old value is in the sums already: stored, or finished.
        memc::rt::finishProduct(halves + r0 * N, N, r0, r1 - r0, 0, N, job.c,
                                job.ldc, false, job.epilogue);
      });
  return true;
}

/// splitKProduct for a product run transposed (job.aT, packedGemmAT): each
/// half of the threads sums its half of K into a scratch C^T over its
/// share of aT's panels, then each thread adds the two (half 1's + half
/// 0's, as packedGemmAT adds its blocks) for its share of C's rows and
/// finishes them (finishTransposed: C's old value, the epilogue).
bool splitKTransposed(const PackedAJob &job, ThreadPool &pool, int64_t M,
                      int64_t N, int64_t K) {
  int64_t panels = job.aT->numPanels();
  int64_t ldct = panels * memc::rt::kPackedPanelWidth;
  thread_local memc::rt::ScratchBuffer scratch;
  float *halves = scratch.get(size_t(2 * N * ldct));
  if (!halves)
    return false;
  int64_t kMid = job.kBlocks.size;
  std::atomic<bool> failed{false}; // a half's buffer could not be had
  auto sumHalf = [&](int64_t half, int64_t share, int64_t shares) {
    int64_t p0 = panels * share / shares, p1 = panels * (share + 1) / shares;
    if (!memc::rt::transposedSums(
            *job.aT, p0, p1, 0, N, job.b,
            {half ? kMid : 0, half ? K : kMid, kMid},
            halves + half * N * ldct + p0 * memc::rt::kPackedPanelWidth, ldct))
      failed = true;
  };
  auto finishRows = [&](int64_t r0, int64_t r1) {
    if (failed)
      return;
    const float *second = halves + N * ldct;
    for (int64_t j = 0; j < N; ++j)
      for (int64_t f = r0; f < r1; ++f)
        halves[j * ldct + f] = second[j * ldct + f] + halves[j * ldct + f];
    memc::rt::finishTransposed(halves, ldct, 0, r0, r1, 0, N, job.c, job.ldc,
                               job.accumulate, job.epilogue);
  };
  runInHalves(pool, M, sumHalf, finishRows);
  return !failed;
}

/// Runs `job`, its weights packed, on the pool.
void runPackedLeft(PackedAJob &job, int64_t M, int64_t N, int64_t K) {
  int64_t batch = job.batch;
  ThreadPool *pool = ThreadPool::get();
  double flops = 2.0 * double(M) * double(N) * double(K) * double(batch);
  int64_t rowPanels = job.rowPanels(), w = job.columnUnit();
  int64_t colPanels = (N + w - 1) / w;
  // (A window's product, direct or not, sums in the same blocks: a 1x1
  // convolution's GEMM gives the same bits as a window or as a plain B.)
  bool transposed = job.aT && !job.direct;
  if (int64_t half = batch != 1   ? 0
                     : transposed ? memc::rt::transposedHalvesBlock(M, N, K)
                                  : memc::rt::halvesBlock(M, N, K))
    job.kBlocks = {0, K, half};
  if (!pool || flops < kMinParallelPackedAFlops) {
    for (int64_t i = 0; i < batch; ++i)
      job.block(i, 0, rowPanels, 0, N);
    return;
  }
  int64_t p = pool->participants();
  if (job.kBlocks.size && !job.direct && !job.b.isWindow() && p % 2 == 0 &&
      memc::rt::packedGemmIsa() == memc::rt::PackedGemmIsa::AVX512 &&
      (transposed ? splitKTransposed(job, *pool, M, N, K)
                  : splitKProduct(job, *pool, M, N, K)))
    return;
  // The cut whose largest share is closest to an even one. Layer 4 of
  // ResNet-18 (512 x 49 x 4608) has two column panels of 32 and 17
  // columns: cut along them, one thread does twice the other's work, and
  // both stream all the weights. On a tie, columns, as each thread then
  // reads only its share of B (a cut along M reads all of B in every
  // thread); but rows where C has at least twice B's rows: each thread's
  // rows of C, then, are what it reads next where the next kernel cuts
  // channels (a depthwise convolution after an expanding 1x1 one; the
  // pool gives a thread the same share of each job), and they outweigh
  // B read twice (MobileNetV2 at 2 threads: 3.76 -> 3.66 ms, best of
  // 10).
  // The shares are TaskCut's, units * s / p to units * (s + 1) / p, a
  // short last unit counted as it is: 196 columns in 7 panels are cut in
  // 96 and 100, not 128 and 68 as whole units put it (which sent
  // MobileNetV2's 64 x 196 x 384 along its rows, 36 and 28).
  auto evenness = [&](int64_t units, int64_t unitSize, int64_t total) {
    int64_t largest = 0;
    for (int64_t s = 0; s < p; ++s)
      largest =
          std::max(largest, std::min(total, units * (s + 1) / p * unitSize) -
                                units * s / p * unitSize);
    return double(total) / double(p * largest);
  };
  double byColumns = evenness(colPanels, w, N);
  double byRows = evenness(rowPanels, job.rowUnit(), M);
  // Transposed, a cut along the rows streams only its share of the weight,
  // which dwarfs B there (9.4 MB against 0.9 MB in ResNet-18's layer 4),
  // though each thread then packs all of B.
  job.splitM = job.aT || M >= 2 * K ? byRows >= byColumns : byRows > byColumns;
  job.cut = TaskCut::choose(batch, p, job.splitM ? rowPanels : colPanels);
  pool->run(job.cut.nTasks, &PackedAJob::runTask, &job);
}

/// memc_rt_sgemm_packed_a's work, or false when the packed kernel does not
/// take the arguments (a transposed B, alpha != 1, beta other than 0 or 1,
/// fewer than kMinPackedAColumns columns, strides BLAS would reject,
/// overlapping C blocks) or the packed copy cannot be allocated.
bool packedLeftBatchedGemm(int64_t batch, int32_t transA, int32_t transB,
                           int64_t M, int64_t N, int64_t K, float alpha,
                           const float *A, int64_t lda, int64_t strideA,
                           const float *B, int64_t ldb, int64_t strideB,
                           float beta, float *C, int64_t ldc, int64_t strideC,
                           const memc::rt::Epilogue *epilogue = nullptr) {
  if (transB || alpha != 1.0f || (beta != 0.0f && beta != 1.0f) || K <= 0 ||
      N < kMinPackedAColumns)
    return false;
  bool ta = transA != 0;
  lda = fixLeadingDim(lda, ta ? K : M, ta ? M : K);
  ldb = fixLeadingDim(ldb, K, N);
  ldc = fixLeadingDim(ldc, M, N);
  if (lda < (ta ? M : K) || ldb < N || ldc < N)
    return false;
  if (!disjointBatches(batch, M, N, ldc, strideC))
    return false;
  PackedAJob job;
  job.batch = batch;
  job.n = N;
  job.b.data = B;
  job.b.ld = ldb;
  job.strideB = strideB;
  job.c = C;
  job.ldc = ldc;
  job.strideC = strideC;
  job.accumulate = beta == 1.0f;
  job.epilogue = epilogue;
  if (!packLeftWeight(job, A, strideA, M, N, K, lda, ta))
    return false;
  runPackedLeft(job, M, N, K);
  return true;
}

/// The offset tables of a window descriptor (memc_runtime.h): element
/// (k, j) of B at rows[k] + columns[j]. False when its extents do not
/// multiply to K and N.
bool windowOffsets(const int64_t *window, int64_t K, int64_t N,
                   std::vector<int64_t> &rows, std::vector<int64_t> &columns) {
  int64_t kRank = window[0], nRank = window[1];
  if (kRank < 0 || nRank < 0)
    return false;
  const int64_t *dims = window + 3;
  // Mixed radix, the first dimension outermost.
  auto enumerate = [](const int64_t *dims, int64_t rank, int64_t start,
                      std::vector<int64_t> &out) {
    out.assign(1, start);
    for (int64_t d = 0; d < rank; ++d) {
      int64_t extent = dims[2 * d], stride = dims[2 * d + 1];
      if (extent <= 0)
        return false;
      std::vector<int64_t> next;
      next.reserve(out.size() * size_t(extent));
      for (int64_t o : out)
        for (int64_t e = 0; e < extent; ++e)
          next.push_back(o + e * stride);
      out.swap(next);
    }
    return true;
  };
  return enumerate(dims, kRank, window[2], rows) &&
         enumerate(dims + 2 * kRank, nRank, 0, columns) &&
         int64_t(rows.size()) == K && int64_t(columns.size()) == N;
}

/// A window's offset tables.
struct WindowTables {
  std::vector<int64_t> rows, columns;
};

/// The offset tables of `window` for a K x N operand, built on first use
/// and kept (a convolution runs once per inference; its columns' table
/// alone takes microseconds to build); null when the descriptor does not
/// match K x N. The cache is keyed by the descriptor's contents, as
/// packages come and go, and holds one entry per distinct convolution
/// shape.
const WindowTables *windowTables(const int64_t *window, int64_t K, int64_t N) {
  if (window[0] < 0 || window[1] < 0)
    return nullptr;
  std::vector<int64_t> key(window, window + 3 + 2 * (window[0] + window[1]));
  key.push_back(K);
  key.push_back(N);
  static std::mutex mutex;
  static auto *cache = new std::map<std::vector<int64_t>, WindowTables>;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(key);
  if (it != cache->end())
    return &it->second;
  WindowTables tables;
  if (!windowOffsets(window, K, N, tables.rows, tables.columns))
    return nullptr;
  return &cache->emplace(std::move(key), std::move(tables)).first->second;
}

/// A fused call without C (a memc.gemm_epilogue's, beta 0) that falls back
/// to a plain GEMM: C becomes `scratch`, M x N.
void scratchForC(float *&C, int64_t &ldc, int64_t M, int64_t N,
                 std::vector<float> &scratch) {
  if (C)
    return;
  scratch.assign(size_t(M) * size_t(N), 0.0f);
  C = scratch.data();
  ldc = N;
}

/// memc_rt_sgemm_packed_a_window(_ep): `epilogue` (may be null) finishes
/// the product into its D instead of C.
void windowGemm(int64_t M, int64_t N, int64_t K, int32_t transA, const float *A,
                int64_t lda, const float *X, const int64_t *window, float beta,
                float *C, int64_t ldc, const memc::rt::Epilogue *epilogue) {
  if (M <= 0 || N <= 0)
    return;
  const WindowTables *tables = K < 0 ? nullptr : windowTables(window, K, N);
  if (!tables) {
    std::fprintf(stderr,
                 "memc-runtime: a window of %lld x %lld elements does not "
                 "match its descriptor\n",
                 (long long)K, (long long)N);
    return;
  }
  bool ta = transA != 0;
  lda = fixLeadingDim(lda, ta ? K : M, ta ? M : K);
  ldc = fixLeadingDim(ldc, M, N);
  // memc's kernels take beta 0 or 1: Winograd's for 3x3 stride-1
  // windows where it pays, else the packed ones.
  bool ownKernels = !packedWeightsOff() && (beta == 0.0f || beta == 1.0f);
  memc::rt::Conv3x3Window conv;
  int tile = 0;
  if (ownKernels && memc::rt::conv3x3Window(window, K, N, conv) &&
      (tile = memc::rt::winogradTile(conv, M)) != 0 &&
      memc::rt::winogradConv3x3(conv, M, tile, A, lda, ta, X, beta == 1.0f, C,
                                ldc, epilogue))
    return;
  if (ownKernels && N >= kMinPackedAColumns && K > 0) {
    PackedAJob job;
    job.batch = 1;
    job.n = N;
    job.b.data = X;
    job.b.rowOffset = tables->rows.data();
    job.b.columnOffset = tables->columns.data();
    job.c = C;
    job.ldc = ldc;
    job.strideC = 0;
    job.accumulate = beta == 1.0f;
    job.epilogue = epilogue;
    if (packLeftWeight(job, A, 0, M, N, K, lda, ta)) {
      runPackedLeft(job, M, N, K);
      return;
    }
  }
  // The im2col copy the packed kernel does without, and a plain GEMM.
  std::vector<float> scratch;
  scratchForC(C, ldc, M, N, scratch);
  std::vector<float> b(size_t(K) * size_t(N));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j)
      b[size_t(k * N + j)] =
          X[tables->rows[size_t(k)] + tables->columns[size_t(j)]];
  batchedGemm<float>(1, transA, 0, M, N, K, 1.0f, A, lda, 0, b.data(), N, 0,
                     beta, C, ldc, 0);
  if (epilogue)
    epilogue->applyAll(C, ldc, M, N);
}

/// The epilogue of memc_rt_sgemm_packed_a_ep's arguments, for an M x N
/// product.
memc::rt::Epilogue epilogueOf(int64_t N, const float *bias, const float *addend,
                              int64_t ldAddend, int64_t addendWidth,
                              int64_t addendPitch, float lo, float hi, float *D,
                              int64_t ldd, int64_t width, int64_t pitch,
                              const int64_t *pads, float padValue) {
  memc::rt::Epilogue e;
  e.bias = bias;
  e.addend = addend;
  e.ldAddend = ldAddend;
  if (addendWidth > 0 && addendPitch >= addendWidth) {
    e.addendWidth = addendWidth;
    e.addendPitch = addendPitch;
  }
  e.lo = lo;
  e.hi = hi;
  e.d = D;
  e.ldd = ldd;
  e.width = width;
  e.pitch = pitch;
  e.n = N;
  if (pads && width > 0) {
    e.padded = true;
    e.padTop = pads[0];
    e.padBottom = pads[1];
    e.padLeft = pads[2];
    e.padRight = pads[3];
    e.padValue = padValue;
  }
  return e;
}

} // namespace

void memc::rt::enablePackedWeights(bool on) { gPackedWeights.allow(on); }

extern "C" {

void memc_rt_sgemm(int64_t batch, int32_t transA, int32_t transB, int64_t M,
                   int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, int64_t strideA, const float *B, int64_t ldb,
                   int64_t strideB, float beta, float *C, int64_t ldc,
                   int64_t strideC) {
  memc::rt::ProfiledCall profiled("sgemm", M, N, K);
  batchedGemm<float>(batch, transA, transB, M, N, K, alpha, A, lda, strideA, B,
                     ldb, strideB, beta, C, ldc, strideC);
}

void memc_rt_sgemm_packed_b(int64_t batch, int32_t transA, int32_t transB,
                            int64_t M, int64_t N, int64_t K, float alpha,
                            const float *A, int64_t lda, int64_t strideA,
                            const float *B, int64_t ldb, int64_t strideB,
                            float beta, float *C, int64_t ldc,
                            int64_t strideC) {
  memc::rt::ProfiledCall profiled("sgemm_packed_b", M, N, K);
  if (batch <= 0 || M <= 0 || N <= 0)
    return;
  if (packedWeightsOff() ||
      !packedBatchedGemm(batch, transA, transB, M, N, K, alpha, A, lda, strideA,
                         B, ldb, strideB, beta, C, ldc, strideC))
    batchedGemm<float>(batch, transA, transB, M, N, K, alpha, A, lda, strideA,
                       B, ldb, strideB, beta, C, ldc, strideC);
}

void memc_rt_sgemm_packed_a(int64_t batch, int32_t transA, int32_t transB,
                            int64_t M, int64_t N, int64_t K, float alpha,
                            const float *A, int64_t lda, int64_t strideA,
                            const float *B, int64_t ldb, int64_t strideB,
                            float beta, float *C, int64_t ldc,
                            int64_t strideC) {
  memc::rt::ProfiledCall profiled("sgemm_packed_a", M, N, K);
  if (batch <= 0 || M <= 0 || N <= 0)
    return;
  if (packedWeightsOff() ||
      !packedLeftBatchedGemm(batch, transA, transB, M, N, K, alpha, A, lda,
                             strideA, B, ldb, strideB, beta, C, ldc, strideC))
    batchedGemm<float>(batch, transA, transB, M, N, K, alpha, A, lda, strideA,
                       B, ldb, strideB, beta, C, ldc, strideC);
}

void memc_rt_sgemm_packed_a_window(int64_t M, int64_t N, int64_t K,
                                   int32_t transA, const float *A, int64_t lda,
                                   const float *X, const int64_t *window,
                                   float beta, float *C, int64_t ldc) {
  memc::rt::ProfiledCall profiled("sgemm_packed_a_window", M, N, K);
  windowGemm(M, N, K, transA, A, lda, X, window, beta, C, ldc, nullptr);
}

void memc_rt_sgemm_packed_a_ep(int32_t transA, int64_t M, int64_t N, int64_t K,
                               const float *A, int64_t lda, const float *B,
                               int64_t ldb, float beta, float *C, int64_t ldc,
                               const float *bias, const float *addend,
                               int64_t ldAddend, int64_t addendWidth,
                               int64_t addendPitch, float lo, float hi,
                               float *D, int64_t ldd, int64_t width,
                               int64_t pitch, const int64_t *pads,
                               float padValue) {
  memc::rt::ProfiledCall profiled("sgemm_packed_a_ep", M, N, K);
  if (M <= 0 || N <= 0)
    return;
  memc::rt::Epilogue epilogue =
      epilogueOf(N, bias, addend, ldAddend, addendWidth, addendPitch, lo, hi, D,
                 ldd, width, pitch, pads, padValue);
  if (packedWeightsOff() ||
      !packedLeftBatchedGemm(1, transA, 0, M, N, K, 1.0f, A, lda, 0, B, ldb, 0,
                             beta, C, ldc, 0, &epilogue)) {
    std::vector<float> scratch;
    scratchForC(C, ldc, M, N, scratch);
    batchedGemm<float>(1, transA, 0, M, N, K, 1.0f, A, lda, 0, B, ldb, 0, beta,
                       C, ldc, 0);
    epilogue.applyAll(C, fixLeadingDim(ldc, M, N), M, N);
  }
}

void memc_rt_sgemm_packed_a_window_ep(
    int64_t M, int64_t N, int64_t K, int32_t transA, const float *A,
    int64_t lda, const float *X, const int64_t *window, float beta, float *C,
    int64_t ldc, const float *bias, const float *addend, int64_t ldAddend,
    int64_t addendWidth, int64_t addendPitch, float lo, float hi, float *D,
    int64_t ldd, int64_t width, int64_t pitch, const int64_t *pads,
    float padValue) {
  memc::rt::ProfiledCall profiled("sgemm_packed_a_window_ep", M, N, K);
  memc::rt::Epilogue epilogue =
      epilogueOf(N, bias, addend, ldAddend, addendWidth, addendPitch, lo, hi, D,
                 ldd, width, pitch, pads, padValue);
  windowGemm(M, N, K, transA, A, lda, X, window, beta, C, ldc, &epilogue);
}

void memc_rt_dgemm(int64_t batch, int32_t transA, int32_t transB, int64_t M,
                   int64_t N, int64_t K, double alpha, const double *A,
                   int64_t lda, int64_t strideA, const double *B, int64_t ldb,
                   int64_t strideB, double beta, double *C, int64_t ldc,
                   int64_t strideC) {
  memc::rt::ProfiledCall profiled("dgemm", M, N, K);
  batchedGemm<double>(batch, transA, transB, M, N, K, alpha, A, lda, strideA, B,
                      ldb, strideB, beta, C, ldc, strideC);
}

} // extern "C"
