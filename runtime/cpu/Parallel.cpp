//===- Parallel.cpp - the generated kernels' rows on the pool -------------===//
//
// memc_rt_parallel_for (memc_runtime.h): the rows are cut into a few
// contiguous ranges per thread; the pool hands them out dynamically, so a
// thread that is late (another process on the core) takes fewer.
//
//===----------------------------------------------------------------------===//
#include "CallProfile.h"
#include "ThreadPool.h"
#include "memc_runtime.h"

#include <algorithm>

namespace {

struct RowsJob {
  memc_rt_rows_fn fn;
  void *args;
  int64_t rows, tasks;

  static void run(const void *self, int64_t t) {
    const auto *job = static_cast<const RowsJob *>(self);
    int64_t lo = job->rows * t / job->tasks;
    int64_t hi = job->rows * (t + 1) / job->tasks;
    if (lo < hi)
      job->fn(job->args, lo, hi);
  }
};

} // namespace

extern "C" void memc_rt_parallel_for(memc_rt_rows_fn fn, void *args,
                                     int64_t rows) {
  if (rows <= 0)
    return;
  memc::rt::ProfiledCall profiled(reinterpret_cast<const void *>(fn));
  memc::rt::ThreadPool *pool = memc::rt::ThreadPool::get();
  if (!pool || rows == 1) {
    fn(args, 0, rows);
    return;
  }
  // Two ranges per thread balance a late thread without many small calls.
  RowsJob job{fn, args, rows,
              std::min<int64_t>(rows, 2 * pool->participants())};
  pool->run(job.tasks, &RowsJob::run, &job);
}
