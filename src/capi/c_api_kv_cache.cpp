// The KV cache C API: the resume planner (works on an offline runtime) and the store handle (in the one
// handle registry), each function one guarded wrapper. Arguments are checked before handles are looked up.
#include <cmath>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_holder.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_workloads.h"
#include "ghtier/workloads/kv_block_hash.hpp"
#include "ghtier/workloads/kv_cache.hpp"

namespace ghtier::capi {

namespace {

// A store runs on an engine of its own and keeps its runtime alive.
using KvCacheHolder = Holder<ghtier_kv_cache_t, KvCacheStore, HandleKind::kv_cache>;

std::shared_ptr<KvCacheHolder> get_cache(ghtier_kv_cache_t* handle) { return KvCacheHolder::get(handle, "kv cache"); }

KvBlockShape shape_of(const ghtier_kv_block_shape_t& s) {
  return KvBlockShape{s.tokens_per_block, s.layers, s.kv_heads, s.head_dim, s.dtype_bytes};
}

KvTier tier_of(int32_t tier) {
  if (tier < GHTIER_KV_TIER_DEVICE || tier > GHTIER_KV_TIER_NONE) {
    throw_error(ErrorCode::invalid_argument, fmt::format("request->tier = {}: not a ghtier_kv_tier_t", tier));
  }
  return static_cast<KvTier>(tier);
}

// tokens[0..n) as a span; NULL with n > 0 is refused.
std::span<const std::int32_t> token_span(const int32_t* tokens, std::size_t n_tokens) {
  if (tokens == nullptr && n_tokens != 0) {
    throw_error(ErrorCode::invalid_argument, fmt::format("tokens is NULL but n_tokens is {}", n_tokens));
  }
  return n_tokens == 0 ? std::span<const std::int32_t>() : std::span<const std::int32_t>(tokens, n_tokens);
}

std::string_view salt_of(const char* salt) {
  require_non_null(salt, "salt");
  return salt;
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
    // Callers built against the header before the file tier fields pass the smaller struct: no file tier.
    const ghtier_kv_cache_options_t o =
        read_versioned(options, ghtier_kv_cache_options_t{}, offsetof(ghtier_kv_cache_options_t, file_directory),
                       "ghtier_kv_cache_options_t* options");
    KvCacheOptions cpp{shape_of(o.shape), o.device_blocks, o.host_blocks, {}, o.file_blocks};
    if (o.file_directory != nullptr) cpp.file_directory = o.file_directory;
    cpp.shape.validate();
    if (cpp.device_blocks == 0) throw_error(ErrorCode::invalid_argument, "options->device_blocks is 0");
    KvCacheStore::validate(cpp);  // the file directory's errors come before the need for a GPU
    *cache = KvCacheHolder::create_with_engine(gpu_runtime_of(runtime, "the KV cache store"), cpp);
  });
}

ghtier_status_t ghtier_kv_cache_destroy(ghtier_kv_cache_t* cache) {
  return KvCacheHolder::destroy("ghtier_kv_cache_destroy", cache, "kv cache");
}

ghtier_status_t ghtier_kv_cache_device_pool(ghtier_kv_cache_t* cache, void** pool) {
  return guarded("ghtier_kv_cache_device_pool", [&] {
    require_non_null(pool, "pool");
    *pool = get_cache(cache)->object().device_pool();
  });
}

ghtier_status_t ghtier_kv_cache_session_create(ghtier_kv_cache_t* cache, int32_t priority, uint64_t* session) {
  return guarded("ghtier_kv_cache_session_create", [&] {
    require_non_null(session, "session");
    *session = get_cache(cache)->object().create(priority);
  });
}

ghtier_status_t ghtier_kv_cache_append(ghtier_kv_cache_t* cache, uint64_t session, size_t n_tokens, void* stream,
                                       uint32_t* new_blocks, size_t capacity, size_t* num_new) {
  return guarded("ghtier_kv_cache_append", [&] {
    if (new_blocks == nullptr && capacity != 0) {
      throw_error(ErrorCode::invalid_argument, fmt::format("new_blocks is NULL but capacity is {}", capacity));
    }
    const std::vector<std::uint32_t> added =
        get_cache(cache)->object().append(session, n_tokens, ordered_stream(stream));
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
    const std::vector<std::uint32_t> blocks = get_cache(cache)->object().block_table(session);
    for (std::size_t i = 0; i < blocks.size() && i < capacity; ++i) table[i] = blocks[i];
    *num_blocks = blocks.size();
  });
}

ghtier_status_t ghtier_kv_cache_suspend(ghtier_kv_cache_t* cache, uint64_t session, void* stream) {
  return guarded("ghtier_kv_cache_suspend",
                 [&] { get_cache(cache)->object().suspend(session, ordered_stream(stream)); });
}

ghtier_status_t ghtier_kv_cache_resume(ghtier_kv_cache_t* cache, uint64_t session, void* stream) {
  return guarded("ghtier_kv_cache_resume", [&] { get_cache(cache)->object().resume(session, ordered_stream(stream)); });
}

ghtier_status_t ghtier_kv_cache_fork(ghtier_kv_cache_t* cache, uint64_t session, uint64_t* forked) {
  return guarded("ghtier_kv_cache_fork", [&] {
    require_non_null(forked, "forked");
    *forked = get_cache(cache)->object().fork(session);
  });
}

ghtier_status_t ghtier_kv_cache_drop(ghtier_kv_cache_t* cache, uint64_t session) {
  return guarded("ghtier_kv_cache_drop", [&] { get_cache(cache)->object().drop(session); });
}

