// WeightStreamer: carries out a weight plan with the runtime (ring slots and resident layers in device
// memory) and the engine (host -> device copies; prefetches in the background lane, copies a changed order
// needs in the urgent lane). WeightSlotSchedule makes every decision; this file moves bytes and keeps the
// events that say when a released slot may be overwritten.
#include "ghtier/workloads/weight_streamer.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "core/support/nvtx_range.hpp"
#include "engine/device_guard.hpp"
#include "ghtier/error.hpp"
#include "workloads/weight_streaming/weight_slot_schedule.hpp"

namespace ghtier {

namespace {

constexpr std::size_t tensor_alignment = 256;

std::size_t align_up(std::size_t bytes) { return (bytes + tensor_alignment - 1) / tensor_alignment * tensor_alignment; }

// Where each tensor of a layer sits in a device block holding the whole layer.
struct LayerLayout {
  std::vector<std::size_t> offsets;
  std::size_t bytes = 0;
};

LayerLayout layout_of(const WeightLayer& layer) {
  LayerLayout layout;
  for (const WeightTensor& t : layer.tensors) {
    layout.offsets.push_back(layout.bytes);
    layout.bytes += align_up(t.bytes);
  }
  return layout;
}

void validate_layers(const std::vector<WeightLayer>& layers) {
  if (layers.empty()) throw_error(ErrorCode::invalid_argument, "weight streamer: no layers registered");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].tensors.empty()) {
      throw_error(ErrorCode::invalid_argument, fmt::format("weight streamer: layer {} has no tensors", i));
    }
    for (std::size_t t = 0; t < layers[i].tensors.size(); ++t) {
      const WeightTensor& w = layers[i].tensors[t];
      if (w.host == nullptr || w.bytes == 0) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("weight streamer: layer {} tensor {} is {} (host {}, {} bytes)", i, t,
                                w.host == nullptr ? "null" : "empty", w.host, w.bytes));
      }
    }
  }
}

}  // namespace

struct WeightStreamer::Impl {
  Impl(Runtime& runtime_in, TransferEngine& engine_in, std::vector<WeightLayer> layers_in,
       const WeightStreamerOptions& options)
      : runtime(runtime_in),
        engine(engine_in),
        layers(std::move(layers_in)),
        budget(options.device_budget_bytes),
        max_slots(options.max_slots),
        hedge_compute(options.hedge_compute),
        allow_in_place(options.in_place == WeightInPlaceReads::on ||
                       (options.in_place == WeightInPlaceReads::automatic && engine.platform().gpu_reads_pageable &&
                        engine.platform().coherent)),
        schedule(std::vector(layers.size(), WeightPlacement::resident), 0) {
    for (const WeightLayer& l : layers) layouts.push_back(layout_of(l));
    plan = plan_weights(request(budget));
    detail::DeviceGuard guard(engine.device());
    released.assign(layers.size(), nullptr);
    try {
      for (cudaEvent_t& e : released) GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    } catch (...) {
      destroy_events();
      throw;
    }
    resident.resize(layers.size());
    resident_copy.resize(layers.size());
    try {
      apply(plan, /*budget_change=*/false);
    } catch (...) {
      wait_all();
      destroy_events();
      throw;
    }
  }

  ~Impl() {
    wait_all();
    destroy_events();
  }

  WeightPlanRequest request(std::size_t budget) const {
    WeightPlanRequest r;
    for (std::size_t i = 0; i < layers.size(); ++i) r.layers.push_back({layouts[i].bytes, layers[i].compute_seconds});
    r.link = engine.platform().link;
    r.device_budget_bytes = budget;
    r.allow_in_place = allow_in_place;
    r.max_slots = max_slots;
    r.hedge_compute = hedge_compute;
    return r;
  }

