// TransferEngine: validates and routes requests, snapshots their dependencies, splits them into jobs for
// the lanes (or records them into a capturing stream), and owns the shared machinery: event pool, callback
// thread, CPU copy threads.
#include "ghtier/engine/transfer_engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <map>
#include <mutex>
#include <span>

#include "core/memory/gpu_access.hpp"
#include "core/runtime/runtime_core.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "core/support/nvtx_range.hpp"
#include "engine/batch_builder.hpp"
#include "engine/batch_issue.hpp"
#include "engine/batch_mechanism_choice.hpp"
#include "engine/chunk_planner.hpp"
#include "engine/copy_thread_affinity.hpp"
#include "engine/copy_validation.hpp"
#include "engine/copy_workers.hpp"
#include "engine/device_guard.hpp"
#include "engine/event_pool.hpp"
#include "engine/event_watcher.hpp"
#include "engine/graph_owned_event.hpp"
#include "engine/live_engines.hpp"
#include "engine/serial_executor.hpp"
#include "engine/transfer_job.hpp"
#include "engine/transfer_lane.hpp"
#include "engine/transfer_route.hpp"
#include "engine/transfer_state.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier {

namespace {

using detail::Job;
using detail::JobDependencies;
using detail::JobKind;
using detail::LaneId;

constexpr std::size_t page_bytes = 4096;
constexpr std::size_t prefetch_alignment = std::size_t{2} << 20;  // managed memory migrates in 2 MiB units

}  // namespace

void validate(const TransferEngineOptions& o) {
  auto refuse = [](const char* name, auto value, const char* why) {
    throw_error(ErrorCode::invalid_argument, fmt::format("TransferEngineOptions::{} = {}: {}", name, value, why));
  };
  if (o.chunk_bytes < page_bytes) refuse("chunk_bytes", o.chunk_bytes, "must be at least 4096");
  if (o.staging_chunk_bytes < page_bytes) refuse("staging_chunk_bytes", o.staging_chunk_bytes, "must be at least 4096");
  if (o.staging_slots < 2) refuse("staging_slots", o.staging_slots, "the pipeline needs at least 2 slots");
  if (o.staging_slots > 1024) refuse("staging_slots", o.staging_slots, "more than 1024 slots");
  if (o.batch_max_items == 0) refuse("batch_max_items", o.batch_max_items, "must be at least 1");
  if (o.copy_threads > 256) refuse("copy_threads", o.copy_threads, "more than 256 threads");
  if (o.completion_poll_us > 10'000) {
    refuse("completion_poll_us", o.completion_poll_us, "more than 10000 us of polling (a spinning core)");
  }
  if (o.background_window_bytes != 0 && o.background_window_bytes < o.chunk_bytes) {
    refuse("background_window_bytes", o.background_window_bytes, "must be 0 (default) or at least chunk_bytes");
  }
}

namespace {

MemoryMode mode_of_kind(detail::PointerKind kind) noexcept {
  switch (kind) {
    case detail::PointerKind::device: return MemoryMode::device;
    case detail::PointerKind::pinned_host: return MemoryMode::pinned_host;
    case detail::PointerKind::managed: return MemoryMode::managed;
    case detail::PointerKind::pageable: return MemoryMode::system;
  }
  return MemoryMode::system;
}

bool completes_on_cpu(const detail::TransferRoute& route) noexcept {
  return route.mechanism == MoveMechanism::host_copy ||
         (route.mechanism == MoveMechanism::staged_copy && route.staging == detail::StagingDirection::to_host);
}

}  // namespace

struct TransferEngine::Impl {
  Impl(const Platform& platform_in, int device_in, const AllocationLookup* lookup_in, TransferEngineOptions options_in)
      : platform(platform_in),
        device(device_in),
        lookup(lookup_in),
        options(options_in),
        copy_planner(options_in.chunk_bytes, page_bytes),
        staging_planner(options_in.staging_chunk_bytes, page_bytes),
        prefetch_planner(options_in.chunk_bytes, std::min(prefetch_alignment, std::bit_floor(options_in.chunk_bytes))),
        batch_builder(options_in.chunk_bytes, options_in.batch_max_items) {}

