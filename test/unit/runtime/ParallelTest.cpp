//===- ParallelTest.cpp - memc_rt_parallel_for ----------------------------===//
//
// The generated kernels' row ranges: every row exactly once, in contiguous
// ranges, from any number of concurrent callers; each thread's share of
// them the same from call to call.
//
//===----------------------------------------------------------------------===//
#include "ThreadPool.h"
#include "memc_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace {

struct Marks {
  std::vector<std::atomic<int>> seen;
  std::atomic<int> calls{0};
  explicit Marks(size_t n) : seen(n) {}
};

void markRows(void *args, int64_t lo, int64_t hi) {
  auto *marks = static_cast<Marks *>(args);
  ASSERT_LT(lo, hi);
  marks->calls.fetch_add(1);
  for (int64_t i = lo; i < hi; ++i)
    marks->seen[size_t(i)].fetch_add(1);
}

} // namespace

TEST(ParallelFor, EveryRowOnce) {
  for (int64_t rows : {1, 2, 3, 7, 64, 1000, 100003}) {
    Marks marks{static_cast<size_t>(rows)};
    memc_rt_parallel_for(&markRows, &marks, rows);
    for (int64_t i = 0; i < rows; ++i)
      ASSERT_EQ(marks.seen[size_t(i)].load(), 1) << "row " << i << " of "
                                                  << rows;
    EXPECT_GE(marks.calls.load(), 1);
    EXPECT_LE(marks.calls.load(), rows);
  }
}

TEST(ParallelFor, NoRowsNoCalls) {
  Marks marks(1);
  memc_rt_parallel_for(&markRows, &marks, 0);
  memc_rt_parallel_for(&markRows, &marks, -5);
  EXPECT_EQ(marks.calls.load(), 0);
}

TEST(ParallelFor, ConcurrentCallers) {
  // Callers whose job finds the pool busy run their rows themselves.
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Marks>> marks;
  for (int t = 0; t < 4; ++t)
    marks.push_back(std::make_unique<Marks>(5000));
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 20; ++k)
        memc_rt_parallel_for(&markRows, marks[size_t(t)].get(), 5000);
    });
  for (std::thread &t : threads)
    t.join();
  for (auto &m : marks)
    for (auto &s : m->seen)
      ASSERT_EQ(s.load(), 20);
}

namespace {

/// Lanes of chunks (memc-parallel-lanes): each lane's rows call parallel
/// kernels of their own, which run on the lane's thread.
struct Lanes {
  std::vector<std::unique_ptr<Marks>> inner;
  std::vector<std::thread::id> laneThread;
  std::vector<std::atomic<int>> foreignRows;
  explicit Lanes(size_t n) : laneThread(n), foreignRows(n) {
    for (size_t i = 0; i < n; ++i)
      inner.push_back(std::make_unique<Marks>(1000));
  }
};

struct InnerArgs {
  Lanes *lanes;
  size_t lane;
};

void innerRows(void *args, int64_t lo, int64_t hi) {
  auto *a = static_cast<InnerArgs *>(args);
  if (std::this_thread::get_id() != a->lanes->laneThread[a->lane])
    a->lanes->foreignRows[a->lane].fetch_add(1);
  markRows(a->lanes->inner[a->lane].get(), lo, hi);
}

void laneRows(void *args, int64_t lo, int64_t hi) {
  auto *lanes = static_cast<Lanes *>(args);
  for (int64_t l = lo; l < hi; ++l) {
    lanes->laneThread[size_t(l)] = std::this_thread::get_id();
    InnerArgs inner{lanes, size_t(l)};
    for (int rep = 0; rep < 3; ++rep)
      memc_rt_parallel_for(&innerRows, &inner, 1000);
  }
}

} // namespace