ghtier_status_t ghtier_kv_cache_plan_resume(ghtier_kv_cache_t* cache, uint64_t session,
                                            double prefill_tokens_per_second, ghtier_kv_resume_plan_t* plan) {
  return guarded("ghtier_kv_cache_plan_resume", [&] {
    check_output(plan, "ghtier_kv_resume_plan_t* plan");
    const auto c = get_cache(cache);
    write_versioned(plan,
                    to_c(c->object().plan_resume(session, c->runtime().platform().link, prefill_tokens_per_second)));
  });
}

ghtier_status_t ghtier_kv_cache_get_statistics(ghtier_kv_cache_t* cache, ghtier_kv_cache_statistics_t* statistics) {
  return guarded("ghtier_kv_cache_get_statistics", [&] {
    check_output(statistics, "ghtier_kv_cache_statistics_t* statistics");
    const KvCacheStatistics s = get_cache(cache)->object().statistics();
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
    out.file_blocks_used = s.file_blocks_used;
    out.file_written_bytes = s.file_written_bytes;
    out.file_read_bytes = s.file_read_bytes;
    write_versioned(statistics, out);
  });
}

ghtier_status_t ghtier_kv_prefix_hashes(const int32_t* tokens, size_t n_tokens, size_t tokens_per_block,
                                        const char* salt, uint64_t* hashes, size_t capacity, size_t* num_hashes) {
  return guarded("ghtier_kv_prefix_hashes", [&] {
    const auto ids = token_span(tokens, n_tokens);
    const std::string_view s = salt_of(salt);
    require_non_null(num_hashes, "num_hashes");
    if (hashes == nullptr && capacity != 0) {
      throw_error(ErrorCode::invalid_argument, fmt::format("hashes is NULL but capacity is {}", capacity));
    }
    if (tokens_per_block == 0) throw_error(ErrorCode::invalid_argument, "tokens_per_block is 0");
    const std::vector<KvBlockHash> all = kv_prefix_hashes(ids, tokens_per_block, s);
    for (std::size_t i = 0; i < all.size() && i < capacity; ++i) hashes[i] = all[i];
    *num_hashes = all.size();
  });
}

ghtier_status_t ghtier_kv_cache_register_prefix(ghtier_kv_cache_t* cache, uint64_t session, const int32_t* tokens,
                                                size_t n_tokens, const char* salt) {
  return guarded("ghtier_kv_cache_register_prefix", [&] {
    const auto ids = token_span(tokens, n_tokens);
    const std::string_view s = salt_of(salt);
    get_cache(cache)->object().register_prefix(session, ids, s);
  });
}

ghtier_status_t ghtier_kv_cache_lookup_prefix(ghtier_kv_cache_t* cache, const int32_t* tokens, size_t n_tokens,
                                              const char* salt, size_t* cached_tokens, int32_t* tiers, size_t capacity,
                                              size_t* num_blocks) {
  return guarded("ghtier_kv_cache_lookup_prefix", [&] {
    const auto ids = token_span(tokens, n_tokens);
    const std::string_view s = salt_of(salt);
    require_non_null(cached_tokens, "cached_tokens");
    if (tiers == nullptr && capacity != 0) {
      throw_error(ErrorCode::invalid_argument, fmt::format("tiers is NULL but capacity is {}", capacity));
    }
    const KvPrefixLookup found = get_cache(cache)->object().lookup_prefix(ids, s);
    for (std::size_t i = 0; i < found.tiers.size() && i < capacity; ++i)
      tiers[i] = static_cast<int32_t>(found.tiers[i]);
    *cached_tokens = found.cached_tokens;
    if (num_blocks != nullptr) *num_blocks = found.tiers.size();
  });
}

ghtier_status_t ghtier_kv_cache_create_from_prefix(ghtier_kv_cache_t* cache, const int32_t* tokens, size_t n_tokens,
                                                   const char* salt, int32_t priority, void* stream, uint64_t* session,
                                                   size_t* cached_tokens) {
  return guarded("ghtier_kv_cache_create_from_prefix", [&] {
    const auto ids = token_span(tokens, n_tokens);
    const std::string_view s = salt_of(salt);
    require_non_null(session, "session");
    const KvPrefixSession made =
        get_cache(cache)->object().create_from_prefix(ids, s, priority, ordered_stream(stream));
    *session = made.session;
    if (cached_tokens != nullptr) *cached_tokens = made.cached_tokens;
  });
}

ghtier_status_t ghtier_kv_cache_set_expiry(ghtier_kv_cache_t* cache, uint64_t session, double seconds) {
  return guarded("ghtier_kv_cache_set_expiry", [&] {
    if (std::isnan(seconds) || seconds < 0) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("seconds is {}: give a time >= 0, or INFINITY for never", seconds));
    }
    std::optional<std::chrono::nanoseconds> ttl;
    // Beyond about 292 years nanoseconds overflow: that is never.
    if (seconds < 9.0e9) ttl = std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
    get_cache(cache)->object().set_expiry(session, ttl);
  });
}

ghtier_status_t ghtier_kv_cache_session_tokens(ghtier_kv_cache_t* cache, uint64_t session, size_t* tokens) {
  return guarded("ghtier_kv_cache_session_tokens", [&] {
    require_non_null(tokens, "tokens");
    *tokens = get_cache(cache)->object().tokens(session);
  });
}

}  // extern "C"
