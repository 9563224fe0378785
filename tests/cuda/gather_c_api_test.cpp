// CPU tests (CI) of the kernels' C API (ghtier_kernels.h): argument errors become status codes with a
// message naming the argument, before any CUDA call; destroying NULL handles is allowed.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "c_api_test_runtime.hpp"
#include "ghtier/ghtier.h"

TEST(KernelsCApi, ArgumentErrorsBecomeStatusesWithAMessage) {
  std::vector<unsigned char> table(64 * 10);
  std::vector<unsigned char> out(64 * 4);
  std::vector<std::int64_t> idx(4, 1);
  EXPECT_EQ(ghtier_gather(ghtier::test::test_runtime(), table.data(), 64, 10, idx.data(),
                          static_cast<ghtier_index_type_t>(7), 4, out.data(), nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("index_type 7"), std::string::npos) << ghtier_error_message();
  EXPECT_NE(std::string(ghtier_error_message()).find("ghtier_gather"), std::string::npos) << ghtier_error_message();

  EXPECT_EQ(ghtier_gather(ghtier::test::test_runtime(), table.data(), 0, 10, idx.data(), GHTIER_INDEX_INT64, 4,
                          out.data(), nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("row_bytes is 0"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(ghtier_sorted_gather(ghtier::test::test_runtime(), table.data(), 64, 10, nullptr, GHTIER_INDEX_INT32, 4,
                                 out.data(), nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_scatter(ghtier::test::test_runtime(), out.data(), 64, 4, idx.data(), GHTIER_INDEX_INT64, nullptr, 10,
                           nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_sm_copy(nullptr, table.data(), 16, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_sm_copy_2d(out.data(), 8, table.data(), 64, 16, 2, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);

  // Nothing to do is a success, and clears the last error.
  EXPECT_EQ(ghtier_gather(ghtier::test::test_runtime(), table.data(), 64, 10, nullptr, GHTIER_INDEX_INT64, 0, nullptr,
                          nullptr, nullptr),
            GHTIER_SUCCESS);
  EXPECT_STREQ(ghtier_error_message(), "");
}

TEST(KernelsCApi, HandlesAndOutputs) {
  std::vector<unsigned char> table(64 * 10);
  const std::int64_t hot[] = {1, 2};
  EXPECT_EQ(ghtier_row_cache_create(ghtier::test::test_runtime(), table.data(), 64, 10, hot, 2, nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_row_cache_t* cache = reinterpret_cast<ghtier_row_cache_t*>(0x1);
  EXPECT_EQ(ghtier_row_cache_create(ghtier::test::test_runtime(), table.data(), 64, 10, nullptr, 2, nullptr, &cache),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(cache, nullptr);  // cleared on failure
  const std::int64_t repeated[] = {3, 3};
  EXPECT_EQ(ghtier_row_cache_create(ghtier::test::test_runtime(), table.data(), 64, 10, repeated, 2, nullptr, &cache),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("more than once"), std::string::npos) << ghtier_error_message();
  EXPECT_EQ(ghtier_row_cache_create_from_frequencies(ghtier::test::test_runtime(), table.data(), 64, 10, nullptr, 5,
                                                     nullptr, &cache),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_row_cache_gather(nullptr, hot, GHTIER_INDEX_INT64, 2, table.data(), nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_row_cache_get_statistics(nullptr, nullptr, nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_row_cache_get_info(nullptr, nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_index_check_create(ghtier::test::test_runtime(), nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_index_check_verify(nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ghtier_row_cache_destroy(nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_index_check_destroy(nullptr), GHTIER_SUCCESS);
}