  // Unregisters first (each call blocks while a quiesce() or the exit handler is using this engine), then
  // shuts down. Here rather than in ~TransferEngine: a constructor that throws after registering unwinds too.
  ~Impl() {
    if (waiter_id != 0) runtime_core->remove_transfer_waiter(waiter_id);
    if (live_id != 0) detail::remove_live_engine(live_id);
    shutdown();
    detail::destroy_retired_graph_events();
  }

  Platform platform;
  int device;
  const AllocationLookup* lookup;
  std::shared_ptr<detail::RuntimeCore> runtime_core;  // engines made over a Runtime: keeps `lookup` alive
  std::uint64_t waiter_id = 0;                        // in runtime_core's transfer waiters
  std::uint64_t live_id = 0;                          // in the process's live engines
  TransferEngineOptions options;
  detail::ChunkPlanner copy_planner;
  detail::ChunkPlanner staging_planner;
  detail::ChunkPlanner prefetch_planner;
  detail::BatchBuilder batch_builder;

  std::shared_ptr<detail::EventPool> done_events;     // spin-waited: what callers wait on
  std::shared_ptr<detail::EventPool> watched_events;  // blocking-sync: what the engine's watchers sleep on
  std::shared_ptr<detail::EngineCounters> counters = std::make_shared<detail::EngineCounters>();
  std::unique_ptr<detail::SerialExecutor> callbacks;  // runs on_complete callbacks, in order
  std::mutex workers_mutex;
  std::unique_ptr<detail::CopyWorkers> workers;
  detail::LaneContext context;
  std::array<std::unique_ptr<detail::TransferLane>, detail::lane_count> lanes;

  detail::CopyWorkers& copy_workers() {
    std::lock_guard lock(workers_mutex);
    if (!workers) {
      detail::CopyThreadAffinity affinity =
          detail::copy_thread_affinity_for(platform, options.copy_threads_on_gpu_node);
      log(affinity.cpus.empty() && options.copy_threads_on_gpu_node ? LogLevel::info : LogLevel::debug,
          "TransferEngine on device {}: {}", device, affinity.note);
      workers = std::make_unique<detail::CopyWorkers>(
          options.copy_threads != 0 ? options.copy_threads : detail::CopyWorkers::default_threads(),
          std::move(affinity.cpus));
    }
    return *workers;
  }

  detail::TransferLane& lane(LaneId id) { return *lanes[static_cast<std::size_t>(id)]; }

  // Lanes first (they cancel what has not started and finish the rest, using the copy threads and the
  // callback thread), then the copy threads, then the callback thread (which runs what is left; called from
  // a callback, it is not joined but ends by itself). Idempotent.
  void shutdown() noexcept {
    for (auto& l : lanes) {
      if (l) l->shutdown();
    }
    // After the exit handler, CUDA may be torn down already (an engine in a static object): the lanes'
    // streams and pinned slots are left to the OS rather than freed through a runtime that is gone.
    if (detail::process_exiting()) {
      for (auto& l : lanes) (void)l.release();
    }
    for (auto& l : lanes) l.reset();
    workers.reset();
    callbacks.reset();
  }

  // At process exit: the lanes stop (queued requests cancelled, started ones finished, watcher and
  // dispatcher threads ended), so no engine thread touches CUDA while it tears down. The objects stay: the
  // engine's destructor may still run (static objects), and submit() then refuses.
  void stop_for_exit() noexcept {
    for (auto& l : lanes) {
      if (l) l->shutdown();
    }
  }

