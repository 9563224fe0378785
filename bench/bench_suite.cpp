// Suite registry, ceilings and reporting helpers shared by every benchmark.
#include "bench_suite.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "ghtier/platform/link_model.hpp"

namespace ghtier::bench {

namespace {
std::vector<std::pair<std::string, SuiteFunction>>& registry() {
  static std::vector<std::pair<std::string, SuiteFunction>> suites;
  return suites;
}

std::mutex cleanup_mutex;
std::vector<std::function<void()>>& cleanups() {
  static std::vector<std::function<void()>> functions;
  return functions;
}
}  // namespace

SuiteRegistration::SuiteRegistration(const char* name, SuiteFunction function) {
  registry().emplace_back(name, function);
}

void register_all_suites(const BenchOptions& options) {
  for (const auto& [name, function] : registry()) function(options);
}

std::vector<std::string> suite_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

void on_suite_cleanup(std::function<void()> cleanup) {
  std::lock_guard lock(cleanup_mutex);
  cleanups().push_back(std::move(cleanup));
}

void release_suite_resources() noexcept {
  std::vector<std::function<void()>> functions;
  {
    std::lock_guard lock(cleanup_mutex);
    functions.swap(cleanups());
  }
  for (auto it = functions.rbegin(); it != functions.rend(); ++it) {
    try {
      (*it)();
    } catch (const std::exception& e) {
      ghtier::log(LogLevel::error, "benchmark cleanup failed: {}", e.what());
    }
  }
}

const Platform& bench_platform(int device) {
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<Platform>> cache;
  std::lock_guard lock(mutex);
  auto& slot = cache[device];
  if (!slot) slot = std::make_unique<Platform>(classify(query_device_attributes(device), calibrate(device)));
  return *slot;
}

double Samples::median() const {
  if (seconds_.empty()) return 0;
  std::vector<double> sorted = seconds_;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

double Samples::percentile(double q) const {
  if (seconds_.empty()) return 0;
  std::vector<double> sorted = seconds_;
  std::sort(sorted.begin(), sorted.end());
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  return sorted[static_cast<std::size_t>(std::lround(rank))];
}

void report_bandwidth(benchmark::State& state, double bytes_per_iteration, const Samples& samples, double ceiling_gbps,
                      const std::string& ceiling_name) {
  const double median = samples.median();
  const double gbps = median > 0 ? bytes_per_iteration / median * 1e-9 : 0;
  state.counters["GBps"] = gbps;
  state.counters["ceiling_GBps"] = ceiling_gbps;
  state.counters["ratio"] = ceiling_gbps > 0 ? gbps / ceiling_gbps : 0;
  state.SetLabel("vs " + ceiling_name);
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iteration * static_cast<double>(state.iterations())));
}

void report_latency(benchmark::State& state, const Samples& samples, double baseline_us,
                    const std::string& baseline_name) {
  const double us = samples.median() * 1e6;
  state.counters["us"] = us;
  state.counters["baseline_us"] = baseline_us;
  state.counters["ratio"] = baseline_us > 0 ? us / baseline_us : 0;
  state.SetLabel("vs " + baseline_name);
}

EventTimer::EventTimer() {
  GHTIER_CUDA_CHECK(cudaEventCreate(&start_));
  try {
    GHTIER_CUDA_CHECK(cudaEventCreate(&stop_));
  } catch (...) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(start_));
    throw;
  }
}

EventTimer::~EventTimer() {
  GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(start_));
  GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(stop_));
}

void EventTimer::start(cudaStream_t stream) { GHTIER_CUDA_CHECK(cudaEventRecord(start_, stream)); }
void EventTimer::stop(cudaStream_t stream) { GHTIER_CUDA_CHECK(cudaEventRecord(stop_, stream)); }

double EventTimer::elapsed_seconds() {
  GHTIER_CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0;
  GHTIER_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return static_cast<double>(ms) * 1e-3;
}

}  // namespace ghtier::bench
