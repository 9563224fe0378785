// ActivationOffloader: saves (background D2H into the host arena), prefetches (urgent H2D), restores (a
// stream wait, no host sync) and releases activations; blocks go back to the arena only once no copy
// touches them. One mutex guards the records; the engine does every byte of the moving.
#include "ghtier/workloads/activation_offload.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "core/support/nvtx_range.hpp"
#include "engine/device_guard.hpp"
#include "ghtier/error.hpp"
#include "workloads/activation_offload/activation_host_arena.hpp"

namespace ghtier {

std::size_t default_min_offload_bytes(const LinkModel& link, double min_copy_microseconds) {
  const double slower_gbps = std::min(link.h2d_gbps, link.d2h_gbps);
  if (!(slower_gbps > 0) || !std::isfinite(slower_gbps) || !(min_copy_microseconds >= 0)) return 4096;
  const double bytes = slower_gbps * 1e9 * min_copy_microseconds * 1e-6;
  return std::max<std::size_t>(4096, static_cast<std::size_t>(bytes));
}

namespace {

// One offloaded storage and the saves that share it.
struct Record {
  const void* device_src = nullptr;
  std::size_t bytes = 0;
  std::optional<std::uint64_t> layer;
  void* host = nullptr;
  CompletionToken d2h;
  bool source_released = false;  // the caller was told the device memory may be reused
  CompletionToken h2d;
  bool prefetched = false;
  void* device_dst = nullptr;
  Buffer owned_dst;  // when the offloader allocated the destination
  bool restored = false;
  cudaStream_t restore_stream = nullptr;  // of the last restore (nullptr: the legacy default stream)
  std::size_t saves = 1;
};

// An arena block whose handle is gone but whose copies may still be running.
struct PendingFree {
  void* host = nullptr;
  CompletionToken d2h;
  CompletionToken h2d;
};

bool settled(const CompletionToken& token) { return !token.valid() || token.ready(); }

void throw_if_failed(const CompletionToken& token, const char* what) {
  if (!token.valid()) return;
  const TransferStatus status = token.status();
  if (status == TransferStatus::failed) {
    if (auto error = token.error()) throw_error(*error);
    throw_error(ErrorCode::internal, fmt::format("activation offload: the {} failed without an error", what));
  }
  if (status == TransferStatus::cancelled) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("activation offload: the {} was cancelled (the engine shut down)", what));
  }
}

}  // namespace

struct ActivationOffloader::Impl {
  Runtime& runtime;
  TransferEngine& engine;
  std::size_t threshold;
  detail::ActivationHostArena arena;
  cudaStream_t order_stream = nullptr;  // carries "after this D2H" to an H2D submitted before the D2H ended

  mutable std::mutex mutex;
  std::map<ActivationHandle, Record> records;
  std::map<std::pair<const void*, std::size_t>, ActivationHandle> held;  // saves whose source is still held
  std::vector<PendingFree> pending;
  std::optional<std::uint64_t> layer;
  ActivationHandle next_handle = 1;
  ActivationOffloadStatistics stats;

  Impl(Runtime& r, TransferEngine& e, const ActivationOffloadOptions& options)
      : runtime(r),
        engine(e),
        threshold(options.min_offload_bytes != 0
                      ? options.min_offload_bytes
                      : default_min_offload_bytes(e.platform().link, options.min_copy_microseconds)),
        arena(reserve_arena(r, options)) {}

  static Buffer reserve_arena(Runtime& runtime, const ActivationOffloadOptions& options) {
    if (options.host_arena_bytes == 0) {
      throw_error(ErrorCode::invalid_argument,
                  "activation offload: host_arena_bytes is 0; give the host budget for offloaded activations");
    }
    // Pinned host memory on every platform: the runtime binds it to the GPU's host NUMA node (on GH200 that
    // is the superchip's LPDDR5X, copied at the C2C rate). System memory would copy as fast there, but its
    // pages would land wherever first touch puts them.
    return runtime.allocate_in(MemoryMode::pinned_host, options.host_arena_bytes, nullptr, "activation offload arena");
  }

