// The KV cache C API: the resume planner (works on an offline runtime) and the store handle (in the one
// handle registry), each function one guarded wrapper. Arguments are checked before handles are looked up.
#include <memory>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_handles.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_workloads.h"
#include "ghtier/workloads/kv_cache.hpp"

namespace ghtier::capi {

namespace {

// A store owns its engine and keeps its runtime alive; members go in reverse order.
struct CKvCache {
  std::shared_ptr<Runtime> runtime;
  std::unique_ptr<TransferEngine> engine;
  std::unique_ptr<KvCacheStore> store;
};

std::shared_ptr<CKvCache> get_cache(ghtier_kv_cache_t* handle) {
  return get_handle<CKvCache>(handle, HandleKind::kv_cache, "kv cache");
}

cudaStream_t to_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

KvBlockShape shape_of(const ghtier_kv_block_shape_t& s) {
  return KvBlockShape{s.tokens_per_block, s.layers, s.kv_heads, s.head_dim, s.dtype_bytes};
}

KvTier tier_of(int32_t tier) {
  if (tier < GHTIER_KV_TIER_DEVICE || tier > GHTIER_KV_TIER_NONE) {
    throw_error(ErrorCode::invalid_argument, fmt::format("request->tier = {}: not a ghtier_kv_tier_t", tier));
  }
  return static_cast<KvTier>(tier);
}

ghtier_kv_resume_plan_t to_c(const KvResumePlan& p) {
  ghtier_kv_resume_plan_t out{};
  out.struct_size = sizeof(out);
  out.action = static_cast<int32_t>(p.action);
  out.predicted_seconds = p.predicted_seconds;
  out.reload_seconds = p.reload_seconds;
  out.recompute_seconds = p.recompute_seconds;
  out.first_layer_seconds = p.first_layer_seconds;
  out.per_block_copy_seconds = p.per_block_copy_seconds;
  out.reload_bytes = p.reload_bytes;
  out.prefill_tokens = p.prefill_tokens;
  out.speedup = p.speedup;
  return out;
}

}  // namespace

}  // namespace ghtier::capi

using namespace ghtier;
using namespace ghtier::capi;

