// Placement requests and policy resolution through an offline runtime (RuntimeOptions::assumed_profile):
// a profile, a built-in policy, budgets, then requests with any size, accessor, frequency and tag. A
// request that validate() accepts always resolves (a built-in policy never asks for advice the platform
// cannot take); one it refuses is refused by resolve() too. Checked on every answer: a mode of the enum, a
// reason, device_only always in HBM, a GPU-only request never in system memory the GPU cannot read.
#include <cstddef>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "ghtier/platform/platform.hpp"
#include "ghtier/policy/builtin_policy.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace {

using namespace ghtier;

std::size_t any_size(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return in.ConsumeIntegral<std::size_t>();
    case 1: return std::size_t{1} << in.ConsumeIntegralInRange(0, 63);
    case 2: return max_request_bytes + in.ConsumeIntegralInRange<std::size_t>(0, 2) - 1;
    default: return in.ConsumeIntegralInRange<std::size_t>(0, std::size_t{1} << 40);
  }
}

template <typename Enum>
Enum any_enum(FuzzedDataProvider& in, int count) {
  // Mostly a valid value; sometimes one outside the enum (a C caller's integer).
  return static_cast<Enum>(in.ConsumeBool() ? in.ConsumeIntegralInRange(0, count - 1) : in.ConsumeIntegral<int>());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  RuntimeOptions options;
  const auto profiles = platform_profiles();
  options.assumed_profile =
      in.ConsumeBool() ? std::string(profiles[in.ConsumeIntegralInRange<std::size_t>(0, profiles.size() - 1)].name)
                       : in.ConsumeRandomLengthString(32);
  if (options.assumed_profile.empty()) options.assumed_profile = "gh200";
  const auto policy_kind = any_enum<BuiltinPolicy>(in, static_cast<int>(all_builtin_policies.size()));
  const std::size_t threshold = any_size(in);
  std::unique_ptr<Runtime> runtime;
  if (!fuzz::returns_or_refuses([&] {
        options.policy = make_builtin_policy(policy_kind, threshold);
        runtime = std::make_unique<Runtime>(options);
      })) {
    return 0;
  }
  fuzz::check(runtime->offline(), "a runtime on an assumed profile is not offline");
  const Platform& platform = runtime->platform();
  while (in.remaining_bytes() > 0) {
    if (in.ConsumeIntegralInRange(0, 4) == 0) {
      const auto mode = any_enum<MemoryMode>(in, static_cast<int>(all_memory_modes.size()));
      const std::size_t bytes = any_size(in);
      if (fuzz::returns_or_refuses([&] { runtime->set_budget(mode, bytes); })) {
        fuzz::check(runtime->budget(mode) == bytes, "set_budget did not keep the budget");
        fuzz::check(runtime->budget_used(mode) == 0, "an offline runtime counts bytes as used");
      }
      continue;
    }
    PlacementRequest request;
    request.bytes = any_size(in);
    request.accessor = any_enum<Accessor>(in, 3);
    request.frequency = any_enum<AccessFrequency>(in, 4);
    request.read_mostly = in.ConsumeBool();
    request.tag = in.ConsumeRandomLengthString(64);
    const bool valid = fuzz::returns_or_refuses([&] { validate(request); });
    Placement placement;
    const bool resolved = fuzz::returns_or_refuses([&] { placement = runtime->resolve(request); });
    fuzz::check(valid == resolved, valid ? "a valid request was refused by a built-in policy"
                                         : "resolve() accepted a request that validate() refuses");
    if (!resolved) continue;
    fuzz::check(static_cast<unsigned>(placement.mode) < all_memory_modes.size(), "a placement mode outside the enum");
    fuzz::check(!placement.reason.empty(), "a placement without a reason");
    if (policy_kind == BuiltinPolicy::device_only) {
      fuzz::check(placement.mode == MemoryMode::device, "device_only placed data outside HBM");
    }
    if (request.accessor != Accessor::cpu && placement.mode == MemoryMode::system) {
      fuzz::check(platform.gpu_reads_pageable, "GPU-touched data placed in system memory the GPU cannot read");
    }
    // Offline, allocation is refused as unsupported, never attempted.
    try {
      (void)runtime->allocate(request);
      fuzz::fail("an offline runtime allocated");
    } catch (const Error& e) {
      fuzz::check(e.code() == ErrorCode::unsupported || e.code() == ErrorCode::invalid_argument,
                  "an offline allocation failed with an unexpected code");
    }
  }
  return 0;
}