  // Moves from what is held now to `next`: frees demoted layers and surplus slots (after the work that used
  // them), re-plans the schedule, adds slots, copies promoted layers in. Nothing may be acquired. The first
  // plan's resident layers are not promotions: only a budget change counts them.
  void apply(const WeightPlan& next, bool budget_change) {
    detail::DeviceGuard guard(engine.device());
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (resident[i] && next.placements[i] != WeightPlacement::resident) {
        settle_layer(i);
        if (resident_copy[i].valid()) (void)resident_copy[i].wait();
        resident_copy[i] = CompletionToken{};
        resident[i].reset();
        if (budget_change) ++stats.demoted_layers;
      }
    }
    for (std::size_t s = next.ring_slots; s < slots.size(); ++s) {
      if (slot_copy[s].valid()) (void)slot_copy[s].wait();
      if (const auto holder = schedule.holder(s)) settle_layer(*holder);
    }
    if (next.ring_slots < slots.size()) {
      slots.resize(next.ring_slots);
      slot_copy.resize(next.ring_slots);
    }
    schedule.replan(next.placements, next.ring_slots);
    while (slots.size() < next.ring_slots) {
      slots.push_back(runtime.allocate_in(MemoryMode::device, next.slot_bytes, nullptr, "weight ring slot"));
      slot_copy.emplace_back();
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (next.placements[i] == WeightPlacement::resident && !resident[i]) {
        resident[i] = runtime.allocate_in(MemoryMode::device, layouts[i].bytes, nullptr, "weight resident layer");
        resident_copy[i] = copy_layer(i, resident[i].data(), TransferPriority::urgent, std::nullopt);
        if (budget_change) ++stats.promoted_layers;
      }
    }
  }

  CompletionToken copy_layer(std::size_t layer, void* device_base, TransferPriority priority,
                             std::optional<std::size_t> overwritten, const CompletionToken* after = nullptr) {
    BatchCopyRequest batch;
    batch.priority = priority;
    for (std::size_t t = 0; t < layers[layer].tensors.size(); ++t) {
      const WeightTensor& w = layers[layer].tensors[t];
      batch.items.push_back({static_cast<char*>(device_base) + layouts[layer].offsets[t], w.host, w.bytes});
    }
    // The slot's previous layer must be done with it: the work its release() covered.
    if (overwritten) batch.wait_on.events.push_back(released[*overwritten]);
    if (after != nullptr && after->valid() && !after->ready()) {
      // An urgent copy may overtake a background one still writing the same slot: order it after that copy
      // through a stream of our own.
      if (order_stream == nullptr) {
        GHTIER_CUDA_CHECK(cudaStreamCreateWithFlags(&order_stream, cudaStreamNonBlocking));
      }
      after->make_stream_wait(order_stream);
      batch.wait_on.streams.push_back(order_stream);
    }
    detail::NvtxRange range("ghtier::weight_copy", layouts[layer].bytes);
    CompletionToken token = engine.submit(batch);
    stats.copied_bytes += layouts[layer].bytes;
    return token;
  }

  void submit_slot_copy(const detail::SlotCopy& copy, TransferPriority priority) {
    slot_copy[copy.slot] =
        copy_layer(copy.layer, slots[copy.slot].data(), priority, copy.evicted, &slot_copy[copy.slot]);
  }

  // Blocks until the work that the layer's last release() covered is done.
  void settle_layer(std::size_t layer) { GHTIER_CUDA_CHECK(cudaEventSynchronize(released[layer])); }

  void wait_all() noexcept {
    for (CompletionToken& t : slot_copy) {
      if (t.valid()) (void)t.wait();
    }
    for (CompletionToken& t : resident_copy) {
      if (t.valid()) (void)t.wait();
    }
    for (cudaEvent_t e : released) {
      if (e != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaEventSynchronize(e));
    }
  }

  void destroy_events() noexcept {
    for (cudaEvent_t& e : released) {
      if (e != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(e));
      e = nullptr;
    }
    if (order_stream != nullptr) GHTIER_CUDA_CHECK_NOTHROW(cudaStreamDestroy(order_stream));
    order_stream = nullptr;
  }

  // After a set_budget that failed half way: the placements follow what is held (resident where a device
  // block exists, else streamed through the slots there are); with no slot for streamed layers, the
  // streamer refuses acquires until a set_budget succeeds.
  void fall_back_to_what_is_held() noexcept {
    std::vector<WeightPlacement> held(layers.size(), WeightPlacement::streamed);
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (resident[i]) held[i] = WeightPlacement::resident;
    }
    const bool needs_slot = std::find(held.begin(), held.end(), WeightPlacement::streamed) != held.end();
    try {
      if (needs_slot && slots.empty()) throw_error(ErrorCode::out_of_memory, "no ring slot");
      schedule.replan(held, slots.size());
    } catch (...) {
      unusable = true;
      return;
    }
    for (std::size_t i = 0; i < layers.size(); ++i) plan.placements[i] = held[i];
    plan.ring_slots = slots.size();
  }

  std::size_t device_bytes() const {
    std::size_t bytes = slots.size() * plan.slot_bytes;
    for (const Buffer& b : resident) bytes += b.size();
    return bytes;
  }

  Runtime& runtime;
  TransferEngine& engine;
  std::vector<WeightLayer> layers;
  std::vector<LayerLayout> layouts;
  std::size_t budget;
  std::size_t max_slots;
  bool hedge_compute;
  bool allow_in_place;
  detail::WeightSlotSchedule schedule;
  WeightPlan plan;
  std::vector<cudaEvent_t> released;  // per layer: recorded by release() on the caller's stream
  std::vector<Buffer> slots;
  std::vector<CompletionToken> slot_copy;  // per slot: the last copy into it
  std::vector<Buffer> resident;            // per layer: its device block while resident
  std::vector<CompletionToken> resident_copy;
  cudaStream_t order_stream = nullptr;  // orders a copy after an earlier one into the same slot
  bool unusable = false;                // a set_budget failed and left no slot for the streamed layers
  WeightStreamerStatistics stats;
  mutable std::mutex mutex;
};

WeightStreamer::WeightStreamer(Runtime& runtime, TransferEngine& engine, std::vector<WeightLayer> layers,
                               const WeightStreamerOptions& options) {
  if (engine.device() != runtime.device()) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("weight streamer: the engine serves device {}, the runtime device {}", engine.device(),
                            runtime.device()));
  }
  validate_layers(layers);
  impl_ = std::make_unique<Impl>(runtime, engine, std::move(layers), options);
}

