// The C API through offline runtimes (assumed_profile): random sequences of the calls that work without a
// GPU, with random handles (live, destroyed, made-up ids of every kind, NULL), sizes, enum values, struct
// sizes and NULL pointers. Every call returns a status of the enum and never crashes; a failure leaves a
// message in ghtier_error_message(); an output handle or pointer is NULL after a failure; nothing leaks
// (LeakSanitizer, every runtime is destroyed at the end of an input).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/ghtier_platform_report.h"
#include "ghtier/ghtier_workloads.h"

namespace {

FuzzedDataProvider* input = nullptr;

/// A struct filled with input bytes, its struct_size mostly right, sometimes any value.
template <typename T>
T any_struct() {
  T value;
  const std::vector<std::uint8_t> bytes = input->ConsumeBytes<std::uint8_t>(sizeof(T));
  std::memset(&value, 0, sizeof(T));
  if (!bytes.empty()) std::memcpy(&value, bytes.data(), bytes.size());
  switch (input->ConsumeIntegralInRange(0, 3)) {
    case 0: value.struct_size = input->ConsumeIntegral<std::size_t>(); break;
    case 1: value.struct_size = 8 * input->ConsumeIntegralInRange<std::size_t>(0, sizeof(T) / 8); break;
    default: value.struct_size = sizeof(T); break;
  }
  return value;
}

template <typename T>
T* maybe_null(T* p) {
  return input->ConsumeIntegralInRange(0, 7) == 0 ? nullptr : p;
}

void check_status(ghtier_status_t status) {
  ghtier::fuzz::check(status >= GHTIER_SUCCESS && status <= GHTIER_ERROR_INTERNAL, "a status outside the enum");
  ghtier::fuzz::check(status != GHTIER_ERROR_INTERNAL, "GHTIER_ERROR_INTERNAL (a broken invariant)");
  const char* name = ghtier_status_name(status);
  ghtier::fuzz::check(name != nullptr && name[0] != '\0', "a status without a name");
  if (status != GHTIER_SUCCESS) {
    const char* message = ghtier_error_message();
    ghtier::fuzz::check(message != nullptr && message[0] != '\0', "a failure without a message");
  }
}

const char* const profile_names[] = {"gh200", "x86-h100-hmm", "x86-h100-pcie"};

/// Ids of every kind (the top byte), as the registry makes them (c_api_handles.hpp), and others.
void* made_up_handle() {
  static const std::uint8_t kinds[] = {0x11, 0x12, 0x13, 0x14, 0x21, 0x22, 0x23, 0x31, 0x33, 0x38, 0x00, 0xff};
  const std::uint64_t kind = kinds[input->ConsumeIntegralInRange<std::size_t>(0, sizeof(kinds) - 1)];
  const std::uint64_t serial = input->ConsumeBool() ? input->ConsumeIntegralInRange<std::uint64_t>(0, 64)
                                                    : input->ConsumeIntegral<std::uint64_t>() & ((1ull << 56) - 1);
  return reinterpret_cast<void*>(input->ConsumeIntegralInRange(0, 15) == 0 ? input->ConsumeIntegral<std::uint64_t>()
                                                                           : (kind << 56) | serial);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  input = &in;
  std::vector<ghtier_runtime_t*> runtimes;  // live ones, and destroyed ones kept as stale handles
  std::vector<bool> live;
  auto any_runtime = [&]() -> ghtier_runtime_t* {
    if (runtimes.empty() || in.ConsumeIntegralInRange(0, 7) == 0) {
      return in.ConsumeBool() ? nullptr : static_cast<ghtier_runtime_t*>(made_up_handle());
    }
    return runtimes[in.ConsumeIntegralInRange<std::size_t>(0, runtimes.size() - 1)];
  };
  auto forget = [&](ghtier_runtime_t* r) {
    for (std::size_t i = 0; i < runtimes.size(); ++i) {
      if (runtimes[i] == r) live[i] = false;
    }
  };
  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange(0, 13)) {
      case 0: {
        auto options = any_struct<ghtier_runtime_options_t>();
        std::string profile =
            in.ConsumeBool() ? profile_names[in.ConsumeIntegralInRange(0, 2)] : in.ConsumeRandomLengthString(24);
        // Never NULL: a NULL profile means the real GPU, which a fuzz run must not allocate on.
        options.assumed_profile = profile.c_str();
        ghtier_runtime_t* runtime = reinterpret_cast<ghtier_runtime_t*>(1);
        const ghtier_status_t status = ghtier_runtime_create(&options, &runtime);
        check_status(status);
        if (status == GHTIER_SUCCESS) {
          runtimes.push_back(runtime);
          live.push_back(true);
        } else {
          ghtier::fuzz::check(runtime == nullptr, "a failed runtime_create left a handle");
        }
        break;
      }
      case 1: {
        ghtier_runtime_t* r = any_runtime();
        const ghtier_status_t status = ghtier_runtime_destroy(r);
        check_status(status);
        if (status == GHTIER_SUCCESS) forget(r);
        break;
      }
      case 2: {
        auto info = any_struct<ghtier_platform_info_t>();
        check_status(ghtier_runtime_get_platform_info(any_runtime(), maybe_null(&info)));
        break;
      }
      case 3:
        check_status(ghtier_runtime_set_policy(any_runtime(),
                                               static_cast<ghtier_policy_t>(in.ConsumeIntegral<int8_t>()),
                                               in.ConsumeIntegral<std::size_t>()));
        break;
      case 4: {
        ghtier_policy_t policy;
        check_status(ghtier_runtime_get_policy(any_runtime(), maybe_null(&policy)));
        break;
      }
      case 5: {
        auto request = any_struct<ghtier_placement_request_t>();
        std::string tag = in.ConsumeRandomLengthString(300);
        request.tag = in.ConsumeBool() ? tag.c_str() : nullptr;
        auto placement = any_struct<ghtier_placement_t>();
        const ghtier_status_t status =
            ghtier_runtime_resolve(any_runtime(), maybe_null(&request), maybe_null(&placement));
        check_status(status);
        if (status == GHTIER_SUCCESS && placement.struct_size == sizeof(placement)) {
          ghtier::fuzz::check(std::memchr(placement.reason, '\0', sizeof(placement.reason)) != nullptr,
                              "a placement reason without its NUL");
        }
        break;
      }
      case 6: {
        const auto mode = static_cast<ghtier_memory_mode_t>(in.ConsumeIntegral<int8_t>());
        check_status(ghtier_runtime_set_budget(any_runtime(), mode, in.ConsumeIntegral<std::size_t>()));
        std::size_t budget = 0;
        std::size_t used = 0;
        check_status(ghtier_runtime_get_budget(any_runtime(), mode, maybe_null(&budget), maybe_null(&used)));
        auto stats = any_struct<ghtier_statistics_t>();
        check_status(ghtier_runtime_get_statistics(any_runtime(), mode, maybe_null(&stats)));
        break;
      }
      case 7: {
        // Offline, nothing allocates: every form refuses and leaves NULL behind.
        void* ptr = reinterpret_cast<void*>(1);
        const auto mode = static_cast<ghtier_memory_mode_t>(in.ConsumeIntegral<int8_t>());
        const ghtier_status_t status =
            ghtier_memory_alloc_mode_sync(any_runtime(), mode, in.ConsumeIntegral<std::size_t>(), maybe_null(&ptr));
        check_status(status);
        ghtier::fuzz::check(status != GHTIER_SUCCESS, "an offline runtime allocated");
        ghtier::fuzz::check(ptr == nullptr || ptr == reinterpret_cast<void*>(1), "a failed allocation left a pointer");
        check_status(ghtier_memory_free_sync(any_runtime(), made_up_handle()));
        break;
      }
      case 8: {
        // Destroying made-up ids of every kind (a destroyed or foreign handle is INVALID_ARGUMENT).
        void* h = made_up_handle();
        ghtier_status_t status = GHTIER_SUCCESS;
        switch (in.ConsumeIntegralInRange(0, 8)) {
          case 0: status = ghtier_engine_destroy(static_cast<ghtier_engine_t*>(h)); break;
          case 1: status = ghtier_token_destroy(static_cast<ghtier_token_t*>(h)); break;
          case 2: status = ghtier_host_registration_destroy(static_cast<ghtier_host_registration_t*>(h)); break;
          case 3: status = ghtier_index_check_destroy(static_cast<ghtier_index_check_t*>(h)); break;
          case 4: status = ghtier_row_cache_destroy(static_cast<ghtier_row_cache_t*>(h)); break;
          case 5: status = ghtier_hash_table_destroy(static_cast<ghtier_hash_table_t*>(h)); break;
          case 6: status = ghtier_activation_offloader_destroy(static_cast<ghtier_activation_offloader_t*>(h)); break;
          case 7: status = ghtier_weight_streamer_destroy(static_cast<ghtier_weight_streamer_t*>(h)); break;
          default: status = ghtier_kv_cache_destroy(static_cast<ghtier_kv_cache_t*>(h)); break;
        }
        check_status(status);
        break;
      }
      case 9: {
        std::vector<ghtier_activation_layer_profile_t> layers(in.ConsumeIntegralInRange<std::size_t>(0, 12));
        for (auto& l : layers) {
          l = {in.ConsumeFloatingPoint<double>(), in.ConsumeFloatingPointInRange(0.0, 0.1),
               in.ConsumeIntegral<std::uint64_t>() >> in.ConsumeIntegralInRange(0, 63),
               in.ConsumeIntegral<std::uint64_t>() >> in.ConsumeIntegralInRange(0, 63)};
        }
        auto request = any_struct<ghtier_activation_plan_request_t>();
        request.layers = in.ConsumeBool() ? layers.data() : nullptr;
        request.num_layers = layers.size();
        // Pointers are the caller's to get right: fixed actions, when given, are num_layers values (any int).
        std::vector<std::int32_t> fixed(layers.size());
        for (auto& a : fixed) a = in.ConsumeIntegralInRange<std::int32_t>(-1, 3);
        request.fixed_actions = in.ConsumeBool() ? fixed.data() : nullptr;
        std::vector<std::int32_t> actions(layers.size() + 1, -1);
        auto result = any_struct<ghtier_activation_plan_result_t>();
        check_status(ghtier_activation_plan(any_runtime(), maybe_null(&request), maybe_null(actions.data()),
                                            maybe_null(&result)));
        break;
      }
      case 10: {
        std::vector<ghtier_weight_layer_profile_t> layers(in.ConsumeIntegralInRange<std::size_t>(0, 10));
        for (auto& l : layers) {
          l = {in.ConsumeIntegral<std::uint64_t>() >> in.ConsumeIntegralInRange(0, 63),
               in.ConsumeFloatingPoint<double>()};
        }
        auto request = any_struct<ghtier_weight_plan_request_t>();
        request.layers = in.ConsumeBool() ? layers.data() : nullptr;
        request.num_layers = layers.size();
        std::vector<std::int32_t> placements(layers.size() + 1, -1);
        auto result = any_struct<ghtier_weight_plan_result_t>();
        check_status(ghtier_weight_plan(any_runtime(), maybe_null(&request), maybe_null(placements.data()),
                                        maybe_null(&result)));
        break;
      }
      case 11: {
        auto request = any_struct<ghtier_kv_resume_request_t>();
        auto plan = any_struct<ghtier_kv_resume_plan_t>();
        check_status(ghtier_kv_plan_resume(any_runtime(), maybe_null(&request), maybe_null(&plan)));
        break;
      }
      case 12: {
        const char* name = ghtier_status_name(static_cast<ghtier_status_t>(in.ConsumeIntegral<int>()));
        ghtier::fuzz::check(name != nullptr && name[0] != '\0', "a status value without a name");
        int major = 0, minor = 0, patch = 0;
        check_status(ghtier_version_get(maybe_null(&major), maybe_null(&minor), maybe_null(&patch)));
        break;
      }
      default: {
        ghtier_mode_access_t access;
        std::memset(&access, 0, sizeof(access));
        access.struct_size = in.ConsumeBool() ? sizeof(access) : in.ConsumeIntegral<std::size_t>();
        check_status(ghtier_runtime_get_mode_access(
            any_runtime(), static_cast<ghtier_memory_mode_t>(in.ConsumeIntegral<int8_t>()), maybe_null(&access)));
        break;
      }
    }
  }
  for (std::size_t i = 0; i < runtimes.size(); ++i) {
    if (live[i]) check_status(ghtier_runtime_destroy(runtimes[i]));
  }
  input = nullptr;
  return 0;
}
