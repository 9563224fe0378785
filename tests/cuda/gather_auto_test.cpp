// CPU tests (CI) of gather_auto's C++ and C entry points: bad arguments and hints are refused, naming
// them, before any CUDA call; an empty gather decides nothing and says so.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "c_api_test_runtime.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/kernels/cpu_gather_pipeline.hpp"
#include "ghtier/kernels/gather_auto.hpp"
#include "test_support.hpp"

using namespace ghtier;

namespace {
void expect_message(const std::string& needle) {
  EXPECT_NE(std::string(ghtier_error_message()).find(needle), std::string::npos) << ghtier_error_message();
}
}  // namespace

TEST(GatherAuto, RefusesBadArgumentsBeforeAnyCudaCall) {
  std::vector<unsigned char> table(64 * 10), out(64 * 4);
  std::vector<std::int64_t> idx(4, 1);
  EXPECT_GHTIER_ERROR((void)gather_auto(table.data(), 0, 10, idx.data(), 4, out.data(), nullptr),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)gather_auto(table.data(), 64, 10, idx.data(), 4, nullptr, nullptr),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)gather_auto(table.data(), 64, 0, idx.data(), 4, out.data(), nullptr),
                      ErrorCode::invalid_argument);
  // out overlapping the table
  EXPECT_GHTIER_ERROR((void)gather_auto(table.data(), 64, 10, idx.data(), 4, table.data() + 64, nullptr),
                      ErrorCode::invalid_argument);
  GatherAutoOptions options;
  options.keys = static_cast<KeyDistributionHint>(9);
  try {
    (void)gather_auto(table.data(), 64, 10, idx.data(), 4, out.data(), nullptr, options);
    ADD_FAILURE() << "an unknown key distribution was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("options.keys"), std::string::npos) << e.what();
  }
}

TEST(GatherAuto, AnEmptyGatherDecidesNothingAndSaysSo) {
  const std::uint64_t before = gather_auto_statistics().of(GatherPath::plain);
  const std::int32_t* none = nullptr;
  const GatherChoice c = gather_auto(nullptr, 64, 0, none, 0, nullptr, nullptr);
  EXPECT_EQ(c.path, GatherPath::plain);
  EXPECT_NE(c.reason.find("count is 0"), std::string::npos) << c.reason;
  EXPECT_EQ(gather_auto_statistics().of(GatherPath::plain), before);  // only calls that ran are counted
}

