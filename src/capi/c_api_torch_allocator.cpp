// PyTorch's pluggable-allocator entry points (include/ghtier/ghtier_torch.h): a fixed set of slots, each
// bound to a runtime and a mode (or the runtime's policy), handing out ghtier Buffers to PyTorch and taking
// them back by pointer. Graph capture is served from a reserve carved by the pinned pool's RangeAllocator.
// Slots bound with GHTIER_TORCH_CACHE_FREED_BLOCKS keep freed device blocks for reuse (TorchBlockCache): a hit
// takes one lock and touches nothing but the slot.
#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "capi/torch_block_cache.hpp"
#include "core/memory/range_allocator.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_torch.h"
#include "ghtier/memory/budget_view.hpp"
#include "ghtier/policy/device_only_policy.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier::capi {
namespace {

constexpr std::size_t reserve_alignment = 512;  // what PyTorch's own allocator guarantees

// One allocation of the slot. A cached one (freed by PyTorch, kept for reuse) stays here, so that handing it
// out again needs no map node: only the flag flips.
struct Entry {
  Buffer buffer;
  bool cacheable = false;  // allocated in a size class on the cacheable path: may go to the cache when freed
  bool cached = false;
};

struct Slot {
  std::mutex mutex;
  std::shared_ptr<Runtime> runtime;  // null while not bound
  int32_t mode = GHTIER_TORCH_MODE_POLICY;
  uint32_t flags = 0;
  int device = 0;  // the runtime's, kept here so that a cache hit touches nothing but the slot
  bool offline = false;
  std::shared_ptr<const std::string> tag;  // shared with allocations in flight, never copied per call
  std::unordered_map<void*, Entry> live;   // by pointer: handed out, and cached
  TorchBlockCache cache;
  bool cache_enabled = false;  // GHTIER_TORCH_CACHE_FREED_BLOCKS on a device or policy slot
  Buffer reserve_memory;
  std::unique_ptr<detail::RangeAllocator> reserve;
  std::array<std::size_t, 4> bytes_by_mode{};
  std::size_t current_bytes = 0;
  std::size_t peak_bytes = 0;
  std::uint64_t total_allocations = 0;
  std::uint64_t failed_allocations = 0;
  std::uint64_t foreign_frees = 0;
  std::uint64_t capture_allocations = 0;
  // Frees that arrive while a graph is being captured are held until no capture is seen: a stream-ordered
  // free issued then would either become a node of the graph or break a capture in global mode.
  bool capture_underway = false;
  std::vector<Buffer> deferred;
  std::size_t deferred_bytes = 0;
  std::uint64_t deferred_frees = 0;
  std::string last_error;

  [[nodiscard]] std::size_t live_count() const {
    return live.size() - cache.cached_blocks() + (reserve ? reserve->live_block_count() : 0);
  }
  void add_live(std::size_t bytes, MemoryMode mode) {
    current_bytes += bytes;
    if (current_bytes > peak_bytes) peak_bytes = current_bytes;
    bytes_by_mode[static_cast<std::size_t>(mode)] += bytes;
    ++total_allocations;
  }
  void remove_live(std::size_t bytes, MemoryMode mode) {
    current_bytes -= bytes;
    bytes_by_mode[static_cast<std::size_t>(mode)] -= bytes;
  }
};

// Never destroyed: PyTorch frees tensors during interpreter shutdown, after static destructors would have run.
std::array<Slot, GHTIER_TORCH_SLOTS>& slots() {
  static auto* all = new std::array<Slot, GHTIER_TORCH_SLOTS>();
  return *all;
}

Slot& slot_at(int32_t slot) {
  if (slot < 0 || slot >= GHTIER_TORCH_SLOTS) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("slot {} is out of range: slots are 0 .. {}", slot, GHTIER_TORCH_SLOTS - 1));
  }
  return slots()[static_cast<std::size_t>(slot)];
}

std::string mode_name(int32_t mode) {
  if (mode == GHTIER_TORCH_MODE_POLICY) return "policy";
  return std::string(to_string(static_cast<MemoryMode>(mode)));
}