  // For Runtime::quiesce(): nothing queued or in flight on any lane (callbacks may still be pending: a
  // quiesce from a callback must not wait for itself).
  void wait_idle() {
    for (auto& l : lanes) {
      if (l) l->wait_idle();
    }
  }

  // The mode of a pointer: from the tracker when it knows (system memory excepted: the caller may have
  // registered it), else from CUDA.
  MemoryMode mode_of(const void* p) const {
    if (lookup != nullptr) {
      if (const auto record = lookup->find(p); record && record->mode != MemoryMode::system) return record->mode;
    }
    return mode_of_kind(detail::classify_pointer(p));
  }

  std::shared_ptr<detail::TransferState> make_state(std::size_t bytes, int parts, int cpu_parts,
                                                    TransferCallback callback) {
    return std::make_shared<detail::TransferState>(bytes, parts, cpu_parts, std::move(callback), done_events,
                                                   callbacks.get(), counters);
  }

  // The stream among `deps` that is capturing a graph, or nullptr. Throws for an invalidated capture.
  static cudaStream_t capturing_stream(const TransferDependencies& deps, const char* what) {
    cudaStream_t found = nullptr;
    for (cudaStream_t stream : deps.streams) {
      cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
      GHTIER_CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
      if (status == cudaStreamCaptureStatusInvalidated) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("{}: wait stream {} belongs to a graph capture that was invalidated", what,
                                static_cast<const void*>(stream)));
      }
      if (status == cudaStreamCaptureStatusActive && found == nullptr) found = stream;
    }
    return found;
  }

  // Inside a capture: the request's work goes onto the capturing stream, after its dependencies.
  void join_dependencies(cudaStream_t capture, const TransferDependencies& deps) {
    for (cudaEvent_t event : deps.events) GHTIER_CUDA_CHECK(cudaStreamWaitEvent(capture, event, 0));
    for (cudaStream_t stream : deps.streams) {
      if (stream == capture) continue;
      cudaEvent_t event = done_events->acquire();
      try {
        GHTIER_CUDA_CHECK(cudaEventRecord(event, stream));
        GHTIER_CUDA_CHECK(cudaStreamWaitEvent(capture, event, 0));
      } catch (...) {
        done_events->release(event);
        throw;
      }
      done_events->release(event);
    }
  }

  CompletionToken finish_captured(cudaStream_t capture, std::size_t bytes) {
    // make_state first: if it throws, the graph-owned event is not yet made (nothing to release).
    auto state = make_state(bytes, 1, 0, nullptr);
    state->mark_captured(detail::record_graph_owned_event(capture));
    return CompletionToken(std::move(state));
  }

  std::shared_ptr<Job> make_copy_job(const detail::TransferRoute& route, void* dst, const void* src, std::size_t bytes,
                                     TransferPriority priority) const {
    auto job = std::make_shared<Job>();
    job->dst = static_cast<std::byte*>(dst);
    job->src = static_cast<const std::byte*>(src);
    job->bytes = bytes;
    job->priority = priority;
    job->staging = route.staging;
    switch (route.mechanism) {
      case MoveMechanism::copy_engine:
        job->kind = JobKind::copy;
        job->chunks = copy_planner.plan(reinterpret_cast<std::uintptr_t>(dst), bytes);
        break;
      case MoveMechanism::staged_copy: {
        job->kind = JobKind::staged;
        // Chunk boundaries on page boundaries of the pageable side, which the CPU threads copy.
        const void* pageable = route.staging == detail::StagingDirection::to_device ? src : dst;
        job->chunks = staging_planner.plan(reinterpret_cast<std::uintptr_t>(pageable), bytes);
        break;
      }
      case MoveMechanism::host_copy:
        job->kind = JobKind::host_copy;
        job->chunks = staging_planner.plan(reinterpret_cast<std::uintptr_t>(dst), bytes);
        break;
    }
    return job;
  }

  CompletionToken submit_copy(const CopyRequest& request) {
    detail::DeviceGuard guard(device);
    detail::RelaxedCaptureScope relaxed;  // ghtier's own calls never break (or are refused by) a capture
    detail::NvtxRange range("ghtier::transfer_submit", request.bytes);
    detail::validate_copy(request.dst, request.src, request.bytes, lookup, "CopyRequest");
    const cudaStream_t capture = capturing_stream(request.wait_on, "CopyRequest");
    if (request.bytes == 0 && capture == nullptr) return completed_now(0, request.on_complete);
    const MemoryMode src_mode = mode_of(request.src);
    const MemoryMode dst_mode = mode_of(request.dst);
    const detail::TransferRoute route = detail::route_copy(platform, src_mode, dst_mode);
    if (capture != nullptr) {
      if (request.on_complete) {
        throw_error(ErrorCode::invalid_argument,
                    "CopyRequest: on_complete cannot run for a request captured into a CUDA graph (it would run at "
                    "capture, not at each launch); add a host node to the graph instead");
      }
      if (route.mechanism != MoveMechanism::copy_engine) {
        throw_error(ErrorCode::unsupported,
                    fmt::format("CopyRequest: a {} -> {} copy is a {} on this platform ({}): it needs CPU threads, "
                                "which a CUDA graph cannot capture; use pinned memory (or register the buffer with "
                                "HostRegistration) for copies inside a capture",
                                to_string(src_mode), to_string(dst_mode), to_string(route.mechanism),
                                to_string(platform.platform_class)));
      }
      join_dependencies(capture, request.wait_on);
      for (const detail::Chunk& chunk :
           copy_planner.plan(reinterpret_cast<std::uintptr_t>(request.dst), request.bytes)) {
        GHTIER_CUDA_CHECK(cudaMemcpyAsync(static_cast<std::byte*>(request.dst) + chunk.offset,
                                          static_cast<const std::byte*>(request.src) + chunk.offset, chunk.bytes,
                                          cudaMemcpyDefault, capture));
      }
      return finish_captured(capture, request.bytes);
    }
    auto job = make_copy_job(route, request.dst, request.src, request.bytes, request.priority);
    auto state = make_state(request.bytes, 1, completes_on_cpu(route) ? 1 : 0, request.on_complete);
    job->state = state;
    lane(route.lane).submit(std::move(job), &request.wait_on);
    return CompletionToken(std::move(state));
  }

  CompletionToken completed_now(std::size_t bytes, const TransferCallback& callback) {
    auto state = make_state(bytes, 1, 0, callback);
    state->part_finished(TransferStatus::completed);
    return CompletionToken(std::move(state));
  }

  cudaMemLocation location_of(PrefetchTarget target, int host_numa_node) const {
    cudaMemLocation location{};
    if (target == PrefetchTarget::device) {
      location.type = cudaMemLocationTypeDevice;
      location.id = device;
    } else if (host_numa_node < 0) {
      location.type = cudaMemLocationTypeHost;
      location.id = 0;
    } else {
      location.type = cudaMemLocationTypeHostNuma;
      location.id = host_numa_node;
    }
    return location;
  }

  CompletionToken submit_prefetch(const PrefetchRequest& request) {
    detail::DeviceGuard guard(device);
    detail::RelaxedCaptureScope relaxed;
    detail::NvtxRange range("ghtier::prefetch_submit", request.bytes);
    detail::validate_range(request.ptr, request.bytes, lookup, "PrefetchRequest");
    if (request.target != PrefetchTarget::device && request.target != PrefetchTarget::host) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("PrefetchRequest: unknown target {}", static_cast<int>(request.target)));
    }
    if (request.host_numa_node < -1) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("PrefetchRequest: host_numa_node {} (use -1 for the OS's choice)", request.host_numa_node));
    }
    if (capturing_stream(request.wait_on, "PrefetchRequest") != nullptr) {
      throw_error(ErrorCode::unsupported,
                  "PrefetchRequest: a prefetch cannot be captured into a CUDA graph; submit it outside the capture");
    }
    if (request.bytes == 0) return completed_now(0, request.on_complete);
    const MemoryMode mode = mode_of(request.ptr);
    const LaneId lane_id = detail::route_prefetch(platform, mode, request.target);
    const cudaMemLocation location = location_of(request.target, request.host_numa_node);
    // Advice is not stream-ordered in CUDA: it applies now, before the prefetch is queued.
    const cudaMemLocation gpu = location_of(PrefetchTarget::device, -1);
    if (request.advice.prefer_target) {
      GHTIER_CUDA_CHECK(cudaMemAdvise(request.ptr, request.bytes, cudaMemAdviseSetPreferredLocation, location));
    }
    if (request.advice.accessed_by_device) {
      GHTIER_CUDA_CHECK(cudaMemAdvise(request.ptr, request.bytes, cudaMemAdviseSetAccessedBy, gpu));
    }
    if (request.advice.read_mostly) {
      GHTIER_CUDA_CHECK(
          cudaMemAdvise(request.ptr, request.bytes,
                        *request.advice.read_mostly ? cudaMemAdviseSetReadMostly : cudaMemAdviseUnsetReadMostly, gpu));
    }
    auto job = std::make_shared<Job>();
    job->kind = JobKind::prefetch;
    job->priority = request.priority;
    job->src = static_cast<const std::byte*>(request.ptr);
    job->bytes = request.bytes;
    job->location = location;
    job->chunks = prefetch_planner.plan(reinterpret_cast<std::uintptr_t>(request.ptr), request.bytes);
    auto state = make_state(request.bytes, 1, 0, request.on_complete);
    job->state = state;
    lane(lane_id).submit(std::move(job), &request.wait_on);
    return CompletionToken(std::move(state));
  }

  CompletionToken submit_batch(const BatchCopyRequest& request) {
    detail::DeviceGuard guard(device);
    detail::RelaxedCaptureScope relaxed;
    detail::validate_batch(request.items, lookup);  // sizes (and their sum) first: no work for absurd input
    const std::size_t total = detail::batch_total_bytes(request.items);
    detail::NvtxRange range("ghtier::batch_submit", total);
    const cudaStream_t capture = capturing_stream(request.wait_on, "BatchCopyRequest");
    if (capture != nullptr && request.on_complete) {
      throw_error(ErrorCode::invalid_argument,
                  "BatchCopyRequest: on_complete cannot run for a request captured into a CUDA graph; add a host node "
                  "to the graph instead");
    }

    // Route every item; copy-engine items of one lane become one batch job (copied by the SM kernel or the
    // copy engine, as use_sm_batch decides for the group), the others one job each.
    struct Group {
      std::vector<BatchCopyItem> owned;      // the group's items where it holds only some of the request's
      std::span<const BatchCopyItem> items;  // the items: `owned`, or the whole request
      std::size_t bytes = 0;
      bool sm = true;           // every item GPU-reachable
      bool fixed_pages = true;  // every side device or pinned host memory
      bool batch_api = true;
    };
    // What a mode pair means for an item, worked out once per pair: a batch of 10,000 KV blocks has one or
    // two pairs, and the per-item loop stays a table lookup.
    struct PairInfo {
      detail::TransferRoute route;
      bool gpu_reachable = false;
      bool fixed_pages = false;
      bool known = false;
    };
    constexpr std::size_t mode_count = all_memory_modes.size();
    for (const auto& [hint, name] :
         {std::pair{request.src_mode, "src_mode"}, std::pair{request.dst_mode, "dst_mode"}}) {
      if (hint && static_cast<std::size_t>(*hint) >= mode_count) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("BatchCopyRequest: {} = {} is not a MemoryMode", name, static_cast<int>(*hint)));
      }
    }
    std::array<std::array<PairInfo, mode_count>, mode_count> pairs{};
    auto pair_of = [&](MemoryMode src_mode, MemoryMode dst_mode) -> const PairInfo& {
      PairInfo& info = pairs.at(static_cast<std::size_t>(src_mode)).at(static_cast<std::size_t>(dst_mode));
      if (!info.known) {
        auto fixed = [](MemoryMode m) { return m == MemoryMode::device || m == MemoryMode::pinned_host; };
        info.route = detail::route_copy(platform, src_mode, dst_mode);
        info.gpu_reachable =
            describe_mode(platform, src_mode).gpu_access && describe_mode(platform, dst_mode).gpu_access;
        info.fixed_pages = fixed(src_mode) && fixed(dst_mode);
        info.known = true;
      }
      return info;
    };
    std::map<LaneId, Group> batches;
    Group* last_group = nullptr;
    LaneId last_lane = LaneId::local;
    std::vector<std::pair<detail::TransferRoute, BatchCopyItem>> singles;
    // With both modes given, every item has the same route: one group of the request's own items, no copy.
    const PairInfo* common =
        request.src_mode && request.dst_mode ? &pair_of(*request.src_mode, *request.dst_mode) : nullptr;
    if (common != nullptr && common->route.mechanism == MoveMechanism::copy_engine && total > 0) {
      Group& group = batches[common->route.lane];
      group.items = request.items;
      group.bytes = total;
      group.sm = common->gpu_reachable;
      group.fixed_pages = common->fixed_pages;
      group.batch_api = common->fixed_pages;
    }
    for (const BatchCopyItem& item :
         common != nullptr && !batches.empty() ? std::span<const BatchCopyItem>{} : std::span(request.items)) {
      if (item.bytes == 0) continue;
      const MemoryMode src_mode = request.src_mode ? *request.src_mode : mode_of(item.src);
      const MemoryMode dst_mode = request.dst_mode ? *request.dst_mode : mode_of(item.dst);
      const PairInfo& pair = pair_of(src_mode, dst_mode);
      const detail::TransferRoute& route = pair.route;
      if (route.mechanism == MoveMechanism::copy_engine) {
        if (last_group == nullptr || last_lane != route.lane) {
          last_group = &batches[route.lane];  // std::map: the pointer stays valid as groups are added
          last_lane = route.lane;
        }
        Group& group = *last_group;
        if (group.owned.empty()) group.owned.reserve(request.items.size());
        group.owned.push_back(item);
        group.bytes += item.bytes;
        group.sm = group.sm && pair.gpu_reachable;
        // Managed and system memory take location hints the batch call wants per item, and would migrate
        // under a kernel's accesses.
        group.fixed_pages = group.fixed_pages && pair.fixed_pages;
        group.batch_api = group.batch_api && pair.fixed_pages;
      } else if (capture != nullptr) {
        throw_error(ErrorCode::unsupported,
                    fmt::format("BatchCopyRequest: an item copies {} -> {}, a {} on this platform: it needs CPU "
                                "threads, which a CUDA graph cannot capture; use pinned memory inside a capture",
                                to_string(src_mode), to_string(dst_mode), to_string(route.mechanism)));
      } else {
        singles.emplace_back(route, item);
      }
    }
    for (auto& [lane_id, group] : batches) {
      if (!group.owned.empty()) group.items = group.owned;
    }
    auto use_sm = [&](LaneId lane_id, const Group& group) {
      const detail::BatchShape shape{group.items.size(), group.bytes, lane_id, group.sm, group.fixed_pages};
      return detail::use_sm_batch(options.batch_mechanism, shape, platform.link);
    };

    if (capture != nullptr) {
      join_dependencies(capture, request.wait_on);
      for (auto& [lane_id, group] : batches) {
        // The lanes' issuing code; a loop of cudaMemcpyAsync rather than the batch API: certain to be capturable.
        const detail::BatchIssueMode mode =
            use_sm(lane_id, group) ? detail::BatchIssueMode::sm_kernel : detail::BatchIssueMode::memcpy_loop;
        for (const detail::BatchCall& call : batch_builder.build(group.items)) {
          detail::issue_batch_call(call, mode, context.batches, capture);
        }
      }
      return finish_captured(capture, total);
    }

    if (batches.empty() && singles.empty()) return completed_now(0, request.on_complete);
    std::vector<std::pair<LaneId, std::shared_ptr<Job>>> jobs;
    int cpu_parts = 0;
    for (auto& [lane_id, group] : batches) {
      auto job = std::make_shared<Job>();
      job->kind = JobKind::batch;
      job->priority = request.priority;
      job->sm_batch = use_sm(lane_id, group);
      job->batch_api = group.batch_api;
      job->bytes = group.bytes;
      job->calls = batch_builder.build(group.items);
      jobs.emplace_back(lane_id, std::move(job));
    }
    for (const auto& [route, item] : singles) {
      jobs.emplace_back(route.lane, make_copy_job(route, item.dst, item.src, item.bytes, request.priority));
      if (completes_on_cpu(route)) ++cpu_parts;
    }
    auto state = make_state(total, static_cast<int>(jobs.size()), cpu_parts, request.on_complete);
    // The first part's lane takes the dependency snapshot; the other parts share it.
    std::shared_ptr<JobDependencies> dependencies;
    for (auto& [lane_id, job] : jobs) {
      job->state = state;
      job->dependencies = dependencies;
      const std::shared_ptr<Job> submitted = job;
      lane(lane_id).submit(std::move(job), dependencies ? nullptr : &request.wait_on);
      if (!dependencies) dependencies = submitted->dependencies;
    }
    return CompletionToken(std::move(state));
  }
};