TEST(ParallelFor, NestedRunsOnTheLanesThread) {
  for (int64_t n : {1, 2, 3, 8}) {
    Lanes lanes{size_t(n)};
    memc_rt_parallel_for(&laneRows, &lanes, n);
    for (int64_t l = 0; l < n; ++l) {
      for (size_t i = 0; i < 1000; ++i)
        ASSERT_EQ(lanes.inner[size_t(l)]->seen[i].load(), 3)
            << "lane " << l << " row " << i;
      // With one lane the pool is free and its kernels may use it.
      if (n > 1) {
        EXPECT_EQ(lanes.foreignRows[size_t(l)].load(), 0) << "lane " << l;
      }
    }
  }
}

namespace {

struct Owners {
  std::vector<std::thread::id> owner;
  explicit Owners(size_t n) : owner(n) {}
};

/// Notes which thread ran each row, slowly enough that no thread can run
/// its own share and then another's before that one has begun.
void ownRows(void *args, int64_t lo, int64_t hi) {
  auto *owners = static_cast<Owners *>(args);
  for (int64_t i = lo; i < hi; ++i)
    owners->owner[size_t(i)] = std::this_thread::get_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

} // namespace

TEST(ParallelFor, EachThreadRunsItsOwnShareFirst) {
  // Each thread claims the ranges of its own share (the caller the first)
  // before others': kernels over the same rows one after another then
  // find each row's data in the cache of the thread that wrote it.
  memc::rt::ThreadPool *pool = memc::rt::ThreadPool::get();
  int64_t participants = pool ? pool->participants() : 1;
  int64_t rows = 12 * participants;
  Owners owners{size_t(rows)};
  memc_rt_parallel_for(&ownRows, &owners, rows);
  for (int64_t i = 0; i < rows / participants; ++i)
    EXPECT_EQ(owners.owner[size_t(i)], std::this_thread::get_id())
        << "row " << i << " of " << rows;
  // The same rows again: each on the thread that ran it before.
  Owners again{size_t(rows)};
  memc_rt_parallel_for(&ownRows, &again, rows);
  for (int64_t i = 0; i < rows; ++i)
    EXPECT_EQ(again.owner[size_t(i)], owners.owner[size_t(i)]) << "row " << i;
}

namespace {

struct Handshake {
  Marks marks;
  std::thread::id caller;
  std::chrono::microseconds othersTake;
};

/// Marks its rows; on any thread but the caller's, first takes
/// `othersTake`.
void slowOnWorkers(void *args, int64_t lo, int64_t hi) {
  auto *h = static_cast<Handshake *>(args);
  if (std::this_thread::get_id() != h->caller)
    std::this_thread::sleep_for(h->othersTake);
  markRows(&h->marks, lo, hi);
}

} // namespace

TEST(ParallelFor, WakesSleepersEitherWay) {
  // A pool thread polls for a while (ThreadPool.h's kSpin, 50 us), then
  // blocks: workers between jobs that come further apart, the caller when
  // the workers' shares take longer than its own. Each side notifies only
  // a side that counted itself asleep; jobs with no pause, with pauses
  // past the poll, with workers slower than it, and mixed, must all end
  // with every row run once.
  using std::chrono::microseconds;
  // A lost wake-up blocks for ever: abort with a message instead.
  std::atomic<bool> finished{false};
  std::thread watchdog([&] {
    for (int tenth = 0; tenth < 600 && !finished.load(); ++tenth)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!finished.load()) {
      std::fprintf(stderr, "WakesSleepersEitherWay: a pool job never ended "
                           "(a lost wake-up)\n");
      std::abort();
    }
  });
  const int64_t rows = 64;
  for (int round = 0; round < 120; ++round) {
    microseconds pause{(round % 3) * 40};       // 0, 40, 80 us between jobs
    microseconds workers{(round / 3 % 4) * 30}; // 0 to 90 us on the workers
    std::this_thread::sleep_for(pause);
    Handshake h{Marks(size_t(rows)), std::this_thread::get_id(), workers};
    memc_rt_parallel_for(&slowOnWorkers, &h, rows);
    for (int64_t i = 0; i < rows; ++i)
      EXPECT_EQ(h.marks.seen[size_t(i)].load(), 1)
          << "row " << i << " round " << round;
  }
  finished.store(true);
  watchdog.join();
}
