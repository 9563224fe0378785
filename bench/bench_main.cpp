// ghtier_bench: every suite under Google Benchmark's own command line (--benchmark_filter, _out, ...).
// Add --quick for the short suite.
#include <cstring>
#include <vector>

#include "bench_suite.hpp"

int main(int argc, char** argv) {
  ghtier::bench::BenchOptions options;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      options.quick = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  ghtier::bench::register_all_suites(options);
  benchmark::RunSpecifiedBenchmarks();
  ghtier::bench::release_suite_resources();
  benchmark::Shutdown();
  return 0;
}
