// The platform report's C functions on offline profiles: each mode's access and relocation, and the move
// mechanism between modes, as docs/platforms.md states them; argument checks.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "capi/c_api_runtime.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/ghtier_platform_report.h"
#include "ghtier/runtime/runtime.hpp"

namespace {

#define EXPECT_STATUS(call, expected) EXPECT_EQ((call), expected) << #call << ": " << ghtier_error_message()

class PlatformReport : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ghtier::RuntimeOptions options;
    options.assumed_profile = GetParam();
    rt_ = ghtier::capi::make_handle(std::make_shared<ghtier::Runtime>(options));
  }
  void TearDown() override { EXPECT_STATUS(ghtier_runtime_destroy(rt_), GHTIER_SUCCESS); }
  ghtier_mode_access_t access(ghtier_memory_mode_t mode) {
    ghtier_mode_access_t a{};
    a.struct_size = sizeof(a);
    EXPECT_STATUS(ghtier_runtime_get_mode_access(rt_, mode, &a), GHTIER_SUCCESS);
    return a;
  }
  ghtier_move_mechanism_t move(ghtier_memory_mode_t from, ghtier_memory_mode_t to) {
    auto m = static_cast<ghtier_move_mechanism_t>(-1);
    EXPECT_STATUS(ghtier_runtime_get_move_mechanism(rt_, from, to, &m), GHTIER_SUCCESS);
    return m;
  }
  [[nodiscard]] bool pageable() const { return std::string(GetParam()) != "x86-h100-pcie"; }
  ghtier_runtime_t* rt_ = nullptr;
};

TEST_P(PlatformReport, ModesAsDocumented) {
  const auto device = access(GHTIER_MODE_DEVICE);
  EXPECT_EQ(device.gpu_access, 1);
  EXPECT_EQ(device.relocation, GHTIER_RELOCATION_NONE);
  EXPECT_STRNE(device.lives_in, "");
  const auto pinned = access(GHTIER_MODE_PINNED_HOST);
  EXPECT_EQ(pinned.gpu_access, 1);
  EXPECT_EQ(pinned.cpu_access, 1);
  EXPECT_EQ(pinned.migrates, 0);
  const auto managed = access(GHTIER_MODE_MANAGED);
  EXPECT_EQ(managed.migrates, 1);
  EXPECT_EQ(managed.relocation, GHTIER_RELOCATION_PREFETCH);
  const auto system = access(GHTIER_MODE_SYSTEM);
  EXPECT_EQ(system.cpu_access, 1);
  EXPECT_EQ(system.gpu_access, pageable() ? 1 : 0) << system.gpu_path;
  EXPECT_EQ(system.relocation, pageable() ? GHTIER_RELOCATION_PREFETCH : GHTIER_RELOCATION_NONE);
}

TEST_P(PlatformReport, MovesAsDocumented) {
  EXPECT_EQ(move(GHTIER_MODE_DEVICE, GHTIER_MODE_PINNED_HOST), GHTIER_MOVE_COPY_ENGINE);
  EXPECT_EQ(move(GHTIER_MODE_PINNED_HOST, GHTIER_MODE_DEVICE), GHTIER_MOVE_COPY_ENGINE);
  EXPECT_EQ(move(GHTIER_MODE_SYSTEM, GHTIER_MODE_SYSTEM), GHTIER_MOVE_HOST_COPY);
  // Pageable memory goes through the staging ring only where the GPU cannot reach it in place.
  if (std::string(GetParam()) == "gh200") {
    EXPECT_EQ(move(GHTIER_MODE_SYSTEM, GHTIER_MODE_DEVICE), GHTIER_MOVE_COPY_ENGINE);
  } else if (std::string(GetParam()) == "x86-h100-pcie") {
    EXPECT_EQ(move(GHTIER_MODE_SYSTEM, GHTIER_MODE_DEVICE), GHTIER_MOVE_STAGED_COPY);
  }
}

TEST_P(PlatformReport, ArgumentsAreChecked) {
  ghtier_mode_access_t a{};
  a.struct_size = sizeof(a);
  EXPECT_STATUS(ghtier_runtime_get_mode_access(rt_, static_cast<ghtier_memory_mode_t>(4), &a),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(ghtier_error_message()).find("mode is 4"), std::string::npos);
  EXPECT_STATUS(ghtier_runtime_get_mode_access(rt_, GHTIER_MODE_DEVICE, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  a.struct_size = 8;
  EXPECT_STATUS(ghtier_runtime_get_mode_access(rt_, GHTIER_MODE_DEVICE, &a), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_get_mode_access(nullptr, GHTIER_MODE_DEVICE, &a), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_move_mechanism_t m{};
  EXPECT_STATUS(ghtier_runtime_get_move_mechanism(rt_, GHTIER_MODE_DEVICE, static_cast<ghtier_memory_mode_t>(-1), &m),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_runtime_get_move_mechanism(rt_, GHTIER_MODE_DEVICE, GHTIER_MODE_DEVICE, nullptr),
                GHTIER_ERROR_INVALID_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(Profiles, PlatformReport, ::testing::Values("gh200", "x86-h100-hmm", "x86-h100-pcie"));

}  // namespace
