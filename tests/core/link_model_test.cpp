// LinkModel JSON round trip, validation and error messages (no GPU needed).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "ghtier/platform/link_model.hpp"
#include "ghtier/platform/platform.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {
LinkModel random_link(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(0.5, 5000.0);
  LinkModel l;
  l.h2d_gbps = d(rng);
  l.d2h_gbps = d(rng);
  l.bidirectional_gbps = d(rng);
  l.sm_read_gbps = d(rng);
  l.sm_write_gbps = d(rng);
  l.pageable_h2d_gbps = d(rng);
  l.pageable_d2h_gbps = d(rng);
  l.hbm_gbps = d(rng);
  l.latency_us = d(rng);
  l.source = "test \"quoted\"\tsource";
  return l;
}
}  // namespace

TEST(LinkModel, JsonRoundTripIsExact) {
  auto rng = test::fresh_rng();
  for (int i = 0; i < 100; ++i) {
    LinkModel l = random_link(rng);
    LinkModel back = link_model_from_json(to_json(l));
    EXPECT_EQ(back.h2d_gbps, l.h2d_gbps);
    EXPECT_EQ(back.d2h_gbps, l.d2h_gbps);
    EXPECT_EQ(back.bidirectional_gbps, l.bidirectional_gbps);
    EXPECT_EQ(back.sm_read_gbps, l.sm_read_gbps);
    EXPECT_EQ(back.sm_write_gbps, l.sm_write_gbps);
    EXPECT_EQ(back.pageable_h2d_gbps, l.pageable_h2d_gbps);
    EXPECT_EQ(back.pageable_d2h_gbps, l.pageable_d2h_gbps);
    EXPECT_EQ(back.hbm_gbps, l.hbm_gbps);
    EXPECT_EQ(back.latency_us, l.latency_us);
    EXPECT_EQ(back.source, l.source);
  }
}

TEST(LinkModel, SaveAndLoadThroughAFile) {
  auto rng = test::fresh_rng();
  LinkModel l = random_link(rng);
  const auto path = std::filesystem::temp_directory_path() / "ghtier_link_model_test.json";
  save_link_model(l, path);
  LinkModel back = load_link_model(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.h2d_gbps, l.h2d_gbps);
  EXPECT_EQ(back.latency_us, l.latency_us);
}

TEST(LinkModel, MissingFileIsAnIoError) {
  EXPECT_GHTIER_ERROR((void)load_link_model("/nonexistent/dir/link.json"), ErrorCode::io_error);
  EXPECT_GHTIER_ERROR(save_link_model(platform_profile("gh200").link, "/nonexistent/dir/link.json"),
                      ErrorCode::io_error);
}

TEST(LinkModel, MalformedJsonNamesTheProblem) {
  const std::string good = to_json(platform_profile("x86-h100-pcie").link);
  EXPECT_GHTIER_ERROR((void)link_model_from_json(""), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)link_model_from_json("{\"h2d_gbps\": 1"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)link_model_from_json(good + "x"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)link_model_from_json("{\"h2d_gbps\": {\"nested\": 1}}"), ErrorCode::invalid_argument);
  try {
    (void)link_model_from_json("{\"h2d_gbps\": 55}");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("d2h_gbps"), std::string::npos) << e.what();
  }
  std::string negative = good;
  negative.replace(negative.find("55"), 2, "-5");
  try {
    (void)link_model_from_json(negative);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("h2d_gbps"), std::string::npos) << e.what();
  }
}

TEST(LinkModel, CopySecondsIsLatencyPlusBytesOverBandwidth) {
  LinkModel l = platform_profile("x86-h100-pcie").link;
  EXPECT_NEAR(l.copy_seconds(0, true), l.latency_us * 1e-6, 1e-12);
  EXPECT_NEAR(l.copy_seconds(55'000'000'000ull, true), 1.0 + l.latency_us * 1e-6, 1e-9);
  EXPECT_NEAR(l.copy_seconds(55'200'000'000ull, false), 1.0 + l.latency_us * 1e-6, 1e-9);
}

TEST(LinkModel, CalibrateWithoutAGpuSaysSo) {
  if (visible_device_count() > 0) GTEST_SKIP() << "a GPU is present; the GPU test covers calibrate()";
  EXPECT_GHTIER_ERROR((void)calibrate(0), ErrorCode::no_device);
}

TEST(LinkModel, CalibrateRejectsTinyTransfers) {
  CalibrationOptions o;
  o.transfer_bytes = 1000;
  EXPECT_GHTIER_ERROR((void)calibrate(0, o), ErrorCode::invalid_argument);
}
