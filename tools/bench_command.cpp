// `ghtier bench`: makes sure the device has a cached link calibration, registers every suite, runs Google
// Benchmark with the progress reporter (and its JSON reporter into --json FILE), then prints the summary table
// and the ceilings measured between the cases.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "ghtier/error.hpp"
#include "ghtier/platform/link_model_cache.hpp"
#include "ghtier/platform/platform.hpp"
#include "progress_reporter.hpp"
#include "summary_table.hpp"

namespace ghtier::tools {

namespace {

std::string joined_suite_names() {
  std::string names;
  for (const std::string& name : bench::suite_names()) names += (names.empty() ? "" : ", ") + name;
  return names.empty() ? "none" : names;
}

// Frees what the suites kept for the run even when a case throws out of Google Benchmark.
struct SuiteResourcesGuard {
  SuiteResourcesGuard() = default;
  SuiteResourcesGuard(const SuiteResourcesGuard&) = delete;
  SuiteResourcesGuard& operator=(const SuiteResourcesGuard&) = delete;
  ~SuiteResourcesGuard() { bench::release_suite_resources(); }
};

}  // namespace

int run_bench(const BenchCommandOptions& options, std::ostream& out, std::ostream& err) {
  DeviceAttributes attributes;
  try {
    attributes = query_device_attributes(options.device);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::no_device) throw;
    err << "ghtier bench: " << e.what() << '\n'
        << "ghtier bench: the benchmarks need a CUDA device; nothing was run "
           "(`ghtier info --assume gh200-c2c` describes a platform without one)\n";
    return exit_no_device;
  }
  if (options.json_file) {
    // Google Benchmark exits the process on a file it cannot open; find out first, with the reason.
    std::ofstream probe(*options.json_file);
    if (!probe) {
      err << fmt::format("ghtier bench: cannot write the --json file '{}': {}\n", *options.json_file,
                         std::strerror(errno));
      return exit_usage;
    }
  }

  // The runtimes the suites create read the cached calibration; measure it first where there is none.
  const Platform platform = classify(attributes, cached_or_calibrated_link_model(attributes));
  out << fmt::format("ghtier bench{}: device {} ({}, {} platform); suites: {}\n", options.quick ? " --quick" : "",
                     options.device, attributes.name, to_string(platform.platform_class), joined_suite_names());
  if (options.filter) out << fmt::format("only cases matching '{}'\n", *options.filter);
  out.flush();

  // Google Benchmark takes its settings as flags: the JSON file reporter is its own, so the file is exactly
  // what `ghtier_bench --benchmark_out=FILE` writes. argv[0] must outlive the run (it lands in the JSON).
  std::vector<std::string> flags{"ghtier-bench"};
  if (options.json_file) {
    flags.push_back("--benchmark_out=" + *options.json_file);
    flags.push_back("--benchmark_out_format=json");
  }
  std::vector<char*> argv;
  for (std::string& flag : flags) argv.push_back(flag.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(flags.size());
  benchmark::Initialize(&argc, argv.data());

  bench::BenchOptions bench_options;
  bench_options.quick = options.quick;
  bench_options.device = options.device;
  bench::register_all_suites(bench_options);

  ProgressReporter reporter(out);
  const auto started = std::chrono::steady_clock::now();
  std::size_t matched = 0;
  {
    SuiteResourcesGuard release_after_run;
    matched = benchmark::RunSpecifiedBenchmarks(&reporter, options.filter.value_or("."));
  }
  benchmark::Shutdown();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (matched == 0) {
    err << fmt::format("ghtier bench: no benchmark case matches --filter '{}' (suites: {})\n",
                       options.filter.value_or("."), joined_suite_names());
    return exit_usage;
  }
  out << fmt::format("\nran {} case{} in {:.1f} s{}\n\n", reporter.results().size(),
                     reporter.results().size() == 1 ? "" : "s", seconds,
                     options.json_file ? fmt::format("; JSON in {}", *options.json_file) : std::string());
  out << format_summary_table(reporter.results());
  std::vector<CeilingMeasurements> ceilings;
  for (const auto& [figure, value] : bench::ceiling_measurements()) {
    const std::string name(to_string(figure));
    auto it = std::find_if(ceilings.begin(), ceilings.end(), [&](const auto& c) { return c.figure == name; });
    if (it == ceilings.end()) it = ceilings.insert(ceilings.end(), CeilingMeasurements{name, {}});
    it->values.push_back(value);
  }
  out << format_ceiling_summary(ceilings);
  for (const BenchResult& result : reporter.results()) {
    if (result.outcome == BenchResult::Outcome::failed) return exit_bench_failed;
  }
  return exit_ok;
}

}  // namespace ghtier::tools