TEST(GatherAutoCApi, ArgumentAndOptionErrorsBecomeStatuses) {
  std::vector<unsigned char> table(64 * 10), out(64 * 4);
  std::vector<std::int64_t> idx(4, 1);
  ghtier_runtime_t* rt = test::test_runtime();
  ghtier_gather_auto_options_t options{};
  options.struct_size = 12;  // not a multiple of 8
  EXPECT_EQ(ghtier_gather_auto(rt, table.data(), 64, 10, idx.data(), GHTIER_INDEX_INT64, 4, out.data(), nullptr,
                               nullptr, &options, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  expect_message("options->struct_size");
  options.struct_size = sizeof(options);
  options.key_distribution = 7;
  EXPECT_EQ(ghtier_gather_auto(rt, table.data(), 64, 10, idx.data(), GHTIER_INDEX_INT64, 4, out.data(), nullptr,
                               nullptr, &options, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  expect_message("key_distribution 7");
  options.key_distribution = GHTIER_KEYS_SKEWED;
  options.cache = reinterpret_cast<ghtier_row_cache_t*>(0x10);  // not a handle
  EXPECT_EQ(ghtier_gather_auto(rt, table.data(), 64, 10, idx.data(), GHTIER_INDEX_INT64, 4, out.data(), nullptr,
                               nullptr, &options, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  options.cache = nullptr;
  ghtier_gather_choice_t choice{};
  EXPECT_EQ(ghtier_gather_auto(rt, table.data(), 64, 10, idx.data(), GHTIER_INDEX_INT64, 4, out.data(), nullptr,
                               nullptr, &options, &choice),
            GHTIER_ERROR_INVALID_ARGUMENT);  // choice->struct_size 0
  expect_message("choice->struct_size");
  EXPECT_EQ(ghtier_gather_auto(rt, table.data(), 0, 10, idx.data(), GHTIER_INDEX_INT64, 4, out.data(), nullptr, nullptr,
                               nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  expect_message("row_bytes is 0");
  EXPECT_EQ(ghtier_gather_auto(rt, table.data(), 64, 10, idx.data(), static_cast<ghtier_index_type_t>(5), 4, out.data(),
                               nullptr, nullptr, nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  expect_message("index_type 5");
  EXPECT_EQ(ghtier_gather_auto(nullptr, table.data(), 64, 10, idx.data(), GHTIER_INDEX_INT64, 4, out.data(), nullptr,
                               nullptr, nullptr, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST(GatherAutoCApi, AnEmptyGatherFillsTheChoice) {
  ghtier_gather_choice_t choice{};
  choice.struct_size = sizeof(choice);
  choice.path = 99;
  choice.predicted_gbps[0] = -1;
  ASSERT_EQ(ghtier_gather_auto(test::test_runtime(), nullptr, 64, 0, nullptr, GHTIER_INDEX_INT32, 0, nullptr, nullptr,
                               nullptr, nullptr, &choice),
            GHTIER_SUCCESS)
      << ghtier_error_message();
  EXPECT_EQ(choice.struct_size, sizeof(choice));
  EXPECT_EQ(choice.path, GHTIER_GATHER_PATH_PLAIN);
  EXPECT_EQ(choice.predicted_gbps[0], 0.0);
  EXPECT_NE(std::string(choice.reason).find("count is 0"), std::string::npos) << choice.reason;
}

TEST(CpuGatherPipeline, RefusesBadOptionsBeforeAnyCudaCall) {
  EXPECT_GHTIER_ERROR(CpuGatherPipeline(CpuGatherPipeline::Options{2, 0}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(CpuGatherPipeline(CpuGatherPipeline::Options{2, (std::size_t{1} << 30) + 1}),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(CpuGatherPipeline(CpuGatherPipeline::Options{5000, 4096}), ErrorCode::invalid_argument);
  // The ring needs two chunks (one filling while one is copied), and at most 64.
  EXPECT_GHTIER_ERROR(CpuGatherPipeline(CpuGatherPipeline::Options{2, 4096, 1}), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(CpuGatherPipeline(CpuGatherPipeline::Options{2, 4096, 65}), ErrorCode::invalid_argument);
}

TEST(GatherAutoCApi, PipelineHandleErrors) {
  EXPECT_EQ(ghtier_cpu_gather_pipeline_create(0, 0, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_cpu_gather_pipeline_t* pipeline = reinterpret_cast<ghtier_cpu_gather_pipeline_t*>(0x1);
  EXPECT_EQ(ghtier_cpu_gather_pipeline_create(5000, 0, &pipeline), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(pipeline, nullptr);  // cleared on failure
  expect_message("5000 threads");
  EXPECT_EQ(ghtier_cpu_gather_pipeline_destroy(nullptr), GHTIER_SUCCESS);
  EXPECT_EQ(ghtier_cpu_gather_pipeline_destroy(reinterpret_cast<ghtier_cpu_gather_pipeline_t*>(0x40)),
            GHTIER_ERROR_INVALID_ARGUMENT);
  std::vector<unsigned char> table(64 * 10), out(64 * 4);
  std::vector<std::int64_t> idx(4, 1);
  ghtier_gather_auto_options_t options{};
  options.struct_size = sizeof(options);
  options.pipeline = reinterpret_cast<ghtier_cpu_gather_pipeline_t*>(0x40);  // not a handle
  EXPECT_EQ(ghtier_gather_auto(test::test_runtime(), table.data(), 64, 10, idx.data(), GHTIER_INDEX_INT64, 4,
                               out.data(), nullptr, nullptr, &options, nullptr),
            GHTIER_ERROR_INVALID_ARGUMENT);
  expect_message("options->pipeline");
}
