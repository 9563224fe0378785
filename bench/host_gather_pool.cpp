// HostGatherPool: a generation counter wakes the workers for each batch; each copies its slice of rows.
#include "host_gather_pool.hpp"

#include <algorithm>
#include <cstring>

namespace ghtier::bench {

HostGatherPool::HostGatherPool(unsigned threads) {
  thread_count_ = std::max(threads, 1u);
  workers_.reserve(thread_count_);
  try {
    for (unsigned id = 0; id < thread_count_; ++id) workers_.emplace_back([this, id] { work(id); });
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    start_.notify_all();
    for (std::thread& t : workers_) t.join();
    throw;
  }
}

HostGatherPool::~HostGatherPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void HostGatherPool::gather(const void* table, std::size_t row_bytes, const std::int64_t* indices, std::size_t count,
                            void* out) {
  std::unique_lock lock(mutex_);
  job_ = Job{static_cast<const unsigned char*>(table), row_bytes, indices, count, static_cast<unsigned char*>(out)};
  pending_ = thread_count_;
  ++generation_;
  start_.notify_all();
  done_.wait(lock, [this] { return pending_ == 0; });
}

void HostGatherPool::work(unsigned id) {
  std::uint64_t seen = 0;
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    const std::size_t n = thread_count_;
    const std::size_t begin = job.count * id / n;
    const std::size_t end = job.count * (id + 1) / n;
    for (std::size_t i = begin; i < end; ++i) {
      std::memcpy(job.out + i * job.row_bytes, job.table + static_cast<std::size_t>(job.indices[i]) * job.row_bytes,
                  job.row_bytes);
    }
    {
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

}  // namespace ghtier::bench
