// Error codes, CUDA status mapping, log levels, version (no GPU needed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/support/cuda_check.hpp"
#include "core/support/log.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/version.hpp"
#include "test_support.hpp"

using namespace ghtier;

TEST(Error, CudaFailureNamesCallFileAndCudaText) {
  try {
    GHTIER_CUDA_CHECK(cudaErrorInvalidValue);
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.code(), ErrorCode::cuda_error);
    EXPECT_EQ(e.cuda_status(), static_cast<int>(cudaErrorInvalidValue));
    EXPECT_NE(what.find("cudaErrorInvalidValue"), std::string::npos) << what;
    EXPECT_NE(what.find("error_log_test.cpp:"), std::string::npos) << what;
    EXPECT_NE(what.find("invalid argument"), std::string::npos) << what;
  }
  EXPECT_NO_THROW(GHTIER_CUDA_CHECK(cudaSuccess));
}

TEST(Error, CudaStatusMapsToCodes) {
  EXPECT_EQ(detail::error_code_for(cudaErrorMemoryAllocation), ErrorCode::out_of_memory);
  EXPECT_EQ(detail::error_code_for(cudaErrorNoDevice), ErrorCode::no_device);
  EXPECT_EQ(detail::error_code_for(cudaErrorInsufficientDriver), ErrorCode::no_device);
  // An invalid device number is a bad argument (no_device is reserved for "no GPU at all").
  EXPECT_EQ(detail::error_code_for(cudaErrorInvalidDevice), ErrorCode::invalid_argument);
  EXPECT_EQ(detail::error_code_for(cudaErrorLaunchFailure), ErrorCode::cuda_error);
}

TEST(Error, EveryCodeHasANameAndStatus) {
  for (int c = static_cast<int>(ErrorCode::invalid_argument); c <= static_cast<int>(ErrorCode::internal); ++c) {
    EXPECT_NE(to_string(static_cast<ErrorCode>(c)), "unknown");
    // The C status of each code is the same number, and has a name.
    EXPECT_STRNE(ghtier_status_name(static_cast<ghtier_status_t>(c)), "GHTIER_UNKNOWN_STATUS");
  }
}

TEST(Log, LevelsParseAndFilter) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_EQ(parse_log_level("off"), LogLevel::off);
  EXPECT_FALSE(parse_log_level("loud").has_value());
  const LogLevel saved = log_level();
  set_log_level(LogLevel::error);
  testing::internal::CaptureStderr();
  log(LogLevel::warn, "hidden {}", 1);
  log(LogLevel::error, "shown {}", 2);
  const std::string err = testing::internal::GetCapturedStderr();
  set_log_level(saved);
  EXPECT_EQ(err.find("hidden"), std::string::npos);
  EXPECT_NE(err.find("[ghtier error] shown 2"), std::string::npos) << err;
}

TEST(Log, NothrowCheckLogsInsteadOfThrowing) {
  const LogLevel saved = log_level();
  set_log_level(LogLevel::warn);
  testing::internal::CaptureStderr();
  GHTIER_CUDA_CHECK_NOTHROW(cudaErrorInvalidValue);
  const std::string err = testing::internal::GetCapturedStderr();
  set_log_level(saved);
  EXPECT_NE(err.find("cudaErrorInvalidValue"), std::string::npos) << err;
}

TEST(Version, MatchesTheBuildAndTheCApi) {
  EXPECT_STREQ(version_string(), EXPECTED_VERSION);
  int major = -1, minor = -1, patch = -1;
  ASSERT_EQ(ghtier_version_get(&major, &minor, &patch), GHTIER_SUCCESS);
  EXPECT_EQ(std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch), EXPECTED_VERSION);
  EXPECT_EQ(ghtier_version_get(nullptr, nullptr, nullptr), GHTIER_SUCCESS);
}
