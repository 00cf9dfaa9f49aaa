//===- FixtureModels.cpp - Hand-written stand-ins for compiled programs ---===//
//
// The runtime tests load packages without running the compiler: this file is
// built several times as a MODULE library, one `memc_entry` per FIXTURE_*
// macro, each using the runtime ABI the way generated code does (calls into
// the loading process, resolved at dlopen time). Manifests are written by the
// tests.
//
//   FIXTURE_ADD      in a,b f32 2x3; weight w f32 3; out y = a + b + w (row
//                    broadcast), through a 24-byte temporary from
//                    _mlir_memref_to_llvm_aligned_alloc.
//   FIXTURE_ARENA    same, the temporary in the arena (args[4]).
//   FIXTURE_MATMUL   in x f32 2x4; weight w f32 4x3; out y = x @ w through
//                    memc_rt_sgemm.
//   FIXTURE_LEAK     in a f32 2x3; out y = a; allocates 100 bytes, never
//                    frees them.
//   FIXTURE_NOENTRY  no memc_entry at all.
//   FIXTURE_CRASH    in a f32 2x3; out y f32 2x3; dereferences null.
//   FIXTURE_OLDABI   as FIXTURE_LEAK without the leak, and without the
//                    memc_interface a package of an older memc lacks.
//   FIXTURE_TRAIN    a train step (docs/package-format.md "Train
//                    packages"): in x f32 4x2, labels f32 4; weight w f32 2
//                    trainable, scale f32 2; state w.m f32 2 of w; step;
//                    out loss = mean((x @ (w * scale) - labels)^2), then
//                    SGD with momentum 0.9 at lr 0.1 + 0.1 / t updates w.m
//                    and w in place; the predictions go through the arena
//                    (args[7], 64 bytes).
//
// Each fixture but NOENTRY and OLDABI declares its interface
// (memc_interface, as memc embeds it) for the manifests the tests write.
//
//===----------------------------------------------------------------------===//

#include <cstddef>
#include <cstdint>

extern "C" {
// Declared here, not included: a compiled program only has the symbols.
void *_mlir_memref_to_llvm_alloc(size_t size);
void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size);
void _mlir_memref_to_llvm_free(void *ptr);
void memc_rt_sgemm(int64_t batch, int32_t transA, int32_t transB, int64_t M,
                   int64_t N, int64_t K, float alpha, const float *A,
                   int64_t lda, int64_t strideA, const float *B, int64_t ldb,
                   int64_t strideB, float beta, float *C, int64_t ldc,
                   int64_t strideC);
}

/// The exported interface string; `extern` first, since a namespace-scope
/// const would otherwise have internal linkage.
#define MEMC_INTERFACE(text)                                                   \
  extern "C" __attribute__((visibility("default")))                            \
  const char memc_interface[];                                                 \
  const char memc_interface[] = "memc-interface 1\n" text;

#ifdef FIXTURE_ADD
MEMC_INTERFACE("arena_bytes 0\nhost_pool_bytes 0\n"
               "input a f32 2x3\ninput b f32 2x3\nweight w f32 3\n"
               "output y f32 2x3\n")
#endif
#ifdef FIXTURE_ARENA
MEMC_INTERFACE("arena_bytes 4096\nhost_pool_bytes 0\n"
               "input a f32 2x3\ninput b f32 2x3\nweight w f32 3\n"
               "output y f32 2x3\n")
#endif
#ifdef FIXTURE_MATMUL
MEMC_INTERFACE("arena_bytes 0\nhost_pool_bytes 0\n"
               "input x f32 2x4\nweight w f32 4x3\noutput y f32 2x3\n")
#endif
#if defined(FIXTURE_LEAK) || defined(FIXTURE_CRASH)
MEMC_INTERFACE("arena_bytes 0\nhost_pool_bytes 0\n"
               "input a f32 2x3\noutput y f32 2x3\n")
#endif

