//===- ThreadPool.h - the runtime's worker threads --------------*- C++ -*-===//
//
// One pool for everything the runtime runs in parallel: GEMMs (Gemm.cpp)
// and the generated kernels' row ranges (Parallel.cpp). MEMC_NUM_THREADS
// sets its size (default: all cores).
//
//===----------------------------------------------------------------------===//
#ifndef MEMC_RUNTIME_CPU_THREADPOOL_H
#define MEMC_RUNTIME_CPU_THREADPOOL_H

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>

namespace memc {
namespace rt {

/// How long a thread polls before it blocks: a worker for the next job, the
/// caller for the workers to finish. Back-to-back GEMMs (attention) then skip
/// the futex wake-up, which costs tens of microseconds on a VM; the bound
/// keeps the waste small when no job follows.
inline constexpr auto kSpin = std::chrono::microseconds(50);

/// Polls `ready` for up to kSpin; false when it never became true.
template <typename Ready> inline bool spinUntil(Ready ready) {
  auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (unsigned i = 1;; ++i) {
    if (ready())
      return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline)
      return false;
  }
}

/// A persistent pool of worker threads that run the tasks of one job at a
/// time together with the calling thread. Tasks are claimed dynamically from
/// an atomic counter, so uneven tasks still balance. Leaked on purpose (no
/// static destructor joins threads at exit; blocked workers just end).
class ThreadPool {
public:
  using TaskFn = void (*)(const void *ctx, int64_t task);

  /// The pool, or null when only one thread should run (1 core, or
  /// MEMC_NUM_THREADS=1).
  static ThreadPool *get() {
    static ThreadPool *pool = create();
    return pool;
  }

  /// Threads that run a job, the caller included.
  int64_t participants() const { return int64_t(workers_) + 1; }

  /// Runs fn(ctx, t) for t in [0, nTasks) and returns when all are done.
  /// While another thread's job is running, runs the tasks serially here
  /// instead of waiting (and so can never deadlock on re-entry).
  /// A task that runs a job of its own (a lane of chunks calling parallel
  /// kernels) runs that job's tasks serially on its own thread.
  void run(int64_t nTasks, TaskFn fn, const void *ctx) {
    std::unique_lock<std::mutex> job(jobMutex_, std::defer_lock);
    if (inTask() || !job.try_lock()) {
      for (int64_t t = 0; t < nTasks; ++t)
        fn(ctx, t);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fn_ = fn;
      ctx_ = ctx;
      nTasks_ = nTasks;
      next_.store(0, std::memory_order_relaxed);
      pending_.store(workers_, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    inTask() = true;
    drain();
    inTask() = false;
    auto allDone = [&] {
      return pending_.load(std::memory_order_acquire) == 0;
    };
    if (!spinUntil(allDone)) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, allDone);
    }
  }

private:
  explicit ThreadPool(unsigned workers) : workers_(workers) {
    for (unsigned i = 0; i < workers; ++i)
      std::thread([this] { workerLoop(); }).detach();
  }

  static ThreadPool *create() {
    unsigned n = std::max(1u, std::thread::hardware_concurrency());
    if (const char *env = std::getenv("MEMC_NUM_THREADS")) {
      long v = std::strtol(env, nullptr, 10);
      if (v >= 1 && v <= 1024)
        n = unsigned(v);
    }
    return n > 1 ? new ThreadPool(n - 1) : nullptr;
  }

  /// Claims and runs tasks of the current job until none are left.
  void drain() {
    for (;;) {
      int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= nTasks_)
        return;
      fn_(ctx_, t);
    }
  }

  /// Whether this thread is running a task of some job (a worker always).
  static bool &inTask() {
    static thread_local bool inside = false;
    return inside;
  }

  void workerLoop() {
    inTask() = true;
    uint64_t seen = 0;
    auto newJob = [&] {
      return generation_.load(std::memory_order_acquire) != seen;
    };
    for (;;) {
      if (!spinUntil(newJob)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, newJob);
      }
      // One job at a time: the caller cannot start the next generation
      // before every worker has finished this one.
      seen = generation_.load(std::memory_order_acquire);
      drain();
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  const unsigned workers_;
  std::mutex jobMutex_; ///< Held by the thread whose job is running.
  std::mutex mutex_;    ///< Orders sleeping and waking on the two condvars.
  std::condition_variable wake_, done_;
  /// Bumped (under mutex_) to publish a job; fn_, ctx_, nTasks_ are written
  /// before it and read after it.
  std::atomic<uint64_t> generation_{0};
  std::atomic<unsigned> pending_{0}; ///< Workers not done with this job.
  TaskFn fn_ = nullptr;
  const void *ctx_ = nullptr;
  int64_t nTasks_ = 0;
  std::atomic<int64_t> next_{0};
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_THREADPOOL_H