WeightStreamer::~WeightStreamer() = default;

std::size_t WeightStreamer::layer_count() const noexcept { return impl_->layers.size(); }

std::vector<void*> WeightStreamer::acquire(std::size_t layer, cudaStream_t stream) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  if (s.unusable) {
    throw_error(ErrorCode::out_of_memory,
                "weight streamer acquire: an earlier set_budget failed and left no ring slot; call set_budget again");
  }
  const detail::AcquireDecision decision = s.schedule.acquire(layer);
  detail::DeviceGuard guard(s.engine.device());
  if (decision.urgent) {
    try {
      s.submit_slot_copy(*decision.urgent, TransferPriority::urgent);
    } catch (...) {  // nothing was queued: undo the acquire and forget the slots the decision filled
      s.schedule.release(layer);
      s.schedule.vacate(decision.urgent->slot);
      for (const detail::SlotCopy& copy : decision.prefetches) s.schedule.vacate(copy.slot);
      throw;
    }
    ++s.stats.urgent_copies;
  }
  for (std::size_t i = 0; i < decision.prefetches.size(); ++i) {
    try {
      s.submit_slot_copy(decision.prefetches[i], TransferPriority::background);
    } catch (...) {  // a prefetch is optional: forget the slots not filled, carry on
      for (std::size_t j = i; j < decision.prefetches.size(); ++j) s.schedule.vacate(decision.prefetches[j].slot);
      break;
    }
    ++s.stats.prefetch_copies;
  }
  try {
    std::vector<void*> pointers;
    const WeightLayer& l = s.layers[layer];
    char* base = nullptr;
    switch (s.schedule.placement(layer)) {
      case WeightPlacement::in_place:
        for (const WeightTensor& t : l.tensors) pointers.push_back(const_cast<void*>(t.host));
        break;
      case WeightPlacement::resident:
        if (s.resident_copy[layer].valid()) s.resident_copy[layer].make_stream_wait(stream);
        base = static_cast<char*>(s.resident[layer].data());
        break;
      case WeightPlacement::streamed:
        s.slot_copy[*decision.slot].make_stream_wait(stream);  // throws the copy's failure
        base = static_cast<char*>(s.slots[*decision.slot].data());
        break;
    }
    if (base != nullptr) {
      for (std::size_t offset : s.layouts[layer].offsets) pointers.push_back(base + offset);
    }
    ++s.stats.acquires;
    return pointers;
  } catch (...) {
    s.schedule.release(layer);  // the caller got nothing to release
    if (decision.slot && !s.schedule.acquired(layer)) s.schedule.vacate(*decision.slot);  // its copy failed
    throw;
  }
}

void WeightStreamer::release(std::size_t layer, cudaStream_t stream) {
  std::lock_guard lock(impl_->mutex);
  impl_->schedule.release(layer);
  detail::DeviceGuard guard(impl_->engine.device());
  GHTIER_CUDA_CHECK(cudaEventRecord(impl_->released[layer], stream));
}

void WeightStreamer::set_order(std::vector<std::size_t> order) {
  std::lock_guard lock(impl_->mutex);
  impl_->schedule.set_order(std::move(order));
}

void WeightStreamer::set_budget(std::size_t device_budget_bytes) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  const auto start = std::chrono::steady_clock::now();
  if (s.schedule.any_acquired()) {
    throw_error(ErrorCode::invalid_argument,
                "weight streamer set_budget: a layer is still acquired; change the budget between passes");
  }
  WeightPlan next = plan_weights(s.request(device_budget_bytes));  // throws out_of_budget with the minimum
  detail::NvtxRange range("ghtier::weight_set_budget", device_budget_bytes);
  try {
    s.apply(next, /*budget_change=*/true);
  } catch (...) {
    s.fall_back_to_what_is_held();
    throw;
  }
  s.unusable = false;
  s.plan = std::move(next);
  s.budget = device_budget_bytes;
  for (CompletionToken& t : s.resident_copy) {
    if (!t.valid()) continue;
    (void)t.wait();
    if (const auto error = t.error()) throw_error(*error);
  }
  ++s.stats.budget_changes;
  s.stats.last_budget_change_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

WeightPlan WeightStreamer::plan() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->plan;
}

WeightPlanRequest WeightStreamer::plan_request() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->request(impl_->budget);
}

WeightStreamerStatistics WeightStreamer::statistics() const {
  std::lock_guard lock(impl_->mutex);
  WeightStreamerStatistics st = impl_->stats;
  st.ring_slots = impl_->slots.size();
  st.slot_bytes = impl_->plan.slot_bytes;
  st.resident_layers = static_cast<std::size_t>(
      std::count_if(impl_->resident.begin(), impl_->resident.end(), [](const Buffer& b) { return !b.empty(); }));
  st.device_bytes = impl_->device_bytes();
  return st;
}

}  // namespace ghtier