TransferEngine::TransferEngine(const Platform& platform, int device, const AllocationLookup* lookup,
                               TransferEngineOptions options) {
  validate(options);
  const int devices = visible_device_count();
  if (devices == 0) {
    throw_error(ErrorCode::no_device, "TransferEngine: no CUDA device is visible (a transfer engine needs a GPU)");
  }
  if (device < 0 || device >= devices) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("TransferEngine: device {} is out of range ({} visible)", device, devices));
  }
  impl_ = std::make_unique<Impl>(platform, device, lookup, options);
  Impl& impl = *impl_;
  detail::DeviceGuard guard(device);
  int least = 0;
  int greatest = 0;
  GHTIER_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
  impl.done_events = std::make_shared<detail::EventPool>(device, 0u);
  impl.watched_events = std::make_shared<detail::EventPool>(device, cudaEventBlockingSync);
  impl.callbacks = std::make_unique<detail::SerialExecutor>("transfer callbacks", [device] {
    if (cudaSetDevice(device) != cudaSuccess) (void)cudaGetLastError();  // callbacks then run on device 0
  });
  impl.context.device = device;
  impl.context.options = options;
  impl.context.completion_wait.poll_budget = std::chrono::microseconds{options.completion_poll_us};
  impl.context.done_events = impl.done_events;
  impl.context.watched_events = impl.watched_events;
  impl.context.workers = [&impl]() -> detail::CopyWorkers& { return impl.copy_workers(); };
  try {
    for (int i = 0; i < detail::lane_count; ++i) {
      impl.lanes[static_cast<std::size_t>(i)] =
          std::make_unique<detail::TransferLane>(static_cast<LaneId>(i), impl.context, greatest, least);
    }
  } catch (...) {
    for (auto& lane : impl.lanes) {
      if (lane) lane->shutdown();
    }
    throw;
  }
  // A Runtime as the lookup (whichever constructor): share its core rather than point at the Runtime
  // object, and register with it so that Runtime::quiesce() waits for this engine.
  if (const auto* runtime = dynamic_cast<const Runtime*>(lookup)) {
    impl.runtime_core = runtime->shared_core();
    impl.lookup = impl.runtime_core.get();
    impl.waiter_id = impl.runtime_core->add_transfer_waiter([&impl] { impl.wait_idle(); });
  }
  // After CUDA is initialised (above): the exit handler then runs before CUDA's own finalisers.
  impl.live_id = detail::add_live_engine([&impl] { impl.stop_for_exit(); });
  detail::destroy_retired_graph_events();
  log(LogLevel::debug, "TransferEngine on device {} ({}): chunk {} B, stream priorities {}..{}", device,
      to_string(platform.platform_class), options.chunk_bytes, greatest, least);
}

