//===- TrainKernels.cpp - a hand-written train step's host kernels --------===//
//
// The kernels-host.so of CudaTrainTest.cpp's train package, in the form
// `memc --cuda-host-kernels` builds (K_memc_host(void **params, const
// int64_t ids[12]), each params[i] pointing at the 8-byte slot that holds
// the argument): linear regression with SGD and momentum, the same step as
// test/unit/runtime's FIXTURE_TRAIN, in the same float operations, split
// into launches as a compiled step would be:
//
//   k_err   4 threads  err[i] = x[i] . (w * scale) - labels[i]   (arena)
//   k_loss  1 thread   loss = sum(err^2) / 4                     (output)
//   k_sgd   2 threads  lr = 0.1 + 0.1 / t; g = sum(err * x * scale);
//                      m = 0.9 m + g / 2; w -= lr m          (state, step)
//
//===----------------------------------------------------------------------===//
#include <cstdint>

namespace {
template <typename T> T *arg(void **params, int i) {
  return *static_cast<T **>(params[i]);
}
} // namespace

extern "C" {

/// x, labels, w, scale, err.
__attribute__((visibility("default"))) void
k_err_memc_host(void **params, const int64_t *ids) {
  const float *x = arg<const float>(params, 0);
  const float *labels = arg<const float>(params, 1);
  const float *w = arg<const float>(params, 2);
  const float *scale = arg<const float>(params, 3);
  float *err = arg<float>(params, 4);
  int64_t i = ids[3];
  float pred = 0;
  for (int j = 0; j < 2; ++j)
    pred += x[i * 2 + j] * w[j] * scale[j];
  err[i] = pred - labels[i];
}

/// err, loss.
__attribute__((visibility("default"))) void k_loss_memc_host(void **params,
                                                             const int64_t *) {
  const float *err = arg<const float>(params, 0);
  float *loss = arg<float>(params, 1);
  float sum = 0;
  for (int i = 0; i < 4; ++i)
    sum += err[i] * err[i];
  *loss = sum / 4;
}

/// x, err, w, scale, m, step.
__attribute__((visibility("default"))) void
k_sgd_memc_host(void **params, const int64_t *ids) {
  const float *x = arg<const float>(params, 0);
  const float *err = arg<const float>(params, 1);
  float *w = arg<float>(params, 2);
  const float *scale = arg<const float>(params, 3);
  float *m = arg<float>(params, 4);
  int64_t t = *arg<const int64_t>(params, 5);
  int64_t j = ids[3];
  float lr = 0.1f + 0.1f / float(t);
  float g = 0;
  for (int i = 0; i < 4; ++i)
    g += err[i] * x[i * 2 + j] * scale[j];
  m[j] = 0.9f * m[j] + g / 2;
  w[j] -= lr * m[j];
}

} // extern "C"