// Whether the slot's allocations may come from its cache now: a device slot always, a policy slot while the
// runtime's policy can only place on the device (the policy may be replaced at any time). Slot lock held.
bool cacheable_now(const Slot& slot) {
  if (!slot.cache_enabled) return false;
  if (slot.mode == static_cast<int32_t>(MemoryMode::device)) return true;
  return dynamic_cast<const DeviceOnlyPolicy*>(slot.runtime->policy().get()) != nullptr;
}

// Whether a stream-ordered free on `stream` now could land in a capture: the slot saw one that it has not
// seen end, or the stream is being captured (or cannot be asked: holding the free is the safe side).
bool free_must_wait(const Slot& slot, cudaStream_t stream) {
  if (slot.capture_underway) return true;
  if (stream == nullptr) return false;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  return cudaStreamIsCapturing(stream, &capture) != cudaSuccess || capture != cudaStreamCaptureStatusNone;
}

// Empties the slot's cache (slot lock held): each block's Buffer moves to `doomed`, which the caller destroys
// after unlocking (each is freed stream-ordered on its stream), or to the held frees when its stream is being
// captured. Throws std::bad_alloc only, before anything has moved.
void flush_cache(Slot& slot, std::vector<Buffer>& doomed) {
  if (slot.cache.cached_blocks() == 0) return;
  doomed.reserve(doomed.size() + slot.cache.cached_blocks());
  slot.deferred.reserve(slot.deferred.size() + slot.cache.cached_blocks());
  for (const TorchBlockCache::Block& block : slot.cache.drain()) {
    const auto it = slot.live.find(block.data);
    if (it == slot.live.end()) continue;  // cannot happen: every cached block is a live entry
    Buffer buffer = std::move(it->second.buffer);
    slot.live.erase(it);
    if (!slot.offline && free_must_wait(slot, buffer.stream())) {
      slot.deferred_bytes += buffer.size();
      ++slot.deferred_frees;
      slot.deferred.push_back(std::move(buffer));
    } else {
      doomed.push_back(std::move(buffer));
    }
  }
}

// A failed allocation (slot lock held by `lock`): counted, its message kept, then NULL or a throw as the slot
// was bound. Unlocks.
void* fail(Slot& slot, std::unique_lock<std::mutex>& lock, int index, std::string_view message) {
  ++slot.failed_allocations;
  slot.last_error = fmt::format("ghtier_torch_alloc_{}: {}", index, message);
  const bool throw_it = (slot.flags & GHTIER_TORCH_THROW_ON_FAILURE) != 0;
  std::string copy = throw_it ? slot.last_error : std::string();
  lock.unlock();
  if (throw_it) throw std::runtime_error(copy);
  return nullptr;
}

// An allocation on a stream being captured (slot lock held): a block of the capture reserve, never a
// stream-ordered allocation.
void* allocate_during_capture(Slot& slot, std::unique_lock<std::mutex>& lock, int index, std::size_t bytes) {
  slot.capture_underway = true;
  std::size_t capacity = 0;
  std::size_t largest = 0;
  if (slot.reserve) {
    if (void* p = slot.reserve->allocate(bytes, reserve_alignment); p != nullptr) {
      slot.add_live(slot.reserve->block_size(p), MemoryMode::device);
      ++slot.capture_allocations;
      return p;
    }
    capacity = slot.reserve->capacity_bytes();
    largest = slot.reserve->largest_free_block();
  }
  return fail(slot, lock, index,
              fmt::format("{} bytes asked during CUDA graph capture, but the capture reserve ({} bytes, largest free "
                          "block {}) cannot hold them: a stream-ordered allocation would break the capture; bind "
                          "with a larger capture reserve (ghtier.torch: capture_reserve=...)",
                          bytes, capacity, largest));
}

// The runtime allocation behind a cache miss or an uncached slot. Throws what the runtime throws.
Buffer allocate_from(Runtime& runtime, int32_t mode, std::size_t bytes, cudaStream_t stream, const std::string& tag) {
  if (mode == GHTIER_TORCH_MODE_POLICY) return runtime.allocate(PlacementRequest{.bytes = bytes, .tag = tag}, stream);
  return runtime.allocate_in(static_cast<MemoryMode>(mode), bytes, stream, tag);
}

