// FakeResource: CPU memory posing as any mode, for testing the Runtime's logic without a GPU. It counts
// live bytes (and their high-water mark) and can refuse past a capacity with out_of_memory, like a full GPU.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <set>

#include "ghtier/error.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier::test {

class FakeResource final : public MemoryResource {
 public:
  explicit FakeResource(MemoryMode mode, std::size_t capacity = std::numeric_limits<std::size_t>::max(),
                        bool use_mmap = false)
      : mode_(mode), capacity_(capacity), use_mmap_(use_mmap) {}
  ~FakeResource() override = default;

  [[nodiscard]] std::size_t live_bytes() const noexcept { return live_.load(); }
  [[nodiscard]] std::size_t high_water() const noexcept { return high_water_.load(); }
  [[nodiscard]] std::size_t allocations() const noexcept { return allocations_.load(); }
  [[nodiscard]] std::size_t frees() const noexcept { return frees_.load(); }
  [[nodiscard]] std::size_t bad_frees() const noexcept { return bad_frees_.load(); }

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t, bool) override {
    if (bytes == 0) throw_error(ErrorCode::invalid_argument, "FakeResource: zero bytes");
    std::size_t live = live_.load();
    do {
      if (bytes > capacity_ - std::min(live, capacity_)) {
        throw OutOfMemoryError("FakeResource: capacity exhausted");
      }
    } while (!live_.compare_exchange_weak(live, live + bytes));
    void* p = nullptr;
    if (use_mmap_) {
      p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) p = nullptr;
    } else {
      const std::size_t a = std::max<std::size_t>(alignment, alignof(std::max_align_t));
      p = std::aligned_alloc(a, (bytes + a - 1) / a * a);
    }
    if (p == nullptr) {
      live_ -= bytes;
      throw OutOfMemoryError("FakeResource: host allocation failed");
    }
    std::size_t hw = high_water_.load();
    while (live + bytes > hw && !high_water_.compare_exchange_weak(hw, live + bytes)) {}
    {
      std::lock_guard lock(mutex_);
      pointers_.insert(p);
    }
    ++allocations_;
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t, cudaStream_t, bool) noexcept override {
    {
      std::lock_guard lock(mutex_);
      if (pointers_.erase(p) == 0) {
        ++bad_frees_;
        return;
      }
    }
    if (use_mmap_) {
      munmap(p, bytes);
    } else {
      std::free(p);
    }
    live_ -= bytes;
    ++frees_;
  }
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return mode_; }

  MemoryMode mode_;
  std::size_t capacity_;
  bool use_mmap_;
  std::atomic<std::size_t> live_{0};
  std::atomic<std::size_t> high_water_{0};
  std::atomic<std::size_t> allocations_{0};
  std::atomic<std::size_t> frees_{0};
  std::atomic<std::size_t> bad_frees_{0};
  std::mutex mutex_;
  std::set<void*> pointers_;
};

}  // namespace ghtier::test
