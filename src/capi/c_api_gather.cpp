// The C API of the copy, gather, scatter and row-cache kernels (include/ghtier/ghtier_kernels.h): thin
// wrappers over the C++ functions; index checks and row caches are handles in the one handle registry, and
// keep the runtime they were made from alive; capi::guarded turns every exception into a status.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "capi/c_api_handles.hpp"
#include "capi/c_api_holder.hpp"
#include "capi/c_api_runtime.hpp"
#include "capi/c_api_struct_version.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier_kernels.h"
#include "ghtier/kernels/cpu_gather_pipeline.hpp"
#include "ghtier/kernels/gather.hpp"
#include "ghtier/kernels/gather_auto.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "ghtier/kernels/scatter.hpp"
#include "ghtier/kernels/sm_copy.hpp"
#include "ghtier/kernels/sorted_gather.hpp"

namespace {

using ghtier::capi::HandleKind;
using ghtier::capi::require_non_null;

// A handle object keeps its runtime alive: its device memory counts against that runtime's device budget.
using IndexCheckHolder = ghtier::capi::Holder<ghtier_index_check_t, ghtier::IndexCheck, HandleKind::index_check>;
using RowCacheHolder = ghtier::capi::Holder<ghtier_row_cache_t, ghtier::RowCache, HandleKind::row_cache>;

// The C enums mirror the C++ ones value for value.
static_assert(GHTIER_KEYS_UNKNOWN == static_cast<int>(ghtier::KeyDistributionHint::unknown) &&
              GHTIER_KEYS_UNIFORM == static_cast<int>(ghtier::KeyDistributionHint::uniform) &&
              GHTIER_KEYS_SKEWED == static_cast<int>(ghtier::KeyDistributionHint::skewed));
static_assert(GHTIER_GATHER_PATH_PLAIN == static_cast<int>(ghtier::GatherPath::plain) &&
              GHTIER_GATHER_PATH_SORTED == static_cast<int>(ghtier::GatherPath::sorted) &&
              GHTIER_GATHER_PATH_CACHED == static_cast<int>(ghtier::GatherPath::cached) &&
              GHTIER_GATHER_PATH_CPU_PIPELINED == static_cast<int>(ghtier::GatherPath::cpu_pipelined));

cudaStream_t to_stream(void* stream) { return static_cast<cudaStream_t>(stream); }  // NULL: legacy default

// The runtime of an allocating call: a live runtime handle (INVALID_ARGUMENT otherwise), kept alive for the
// call or by the handle made. Its device resource is to supply the call's device memory (see the
// "budget:" marks); the kernels run on the current device, and the kernel's own argument checks come after.
std::shared_ptr<ghtier::Runtime> runtime_for_kernels(ghtier_runtime_t* runtime) {
  return ghtier::capi::shared_runtime_of(runtime);
}

// The index check behind a handle (NULL: none), kept alive for the call.
std::shared_ptr<IndexCheckHolder> get_check(ghtier_index_check_t* check) {
  if (check == nullptr) return nullptr;
  return IndexCheckHolder::get(check, "check");
}
ghtier::IndexCheck* to_check(const std::shared_ptr<IndexCheckHolder>& check) {
  return check != nullptr ? &check->object() : nullptr;
}

std::shared_ptr<RowCacheHolder> get_cache(ghtier_row_cache_t* cache) { return RowCacheHolder::get(cache, "cache"); }

/// Calls f with the index list typed as index_type says.
template <class F>
void with_indices(const void* indices, ghtier_index_type_t index_type, F&& f) {
  switch (index_type) {
    case GHTIER_INDEX_INT32: f(static_cast<const std::int32_t*>(indices)); return;
    case GHTIER_INDEX_INT64: f(static_cast<const std::int64_t*>(indices)); return;
  }
  ghtier::throw_error(
      ghtier::ErrorCode::invalid_argument,
      fmt::format("index_type {} is neither GHTIER_INDEX_INT32 nor GHTIER_INDEX_INT64", static_cast<int>(index_type)));
}
}  // namespace

extern "C" {

ghtier_status_t ghtier_index_check_create(ghtier_runtime_t* runtime, ghtier_index_check_t** check) {
  return ghtier::capi::guarded("ghtier_index_check_create", [&] {
    require_non_null(check, "check");
    *check = nullptr;
    *check = IndexCheckHolder::create(runtime_for_kernels(runtime), [](ghtier::Runtime& owner) {
      return ghtier::IndexCheck(ghtier::capi::kernel_resource(owner));
    });
  });
}

ghtier_status_t ghtier_index_check_destroy(ghtier_index_check_t* check) {
  return IndexCheckHolder::destroy("ghtier_index_check_destroy", check, "check");
}

ghtier_status_t ghtier_index_check_verify(ghtier_index_check_t* check, void* stream) {
  return ghtier::capi::guarded("ghtier_index_check_verify", [&] {
    require_non_null(check, "check");
    get_check(check)->object().check(to_stream(stream));
  });
}

ghtier_status_t ghtier_sm_copy(void* dst, const void* src, size_t bytes, void* stream) {
  return ghtier::capi::guarded("ghtier_sm_copy", [&] { ghtier::sm_copy(dst, src, bytes, to_stream(stream)); });
}

ghtier_status_t ghtier_sm_copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width_bytes,
                                  size_t height, void* stream) {
  return ghtier::capi::guarded("ghtier_sm_copy_2d", [&] {
    ghtier::sm_copy_2d(dst, dst_pitch, src, src_pitch, width_bytes, height, to_stream(stream));
  });
}

