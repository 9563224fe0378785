// The `ghtier` command: `ghtier info`, `ghtier bench` and `ghtier plan` (see `ghtier --help`; exit statuses in
// tools/exit_status.hpp).
#include <iostream>
#include <string_view>
#include <variant>
#include <vector>

#include "cli_options.hpp"
#include "commands.hpp"
#include "exit_status.hpp"
#include "ghtier/error.hpp"
#include "ghtier/version.hpp"
#include "plan_command.hpp"

namespace {

template <typename... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace ghtier::tools;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  Command command;
  try {
    command = parse_command_line(args);
  } catch (const UsageError& e) {
    std::cerr << "ghtier: " << e.what() << "\n(see ghtier --help)\n";
    return exit_usage;
  }
  try {
    return std::visit(
        Overloaded{
            [](const HelpRequest& help) {
              std::cout << usage_text(help.topic);
              return static_cast<int>(exit_ok);
            },
            [](const VersionRequest&) {
              std::cout << "ghtier " << ghtier::version_string() << '\n';
              return static_cast<int>(exit_ok);
            },
            [](const InfoOptions& options) { return run_info(options, std::cout, std::cerr); },
            [](const BenchCommandOptions& options) { return run_bench(options, std::cout, std::cerr); },
            [](const PlanActivationsOptions& options) { return run_plan_activations(options, std::cout, std::cerr); },
            [](const PlanWeightsOptions& options) { return run_plan_weights(options, std::cout, std::cerr); },
            [](const PlanKvCacheOptions& options) { return run_plan_kv_cache(options, std::cout, std::cerr); },
        },
        command);
  } catch (const ghtier::Error& e) {
    std::cerr << "ghtier: " << e.what() << '\n';
    return e.code() == ghtier::ErrorCode::no_device ? exit_no_device : exit_failure;
  } catch (const std::exception& e) {
    std::cerr << "ghtier: unexpected error: " << e.what() << '\n';
    return exit_failure;
  }
}
