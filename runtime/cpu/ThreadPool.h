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
    job_.fn = fn;
    job_.ctx = ctx;
    int64_t parts = participants();
    for (int64_t i = 0; i < parts; ++i) {
      shares_[i].next.store(nTasks * i / parts, std::memory_order_relaxed);
      shares_[i].end = nTasks * (i + 1) / parts;
    }
    pending_.value.store(workers_, std::memory_order_relaxed);
    // Publishes the job (the release half of seq_cst), then wakes the
    // workers that sleep: a worker counts itself in sleepers_ before it
    // checks for a job under mutex_, so either it sees this generation or
    // this load sees it (both seq_cst), and then the notify under mutex_
    // cannot come before its wait.
    job_.generation.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.value.load(std::memory_order_seq_cst) != 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    inTask() = true;
    drain(0);
    inTask() = false;
    auto allDone = [&] {
      return pending_.value.load(std::memory_order_seq_cst) == 0;
    };
    if (!spinUntil(allDone)) {
      // The same handshake the other way: the last worker notifies only
      // when it sees callerWaits_ after its decrement.
      std::unique_lock<std::mutex> lock(mutex_);
      callerWaits_.value.store(true, std::memory_order_seq_cst);
      done_.wait(lock, allDone);
      callerWaits_.value.store(false, std::memory_order_relaxed);
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
  /// participant `self`'s own share, then the others' remainders (looked
  /// at before claimed: a claim takes the share's line from its owner).
  void drain(int64_t self) {
    int64_t parts = participants();
    for (int64_t k = 0; k < parts; ++k) {
      Share &share = shares_[(self + k) % parts];
      while (share.next.load(std::memory_order_relaxed) < share.end) {
        int64_t t = share.next.fetch_add(1, std::memory_order_relaxed);
        if (t >= share.end)
          break;
        job_.fn(job_.ctx, t);
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
      return job_.generation.load(std::memory_order_seq_cst) != seen;
    };
    for (;;) {
      if (!spinUntil(newJob)) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.value.fetch_add(1, std::memory_order_seq_cst);
        wake_.wait(lock, newJob);
        sleepers_.value.fetch_sub(1, std::memory_order_relaxed);
      }
      // One job at a time: the caller cannot start the next generation
      // before every worker has finished this one.
      seen = job_.generation.load(std::memory_order_acquire);
      drain(self);
      if (pending_.value.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
          callerWaits_.value.load(std::memory_order_seq_cst)) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  /// A value on a cache line of its own: each of these is written by one
  /// side of a job and polled by the other, and a line that also held
  /// another's would move between the cores for both.
  template <typename T> struct alignas(64) OwnLine { T value{}; };

  const unsigned workers_;
  std::mutex jobMutex_; ///< Held by the thread whose job is running.
  std::mutex mutex_;    ///< Orders sleeping and waking on the two condvars.
  std::condition_variable wake_, done_;
  /// The job: generation is bumped to publish it; fn, ctx and shares_ are
  /// written before and read after.
  struct alignas(64) Job {
    std::atomic<uint64_t> generation{0};
    TaskFn fn = nullptr;
    const void *ctx = nullptr;
  } job_;
  OwnLine<std::atomic<unsigned>> pending_; ///< Workers not done with the job.
  /// Workers blocked on wake_ (or about to be), and whether the caller is
  /// blocked on done_: the side that finishes a step takes mutex_ and
  /// notifies only then (a job with both spinning touches neither).
  OwnLine<std::atomic<unsigned>> sleepers_;
  OwnLine<std::atomic<bool>> callerWaits_;
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