bool refused_for_room(const Error& e) {
  return e.code() == ErrorCode::out_of_budget || e.code() == ErrorCode::out_of_memory;
}

void* allocate(int index, std::ptrdiff_t size, int device, void* stream) {
  Slot& slot = slots()[static_cast<std::size_t>(index)];
  if (size == 0) return nullptr;  // PyTorch's empty tensors: no memory, no failure
  // PyTorch names its default stream 0: CUDA's legacy default stream, as everywhere in the C API. Passing
  // nullptr on would select the runtime's synchronous forms, whose frees do not wait for the kernels queued
  // on that stream (a use-after-free), and whose allocations synchronise an internal stream each time.
  const cudaStream_t cuda_stream = ordered_stream(stream);
  std::vector<Buffer> now_free;  // frees held during a capture that has ended, a flushed cache: freed unlocked
  std::unique_lock lock(slot.mutex);
  if (!slot.runtime) return fail(slot, lock, index, "the slot is not bound to a runtime (ghtier_torch_bind)");
  if (size < 0) return fail(slot, lock, index, fmt::format("size {} is negative", size));
  std::size_t bytes = static_cast<std::size_t>(size);
  if (device != slot.device) {
    return fail(
        slot, lock, index,
        fmt::format("a tensor on cuda:{} was asked of a slot whose runtime serves cuda:{}", device, slot.device));
  }
  if (!slot.offline) {
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    const cudaError_t status = cudaStreamIsCapturing(cuda_stream, &capture);
    if (status != cudaSuccess) {
      return fail(slot, lock, index, fmt::format("cudaStreamIsCapturing: {}", cudaGetErrorString(status)));
    }
    if (capture != cudaStreamCaptureStatusNone) {  // active, or invalidated (a capture that has failed)
      return allocate_during_capture(slot, lock, index, bytes);
    }
    slot.capture_underway = false;
    now_free.swap(slot.deferred);
    slot.deferred_bytes = 0;
  }
  bool cacheable = false;
  try {
    cacheable = cacheable_now(slot);
    if (!cacheable) flush_cache(slot, now_free);  // the runtime's policy was replaced: the cache goes
  } catch (const std::exception& e) {
    return fail(slot, lock, index, fmt::format("{} bytes: {}", size, e.what()));
  }
  if (cacheable) {
    if (const std::size_t rounded = TorchBlockCache::size_class(bytes); rounded != 0) {
      if (void* p = slot.cache.take(cuda_stream, rounded); p != nullptr) {
        slot.live.find(p)->second.cached = false;  // every cached block is a live entry
        slot.add_live(rounded, MemoryMode::device);
        return p;
      }
      bytes = rounded;
    } else {
      cacheable = false;  // too large to round: allocated as asked, freed at once
    }
  }
  const std::shared_ptr<Runtime> runtime = slot.runtime;
  const std::shared_ptr<const std::string> tag = slot.tag;
  const int32_t mode = slot.mode;
  lock.unlock();
  now_free.clear();

  Buffer buffer;
  std::string why;
  for (bool retried = false;;) {
    try {
      buffer = allocate_from(*runtime, mode, bytes, cuda_stream, *tag);
      break;
    } catch (const Error& e) {
      why = e.what();
      if (!cacheable || retried || !refused_for_room(e)) break;
    } catch (const std::exception& e) {
      why = e.what();
      break;
    }
    // Refused for room: what the cache holds is the slot's own, so it goes before the request fails.
    retried = true;
    lock.lock();
    try {
      flush_cache(slot, now_free);
    } catch (const std::bad_alloc&) {
      // nothing was flushed: the retry fails as the first try did
    }
    lock.unlock();
    if (now_free.empty()) break;
    now_free.clear();
  }
  lock.lock();
  if (!buffer) return fail(slot, lock, index, fmt::format("{} bytes ({}): {}", size, mode_name(mode), why));
  void* p = buffer.data();
  const std::size_t size_held = buffer.size();
  const MemoryMode mode_held = buffer.mode();
  try {
    slot.live.emplace(p, Entry{std::move(buffer), cacheable && mode_held == MemoryMode::device, false});
  } catch (const std::exception& e) {
    return fail(slot, lock, index, fmt::format("{} bytes: recording the allocation: {}", size, e.what()));
  }
  slot.add_live(size_held, mode_held);
  return p;
}

