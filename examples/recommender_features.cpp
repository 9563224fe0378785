// Recommender feature retrieval with the feature tables left in CPU memory: the shape of the GH200 talk's
// recommender (221k users with 40 continuous + 44 categorical features, 850k items with 20 + 16), random
// query batches of (user, item) pairs whose features the GPU gathers over the link with gather_auto, which
// picks the path (in place, sorted, or through a GPU row cache) for each call. Prints the path it took for
// each table, how many calls went each way (gather_auto_statistics), rows/s and GB/s against the link's SM
// read ceiling measured here; then the same for skewed (Zipf 0.99) item popularity with the most popular
// items cached in GPU memory and offered to gather_auto; checks a sample of rows against the CPU.
//   recommender_features [--quick]
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/kernels/gather_auto.hpp"
#include "ghtier/kernels/gather_path_chooser.hpp"
#include "ghtier/kernels/index_check.hpp"
#include "ghtier/kernels/row_cache.hpp"
#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/platform.hpp"

namespace {

constexpr std::size_t user_count = 221'000;
constexpr std::size_t item_count = 850'000;
constexpr std::size_t user_continuous = 40;
constexpr std::size_t user_categorical = 44;
constexpr std::size_t item_continuous = 20;
constexpr std::size_t item_categorical = 16;
// A row: the continuous features as float, then the categorical ones as int32 ids.
constexpr std::size_t user_row_bytes = 4 * (user_continuous + user_categorical);  // 336 B
constexpr std::size_t item_row_bytes = 4 * (item_continuous + item_categorical);  // 144 B

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(fmt::format("{}: {}", what, cudaGetErrorString(status)));
}

/// Memory the example owns: pinned host or device, freed on scope exit.
class Memory {
 public:
  Memory(std::size_t bytes, bool host) : host_(host) {
    check(host ? cudaHostAlloc(&data_, bytes, cudaHostAllocDefault) : cudaMalloc(&data_, bytes),
          host ? "cudaHostAlloc" : "cudaMalloc");
  }
  ~Memory() {
    if (host_) {
      cudaFreeHost(data_);
    } else {
      cudaFree(data_);
    }
  }
  Memory(const Memory&) = delete;
  Memory& operator=(const Memory&) = delete;
  template <class T = unsigned char>
  [[nodiscard]] T* get() const {
    return static_cast<T*>(data_);
  }

 private:
  void* data_ = nullptr;
  bool host_;
};

