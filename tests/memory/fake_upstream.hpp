// FakeUpstream: a MemoryResource over posix_memalign for CPU tests of the adaptors. It watches its callers:
// live and peak bytes (independently of any adaptor's own counting), frees whose size or alignment disagree
// with the allocation, and it can be told to fail the next allocations.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <utility>

#include "core/memory/allocation_checks.hpp"
#include "ghtier/error.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier::test {

class FakeUpstream final : public MemoryResource {
 public:
  explicit FakeUpstream(MemoryMode mode = MemoryMode::system) : mode_(mode) {}
  ~FakeUpstream() override {
    for (auto& [p, shape] : live_) std::free(p);
  }

  std::atomic<std::size_t> live_bytes{0};
  std::atomic<std::size_t> peak_bytes{0};
  std::atomic<int> allocations{0};
  std::atomic<int> frees{0};
  std::atomic<int> mismatched_frees{0};  ///< freed with another size or alignment than allocated
  std::atomic<int> unknown_frees{0};     ///< freed a pointer it never returned
  std::atomic<int> fail_next{0};         ///< the next N allocations throw out_of_memory

  [[nodiscard]] std::size_t live_count() const {
    std::lock_guard lock(mutex_);
    return live_.size();
  }
  /// Size the caller gave when it freed `p` last (0 if never).
  [[nodiscard]] std::size_t freed_size(void* p) const {
    std::lock_guard lock(mutex_);
    const auto it = freed_sizes_.find(p);
    return it == freed_sizes_.end() ? 0 : it->second;
  }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t, bool) override {
    detail::check_allocation_arguments(bytes, alignment, "FakeUpstream::allocate");
    int failing = fail_next.load();
    while (failing > 0) {
      if (fail_next.compare_exchange_weak(failing, failing - 1)) {
        throw OutOfMemoryError("FakeUpstream: told to fail");
      }
    }
    void* p = nullptr;
    if (posix_memalign(&p, std::max(alignment, sizeof(void*)), bytes) != 0) throw std::bad_alloc();
    {
      std::lock_guard lock(mutex_);
      live_.emplace(p, std::make_pair(bytes, alignment));
      freed_sizes_.erase(p);
    }
    const std::size_t now = live_bytes.fetch_add(bytes) + bytes;
    std::size_t peak = peak_bytes.load();
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {}
    ++allocations;
    return p;
  }

  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t, bool) noexcept override {
    if (p == nullptr) return;
    std::size_t allocated = 0;
    {
      std::lock_guard lock(mutex_);
      const auto it = live_.find(p);
      if (it == live_.end()) {
        ++unknown_frees;
        return;
      }
      allocated = it->second.first;
      if (it->second != std::make_pair(bytes, alignment)) ++mismatched_frees;
      live_.erase(it);
      freed_sizes_[p] = bytes;
    }
    live_bytes.fetch_sub(allocated);
    ++frees;
    std::free(p);
  }

  [[nodiscard]] MemoryMode do_mode() const noexcept override { return mode_; }

  MemoryMode mode_;
  mutable std::mutex mutex_;
  std::map<void*, std::pair<std::size_t, std::size_t>> live_;
  std::map<void*, std::size_t> freed_sizes_;
};

}  // namespace ghtier::test
