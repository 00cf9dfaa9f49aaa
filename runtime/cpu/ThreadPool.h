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
#include <memory>
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
/// time together with the calling thread. Participant i (the caller is 0)
/// owns the i-th of equal contiguous shares of the tasks and claims its
/// own first, then what is left of the others', so uneven tasks still
/// balance while jobs cut the same way run each task on the same thread:
/// the rows a kernel writes are then in the cache of the thread the next
/// kernel reads them on (a single shared counter handed them out in
/// whatever order the threads came: MobileNetV2 1.5%, ResNet-18 1-3%,
/// a transformer decoder 2% slower at 2 threads). Leaked on purpose (no
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
      int64_t parts = participants();
      for (int64_t i = 0; i < parts; ++i) {
        shares_[i].next.store(nTasks * i / parts, std::memory_order_relaxed);
        shares_[i].end = nTasks * (i + 1) / parts;
      }
      pending_.store(workers_, std::memory_order_relaxed);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    inTask() = true;
    drain(0);
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
  explicit ThreadPool(unsigned workers)
      : workers_(workers), shares_(new Share[workers + 1]) {
    for (unsigned i = 0; i < workers; ++i)
      std::thread([this, i] { workerLoop(i + 1); }).detach();
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

  /// Claims and runs tasks of the current job until none are left: first
  /// participant `self`'s own share, then the others' remainders.
  void drain(int64_t self) {
    int64_t parts = participants();
    for (int64_t k = 0; k < parts; ++k) {
      Share &share = shares_[(self + k) % parts];
      for (;;) {
        int64_t t = share.next.fetch_add(1, std::memory_order_relaxed);
        if (t >= share.end)
          break;
        fn_(ctx_, t);
      }
    }
  }

  /// Whether this thread is running a task of some job (a worker always).
  static bool &inTask() {
    static thread_local bool inside = false;
    return inside;
  }

  void workerLoop(int64_t self) {
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
      drain(self);
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
  /// Bumped (under mutex_) to publish a job; fn_, ctx_ and shares_ are
  /// written before it and read after it.
  std::atomic<uint64_t> generation_{0};
  std::atomic<unsigned> pending_{0}; ///< Workers not done with this job.
  TaskFn fn_ = nullptr;
  const void *ctx_ = nullptr;
  /// Participant i's share of the job's tasks, [first, end): claimed from
  /// `next` by i first, then by the others once theirs are done.
  struct alignas(64) Share {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };
  std::unique_ptr<Share[]> shares_;
};

} // namespace rt
} // namespace memc

#endif // MEMC_RUNTIME_CPU_THREADPOOL_H