ghtier_status_t ghtier_gather(ghtier_runtime_t* runtime, const void* table, size_t row_bytes, size_t num_rows,
                              const void* indices, ghtier_index_type_t index_type, size_t count, void* out,
                              void* stream, ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_gather", [&] {
    const auto owner = runtime_for_kernels(runtime);
    const auto checked = get_check(check);
    with_indices(indices, index_type, [&](auto typed) {
      ghtier::gather(table, row_bytes, num_rows, typed, count, out, to_stream(stream), to_check(checked),
                     ghtier::capi::kernel_resource(*owner));
    });
  });
}

ghtier_status_t ghtier_sorted_gather(ghtier_runtime_t* runtime, const void* table, size_t row_bytes, size_t num_rows,
                                     const void* indices, ghtier_index_type_t index_type, size_t count, void* out,
                                     void* stream, ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_sorted_gather", [&] {
    const auto owner = runtime_for_kernels(runtime);
    const auto checked = get_check(check);
    with_indices(indices, index_type, [&](auto typed) {
      ghtier::sorted_gather(table, row_bytes, num_rows, typed, count, out, to_stream(stream), to_check(checked),
                            ghtier::capi::kernel_resource(*owner));
    });
  });
}

ghtier_status_t ghtier_scatter(ghtier_runtime_t* runtime, const void* rows, size_t row_bytes, size_t count,
                               const void* indices, ghtier_index_type_t index_type, void* table, size_t num_rows,
                               void* stream, ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_scatter", [&] {
    const auto owner = runtime_for_kernels(runtime);
    const auto checked = get_check(check);
    with_indices(indices, index_type, [&](auto typed) {
      ghtier::scatter(rows, row_bytes, count, typed, table, num_rows, to_stream(stream), to_check(checked),
                      ghtier::capi::kernel_resource(*owner));
    });
  });
}

ghtier_status_t ghtier_gather_auto(ghtier_runtime_t* runtime, const void* table, size_t row_bytes, size_t num_rows,
                                   const void* indices, ghtier_index_type_t index_type, size_t count, void* out,
                                   void* stream, ghtier_index_check_t* check,
                                   const ghtier_gather_auto_options_t* options, ghtier_gather_choice_t* choice) {
  return ghtier::capi::guarded("ghtier_gather_auto", [&] {
    const auto owner = runtime_for_kernels(runtime);
    const auto checked = get_check(check);
    if (choice != nullptr) ghtier::capi::check_output(choice, "choice");
    ghtier_gather_auto_options_t in{};
    in.struct_size = sizeof(in);
    in.cache_hit_rate = -1;
    if (options != nullptr) {
      in = ghtier::capi::read_versioned(options, in, offsetof(ghtier_gather_auto_options_t, cache), "options");
    }
    if (in.key_distribution < GHTIER_KEYS_UNKNOWN || in.key_distribution > GHTIER_KEYS_SKEWED) {
      ghtier::throw_error(
          ghtier::ErrorCode::invalid_argument,
          fmt::format("options->key_distribution {} is not a ghtier_key_distribution_t", in.key_distribution));
    }
    std::shared_ptr<RowCacheHolder> cache;
    if (in.cache != nullptr) cache = get_cache(in.cache);
    std::shared_ptr<ghtier::CpuGatherPipeline> pipeline;
    if (in.pipeline != nullptr) {
      pipeline = ghtier::capi::get_handle<ghtier::CpuGatherPipeline>(in.pipeline, HandleKind::cpu_gather_pipeline,
                                                                     "options->pipeline");
    }
    ghtier::GatherAutoOptions o;
    o.keys = static_cast<ghtier::KeyDistributionHint>(in.key_distribution);  // the same order
    o.keys_sorted = in.keys_sorted != 0;
    o.cache = cache != nullptr ? &cache->object() : nullptr;
    o.cache_hit_rate = in.cache_hit_rate;
    o.pipeline = pipeline.get();
    o.platform = &owner->platform();
    o.check = to_check(checked);
    ghtier::GatherChoice made;
    with_indices(indices, index_type, [&](auto typed) {
      made = ghtier::gather_auto(table, row_bytes, num_rows, typed, count, out, to_stream(stream), o,
                                 ghtier::capi::kernel_resource(*owner));
    });
    if (choice != nullptr) {
      ghtier_gather_choice_t result{};
      result.struct_size = sizeof(result);
      result.path = static_cast<int32_t>(made.path);
      for (std::size_t p = 0; p < ghtier::gather_path_count; ++p) result.predicted_gbps[p] = made.estimates[p].gbps;
      const std::size_t n = std::min(made.reason.size(), sizeof(result.reason) - 1);
      std::memcpy(result.reason, made.reason.data(), n);
      result.reason[n] = '\0';
      ghtier::capi::write_versioned(choice, result);
    }
  });
}

