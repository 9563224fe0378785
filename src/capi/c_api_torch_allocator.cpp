// PyTorch's pluggable-allocator entry points (include/ghtier/ghtier_torch.h): a fixed set of slots, each
// bound to a runtime and a mode (or the runtime's policy), handing out ghtier Buffers to PyTorch and taking
// them back by pointer. Graph capture is served from a reserve carved by the pinned pool's RangeAllocator.
#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "core/memory/range_allocator.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_torch.h"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier::capi {
namespace {

constexpr std::size_t reserve_alignment = 512;  // what PyTorch's own allocator guarantees

struct Slot {
  std::mutex mutex;
  std::shared_ptr<Runtime> runtime;  // null while not bound
  int32_t mode = GHTIER_TORCH_MODE_POLICY;
  uint32_t flags = 0;
  std::string tag;
  std::unordered_map<void*, Buffer> live;  // by pointer
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

  [[nodiscard]] std::size_t live_count() const { return live.size() + (reserve ? reserve->live_block_count() : 0); }
  void add_live(std::size_t bytes) {
    current_bytes += bytes;
    if (current_bytes > peak_bytes) peak_bytes = current_bytes;
    ++total_allocations;
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

// A failed allocation: counted, its message kept, then NULL or a throw as the slot was bound.
void* fail(Slot& slot, int index, std::string message) {
  bool throw_it = false;
  {
    std::lock_guard lock(slot.mutex);
    ++slot.failed_allocations;
    slot.last_error = fmt::format("ghtier_torch_alloc_{}: {}", index, message);
    message = slot.last_error;
    throw_it = (slot.flags & GHTIER_TORCH_THROW_ON_FAILURE) != 0;
  }
  if (throw_it) throw std::runtime_error(message);
  return nullptr;
}

// An allocation on a stream being captured: a block of the capture reserve, never a stream-ordered allocation.
void* allocate_during_capture(Slot& slot, int index, std::size_t bytes) {
  std::size_t capacity = 0;
  std::size_t largest = 0;
  {
    std::lock_guard lock(slot.mutex);
    slot.capture_underway = true;
    if (slot.reserve) {
      if (void* p = slot.reserve->allocate(bytes, reserve_alignment); p != nullptr) {
        const std::size_t block = slot.reserve->block_size(p);
        slot.add_live(block);
        slot.bytes_by_mode[static_cast<std::size_t>(MemoryMode::device)] += block;
        ++slot.capture_allocations;
        return p;
      }
      capacity = slot.reserve->capacity_bytes();
      largest = slot.reserve->largest_free_block();
    }
  }
  return fail(slot, index,
              fmt::format("{} bytes asked during CUDA graph capture, but the capture reserve ({} bytes, largest free "
                          "block {}) cannot hold them: a stream-ordered allocation would break the capture; bind "
                          "with a larger capture reserve (ghtier.torch: capture_reserve=...)",
                          bytes, capacity, largest));
}

void* allocate(int index, std::ptrdiff_t size, int device, void* stream) {
  Slot& slot = slots()[static_cast<std::size_t>(index)];
  std::shared_ptr<Runtime> runtime;
  int32_t mode = 0;
  std::string tag;
  {
    std::lock_guard lock(slot.mutex);
    runtime = slot.runtime;
    mode = slot.mode;
    tag = slot.tag;
  }
  if (size == 0) return nullptr;  // PyTorch's empty tensors: no memory, no failure
  if (!runtime) return fail(slot, index, "the slot is not bound to a runtime (ghtier_torch_bind)");
  if (size < 0) return fail(slot, index, fmt::format("size {} is negative", size));
  const auto bytes = static_cast<std::size_t>(size);
  if (device != runtime->device()) {
    return fail(
        slot, index,
        fmt::format("a tensor on cuda:{} was asked of a slot whose runtime serves cuda:{}", device, runtime->device()));
  }
  // PyTorch names its default stream 0: CUDA's legacy default stream, as everywhere in the C API. Passing
  // nullptr on would select the runtime's synchronous forms, whose frees do not wait for the kernels queued
  // on that stream (a use-after-free), and whose allocations synchronise an internal stream each time.
  const cudaStream_t cuda_stream = ordered_stream(stream);
  if (!runtime->offline()) {
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    const cudaError_t status = cudaStreamIsCapturing(cuda_stream, &capture);
    if (status != cudaSuccess) {
      return fail(slot, index, fmt::format("cudaStreamIsCapturing: {}", cudaGetErrorString(status)));
    }
    if (capture != cudaStreamCaptureStatusNone) {  // active, or invalidated (a capture that has failed)
      return allocate_during_capture(slot, index, bytes);
    }
    std::vector<Buffer> now_free;  // frees held during a capture that has ended: freed outside the lock
    std::lock_guard lock(slot.mutex);
    slot.capture_underway = false;
    now_free.swap(slot.deferred);
    slot.deferred_bytes = 0;
  }
  Buffer buffer;
  try {
    if (mode == GHTIER_TORCH_MODE_POLICY) {
      buffer = runtime->allocate(PlacementRequest{.bytes = bytes, .tag = tag}, cuda_stream);
    } else {
      buffer = runtime->allocate_in(static_cast<MemoryMode>(mode), bytes, cuda_stream, tag);
    }
  } catch (const std::exception& e) {
    return fail(slot, index, fmt::format("{} bytes ({}): {}", bytes, mode_name(mode), e.what()));
  }
  void* p = buffer.data();
  std::lock_guard lock(slot.mutex);
  slot.add_live(buffer.size());
  slot.bytes_by_mode[static_cast<std::size_t>(buffer.mode())] += buffer.size();
  slot.live.emplace(p, std::move(buffer));
  return p;
}

void release(int index, void* ptr) noexcept {
  if (ptr == nullptr) return;
  Slot& slot = slots()[static_cast<std::size_t>(index)];
  Buffer doomed;  // freed (stream-ordered on its allocation stream) after the lock is released
  std::lock_guard lock(slot.mutex);
  const auto it = slot.live.find(ptr);
  if (it != slot.live.end()) {
    slot.current_bytes -= it->second.size();
    slot.bytes_by_mode[static_cast<std::size_t>(it->second.mode())] -= it->second.size();
    cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
    if (!slot.capture_underway && it->second.stream() != nullptr &&
        cudaStreamIsCapturing(it->second.stream(), &capture) != cudaSuccess) {
      capture = cudaStreamCaptureStatusActive;  // cannot tell: holding the free is the safe side
    }
    if (slot.capture_underway || capture != cudaStreamCaptureStatusNone) {
      slot.deferred_bytes += it->second.size();
      ++slot.deferred_frees;
      slot.deferred.push_back(std::move(it->second));
    } else {
      doomed = std::move(it->second);
    }
    slot.live.erase(it);
    return;
  }
  if (slot.reserve) {
    const std::size_t block = slot.reserve->deallocate(ptr);
    if (block != 0) {
      slot.current_bytes -= block;
      slot.bytes_by_mode[static_cast<std::size_t>(MemoryMode::device)] -= block;
      return;
    }
  }
  ++slot.foreign_frees;
  slot.last_error = fmt::format("ghtier_torch_free_{}: {} was not allocated through this slot; left alone", index, ptr);
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
        options == nullptr ? defaults : ghtier::capi::read_versioned(options, defaults, sizeof(defaults), "options");
    if (o.mode < GHTIER_TORCH_MODE_POLICY || o.mode > GHTIER_MODE_SYSTEM) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("options->mode is {}: a ghtier_memory_mode_t (0..3) or GHTIER_TORCH_MODE_POLICY (-1)", o.mode));
    }
    if ((o.flags & ~GHTIER_TORCH_THROW_ON_FAILURE) != 0) {
      throw_error(ErrorCode::invalid_argument, fmt::format("options->flags has unknown bits {:#x}", o.flags));
    }
    auto rt = ghtier::capi::shared_runtime_of(runtime);
    // An offline runtime refuses every allocation (unsupported) when it is made, with the reason.
    if (!rt->offline() && o.mode != GHTIER_TORCH_MODE_POLICY &&
        !rt->has_mode(static_cast<ghtier::MemoryMode>(o.mode))) {
      throw_error(ErrorCode::unsupported,
                  fmt::format("the runtime cannot allocate in mode {}", ghtier::capi::mode_name(o.mode)));
    }
    std::string tag = o.tag != nullptr ? o.tag : "torch";
    ghtier::Buffer reserve_memory;
    std::unique_ptr<ghtier::detail::RangeAllocator> reserve;
    if (o.capture_reserve_bytes > 0) {
      if (rt->offline()) {
        throw_error(ErrorCode::unsupported, "a capture reserve needs a GPU; the runtime is offline");
      }
      reserve_memory =
          rt->allocate_in(ghtier::MemoryMode::device, o.capture_reserve_bytes, nullptr, tag + ":capture-reserve");
      reserve = std::make_unique<ghtier::detail::RangeAllocator>(ghtier::capi::reserve_alignment);
      reserve->add_range(reserve_memory.data(), reserve_memory.size());
    }
    std::lock_guard lock(s.mutex);
    if (s.runtime) throw_error(ErrorCode::invalid_argument, fmt::format("slot {} is already bound", slot));
    s.runtime = std::move(rt);
    s.mode = o.mode;
    s.flags = o.flags;
    s.tag = std::move(tag);
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
    std::lock_guard lock(s.mutex);
    if (!s.runtime) throw_error(ErrorCode::invalid_argument, fmt::format("slot {} is not bound", slot));
    if (const std::size_t n = s.live_count(); n != 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("slot {} still holds {} allocations ({} bytes) that PyTorch will free through it; "
                              "release the tensors and the pool's cache first",
                              slot, n, s.current_bytes));
    }
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
    }
    std::memcpy(static_cast<void*>(statistics), &out, statistics->struct_size);
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