namespace {
const Runtime& require_online(const Runtime& runtime) {
  if (runtime.offline()) {
    throw_error(ErrorCode::unsupported,
                "TransferEngine: the runtime is offline (made from an assumed profile): a transfer engine needs a "
                "GPU");
  }
  return runtime;
}
}  // namespace

TransferEngine::TransferEngine(const Runtime& runtime, TransferEngineOptions options)
    : TransferEngine(require_online(runtime).platform(), runtime.device(), &runtime, options) {}

TransferEngine::~TransferEngine() = default;  // ~Impl unregisters and shuts down

// Counted once accepted: a submit that throws queued nothing (and its on_complete never runs).
CompletionToken TransferEngine::submit(const CopyRequest& request) {
  CompletionToken token = impl_->submit_copy(request);
  impl_->counters->submitted.fetch_add(1, std::memory_order_relaxed);
  return token;
}
CompletionToken TransferEngine::submit(const PrefetchRequest& request) {
  CompletionToken token = impl_->submit_prefetch(request);
  impl_->counters->submitted.fetch_add(1, std::memory_order_relaxed);
  return token;
}
CompletionToken TransferEngine::submit(const BatchCopyRequest& request) {
  CompletionToken token = impl_->submit_batch(request);
  impl_->counters->submitted.fetch_add(1, std::memory_order_relaxed);
  return token;
}

