/*===- memc_cuda.h - C ABI of the memc CUDA runtime ---------------*- C -*-===*\
|*                                                                            *|
|* Runs a package that `memc --target=cuda` wrote (docs/cuda.md): loads its   *|
|* PTX (or cubin), allocates one device arena of the manifest's arena_bytes   *|
|* plus one resident block for weights, constants and the model's inputs and  *|
|* outputs, and interprets the launch plan on a stream. libcuda.so.1 (and     *|
|* libcublas, when the plan has GEMMs) are dlopen'ed at run time, so this     *|
|* library builds and links on machines without CUDA. MEMC_LIBCUDA and        *|
|* MEMC_LIBCUBLAS name other libraries to load instead (the tests use fakes). *|
|*                                                                            *|
|* Not thread-safe per session; the last error is per thread.                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef MEMC_RUNTIME_CUDA_MEMC_CUDA_H
#define MEMC_RUNTIME_CUDA_MEMC_CUDA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  MEMC_CUDA_SUCCESS = 0,
  MEMC_CUDA_NO_DEVICE = 1,   /**< no driver library, no GPU, or cuInit failed */
  MEMC_CUDA_BAD_PACKAGE = 2, /**< a package file is missing or malformed */
  MEMC_CUDA_DEVICE_ERROR = 3, /**< a driver or cuBLAS call failed */
} memc_cuda_status;

typedef struct memc_cuda_session memc_cuda_session;

/** Loads the package in `package_dir` onto GPU `device` (an ordinal).
 *  The package is checked before the driver is touched, so a malformed
 *  package is reported as such on machines without a GPU too. */
memc_cuda_status memc_cuda_open(const char *package_dir, int device,
                                memc_cuda_session **session);

/** As memc_cuda_open, for a decode package's second program
 *  (docs/package-format.md "Decode packages"): with `share_with` (an open
 *  session of the package's other program on the same device), the new
 *  session uses that one's device copies of the weights and KV caches
 *  instead of its own, so both programs read and write the same caches.
 *  Their weight and `kv` records and weight bytes must be the same
 *  (MEMC_CUDA_BAD_PACKAGE otherwise). `share_with` must stay open until
 *  this session is closed. A program's KV caches are zero at open and live
 *  on the device across runs; NULL `share_with` is memc_cuda_open. */
memc_cuda_status memc_cuda_open_sharing(const char *package_dir, int device,
                                        const memc_cuda_session *share_with,
                                        memc_cuda_session **session);

/** One line describing the last failure on this thread: the file and line
 *  for package errors, the driver call and CUDA's error name and string for
 *  device errors. Never NULL. */
const char *memc_cuda_last_error(void);

/** Runs the program once: copies the inputs (one host buffer per manifest
 *  input, in order) to the device, runs every plan step, copies the outputs
 *  back and waits. `device_ms`, when not NULL, gets the GPU time of the
 *  steps alone (without the input and output copies). */
memc_cuda_status memc_cuda_run(memc_cuda_session *session,
                               const void *const *inputs, void *const *outputs,
                               double *device_ms);

/** Train packages (a manifest with a `train` line; docs/package-format.md
 *  "Train packages"): the program is one training step. Its optimizer
 *  states are zero at open and, like the trainable weights (whose initial
 *  values come from weights.bin), live on the device across runs. The
 *  "trained tensors" are the trainable weights, then the states, each group
 *  in manifest order (a --save-state file's order); `tensors` holds one
 *  host buffer per trained tensor, of its byte size. */

/** Sets the step count t (from 1) that the following runs pass the program
 *  (step:0); 1 until set. */
memc_cuda_status memc_cuda_set_step(memc_cuda_session *session, int64_t t);

/** Copies the trained tensors to the host: their current values, or with
 *  `from_checkpoint` those of the last memc_cuda_checkpoint. Waits. */
memc_cuda_status memc_cuda_read_trained(memc_cuda_session *session,
                                        int from_checkpoint,
                                        void *const *tensors);

/** Replaces the trained tensors' values with the host's (--resume). Waits. */
memc_cuda_status memc_cuda_write_trained(memc_cuda_session *session,
                                         const void *const *tensors);

/** Keeps a device-side copy of the trained tensors as they are now (before
 *  a step that may diverge). The copy's memory is allocated on the first
 *  call and counted in memc_cuda_device_bytes. */
memc_cuda_status memc_cuda_checkpoint(memc_cuda_session *session);

/** Bytes of device memory the session holds: the arena plus the resident
 *  block (weights, constants, optimizer states, inputs, outputs, cuBLAS
 *  workspace), plus memc_cuda_checkpoint's copy once taken. */
uint64_t memc_cuda_device_bytes(const memc_cuda_session *session);

/** Profiling: while on, every following run times each launch-plan step
 *  with CUDA events on the stream (which serializes nothing the plan does
 *  not, but adds an event per step) and sums the times per step. */
memc_cuda_status memc_cuda_set_profiling(memc_cuda_session *session, int on);

/** The profile so far as text: a `profile_runs:` line, then `profile:`
 *  lines for the `top` steps that took the most device time (all when
 *  `top` <= 0), most first, each with its share, its launch_plan.txt line
 *  and what it runs. Valid until the next call with this session. */
const char *memc_cuda_profile(memc_cuda_session *session, int top);

/** Empty, or one line saying the session runs the package's fallback
 *  program without cuBLAS, and why (cuBLAS missing or failing to start). */
const char *memc_cuda_notice(const memc_cuda_session *session);

/** The device's name as the driver reports it. */
const char *memc_cuda_device_name(const memc_cuda_session *session);

/** Frees everything the session holds; NULL is a no-op. */
void memc_cuda_close(memc_cuda_session *session);

#ifdef __cplusplus
}
#endif

#endif /* MEMC_RUNTIME_CUDA_MEMC_CUDA_H */