void release(int index, void* ptr) noexcept {
  if (ptr == nullptr) return;
  Slot& slot = slots()[static_cast<std::size_t>(index)];
  Buffer doomed;  // freed (stream-ordered on its allocation stream) after the lock is released
  std::lock_guard lock(slot.mutex);
  const auto it = slot.live.find(ptr);
  if (it != slot.live.end() && !it->second.cached) {
    Entry& entry = it->second;
    slot.remove_live(entry.buffer.size(), entry.buffer.mode());
    if (!slot.offline && free_must_wait(slot, entry.buffer.stream())) {
      const std::size_t held = entry.buffer.size();
      try {
        slot.deferred.push_back(std::move(entry.buffer));  // moves nothing when it throws
        slot.deferred_bytes += held;
        ++slot.deferred_frees;
      } catch (...) {
        doomed = std::move(entry.buffer);  // cannot be held: freed now, which a capture may refuse (it says so)
      }
    } else if (entry.cacheable && slot.cache_enabled &&
               slot.cache.put(entry.buffer.stream(), entry.buffer.size(), ptr)) {
      entry.cached = true;
      return;
    } else {
      doomed = std::move(entry.buffer);
    }
    slot.live.erase(it);
    return;
  }
  if (it == slot.live.end() && slot.reserve) {
    const std::size_t block = slot.reserve->deallocate(ptr);
    if (block != 0) {
      slot.remove_live(block, MemoryMode::device);
      return;
    }
  }
  ++slot.foreign_frees;
  try {
    slot.last_error =
        it != slot.live.end()
            ? fmt::format("ghtier_torch_free_{}: {} was freed twice (it is in the slot's cache); left alone", index,
                          ptr)
            : fmt::format("ghtier_torch_free_{}: {} was not allocated through this slot; left alone", index, ptr);
  } catch (...) {
    // the count stays; the message is lost
  }
}

template <int Index>
void* alloc_entry(std::ptrdiff_t size, int device, void* stream) {
  return allocate(Index, size, device, stream);
}

template <int Index>
void free_entry(void* ptr, std::ptrdiff_t /*size*/, int /*device*/, void* /*stream*/) noexcept {
  release(Index, ptr);
}

}  // namespace
}  // namespace ghtier::capi

using ghtier::Error;
using ghtier::ErrorCode;
using ghtier::capi::guarded;