ghtier_status_t ghtier_cpu_gather_pipeline_create(uint32_t threads, size_t chunk_bytes,
                                                  ghtier_cpu_gather_pipeline_t** pipeline) {
  return ghtier::capi::guarded("ghtier_cpu_gather_pipeline_create", [&] {
    require_non_null(pipeline, "pipeline");
    *pipeline = nullptr;
    ghtier::CpuGatherPipeline::Options options;
    options.threads = threads;
    if (chunk_bytes != 0) options.chunk_bytes = chunk_bytes;
    auto p = std::make_shared<ghtier::CpuGatherPipeline>(options);
    *pipeline = ghtier::capi::add_handle<ghtier_cpu_gather_pipeline_t>(HandleKind::cpu_gather_pipeline, std::move(p));
  });
}

ghtier_status_t ghtier_cpu_gather_pipeline_destroy(ghtier_cpu_gather_pipeline_t* pipeline) {
  return ghtier::capi::guarded("ghtier_cpu_gather_pipeline_destroy", [&] {
    if (pipeline == nullptr) return;
    (void)ghtier::capi::remove_handle<ghtier::CpuGatherPipeline>(pipeline, HandleKind::cpu_gather_pipeline, "pipeline");
  });
}

ghtier_status_t ghtier_row_cache_create(ghtier_runtime_t* runtime, const void* table, size_t row_bytes, size_t num_rows,
                                        const int64_t* hot_rows, size_t hot_count, void* stream,
                                        ghtier_row_cache_t** cache) {
  return ghtier::capi::guarded("ghtier_row_cache_create", [&] {
    require_non_null(cache, "cache");
    *cache = nullptr;
    auto owner = runtime_for_kernels(runtime);
    if (hot_rows == nullptr && hot_count > 0) {
      ghtier::throw_error(ghtier::ErrorCode::invalid_argument,
                          fmt::format("hot_rows is NULL with hot_count {}", hot_count));
    }
    const std::span<const std::int64_t> hot(hot_rows, hot_rows != nullptr ? hot_count : 0);
    *cache = RowCacheHolder::create(std::move(owner), [&](ghtier::Runtime& kept) {
      return ghtier::RowCache(table, row_bytes, num_rows, hot, to_stream(stream), ghtier::capi::kernel_resource(kept));
    });
  });
}

ghtier_status_t ghtier_row_cache_create_from_frequencies(ghtier_runtime_t* runtime, const void* table, size_t row_bytes,
                                                         size_t num_rows, const uint64_t* frequencies,
                                                         size_t capacity_rows, void* stream,
                                                         ghtier_row_cache_t** cache) {
  return ghtier::capi::guarded("ghtier_row_cache_create_from_frequencies", [&] {
    require_non_null(cache, "cache");
    *cache = nullptr;
    auto owner = runtime_for_kernels(runtime);
    if (frequencies == nullptr) ghtier::throw_error(ghtier::ErrorCode::invalid_argument, "frequencies is NULL");
    const std::span<const std::uint64_t> counts(frequencies, num_rows);
    *cache = RowCacheHolder::create(std::move(owner), [&](ghtier::Runtime& kept) {
      return ghtier::RowCache::from_frequencies(table, row_bytes, num_rows, counts, capacity_rows, to_stream(stream),
                                                ghtier::capi::kernel_resource(kept));
    });
  });
}

ghtier_status_t ghtier_row_cache_destroy(ghtier_row_cache_t* cache) {
  return RowCacheHolder::destroy("ghtier_row_cache_destroy", cache, "cache");
}

ghtier_status_t ghtier_row_cache_gather(ghtier_row_cache_t* cache, const void* indices, ghtier_index_type_t index_type,
                                        size_t count, void* out, void* stream, ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_row_cache_gather", [&] {
    const auto c = get_cache(cache);
    const auto checked = get_check(check);
    with_indices(indices, index_type,
                 [&](auto typed) { c->object().gather(typed, count, out, to_stream(stream), to_check(checked)); });
  });
}

ghtier_status_t ghtier_row_cache_get_statistics(ghtier_row_cache_t* cache, void* stream, uint64_t* hits,
                                                uint64_t* misses) {
  return ghtier::capi::guarded("ghtier_row_cache_get_statistics", [&] {
    const auto c = get_cache(cache);
    const ghtier::RowCache::Stats stats = c->object().stats(to_stream(stream));
    if (hits != nullptr) *hits = stats.hits;
    if (misses != nullptr) *misses = stats.misses;
  });
}

ghtier_status_t ghtier_row_cache_get_info(ghtier_row_cache_t* cache, size_t* cached_rows, size_t* device_bytes) {
  return ghtier::capi::guarded("ghtier_row_cache_get_info", [&] {
    const auto c = get_cache(cache);
    if (cached_rows != nullptr) *cached_rows = c->object().cached_rows();
    if (device_bytes != nullptr) *device_bytes = c->object().device_bytes();
  });
}

}  // extern "C"
