// The C API of the copy, gather, scatter and row-cache kernels (include/ghtier/ghtier_kernels.h): thin
// wrappers over the C++ functions; capi::guarded turns every exception into a status and a message.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <span>

#include <fmt/format.h>

#include "capi/c_api_errors.hpp"
#include "ghtier/error.hpp"
#include "ghtier/gather.hpp"
#include "ghtier/ghtier_kernels.h"
#include "ghtier/index_check.hpp"
#include "ghtier/row_cache.hpp"
#include "ghtier/scatter.hpp"
#include "ghtier/sm_copy.hpp"
#include "ghtier/sorted_gather.hpp"

struct ghtier_index_check {
  ghtier::IndexCheck check;
};

struct ghtier_row_cache {
  ghtier::RowCache cache;
};

namespace {
cudaStream_t to_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

ghtier::IndexCheck* to_check(ghtier_index_check_t* check) { return check != nullptr ? &check->check : nullptr; }

void require_output(const void* p, const char* name) {
  if (p == nullptr) throw ghtier::Error(ghtier::ErrorCode::invalid_argument, fmt::format("{} is null", name));
}

/// Calls f with the index list typed as index_type says.
template <class F>
void with_indices(const void* indices, ghtier_index_type_t index_type, F&& f) {
  switch (index_type) {
    case GHTIER_INDEX_INT32: f(static_cast<const std::int32_t*>(indices)); return;
    case GHTIER_INDEX_INT64: f(static_cast<const std::int64_t*>(indices)); return;
  }
  throw ghtier::Error(ghtier::ErrorCode::invalid_argument,
                      fmt::format("index_type {} is neither GHTIER_INDEX_INT32 nor GHTIER_INDEX_INT64",
                                  static_cast<int>(index_type)));
}
}  // namespace

extern "C" {

ghtier_status_t ghtier_index_check_create(ghtier_index_check_t** check) {
  return ghtier::capi::guarded("ghtier_index_check_create", [&] {
    require_output(check, "check");
    *check = nullptr;
    *check = new ghtier_index_check{ghtier::IndexCheck()};
  });
}

ghtier_status_t ghtier_index_check_destroy(ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_index_check_destroy", [&] { delete check; });
}

ghtier_status_t ghtier_index_check_check(ghtier_index_check_t* check, void* stream) {
  return ghtier::capi::guarded("ghtier_index_check_check", [&] {
    require_output(check, "check");
    check->check.check(to_stream(stream));
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

ghtier_status_t ghtier_gather(const void* table, size_t row_bytes, size_t num_rows, const void* indices,
                              ghtier_index_type_t index_type, size_t count, void* out, void* stream,
                              ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_gather", [&] {
    with_indices(indices, index_type, [&](auto typed) {
      ghtier::gather(table, row_bytes, num_rows, typed, count, out, to_stream(stream), to_check(check));
    });
  });
}

ghtier_status_t ghtier_sorted_gather(const void* table, size_t row_bytes, size_t num_rows, const void* indices,
                                     ghtier_index_type_t index_type, size_t count, void* out, void* stream,
                                     ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_sorted_gather", [&] {
    with_indices(indices, index_type, [&](auto typed) {
      ghtier::sorted_gather(table, row_bytes, num_rows, typed, count, out, to_stream(stream), to_check(check));
    });
  });
}

ghtier_status_t ghtier_scatter(const void* rows, size_t row_bytes, size_t count, const void* indices,
                               ghtier_index_type_t index_type, void* table, size_t num_rows, void* stream,
                               ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_scatter", [&] {
    with_indices(indices, index_type, [&](auto typed) {
      ghtier::scatter(rows, row_bytes, count, typed, table, num_rows, to_stream(stream), to_check(check));
    });
  });
}

ghtier_status_t ghtier_row_cache_create(const void* table, size_t row_bytes, size_t num_rows, const int64_t* hot_rows,
                                        size_t hot_count, void* stream, ghtier_row_cache_t** cache) {
  return ghtier::capi::guarded("ghtier_row_cache_create", [&] {
    require_output(cache, "cache");
    *cache = nullptr;
    if (hot_rows == nullptr && hot_count > 0) {
      throw ghtier::Error(ghtier::ErrorCode::invalid_argument,
                          fmt::format("hot_rows is null with hot_count {}", hot_count));
    }
    const std::span<const std::int64_t> hot(hot_rows, hot_rows != nullptr ? hot_count : 0);
    *cache = new ghtier_row_cache{ghtier::RowCache(table, row_bytes, num_rows, hot, to_stream(stream))};
  });
}

ghtier_status_t ghtier_row_cache_create_from_frequencies(const void* table, size_t row_bytes, size_t num_rows,
                                                         const uint64_t* frequencies, size_t capacity_rows,
                                                         void* stream, ghtier_row_cache_t** cache) {
  return ghtier::capi::guarded("ghtier_row_cache_create_from_frequencies", [&] {
    require_output(cache, "cache");
    *cache = nullptr;
    require_output(frequencies, "frequencies");
    const std::span<const std::uint64_t> counts(frequencies, num_rows);
    *cache = new ghtier_row_cache{
        ghtier::RowCache::from_frequencies(table, row_bytes, num_rows, counts, capacity_rows, to_stream(stream))};
  });
}

ghtier_status_t ghtier_row_cache_destroy(ghtier_row_cache_t* cache) {
  return ghtier::capi::guarded("ghtier_row_cache_destroy", [&] { delete cache; });
}

ghtier_status_t ghtier_row_cache_gather(ghtier_row_cache_t* cache, const void* indices, ghtier_index_type_t index_type,
                                        size_t count, void* out, void* stream, ghtier_index_check_t* check) {
  return ghtier::capi::guarded("ghtier_row_cache_gather", [&] {
    require_output(cache, "cache");
    with_indices(indices, index_type, [&](auto typed) {
      cache->cache.gather(typed, count, out, to_stream(stream), to_check(check));
    });
  });
}

ghtier_status_t ghtier_row_cache_stats(ghtier_row_cache_t* cache, void* stream, uint64_t* hits, uint64_t* misses) {
  return ghtier::capi::guarded("ghtier_row_cache_stats", [&] {
    require_output(cache, "cache");
    const ghtier::RowCache::Stats stats = cache->cache.stats(to_stream(stream));
    if (hits != nullptr) *hits = stats.hits;
    if (misses != nullptr) *misses = stats.misses;
  });
}

ghtier_status_t ghtier_row_cache_info(const ghtier_row_cache_t* cache, size_t* cached_rows, size_t* device_bytes) {
  return ghtier::capi::guarded("ghtier_row_cache_info", [&] {
    require_output(cache, "cache");
    if (cached_rows != nullptr) *cached_rows = cache->cache.cached_rows();
    if (device_bytes != nullptr) *device_bytes = cache->cache.device_bytes();
  });
}

}  // extern "C"
