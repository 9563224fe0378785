// What the tests of `ghtier plan WORKLOAD` share: the command line parsed as `ghtier` parses it, and the
// message of the UsageError that a command line must raise.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cli_options.hpp"

namespace ghtier::tools::plan_test {

/// `args` (without the program name) as parse_command_line parses them.
inline Command parse(std::initializer_list<std::string_view> args) {
  const std::vector<std::string_view> list(args);
  return parse_command_line(list);
}

/// The message of the UsageError that parsing `args` throws; a test failure (and "") when none is thrown.
inline std::string usage_error(std::initializer_list<std::string_view> args) {
  try {
    (void)parse(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError";
  return {};
}

}  // namespace ghtier::tools::plan_test
