// Row-by-row comparison of gathered rows for the gather, row-cache and pipeline tests: a failure names the
// first differing row and byte.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace ghtier::test {

inline ::testing::AssertionResult same_rows(const std::vector<unsigned char>& expected,
                                            const std::vector<unsigned char>& got, std::size_t row_bytes) {
  if (expected.size() != got.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << expected.size();
  }
  for (std::size_t b = 0; b < expected.size(); ++b) {
    if (expected[b] != got[b]) {
      return ::testing::AssertionFailure() << "row " << b / row_bytes << " byte " << b % row_bytes << ": got "
                                           << int(got[b]) << ", expected " << int(expected[b]);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace ghtier::test