#ifdef FIXTURE_TRAIN
MEMC_INTERFACE("arena_bytes 64\nhost_pool_bytes 0\n"
               "input x f32 4x2\ninput labels f32 4\n"
               "weight w f32 2 trainable\nweight scale f32 2\n"
               "state w.m f32 2 w\nstep step i64 scalar\n"
               "output loss f32 scalar\n")
#endif

#if defined(FIXTURE_ADD) || defined(FIXTURE_ARENA)
extern "C" __attribute__((visibility("default"))) void memc_entry(void **args) {
  const float *a = static_cast<const float *>(args[0]);
  const float *b = static_cast<const float *>(args[1]);
  const float *w = static_cast<const float *>(args[2]);
  float *y = static_cast<float *>(args[3]);
#ifdef FIXTURE_ARENA
  float *tmp = static_cast<float *>(args[4]);
#else
  float *tmp =
      static_cast<float *>(_mlir_memref_to_llvm_aligned_alloc(64, 6 * 4));
#endif
  for (int i = 0; i < 6; ++i)
    tmp[i] = a[i] + b[i];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      y[i * 3 + j] = tmp[i * 3 + j] + w[j];
#ifndef FIXTURE_ARENA
  _mlir_memref_to_llvm_free(tmp);
#endif
}
#endif

#ifdef FIXTURE_MATMUL
extern "C" __attribute__((visibility("default"))) void memc_entry(void **args) {
  const float *x = static_cast<const float *>(args[0]);
  const float *w = static_cast<const float *>(args[1]);
  float *y = static_cast<float *>(args[2]);
  memc_rt_sgemm(1, 0, 0, 2, 3, 4, 1.0f, x, 4, 0, w, 3, 0, 0.0f, y, 3, 0);
}
#endif

#if defined(FIXTURE_LEAK) || defined(FIXTURE_OLDABI)
extern "C" __attribute__((visibility("default"))) void memc_entry(void **args) {
  const float *a = static_cast<const float *>(args[0]);
  float *y = static_cast<float *>(args[1]);
#ifdef FIXTURE_LEAK
  (void)_mlir_memref_to_llvm_alloc(100);
#endif
  for (int i = 0; i < 6; ++i)
    y[i] = a[i];
}
#endif

#ifdef FIXTURE_TRAIN
extern "C" __attribute__((visibility("default"))) void memc_entry(void **args) {
  const float *x = static_cast<const float *>(args[0]);
  const float *labels = static_cast<const float *>(args[1]);
  float *w = static_cast<float *>(args[2]);
  const float *scale = static_cast<const float *>(args[3]);
  float *m = static_cast<float *>(args[4]);
  int64_t t = *static_cast<const int64_t *>(args[5]);
  float *loss = static_cast<float *>(args[6]);
  float *err = static_cast<float *>(args[7]); // the arena
  float sum = 0;
  for (int i = 0; i < 4; ++i) {
    float pred = 0;
    for (int j = 0; j < 2; ++j)
      pred += x[i * 2 + j] * w[j] * scale[j];
    err[i] = pred - labels[i];
    sum += err[i] * err[i];
  }
  *loss = sum / 4;
  float lr = 0.1f + 0.1f / float(t);
  for (int j = 0; j < 2; ++j) {
    float g = 0;
    for (int i = 0; i < 4; ++i)
      g += err[i] * x[i * 2 + j] * scale[j];
    m[j] = 0.9f * m[j] + g / 2;
    w[j] -= lr * m[j];
  }
}
#endif

#ifdef FIXTURE_NOENTRY
extern "C" __attribute__((visibility("default"))) int memc_not_the_entry() {
  return 0;
}
#endif

#ifdef FIXTURE_CRASH
// Crashes on purpose (the runner's "bug in memc" path); UBSan would stop the
// test at the null store before the signal the test expects.
extern "C" __attribute__((visibility("default"), no_sanitize("undefined"))) void
memc_entry(void **args) {
  volatile float *null = nullptr;
  *null = static_cast<float *>(args[0])[0];
}
#endif