/// Fills `rows` feature rows in parallel: continuous features in [0, 1), categorical ids below 10^6.
void fill_features(unsigned char* table, std::size_t rows, std::size_t continuous, std::size_t categorical,
                   std::uint64_t seed) {
  const unsigned threads = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([=] {
      std::mt19937_64 rng(seed + t);
      std::uniform_real_distribution<float> value(0.f, 1.f);
      std::uniform_int_distribution<std::int32_t> id(0, 999'999);
      const std::size_t row_bytes = 4 * (continuous + categorical);
      for (std::size_t r = rows * t / threads; r < rows * (t + 1) / threads; ++r) {
        unsigned char* row = table + r * row_bytes;
        for (std::size_t f = 0; f < continuous; ++f) {
          const float v = value(rng);
          std::memcpy(row + 4 * f, &v, 4);
        }
        for (std::size_t f = 0; f < categorical; ++f) {
          const std::int32_t v = id(rng);
          std::memcpy(row + 4 * (continuous + f), &v, 4);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
}

/// Zipf(s) over n items, most popular first in a random order of the items.
std::vector<std::int32_t> zipf_items(std::mt19937_64& rng, std::size_t count, std::size_t n, double s,
                                     const std::vector<std::int32_t>& popularity_order) {
  const double a = 1.0 - s;
  const double h_max = (std::pow(static_cast<double>(n) + 1, a) - 1) / a;
  std::uniform_real_distribution<double> u(0.0, h_max);
  std::vector<std::int32_t> out(count);
  for (auto& i : out) {
    const double x = std::pow(1 + u(rng) * a, 1 / a);
    const auto rank = static_cast<std::size_t>(std::clamp(x, 1.0, static_cast<double>(n))) - 1;
    i = popularity_order[rank];
  }
  return out;
}

struct StreamDestroy {
  void operator()(cudaStream_t s) const noexcept { cudaStreamDestroy(s); }
};
struct EventDestroy {
  void operator()(cudaEvent_t e) const noexcept { cudaEventDestroy(e); }
};
using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroy>;
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroy>;

struct Result {
  double seconds = 0;
  std::size_t rows = 0;
  std::size_t bytes = 0;
  ghtier::GatherChoice user_choice;  // gather_auto's choice for the last batch of each table
  ghtier::GatherChoice item_choice;
  ghtier::GatherAutoStatistics calls;  // the timed calls, by path
};

/// "plain 200, cached 200": the paths gather_auto took, with their call counts.
std::string calls_by_path(const ghtier::GatherAutoStatistics& calls) {
  std::string out;
  for (std::size_t p = 0; p < ghtier::gather_path_count; ++p) {
    const auto path = static_cast<ghtier::GatherPath>(p);
    if (calls.of(path) == 0) continue;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", ghtier::to_string(path), calls.of(path));
  }
  return out.empty() ? "none" : out;
}

/// Checks `samples` random positions of the last batch's output against the tables on the CPU.
bool check_sample(const unsigned char* table, std::size_t row_bytes, const std::int32_t* host_indices,
                  const unsigned char* device_out, std::size_t batch, std::mt19937_64& rng, const char* what) {
  std::vector<unsigned char> out(batch * row_bytes);
  check(cudaMemcpy(out.data(), device_out, out.size(), cudaMemcpyDeviceToHost), "cudaMemcpy");
  std::uniform_int_distribution<std::size_t> pick(0, batch - 1);
  for (int s = 0; s < 1000; ++s) {
    const std::size_t i = pick(rng);
    const unsigned char* want = table + static_cast<std::size_t>(host_indices[i]) * row_bytes;
    if (std::memcmp(out.data() + i * row_bytes, want, row_bytes) != 0) {
      std::fprintf(stderr, "MISMATCH: %s row %zu (id %d) differs from the CPU table\n", what, i, host_indices[i]);
      return false;
    }
  }
  return true;
}

int run(bool quick) {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  const ghtier::Platform platform = ghtier::detect_platform(device);
  ghtier::CalibrationOptions calibration;
  calibration.time_budget_seconds = 1.0;
  calibration.transfer_bytes = 64u << 20;
  const ghtier::LinkModel link = ghtier::calibrate(device, calibration);
  fmt::print("device: {} ({}), link SM read ceiling {:.1f} GB/s (calibrated)\n", platform.attributes.name,
             ghtier::to_string(platform.platform_class), link.sm_read_gbps);

  const std::size_t batch = quick ? 16384 : 65536;
  const std::size_t batches = quick ? 20 : 200;
  fmt::print("tables in pinned CPU memory: users {} x {} B = {:.1f} MB, items {} x {} B = {:.1f} MB\n", user_count,
             user_row_bytes, user_count * user_row_bytes / 1e6, item_count, item_row_bytes,
             item_count * item_row_bytes / 1e6);
  Memory users(user_count * user_row_bytes, true);
  Memory items(item_count * item_row_bytes, true);
  fill_features(users.get(), user_count, user_continuous, user_categorical, 1);
  fill_features(items.get(), item_count, item_continuous, item_categorical, 2);

  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int32_t> any_user(0, static_cast<std::int32_t>(user_count) - 1);
  std::uniform_int_distribution<std::int32_t> any_item(0, static_cast<std::int32_t>(item_count) - 1);
  std::vector<std::int32_t> user_ids(batch * batches);
  std::vector<std::int32_t> item_ids(batch * batches);
  for (auto& u : user_ids) u = any_user(rng);
  for (auto& i : item_ids) i = any_item(rng);
  std::vector<std::int32_t> popularity(item_count);
  for (std::size_t i = 0; i < item_count; ++i) popularity[i] = static_cast<std::int32_t>(i);
  std::shuffle(popularity.begin(), popularity.end(), rng);
  const std::vector<std::int32_t> skewed_items = zipf_items(rng, batch * batches, item_count, 0.99, popularity);

  Memory d_users_idx(user_ids.size() * 4, false);
  Memory d_items_idx(item_ids.size() * 4, false);
  Memory d_skewed_idx(skewed_items.size() * 4, false);
  check(cudaMemcpy(d_users_idx.get(), user_ids.data(), user_ids.size() * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
  check(cudaMemcpy(d_items_idx.get(), item_ids.data(), item_ids.size() * 4, cudaMemcpyHostToDevice), "cudaMemcpy");
  check(cudaMemcpy(d_skewed_idx.get(), skewed_items.data(), skewed_items.size() * 4, cudaMemcpyHostToDevice),
        "cudaMemcpy");
  // From pageable memory cudaMemcpy returns once the keys are staged, not landed, and the gathers below read
  // them on a non-blocking stream: wait for the device first.
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  Memory user_features(batch * user_row_bytes, false);
  Memory item_features(batch * item_row_bytes, false);

  cudaStream_t raw_stream = nullptr;
  check(cudaStreamCreateWithFlags(&raw_stream, cudaStreamNonBlocking), "cudaStreamCreate");
  const Stream owned_stream(raw_stream);
  cudaStream_t stream = owned_stream.get();
  cudaEvent_t raw_start = nullptr;
  cudaEvent_t raw_stop = nullptr;
  check(cudaEventCreate(&raw_start), "cudaEventCreate");
  const Event owned_start(raw_start);
  check(cudaEventCreate(&raw_stop), "cudaEventCreate");
  const Event owned_stop(raw_stop);
  cudaEvent_t start = raw_start;
  cudaEvent_t stop = raw_stop;
  ghtier::IndexCheck index_check;

  // Every gather goes through gather_auto: it picks the path per call from what it is told about the keys
  // (and the item cache, when one is offered) and counts its choices.
  ghtier::GatherAutoOptions user_options;
  user_options.keys = ghtier::KeyDistributionHint::uniform;
  user_options.platform = &platform;
  user_options.check = &index_check;
  auto gather_batches = [&](const std::int32_t* d_items, const ghtier::GatherAutoOptions& item_options, Result& r) {
    for (std::size_t b = 0; b < batches; ++b) {
      r.user_choice =
          ghtier::gather_auto(users.get(), user_row_bytes, user_count, d_users_idx.get<std::int32_t>() + b * batch,
                              batch, user_features.get(), stream, user_options);
      r.item_choice = ghtier::gather_auto(items.get(), item_row_bytes, item_count, d_items + b * batch, batch,
                                          item_features.get(), stream, item_options);
    }
  };
  auto timed = [&](const std::int32_t* d_items, const ghtier::GatherAutoOptions& item_options) {
    Result r;
    r.rows = 2 * batch * batches;
    r.bytes = batch * batches * (user_row_bytes + item_row_bytes);
    gather_batches(d_items, item_options, r);  // warm-up
    if (item_options.cache != nullptr) item_options.cache->reset_stats(stream);
    ghtier::reset_gather_auto_statistics();
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    gather_batches(d_items, item_options, r);
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    r.calls = ghtier::gather_auto_statistics();
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    index_check.check(stream);
    r.seconds = ms * 1e-3;
    return r;
  };
  // link_bytes: what crossed the link, where it is known (< 0: not known for the path taken).
  auto report = [&](const char* what, const Result& r, double link_bytes) {
    fmt::print("{}: gather_auto took {} for users ({}), {} for items ({}); calls by path: {}\n", what,
               ghtier::to_string(r.user_choice.path), r.user_choice.reason, ghtier::to_string(r.item_choice.path),
               r.item_choice.reason, calls_by_path(r.calls));
    const std::string link_rate =
        link_bytes < 0 ? std::string("bytes over the link not counted for this path")
                       : fmt::format("{:.1f} GB/s over the link = {:.2f} of the {:.1f} GB/s ceiling",
                                     link_bytes / r.seconds * 1e-9, link_bytes / r.seconds * 1e-9 / link.sm_read_gbps,
                                     link.sm_read_gbps);
    fmt::print("{}: {} batches of {} (user, item) pairs in {:.2f} ms: {:.1f} M rows/s, {:.1f} GB/s of features, {}\n",
               what, batches, batch, r.seconds * 1e3, r.rows / r.seconds * 1e-6,
               static_cast<double>(r.bytes) / r.seconds * 1e-9, link_rate);
  };
  // Only the in-place and cached paths read a known number of bytes over the link (sorted reads each
  // distinct row once; the CPU pipeline is not offered here).
  auto known_link_bytes = [&](const Result& r, double item_miss_fraction) {
    std::uint64_t all_calls = 0;
    for (const std::uint64_t n : r.calls.calls) all_calls += n;
    if (r.calls.of(ghtier::GatherPath::plain) + r.calls.of(ghtier::GatherPath::cached) != all_calls) return -1.0;
    return static_cast<double>(batch * batches) *
           (static_cast<double>(user_row_bytes) + item_miss_fraction * static_cast<double>(item_row_bytes));
  };

  // Phase 1: uniform users and items, no cache offered.
  const Result uniform = timed(d_items_idx.get<std::int32_t>(), user_options);
  report("uniform items, no cache", uniform, known_link_bytes(uniform, 1.0));
  const std::size_t last = (batches - 1) * batch;
  bool ok = check_sample(users.get(), user_row_bytes, user_ids.data() + last, user_features.get(), batch, rng,
                         "user features") &&
            check_sample(items.get(), item_row_bytes, item_ids.data() + last, item_features.get(), batch, rng,
                         "item features");

  // Phase 2: skewed item popularity; the 5% most popular items cached in GPU memory.
  const std::size_t cached = item_count / 20;
  std::vector<std::int64_t> hot(cached);
  for (std::size_t r = 0; r < cached; ++r) hot[r] = popularity[r];
  ghtier::RowCache item_cache(items.get(), item_row_bytes, item_count, hot, stream);
  ghtier::GatherAutoOptions cached_skewed_items = user_options;
  cached_skewed_items.keys = ghtier::KeyDistributionHint::skewed;
  cached_skewed_items.cache = &item_cache;
  const Result skewed = timed(d_skewed_idx.get<std::int32_t>(), cached_skewed_items);
  const ghtier::RowCache::Stats stats = item_cache.stats(stream);
  const std::uint64_t cache_lookups = stats.hits + stats.misses;
  // Item rows read over the link: the cache's misses, and every row of a call that did not take the cached path.
  const std::uint64_t uncached_calls =
      batches - std::min<std::uint64_t>(batches, skewed.calls.of(ghtier::GatherPath::cached));
  const double miss_fraction =
      static_cast<double>(stats.misses + uncached_calls * batch) / static_cast<double>(batch * batches);
  report("Zipf(0.99) items, 5% cached", skewed, known_link_bytes(skewed, miss_fraction));
  fmt::print("item cache: {} rows ({:.1f} MB of GPU memory), {} lookups in the timed run, hit rate {:.1f}%\n",
             item_cache.cached_rows(), item_cache.device_bytes() / 1e6, cache_lookups,
             cache_lookups == 0 ? 0.0 : 100.0 * static_cast<double>(stats.hits) / static_cast<double>(cache_lookups));
  ok = ok && check_sample(items.get(), item_row_bytes, skewed_items.data() + last, item_features.get(), batch, rng,
                          "skewed item features");

  fmt::print("check against the CPU tables: {}\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }
  try {
    return run(quick);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recommender_features: %s\n", e.what());
    return 1;
  }
}
