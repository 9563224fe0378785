// Shared helpers for ghtier's tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "ghtier/error.hpp"
#include "ghtier/platform/platform.hpp"

/// GPU tests skip (with the reason) where no CUDA device is visible; CI excludes them by label anyway.
#define GHTIER_REQUIRE_GPU()                                       \
  do {                                                             \
    if (::ghtier::visible_device_count() == 0) {                   \
      GTEST_SKIP() << "no CUDA device is visible on this machine"; \
    }                                                              \
  } while (0)

/// Expects `statement` to throw ghtier::Error with `expected_code`.
#define EXPECT_GHTIER_ERROR(statement, expected_code)                                 \
  do {                                                                                \
    try {                                                                             \
      statement;                                                                      \
      ADD_FAILURE() << "expected ghtier::Error(" #expected_code ") from " #statement; \
    } catch (const ::ghtier::Error& e) {                                              \
      EXPECT_EQ(e.code(), expected_code) << e.what();                                 \
      EXPECT_STRNE(e.what(), "");                                                     \
    }                                                                                 \
  } while (0)

namespace ghtier::test {

/// A generator seeded afresh for every test run (the seed is printed so a failure can be replayed).
inline std::mt19937_64 fresh_rng() {
  std::random_device device;
  const std::uint64_t seed = (static_cast<std::uint64_t>(device()) << 32) | device();
  std::printf("[ seed     ] %llu\n", static_cast<unsigned long long>(seed));
  return std::mt19937_64(seed);
}

/// Fresh random bytes.
inline std::vector<unsigned char> random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::vector<unsigned char> v(n);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t word = rng();
    std::memcpy(v.data() + i, &word, 8);
  }
  for (; i < n; ++i) v[i] = static_cast<unsigned char>(rng());
  return v;
}

}  // namespace ghtier::test