  Record& find(ActivationHandle handle) {
    const auto it = records.find(handle);
    if (it == records.end()) {
      throw_error(ErrorCode::not_found,
                  fmt::format("activation offload: handle {} is not live (never saved, or released)", handle));
    }
    return it->second;
  }

  // Returns blocks whose copies have ended to the arena; with `wait`, waits for them first.
  void reclaim(bool wait) {
    std::erase_if(pending, [&](PendingFree& p) {
      if (wait) {
        if (p.d2h.valid()) (void)p.d2h.wait();
        if (p.h2d.valid()) (void)p.h2d.wait();
      }
      if (!settled(p.d2h) || !settled(p.h2d)) return false;
      arena.deallocate(p.host);
      return true;
    });
  }

  void* allocate_host(std::size_t bytes) {
    reclaim(false);
    if (void* p = arena.try_allocate(bytes)) return p;
    reclaim(true);                 // a block may be waiting only for a copy to end
    return arena.allocate(bytes);  // throws out_of_budget naming the arena's size
  }

  void prefetch_locked(ActivationHandle handle, Record& r, void* device_dst) {
    if (r.prefetched) return;
    throw_if_failed(r.d2h, "D2H of this activation");
    Buffer owned;
    if (device_dst == nullptr) {
      owned = runtime.allocate_in(MemoryMode::device, r.bytes, nullptr, "activation restore");
      device_dst = owned.data();
    }
    CopyRequest request{.dst = device_dst, .src = r.host, .bytes = r.bytes, .priority = TransferPriority::urgent};
    if (!r.d2h.ready()) {
      // The H2D must read what the D2H wrote: order it after the D2H through a stream of our own.
      detail::DeviceGuard guard(engine.device());
      if (order_stream == nullptr) {
        GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&order_stream, cudaStreamNonBlocking));
      }
      r.d2h.make_stream_wait(order_stream);
      request.wait_on.streams.push_back(order_stream);
    }
    detail::NvtxRange range("ghtier::activation_prefetch", r.bytes);
    r.h2d = engine.submit(request);
    r.prefetched = true;
    r.device_dst = device_dst;
    r.owned_dst = std::move(owned);
    stats.restored_bytes += r.bytes;
    (void)handle;
  }
};

ActivationOffloader::ActivationOffloader(Runtime& runtime, TransferEngine& engine,
                                         const ActivationOffloadOptions& options) {
  if (engine.device() != runtime.device()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("activation offload: the engine serves device {}, the runtime device {}", engine.device(),
                            runtime.device()));
  }
  impl_ = std::make_unique<Impl>(runtime, engine, options);
  impl_->stats.arena_bytes = impl_->arena.capacity_bytes();
  impl_->stats.min_offload_bytes = impl_->threshold;
}

ActivationOffloader::~ActivationOffloader() {
  std::lock_guard lock(impl_->mutex);
  for (auto& [handle, r] : impl_->records) {
    if (r.d2h.valid()) (void)r.d2h.wait();
    if (r.h2d.valid()) (void)r.h2d.wait();
  }
  impl_->reclaim(true);
  if (impl_->order_stream != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(impl_->order_stream));
}

bool ActivationOffloader::worth_offloading(std::size_t bytes) const noexcept { return bytes >= impl_->threshold; }
std::size_t ActivationOffloader::min_offload_bytes() const noexcept { return impl_->threshold; }

void ActivationOffloader::begin_layer(std::uint64_t layer) {
  std::lock_guard lock(impl_->mutex);
  impl_->layer = layer;
}

void ActivationOffloader::end_layer() {
  std::lock_guard lock(impl_->mutex);
  impl_->layer.reset();
}

