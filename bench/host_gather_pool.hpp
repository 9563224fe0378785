// HostGatherPool: persistent CPU threads that gather table rows by index into a host buffer, the CPU side
// of what a user would write instead of a GPU gather (gather on the CPU, then one copy to the GPU). The
// threads live as long as the pool: spawning threads per batch costs a third of the throughput.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace ghtier::bench {

class HostGatherPool {
 public:
  /// Starts `threads` workers (at least 1).
  explicit HostGatherPool(unsigned threads);
  ~HostGatherPool();
  HostGatherPool(const HostGatherPool&) = delete;
  HostGatherPool& operator=(const HostGatherPool&) = delete;

  /// out[i] = table[indices[i]] for i < count (host memory on both sides), split over the workers in
  /// contiguous slices; returns when every worker is done. Indices must be in range (not checked).
  void gather(const void* table, std::size_t row_bytes, const std::int64_t* indices, std::size_t count, void* out);

  [[nodiscard]] unsigned threads() const noexcept { return thread_count_; }

 private:
  void work(unsigned id);

  struct Job {
    const unsigned char* table = nullptr;
    std::size_t row_bytes = 0;
    const std::int64_t* indices = nullptr;
    std::size_t count = 0;
    unsigned char* out = nullptr;
  };

  unsigned thread_count_ = 1;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  Job job_;
  std::uint64_t generation_ = 0;
  unsigned pending_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ghtier::bench
