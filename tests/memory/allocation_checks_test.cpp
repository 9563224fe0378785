// The argument checks every resource shares, and the alignment arithmetic under them.
#include <gtest/gtest.h>

#include <string>

#include "core/memory/aligned_block_map.hpp"
#include "core/memory/allocation_checks.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(AllocationChecks, PowerOfTwoAndAlignUp) {
  EXPECT_FALSE(detail::is_power_of_two(0));
  EXPECT_TRUE(detail::is_power_of_two(1));
  EXPECT_TRUE(detail::is_power_of_two(4096));
  EXPECT_FALSE(detail::is_power_of_two(4095));
  EXPECT_FALSE(detail::is_power_of_two(48));
  EXPECT_EQ(detail::align_up(0, 256), 0u);
  EXPECT_EQ(detail::align_up(1, 256), 256u);
  EXPECT_EQ(detail::align_up(256, 256), 256u);
  EXPECT_EQ(detail::align_up(257, 256), 512u);
  EXPECT_EQ(detail::align_up(detail::max_allocation_bytes + 1, detail::max_alignment),
            detail::max_allocation_bytes + detail::max_alignment);
}

TEST(AllocationChecks, NamesTheOperationAndTheValue) {
  try {
    detail::check_allocation_arguments(0, 256, "Thing::allocate");
    ADD_FAILURE() << "zero bytes accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("Thing::allocate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bytes is 0"), std::string::npos) << e.what();
  }
  try {
    detail::check_allocation_arguments(10, 48, "Thing::allocate");
    ADD_FAILURE() << "alignment 48 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alignment = 48"), std::string::npos) << e.what();
  }
  EXPECT_GHTIER_ERROR(detail::check_allocation_arguments(10, 0, "x"), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(detail::check_allocation_arguments(detail::max_allocation_bytes + 1, 1, "x"),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(detail::check_allocation_arguments(1, detail::max_alignment * 2, "x"),
                      ErrorCode::invalid_argument);
  EXPECT_NO_THROW(detail::check_allocation_arguments(1, 1, "x"));
  EXPECT_NO_THROW(detail::check_allocation_arguments(detail::max_allocation_bytes, detail::max_alignment, "x"));
}

TEST(AlignedBlockMap, PadsAlignsAndRemembers) {
  EXPECT_EQ(detail::AlignedBlockMap::padded_size(1000, 256, 256), 1000u);
  EXPECT_EQ(detail::AlignedBlockMap::padded_size(1000, 64, 256), 1000u);
  EXPECT_EQ(detail::AlignedBlockMap::padded_size(1000, 4096, 256), 1000u + 4096 - 256);
  auto* raw = reinterpret_cast<void*>(std::uintptr_t{0x10100});
  void* aligned = detail::AlignedBlockMap::align(raw, 4096);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned), 0x11000u);
  // The padded block always holds the aligned one: raw + padded >= aligned + bytes.
  EXPECT_GE(0x10100u + detail::AlignedBlockMap::padded_size(1000, 4096, 256), 0x11000u + 1000u);
  detail::AlignedBlockMap map;
  map.remember(aligned, raw);
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.take(aligned), raw);
  EXPECT_EQ(map.take(aligned), nullptr);
  EXPECT_EQ(map.size(), 0u);
}

}  // namespace
}  // namespace ghtier