ActivationHandle ActivationOffloader::save(const void* ptr, std::size_t bytes, cudaStream_t stream) {
  if (ptr == nullptr) throw_error(ErrorCode::invalid_argument, "activation offload: save of a null pointer");
  if (bytes == 0) throw_error(ErrorCode::invalid_argument, "activation offload: save of 0 bytes");
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  ++s.stats.saves;
  if (const auto it = s.held.find({ptr, bytes}); it != s.held.end()) {
    ++s.find(it->second).saves;
    ++s.stats.deduplicated_saves;
    return it->second;
  }
  detail::NvtxRange range("ghtier::activation_save", bytes);
  void* host = s.allocate_host(bytes);
  Record r;
  r.device_src = ptr;
  r.bytes = bytes;
  r.layer = s.layer;
  r.host = host;
  try {
    r.d2h = s.engine.submit(CopyRequest{.dst = host,
                                        .src = ptr,
                                        .bytes = bytes,
                                        .priority = TransferPriority::background,
                                        .wait_on = {.events = {}, .streams = {stream}}});
  } catch (...) {
    s.arena.deallocate(host);  // nothing was queued: the arena is as it was
    --s.stats.saves;
    throw;
  }
  const ActivationHandle handle = s.next_handle++;
  s.records.emplace(handle, std::move(r));
  s.held.emplace(std::pair{ptr, bytes}, handle);
  s.stats.offloaded_bytes += bytes;
  return handle;
}

bool ActivationOffloader::device_released(ActivationHandle handle) {
  std::lock_guard lock(impl_->mutex);
  Record& r = impl_->find(handle);
  if (r.source_released) return true;
  if (!r.d2h.ready()) return false;
  throw_if_failed(r.d2h, "D2H of this activation");
  r.source_released = true;
  impl_->held.erase({r.device_src, r.bytes});
  return true;
}

void ActivationOffloader::prefetch(ActivationHandle handle, void* device_dst) {
  std::lock_guard lock(impl_->mutex);
  impl_->prefetch_locked(handle, impl_->find(handle), device_dst);
}

std::size_t ActivationOffloader::prefetch_layer(std::uint64_t layer) {
  std::lock_guard lock(impl_->mutex);
  std::size_t queued = 0;
  // Latest saves first: the backward pass consumes a layer's activations in reverse order of saving.
  for (auto it = impl_->records.rbegin(); it != impl_->records.rend(); ++it) {
    Record& r = it->second;
    if (r.layer != layer || r.prefetched) continue;
    impl_->prefetch_locked(it->first, r, nullptr);
    ++queued;
  }
  return queued;
}

void* ActivationOffloader::restore(ActivationHandle handle, cudaStream_t stream) {
  std::lock_guard lock(impl_->mutex);
  Record& r = impl_->find(handle);
  impl_->prefetch_locked(handle, r, nullptr);
  r.h2d.make_stream_wait(stream);  // throws the H2D's failure
  r.restore_stream = stream;
  r.restored = true;
  return r.device_dst;
}

void ActivationOffloader::release(ActivationHandle handle) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  Record& r = s.find(handle);
  if (--r.saves > 0) return;
  if (!r.source_released) {
    if (const auto it = s.held.find({r.device_src, r.bytes}); it != s.held.end() && it->second == handle) {
      s.held.erase(it);
    }
  }
  // The device buffer goes stream-ordered after the last restore's consumers; the arena block once the
  // copies that touch it have ended.
  if (r.owned_dst) {
    if (r.restored) {
      // A null stream means the legacy default stream here, while Buffer::reset(nullptr) would free at once.
      r.owned_dst.reset(r.restore_stream != nullptr ? r.restore_stream : cudaStreamLegacy);
    } else {
      (void)r.h2d.wait();  // prefetched, never restored: the H2D may still be writing the buffer
      r.owned_dst.reset();
    }
  }
  s.pending.push_back(PendingFree{r.host, std::move(r.d2h), std::move(r.h2d)});
  s.records.erase(handle);
  s.reclaim(false);
}

ActivationOffloadStatistics ActivationOffloader::statistics() const {
  std::lock_guard lock(impl_->mutex);
  impl_->reclaim(false);  // blocks whose copies have ended count as free
  ActivationOffloadStatistics out = impl_->stats;
  out.live_handles = impl_->records.size();
  out.arena_used_bytes = impl_->arena.used_bytes();
  out.arena_peak_bytes = impl_->arena.peak_used_bytes();
  return out;
}

}  // namespace ghtier
