// The benchmark harness: suites register themselves, and every result reports against a ceiling.
//
// A suite is a function that registers Google Benchmark cases for the given options; GHTIER_BENCH_SUITE
// adds it to the harness at static-initialisation time, so a new suite is a new file and nothing else.
// Both `ghtier_bench` (plain Google Benchmark) and `ghtier bench` (progress + summary table) run them.
//
// Every case times each iteration with CUDA events (EventTimer), feeds the seconds to state.SetIterationTime
// (register with UseManualTime()) and to a Samples, and at the end reports the median against a ceiling:
//   report_against_ceiling(state, bytes_moved_per_iteration, samples, device, LinkFigure::sm_read)
//     -> a link ceiling measured in this run next to the case (measured_ceiling), as report_bandwidth
//   report_bandwidth(state, bytes_moved_per_iteration, samples, ceiling_gbps, "what the ceiling is")
//     -> counters GBps, ceiling_GBps, ratio (GBps / ceiling: higher is better), suspect (1 above
//        suspect_ratio = 1.05x of the ceiling: the ceiling or the case is wrong)
//   report_latency(state, samples, baseline_us, "what the baseline is")
//     -> counters us, baseline_us, ratio (us / baseline: lower is better)
// The ceiling or baseline is measured in the same run: the raw CUDA way of doing the same thing, or the link
// probe of the figure the case is bounded by (link_ceilings.hpp says which figure applies).
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/platform.hpp"

namespace ghtier::bench {

struct BenchOptions {
  bool quick = false;  ///< fewer sizes and repetitions: the suite that `scripts/run` and the GPU script use
  int device = 0;
};

using SuiteFunction = void (*)(const BenchOptions&);

/// Adds a suite to the harness; use through GHTIER_BENCH_SUITE.
struct SuiteRegistration {
  SuiteRegistration(const char* name, SuiteFunction function);
};

/// Registers every suite's cases with Google Benchmark.
void register_all_suites(const BenchOptions& options);
/// Names of the registered suites, in registration order.
[[nodiscard]] std::vector<std::string> suite_names();

/// Registers a function that frees what a suite keeps for the whole run (e.g. buffers shared by its
/// cases, allocated on first use so that a filtered run pays only for what it uses).
void on_suite_cleanup(std::function<void()> cleanup);
/// Runs the cleanup functions, newest first, and forgets them. Both runners (ghtier_bench and
/// `ghtier bench`) call it after the benchmarks, while CUDA is still up; a failing one is logged.
void release_suite_resources() noexcept;

/// The platform of the benchmarked device with its link model: the device's cached calibration, measured
/// and cached first where there is none (GHTIER_LINK_MODEL=profile: the class profile). For decisions that
/// need a link model; the ceilings that ratios are taken against come from measured_ceiling().
/// Throws Error(no_device) without a GPU.
[[nodiscard]] const Platform& bench_platform(int device);

/// Cases that may use a ceiling before it is measured again.
inline constexpr int ceiling_refresh_cases = 8;
/// Timed probe runs per ceiling measurement (the median is the ceiling).
inline constexpr int ceiling_probe_repeats = 5;

/// The link figure `figure` of `device` (GB/s; us for LinkFigure::latency) measured in this run next to the
/// cases that use it: the platform layer's link probe, median of ceiling_probe_repeats runs, measured again
/// once ceiling_refresh_cases cases have used the last measurement (CeilingSchedule). Call it once per case,
/// outside the timed region. Thread-safe. Throws the error of a failed probe.
[[nodiscard]] double measured_ceiling(int device, LinkFigure figure);
/// Every ceiling measurement of this run so far, in the order taken.
[[nodiscard]] std::vector<std::pair<LinkFigure, double>> ceiling_measurements();

/// Per-iteration seconds of one case; the median is what gets reported.
class Samples {
 public:
  void add(double seconds) { seconds_.push_back(seconds); }
  [[nodiscard]] double median() const;
  /// The sample below which a fraction q (0..1) of the samples lie (nearest rank); 0 when empty.
  [[nodiscard]] double percentile(double q) const;
  [[nodiscard]] bool empty() const noexcept { return seconds_.empty(); }

 private:
  std::vector<double> seconds_;
};

/// Counters GBps (bytes over the median iteration), ceiling_GBps, ratio and suspect (judge_against_ceiling);
/// the label names the ceiling, and says "SUSPECT" when the ratio is above suspect_ratio.
void report_bandwidth(benchmark::State& state, double bytes_per_iteration, const Samples& samples, double ceiling_gbps,
                      const std::string& ceiling_name);
/// report_bandwidth against measured_ceiling(device, *figure); nullopt (a CPU-only case): GBps only, labelled
/// as having no GPU link ceiling. Returns the ceiling used (0 without). Throws as measured_ceiling.
double report_against_ceiling(benchmark::State& state, double bytes_per_iteration, const Samples& samples, int device,
                              std::optional<LinkFigure> figure);
/// Counters us (median iteration), baseline_us, ratio (us / baseline_us: lower is better).
void report_latency(benchmark::State& state, const Samples& samples, double baseline_us,
                    const std::string& baseline_name);

/// CUDA events around a region of a stream; elapsed_seconds() waits for the stop event.
class EventTimer {
 public:
  EventTimer();
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start(cudaStream_t stream);
  void stop(cudaStream_t stream);
  [[nodiscard]] double elapsed_seconds();

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

/// Holds a stream with a spin kernel until release(), so that every timed operation is queued before any
/// runs and launch gaps are not measured (nvbandwidth's method). The spin gives up after `timeout_ms`.
class StreamBlocker {
 public:
  StreamBlocker();
  ~StreamBlocker();
  StreamBlocker(const StreamBlocker&) = delete;
  StreamBlocker& operator=(const StreamBlocker&) = delete;
  void block(cudaStream_t stream, int timeout_ms = 10000);
  void release();

 private:
  volatile int* flag_ = nullptr;  // pinned host memory the spin kernel polls
};

}  // namespace ghtier::bench

#define GHTIER_BENCH_CONCAT_INNER(a, b) a##b
#define GHTIER_BENCH_CONCAT(a, b) GHTIER_BENCH_CONCAT_INNER(a, b)
#define GHTIER_BENCH_SUITE(name, function) \
  static ::ghtier::bench::SuiteRegistration GHTIER_BENCH_CONCAT(ghtier_suite_, __LINE__)(name, function)