extern "C" {

ghtier_status_t ghtier_torch_bind(int32_t slot, ghtier_runtime_t* runtime, const ghtier_torch_bind_options_t* options) {
  return guarded("ghtier_torch_bind", [&] {
    auto& s = ghtier::capi::slot_at(slot);
    ghtier_torch_bind_options_t defaults{};
    defaults.struct_size = sizeof(defaults);
    defaults.mode = GHTIER_TORCH_MODE_POLICY;
    const ghtier_torch_bind_options_t o =
        options == nullptr
            ? defaults
            : ghtier::capi::read_versioned(options, defaults, offsetof(ghtier_torch_bind_options_t, cache_limit_bytes),
                                           "options");
    if (o.mode < GHTIER_TORCH_MODE_POLICY || o.mode > GHTIER_MODE_SYSTEM) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("options->mode is {}: a ghtier_memory_mode_t (0..3) or GHTIER_TORCH_MODE_POLICY (-1)", o.mode));
    }
    if ((o.flags & ~(GHTIER_TORCH_THROW_ON_FAILURE | GHTIER_TORCH_CACHE_FREED_BLOCKS)) != 0) {
      throw_error(ErrorCode::invalid_argument, fmt::format("options->flags has unknown bits {:#x}", o.flags));
    }
    auto rt = ghtier::capi::shared_runtime_of(runtime);
    // An offline runtime refuses every allocation (unsupported) when it is made, with the reason.
    if (!rt->offline() && o.mode != GHTIER_TORCH_MODE_POLICY &&
        !rt->has_mode(static_cast<ghtier::MemoryMode>(o.mode))) {
      throw_error(ErrorCode::unsupported,
                  fmt::format("the runtime cannot allocate in mode {}", ghtier::capi::mode_name(o.mode)));
    }
    auto tag = std::make_shared<const std::string>(o.tag != nullptr ? o.tag : "torch");
    // The cache can serve a device slot, or a policy slot while its policy places only on the device.
    const bool cache_enabled = (o.flags & GHTIER_TORCH_CACHE_FREED_BLOCKS) != 0 &&
                               (o.mode == GHTIER_TORCH_MODE_POLICY || o.mode == GHTIER_MODE_DEVICE);
    std::size_t cache_limit = o.cache_limit_bytes;
    if (cache_enabled && cache_limit == 0) {
      const std::size_t budget = rt->budget(ghtier::MemoryMode::device);
      cache_limit = ghtier::capi::TorchBlockCache::default_limit(
          budget != ghtier::unlimited_bytes ? budget : rt->platform().attributes.hbm_bytes);
    }
    ghtier::Buffer reserve_memory;
    std::unique_ptr<ghtier::detail::RangeAllocator> reserve;
    if (o.capture_reserve_bytes > 0) {
      if (rt->offline()) {
        throw_error(ErrorCode::unsupported, "a capture reserve needs a GPU; the runtime is offline");
      }
      reserve_memory =
          rt->allocate_in(ghtier::MemoryMode::device, o.capture_reserve_bytes, nullptr, *tag + ":capture-reserve");
      reserve = std::make_unique<ghtier::detail::RangeAllocator>(ghtier::capi::reserve_alignment);
      reserve->add_range(reserve_memory.data(), reserve_memory.size());
    }
    std::lock_guard lock(s.mutex);
    if (s.runtime) throw_error(ErrorCode::invalid_argument, fmt::format("slot {} is already bound", slot));
    s.device = rt->device();
    s.offline = rt->offline();
    s.runtime = std::move(rt);
    s.mode = o.mode;
    s.flags = o.flags;
    s.tag = std::move(tag);
    s.cache_enabled = cache_enabled;
    s.cache.set_limit(cache_enabled ? cache_limit : 0);
    s.cache.reset_counters();
    s.reserve_memory = std::move(reserve_memory);
    s.reserve = std::move(reserve);
    s.last_error.clear();
  });
}

ghtier_status_t ghtier_torch_unbind(int32_t slot) {
  return guarded("ghtier_torch_unbind", [&] {
    auto& s = ghtier::capi::slot_at(slot);
    ghtier::Buffer reserve_memory;
    std::shared_ptr<ghtier::Runtime> runtime;
    std::vector<ghtier::Buffer> deferred;
    std::vector<ghtier::Buffer> cached;  // declared before the lock: freed after it is released
    std::lock_guard lock(s.mutex);
    if (!s.runtime) throw_error(ErrorCode::invalid_argument, fmt::format("slot {} is not bound", slot));
    if (const std::size_t n = s.live_count(); n != 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("slot {} still holds {} allocations ({} bytes) that PyTorch will free through it; "
                              "release the tensors and the pool's cache first",
                              slot, n, s.current_bytes));
    }
    ghtier::capi::flush_cache(s, cached);  // throws (bad_alloc) before anything changed
    s.reserve.reset();
    reserve_memory = std::move(s.reserve_memory);
    deferred.swap(s.deferred);
    s.deferred_bytes = 0;
    s.deferred_frees = 0;
    s.capture_underway = false;
    runtime = std::move(s.runtime);
    s.runtime.reset();
    s.mode = GHTIER_TORCH_MODE_POLICY;
    s.flags = 0;
    s.tag.reset();
    s.cache_enabled = false;
    s.cache.set_limit(0);
    s.cache.reset_counters();
    s.bytes_by_mode = {};
    s.current_bytes = 0;
    s.peak_bytes = 0;
    s.total_allocations = s.failed_allocations = s.foreign_frees = s.capture_allocations = 0;
  });
}

