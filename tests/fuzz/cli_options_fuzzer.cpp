// The `ghtier` command line (tools/cli_options, plan_flags, plan_options, plan_kv_cache): the input is the
// argument list, NUL-separated. Any list parses to one Command or is refused with a UsageError (or a
// ghtier::Error) that names what was wrong; a help request's topic has a help text.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "cli_options.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ghtier;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('\0', start), text.size());
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (size == 0) args.clear();
  tools::Command command;
  try {
    command = tools::parse_command_line(args);
  } catch (const tools::UsageError& e) {
    fuzz::check(e.what()[0] != '\0', "a UsageError without a message");
    return 0;
  } catch (const Error& e) {
    fuzz::check(e.what()[0] != '\0', "a ghtier::Error without a message");
    return 0;
  }
  if (const auto* help = std::get_if<tools::HelpRequest>(&command)) {
    fuzz::check(!tools::usage_text(help->topic).empty(), "an accepted help topic has no help text");
  }
  return 0;
}