void TransferEngine::synchronize() {
  for (auto& lane : impl_->lanes) lane->wait_idle();
  impl_->callbacks->drain();
}

TransferStatistics TransferEngine::statistics() const {
  TransferStatistics s;
  s.to_device = impl_->lane(LaneId::to_device).statistics();
  s.to_host = impl_->lane(LaneId::to_host).statistics();
  s.local = impl_->lane(LaneId::local).statistics();
  s.staging_to_device = impl_->lane(LaneId::to_device).staging_statistics();
  s.staging_to_host = impl_->lane(LaneId::to_host).staging_statistics();
  const detail::EngineCounters& c = *impl_->counters;
  s.submitted = c.submitted.load(std::memory_order_relaxed);
  s.completed = c.completed.load(std::memory_order_relaxed);
  s.failed = c.failed.load(std::memory_order_relaxed);
  s.cancelled = c.cancelled.load(std::memory_order_relaxed);
  s.captured = c.captured.load(std::memory_order_relaxed);
  s.batch_calls = impl_->context.batches.batch_calls.load(std::memory_order_relaxed);
  s.batch_fallback_calls = impl_->context.batches.batch_fallback_calls.load(std::memory_order_relaxed);
  s.sm_batch_launches = impl_->context.batches.sm_batch_launches.load(std::memory_order_relaxed);
  s.completion_polls = impl_->context.completion_polls.load(std::memory_order_relaxed);
  s.completion_poll_fallbacks = impl_->context.completion_poll_fallbacks.load(std::memory_order_relaxed);
  s.queue_depth = s.to_device.queued + s.to_host.queued + s.local.queued;
  return s;
}

const Platform& TransferEngine::platform() const noexcept { return impl_->platform; }
int TransferEngine::device() const noexcept { return impl_->device; }
const TransferEngineOptions& TransferEngine::options() const noexcept { return impl_->options; }

}  // namespace ghtier