ghtier_status_t ghtier_torch_slot_statistics(int32_t slot, ghtier_torch_slot_statistics_t* statistics) {
  return guarded("ghtier_torch_slot_statistics", [&] {
    auto& s = ghtier::capi::slot_at(slot);
    if (statistics == nullptr) throw_error(ErrorCode::invalid_argument, "statistics is NULL");
    ghtier::capi::check_struct_size<ghtier_torch_slot_statistics_t>(statistics->struct_size, 8, "statistics");
    ghtier_torch_slot_statistics_t out{};
    out.struct_size = statistics->struct_size;
    {
      std::lock_guard lock(s.mutex);
      out.bound = s.runtime ? 1 : 0;
      out.mode = s.mode;
      out.current_bytes = s.current_bytes;
      out.current_allocations = s.live_count();
      out.peak_bytes = s.peak_bytes;
      out.total_allocations = s.total_allocations;
      out.failed_allocations = s.failed_allocations;
      out.foreign_frees = s.foreign_frees;
      out.capture_allocations = s.capture_allocations;
      out.capture_reserve_bytes = s.reserve ? s.reserve->capacity_bytes() : 0;
      out.capture_reserve_used_bytes = s.reserve ? s.reserve->used_bytes() : 0;
      out.device_bytes = s.bytes_by_mode[0];
      out.pinned_host_bytes = s.bytes_by_mode[1];
      out.managed_bytes = s.bytes_by_mode[2];
      out.system_bytes = s.bytes_by_mode[3];
      out.deferred_free_bytes = s.deferred_bytes;
      out.deferred_frees = s.deferred_frees;
      out.cached_bytes = s.cache.cached_bytes();
      out.cached_blocks = s.cache.cached_blocks();
      out.cache_hits = s.cache.hits();
      out.cache_misses = s.cache.misses();
      out.cache_limit_bytes = s.cache.limit_bytes();
    }
    std::memcpy(static_cast<void*>(statistics), &out, statistics->struct_size);
  });
}

ghtier_status_t ghtier_torch_empty_cache(int32_t slot) {
  return guarded("ghtier_torch_empty_cache", [&] {
    auto& s = ghtier::capi::slot_at(slot);
    std::vector<ghtier::Buffer> doomed;  // declared before the lock: freed after it is released
    std::lock_guard lock(s.mutex);
    ghtier::capi::flush_cache(s, doomed);
  });
}

const char* ghtier_torch_last_error(int32_t slot) {
  if (slot < 0 || slot >= GHTIER_TORCH_SLOTS) return nullptr;
  auto& s = ghtier::capi::slots()[static_cast<std::size_t>(slot)];
  std::lock_guard lock(s.mutex);
  return s.last_error.c_str();
}

ghtier_status_t ghtier_torch_stream_is_capturing(void* stream, int32_t* capturing) {
  return guarded("ghtier_torch_stream_is_capturing", [&] {
    if (capturing == nullptr) throw_error(ErrorCode::invalid_argument, "capturing is NULL");
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    const cudaError_t e = cudaStreamIsCapturing(static_cast<cudaStream_t>(stream), &status);
    if (e != cudaSuccess) {
      throw_error(ErrorCode::cuda_error, fmt::format("cudaStreamIsCapturing: {}", cudaGetErrorString(e)),
                  static_cast<int>(e));
    }
    *capturing = status == cudaStreamCaptureStatusActive ? 1 : 0;
  });
}

#define GHTIER_TORCH_ENTRY_POINTS(N)                                                \
  void* ghtier_torch_alloc_##N(ptrdiff_t size, int device, void* stream) {          \
    return ghtier::capi::alloc_entry<N>(size, device, stream);                      \
  }                                                                                 \
  void ghtier_torch_free_##N(void* ptr, ptrdiff_t size, int device, void* stream) { \
    ghtier::capi::free_entry<N>(ptr, size, device, stream);                         \
  }
GHTIER_TORCH_ENTRY_POINTS(0)
GHTIER_TORCH_ENTRY_POINTS(1)
GHTIER_TORCH_ENTRY_POINTS(2)
GHTIER_TORCH_ENTRY_POINTS(3)
GHTIER_TORCH_ENTRY_POINTS(4)
GHTIER_TORCH_ENTRY_POINTS(5)
GHTIER_TORCH_ENTRY_POINTS(6)
GHTIER_TORCH_ENTRY_POINTS(7)
#undef GHTIER_TORCH_ENTRY_POINTS

}  // extern "C"
