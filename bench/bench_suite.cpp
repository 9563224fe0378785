// Suite registry, ceilings and reporting helpers shared by every benchmark.
#include "bench_suite.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "core/platform/link_probe.hpp"
#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/link_model_cache.hpp"
#include "link_ceilings.hpp"

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
  if (!slot) {
    const DeviceAttributes attributes = query_device_attributes(device);
    slot = std::make_unique<Platform>(classify(attributes, cached_or_calibrated_link_model(attributes)));
  }
  return *slot;
}

namespace {
// Large enough for the copy engines' and the SMs' plateau, small enough that a measurement (warm-up and
// ceiling_probe_repeats runs) takes milliseconds.
constexpr std::size_t ceiling_probe_bytes = std::size_t{64} << 20;

struct CeilingState {
  std::mutex mutex;
  std::map<int, std::unique_ptr<detail::LinkProbe>> probes;
  std::map<int, CeilingSchedule> schedules;
  std::vector<std::pair<LinkFigure, double>> measurements;
};
CeilingState& ceiling_state() {
  static CeilingState state;
  return state;
}
}  // namespace

double measured_ceiling(int device, LinkFigure figure) {
  CeilingState& state = ceiling_state();
  std::lock_guard lock(state.mutex);
  auto& probe = state.probes[device];
  if (!probe) {
    probe = std::make_unique<detail::LinkProbe>(device, ceiling_probe_bytes);
    // Freed with the suites' buffers at the end of the run; the next run measures afresh.
    on_suite_cleanup([device] {
      CeilingState& s = ceiling_state();
      std::lock_guard inner(s.mutex);
      s.probes.erase(device);
      s.schedules.erase(device);
    });
  }
  CeilingSchedule& schedule = state.schedules.try_emplace(device, ceiling_refresh_cases).first->second;
  if (schedule.due(figure)) {
    const double value = probe->measure(figure, ceiling_probe_repeats);
    schedule.measured(figure, value);
    state.measurements.emplace_back(figure, value);
  }
  return schedule.use(figure);
}

std::vector<std::pair<LinkFigure, double>> ceiling_measurements() {
  CeilingState& state = ceiling_state();
  std::lock_guard lock(state.mutex);
  return state.measurements;
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
  const CeilingVerdict verdict = judge_against_ceiling(gbps, ceiling_gbps);
  state.counters["GBps"] = gbps;
  state.counters["ceiling_GBps"] = ceiling_gbps;
  state.counters["ratio"] = verdict.ratio;
  state.counters["suspect"] = verdict.suspect ? 1 : 0;
  state.SetLabel((verdict.suspect ? "SUSPECT: above 1.05x of " : "vs ") + ceiling_name);
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iteration * static_cast<double>(state.iterations())));
}

double report_against_ceiling(benchmark::State& state, double bytes_per_iteration, const Samples& samples, int device,
                              std::optional<LinkFigure> figure) {
  if (!figure) {
    report_bandwidth(state, bytes_per_iteration, samples, 0, "no GPU link ceiling: CPU-only work");
    return 0;
  }
  const double ceiling = measured_ceiling(device, *figure);
  report_bandwidth(state, bytes_per_iteration, samples, ceiling, describe_ceiling(*figure));
  return ceiling;
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
