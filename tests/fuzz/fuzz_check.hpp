// What every harness asserts about a call on untrusted input: it returns, or it throws a ghtier::Error
// (or the tool's UsageError) whose message says what was wrong. Anything else (another exception, an
// empty message, a broken invariant) aborts, which libFuzzer reports as a crash and saves the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "ghtier/error.hpp"

namespace ghtier::fuzz {

[[noreturn]] inline void fail(std::string_view what) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

inline void check(bool condition, std::string_view what) {
  if (!condition) fail(what);
}

/// Runs `call`; a ghtier::Error must carry a message and must not be ErrorCode::internal (a broken
/// invariant that ghtier itself detected). Returns true when `call` returned normally.
template <typename Call>
bool returns_or_refuses(Call&& call) {
  try {
    call();
    return true;
  } catch (const ghtier::Error& e) {
    check(e.what() != nullptr && e.what()[0] != '\0', "a ghtier::Error without a message");
    if (e.code() == ghtier::ErrorCode::internal) fail(e.what());
    return false;
  }
  // Any other exception escapes: libFuzzer reports it (std::terminate) with the input that caused it.
}

}  // namespace ghtier::fuzz
