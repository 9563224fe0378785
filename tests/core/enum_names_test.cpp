// Enum names: the table helper itself, and every enum's names pinned against the spelling users see (CLI
// flags, JSON, logs, the C API), read both ways.
#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/support/enum_names.hpp"
#include "cuda/column_scan_plan.hpp"
#include "cuda/row_copy_plan.hpp"
#include "engine/staging_ring.hpp"
#include "engine/transfer_route.hpp"
#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/error.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/kernels/column_view.hpp"
#include "ghtier/log.hpp"
#include "ghtier/memory/location.hpp"
#include "ghtier/memory/memory_advice.hpp"
#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/platform/platform.hpp"
#include "ghtier/policy/builtin_policy.hpp"
#include "ghtier/policy/placement_request.hpp"
#include "ghtier/runtime/residency.hpp"

using namespace ghtier;

namespace {

enum class Colour { red, green, blue };
constexpr detail::EnumName<Colour> colour_names[] = {
    {Colour::red, "red"}, {Colour::green, "green"}, {Colour::blue, "blue"}, {Colour::green, "verde"}};

TEST(EnumNames, FirstEntryNamesAliasesParse) {
  EXPECT_EQ(detail::enum_to_string(colour_names, Colour::green), "green");
  EXPECT_EQ(detail::enum_parse(colour_names, "green"), Colour::green);
  EXPECT_EQ(detail::enum_parse(colour_names, "verde"), Colour::green);
  EXPECT_EQ(detail::enum_parse(colour_names, "blue"), Colour::blue);
  EXPECT_EQ(detail::enum_parse(colour_names, "Blue"), std::nullopt);
  EXPECT_EQ(detail::enum_parse(colour_names, ""), std::nullopt);
  EXPECT_EQ(detail::enum_parse(colour_names, "blue "), std::nullopt);
  EXPECT_EQ(detail::enum_to_string(colour_names, static_cast<Colour>(7)), "unknown");
  EXPECT_EQ(detail::enum_to_string(colour_names, static_cast<Colour>(7), "?"), "?");
}

TEST(EnumNames, CompletenessCheckCatchesGapsDuplicatesAndEmptyNames) {
  EXPECT_TRUE(detail::enum_names_complete(colour_names, Colour::red, Colour::blue));
  constexpr detail::EnumName<Colour> missing_green[] = {{Colour::red, "red"}, {Colour::blue, "blue"}};
  EXPECT_FALSE(detail::enum_names_complete(missing_green, Colour::red, Colour::blue));
  constexpr detail::EnumName<Colour> twice[] = {{Colour::red, "red"}, {Colour::green, "red"}, {Colour::blue, "b"}};
  EXPECT_FALSE(detail::enum_names_complete(twice, Colour::red, Colour::blue));
  constexpr detail::EnumName<Colour> empty[] = {{Colour::red, "red"}, {Colour::green, ""}, {Colour::blue, "b"}};
  EXPECT_FALSE(detail::enum_names_complete(empty, Colour::red, Colour::blue));
}

template <class Enum>
using Expected = std::vector<std::pair<Enum, std::string_view>>;

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// Every listed value prints its name; names are distinct; a value past the last prints "unknown".
template <class Enum>
void expect_names(const Expected<Enum>& expected) {
  std::set<std::string_view> seen;
  int last = 0;
  for (const auto& [value, name] : expected) {
    EXPECT_EQ(to_string(value), name);
    EXPECT_TRUE(seen.insert(name).second) << name << " named twice";
    last = std::max(last, static_cast<int>(value));
  }
  EXPECT_EQ(to_string(static_cast<Enum>(last + 1)), "unknown");
}

/// Every name parses back to its value; other spellings do not parse.
template <class Enum, class Parse>
void expect_parse(const Expected<Enum>& expected, Parse parse) {
  for (const auto& [value, name] : expected) {
    EXPECT_EQ(parse(name), std::optional<Enum>(value)) << name;
    EXPECT_EQ(parse(std::string(name) + " "), std::nullopt) << name;
    if (upper(name) != name) {
      EXPECT_EQ(parse(upper(name)), std::nullopt) << name;
    }
  }
  EXPECT_EQ(parse(""), std::nullopt);
  EXPECT_EQ(parse("unknown"), std::nullopt);
}

TEST(EnumNames, MemoryModeAndItsRelatives) {
  const Expected<MemoryMode> modes{{MemoryMode::device, "device"},
                                   {MemoryMode::pinned_host, "pinned_host"},
                                   {MemoryMode::managed, "managed"},
                                   {MemoryMode::system, "system"}};
  expect_names(modes);
  expect_parse(modes, parse_memory_mode);
  EXPECT_EQ(parse_memory_mode("pinned"), MemoryMode::pinned_host) << "the short alias";
  ASSERT_EQ(all_memory_modes.size(), modes.size());
  for (MemoryMode mode : all_memory_modes) EXPECT_EQ(parse_memory_mode(to_string(mode)), mode);

  expect_names(Expected<MoveMechanism>{{MoveMechanism::copy_engine, "copy_engine"},
                                       {MoveMechanism::staged_copy, "staged_copy"},
                                       {MoveMechanism::host_copy, "host_copy"}});
  expect_names(Expected<Relocation>{{Relocation::none, "none"}, {Relocation::prefetch, "prefetch"}});
}

TEST(EnumNames, LocationAdviceAndRequests) {
  const Expected<Location> locations{{Location::none, "none"}, {Location::device, "device"}, {Location::host, "host"}};
  expect_names(locations);
  expect_parse(locations, parse_location);

  const Expected<Advice> advice{{Advice::set_read_mostly, "set_read_mostly"},
                                {Advice::unset_read_mostly, "unset_read_mostly"},
                                {Advice::set_preferred_location, "set_preferred_location"},
                                {Advice::unset_preferred_location, "unset_preferred_location"},
                                {Advice::set_accessed_by, "set_accessed_by"},
                                {Advice::unset_accessed_by, "unset_accessed_by"}};
  expect_names(advice);
  expect_parse(advice, parse_advice);

  const Expected<Accessor> accessors{{Accessor::gpu, "gpu"}, {Accessor::cpu, "cpu"}, {Accessor::both, "both"}};
  expect_names(accessors);
  expect_parse(accessors, parse_accessor);
  const Expected<AccessFrequency> frequencies{{AccessFrequency::hot, "hot"},
                                              {AccessFrequency::warm, "warm"},
                                              {AccessFrequency::cold, "cold"},
                                              {AccessFrequency::streamed_once, "streamed_once"}};
  expect_names(frequencies);
  expect_parse(frequencies, parse_access_frequency);
}

TEST(EnumNames, PoliciesPlatformResidencyErrors) {
  const Expected<BuiltinPolicy> policies{{BuiltinPolicy::device_only, "device_only"},
                                         {BuiltinPolicy::spill, "spill"},
                                         {BuiltinPolicy::size_threshold, "size_threshold"},
                                         {BuiltinPolicy::host_cache, "host_cache"},
                                         {BuiltinPolicy::unified, "unified"}};
  expect_names(policies);
  expect_parse(policies, parse_builtin_policy);

  expect_names(Expected<HostAccess>{{HostAccess::none, "none"}, {HostAccess::hmm, "hmm"}, {HostAccess::ats, "ats"}});
  expect_names(Expected<PlatformClass>{{PlatformClass::coherent_c2c, "coherent-c2c"},
                                       {PlatformClass::hmm_pcie, "hmm-pcie"},
                                       {PlatformClass::pcie, "pcie"}});
  // ResidencyKind's last value is itself named "unknown", so only the listed values are checked here.
  for (const auto& [kind, name] : Expected<ResidencyKind>{{ResidencyKind::device, "device"},
                                                          {ResidencyKind::host, "host"},
                                                          {ResidencyKind::mixed, "mixed"},
                                                          {ResidencyKind::not_populated, "not_populated"},
                                                          {ResidencyKind::unknown, "unknown"}}) {
    EXPECT_EQ(to_string(kind), name);
  }
  expect_names(Expected<ResidencySource>{{ResidencySource::allocation_mode, "allocation_mode"},
                                         {ResidencySource::page_query, "page_query"},
                                         {ResidencySource::last_prefetch_location, "last_prefetch_location"},
                                         {ResidencySource::preferred_location, "preferred_location"},
                                         {ResidencySource::none, "none"}});
  expect_names(Expected<ErrorCode>{{ErrorCode::invalid_argument, "invalid_argument"},
                                   {ErrorCode::no_device, "no_device"},
                                   {ErrorCode::out_of_memory, "out_of_memory"},
                                   {ErrorCode::out_of_budget, "out_of_budget"},
                                   {ErrorCode::unsupported, "unsupported"},
                                   {ErrorCode::cuda_error, "cuda_error"},
                                   {ErrorCode::not_found, "not_found"},
                                   {ErrorCode::io_error, "io_error"},
                                   {ErrorCode::internal, "internal"}});
  EXPECT_EQ(to_string(static_cast<ErrorCode>(0)), "unknown") << "codes start at 1";
}

TEST(EnumNames, LogLevelsWithAliases) {
  const Expected<LogLevel> levels{{LogLevel::debug, "debug"},
                                  {LogLevel::info, "info"},
                                  {LogLevel::warn, "warn"},
                                  {LogLevel::error, "error"},
                                  {LogLevel::off, "off"}};
  expect_parse(levels, parse_log_level);
  EXPECT_EQ(parse_log_level("warning"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("none"), LogLevel::off);
}

TEST(EnumNames, EngineAndKernelEnums) {
  expect_names(
      Expected<TransferPriority>{{TransferPriority::urgent, "urgent"}, {TransferPriority::background, "background"}});
  expect_names(Expected<TransferStatus>{{TransferStatus::pending, "pending"},
                                        {TransferStatus::completed, "completed"},
                                        {TransferStatus::failed, "failed"},
                                        {TransferStatus::cancelled, "cancelled"},
                                        {TransferStatus::captured, "captured"}});
  expect_names(Expected<detail::SlotState>{{detail::SlotState::free, "free"},
                                           {detail::SlotState::filling, "filling"},
                                           {detail::SlotState::in_flight, "in_flight"},
                                           {detail::SlotState::draining, "draining"}});
  expect_names(Expected<detail::LaneId>{{detail::LaneId::to_device, "to_device"},
                                        {detail::LaneId::to_host, "to_host"},
                                        {detail::LaneId::local, "local"}});
  expect_names(Expected<detail::GroupByStrategy>{{detail::GroupByStrategy::shared_memory, "shared_memory"},
                                                 {detail::GroupByStrategy::global_memory, "global_memory"}});
  expect_names(Expected<detail::RowCopyShape>{{detail::RowCopyShape::thread_per_row, "thread_per_row"},
                                              {detail::RowCopyShape::group_per_row, "group_per_row"},
                                              {detail::RowCopyShape::warp_per_row, "warp_per_row"},
                                              {detail::RowCopyShape::block_per_row, "block_per_row"}});
  expect_names(Expected<ColumnType>{{ColumnType::int32, "int32"},
                                    {ColumnType::int64, "int64"},
                                    {ColumnType::float32, "float32"},
                                    {ColumnType::float64, "float64"}});
}

TEST(EnumNames, CStatusStrings) {
  const Expected<ghtier_status_t> statuses{{GHTIER_SUCCESS, "GHTIER_SUCCESS"},
                                           {GHTIER_ERROR_INVALID_ARGUMENT, "GHTIER_ERROR_INVALID_ARGUMENT"},
                                           {GHTIER_ERROR_NO_DEVICE, "GHTIER_ERROR_NO_DEVICE"},
                                           {GHTIER_ERROR_OUT_OF_MEMORY, "GHTIER_ERROR_OUT_OF_MEMORY"},
                                           {GHTIER_ERROR_OUT_OF_BUDGET, "GHTIER_ERROR_OUT_OF_BUDGET"},
                                           {GHTIER_ERROR_UNSUPPORTED, "GHTIER_ERROR_UNSUPPORTED"},
                                           {GHTIER_ERROR_CUDA, "GHTIER_ERROR_CUDA"},
                                           {GHTIER_ERROR_NOT_FOUND, "GHTIER_ERROR_NOT_FOUND"},
                                           {GHTIER_ERROR_IO, "GHTIER_ERROR_IO"},
                                           {GHTIER_ERROR_INTERNAL, "GHTIER_ERROR_INTERNAL"}};
  for (const auto& [status, name] : statuses) EXPECT_STREQ(ghtier_status_name(status), name.data());
  EXPECT_STREQ(ghtier_status_name(static_cast<ghtier_status_t>(99)), "GHTIER_UNKNOWN_STATUS");
}

}  // namespace