extern "C" {

ghtier_status_t ghtier_kv_plan_resume(ghtier_runtime_t* runtime, const ghtier_kv_resume_request_t* request,
                                      ghtier_kv_resume_plan_t* plan) {
  return guarded("ghtier_kv_plan_resume", [&] {
    const ghtier_kv_resume_request_t r =
        read_versioned(request, ghtier_kv_resume_request_t{}, sizeof(ghtier_kv_resume_request_t),
                       "ghtier_kv_resume_request_t* request");
    check_output(plan, "ghtier_kv_resume_plan_t* plan");
    KvResumeRequest cpp;
    cpp.shape = shape_of(r.shape);
    cpp.context_tokens = r.context_tokens;
    cpp.cached_tokens = r.cached_tokens;
    cpp.tier = tier_of(r.tier);
    cpp.prefill_tokens_per_second = r.prefill_tokens_per_second;
    cpp.file_read_gbps = r.file_read_gbps;
    if (r.h2d_gbps != 0 || r.latency_us != 0) {
      cpp.link.h2d_gbps = r.h2d_gbps;
      cpp.link.latency_us = r.latency_us;
      cpp.link.source = "given";
    } else {
      cpp.link = shared_runtime_of(runtime)->platform().link;
    }
    write_versioned(plan, to_c(plan_kv_resume(cpp)));
  });
}

ghtier_status_t ghtier_kv_cache_create(ghtier_runtime_t* runtime, const ghtier_kv_cache_options_t* options,
                                       ghtier_kv_cache_t** cache) {
  if (cache != nullptr) *cache = nullptr;
  return guarded("ghtier_kv_cache_create", [&] {
    require_non_null(cache, "cache");
    const ghtier_kv_cache_options_t o = read_versioned(
        options, ghtier_kv_cache_options_t{}, sizeof(ghtier_kv_cache_options_t), "ghtier_kv_cache_options_t* options");
    const KvCacheOptions cpp{shape_of(o.shape), o.device_blocks, o.host_blocks};
    cpp.shape.validate();
    if (cpp.device_blocks == 0) throw_error(ErrorCode::invalid_argument, "options->device_blocks is 0");
    auto c = std::make_shared<CKvCache>();
    c->runtime = shared_runtime_of(runtime);
    if (c->runtime->offline()) {
      throw_error(ErrorCode::unsupported,
                  "runtime is offline (created with an assumed_profile): the KV cache store needs a GPU");
    }
    c->engine = std::make_unique<TransferEngine>(c->runtime->platform(), c->runtime->device(), c->runtime.get());
    c->store = std::make_unique<KvCacheStore>(*c->runtime, *c->engine, cpp);
    *cache = add_handle<ghtier_kv_cache_t>(HandleKind::kv_cache, std::move(c));
  });
}

ghtier_status_t ghtier_kv_cache_destroy(ghtier_kv_cache_t* cache) {
  return guarded("ghtier_kv_cache_destroy", [&] {
    if (cache == nullptr) return;
    (void)remove_handle<CKvCache>(cache, HandleKind::kv_cache, "kv cache");
  });
}

ghtier_status_t ghtier_kv_cache_device_pool(ghtier_kv_cache_t* cache, void** pool) {
  return guarded("ghtier_kv_cache_device_pool", [&] {
    require_non_null(pool, "pool");
    *pool = get_cache(cache)->store->device_pool();
  });
}

ghtier_status_t ghtier_kv_cache_session_create(ghtier_kv_cache_t* cache, int32_t priority, uint64_t* session) {
  return guarded("ghtier_kv_cache_session_create", [&] {
    require_non_null(session, "session");
    *session = get_cache(cache)->store->create(priority);
  });
}

ghtier_status_t ghtier_kv_cache_append(ghtier_kv_cache_t* cache, uint64_t session, size_t n_tokens, void* stream,
                                       uint32_t* new_blocks, size_t capacity, size_t* num_new) {
  return guarded("ghtier_kv_cache_append", [&] {
    if (new_blocks == nullptr && capacity != 0) {
      throw_error(ErrorCode::invalid_argument, fmt::format("new_blocks is NULL but capacity is {}", capacity));
    }
    const std::vector<std::uint32_t> added = get_cache(cache)->store->append(session, n_tokens, to_stream(stream));
    for (std::size_t i = 0; i < added.size() && i < capacity; ++i) new_blocks[i] = added[i];
    if (num_new != nullptr) *num_new = added.size();
  });
}

ghtier_status_t ghtier_kv_cache_block_table(ghtier_kv_cache_t* cache, uint64_t session, uint32_t* table,
                                            size_t capacity, size_t* num_blocks) {
  return guarded("ghtier_kv_cache_block_table", [&] {
    if (table == nullptr && capacity != 0) {
      throw_error(ErrorCode::invalid_argument, fmt::format("table is NULL but capacity is {}", capacity));
    }
    require_non_null(num_blocks, "num_blocks");
    const std::vector<std::uint32_t> blocks = get_cache(cache)->store->block_table(session);
    for (std::size_t i = 0; i < blocks.size() && i < capacity; ++i) table[i] = blocks[i];
    *num_blocks = blocks.size();
  });
}

ghtier_status_t ghtier_kv_cache_suspend(ghtier_kv_cache_t* cache, uint64_t session, void* stream) {
  return guarded("ghtier_kv_cache_suspend", [&] { get_cache(cache)->store->suspend(session, to_stream(stream)); });
}

ghtier_status_t ghtier_kv_cache_resume(ghtier_kv_cache_t* cache, uint64_t session, void* stream) {
  return guarded("ghtier_kv_cache_resume", [&] { get_cache(cache)->store->resume(session, to_stream(stream)); });
}

ghtier_status_t ghtier_kv_cache_fork(ghtier_kv_cache_t* cache, uint64_t session, uint64_t* forked) {
  return guarded("ghtier_kv_cache_fork", [&] {
    require_non_null(forked, "forked");
    *forked = get_cache(cache)->store->fork(session);
  });
}

ghtier_status_t ghtier_kv_cache_drop(ghtier_kv_cache_t* cache, uint64_t session) {
  return guarded("ghtier_kv_cache_drop", [&] { get_cache(cache)->store->drop(session); });
}

ghtier_status_t ghtier_kv_cache_plan_resume(ghtier_kv_cache_t* cache, uint64_t session,
                                            double prefill_tokens_per_second, ghtier_kv_resume_plan_t* plan) {
  return guarded("ghtier_kv_cache_plan_resume", [&] {
    check_output(plan, "ghtier_kv_resume_plan_t* plan");
    const auto c = get_cache(cache);
    write_versioned(plan, to_c(c->store->plan_resume(session, c->runtime->platform().link, prefill_tokens_per_second)));
  });
}

ghtier_status_t ghtier_kv_cache_get_statistics(ghtier_kv_cache_t* cache, ghtier_kv_cache_statistics_t* statistics) {
  return guarded("ghtier_kv_cache_get_statistics", [&] {
    check_output(statistics, "ghtier_kv_cache_statistics_t* statistics");
    const KvCacheStatistics s = get_cache(cache)->store->statistics();
    ghtier_kv_cache_statistics_t out{};
    out.struct_size = sizeof(out);
    out.block_bytes = s.block_bytes;
    out.device_blocks = s.device_blocks;
    out.host_blocks = s.host_blocks;
    out.device_blocks_used = s.device_blocks_used;
    out.host_blocks_used = s.host_blocks_used;
    out.sessions = s.sessions;
    out.suspended_bytes = s.suspended_bytes;
    out.restored_bytes = s.restored_bytes;
    write_versioned(statistics, out);
  });
}

}  // extern "C"
