// CPU tests of capi::Holder, the one template behind the C API's object handles: the object goes before the
// runtime share it keeps, a call in flight keeps a destroyed handle's object alive, a failed make registers
// nothing, and destroy reports NULL, dead and wrong-type handles as every C destroy does.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "capi/c_api_holder.hpp"
#include "ghtier/ghtier.h"
#include "ghtier/ghtier_kernels.h"  // ghtier_row_cache_t
#include "ghtier/runtime/runtime.hpp"
#include "test_support.hpp"

namespace {

using ghtier::Runtime;
using ghtier::capi::HandleKind;

// An object that records, when it goes, whether the runtime it was made with was still alive.
struct Witness {
  std::weak_ptr<Runtime> runtime;
  std::shared_ptr<bool> runtime_alive_at_destruction;
  std::shared_ptr<int> destructions;
  ~Witness() {
    if (destructions == nullptr) return;
    *runtime_alive_at_destruction = !runtime.expired();
    ++*destructions;
  }
};

// A handle type of the registry that these tests borrow: the fake object never reaches the C API's functions.
using WitnessHolder = ghtier::capi::Holder<ghtier_row_cache_t, Witness, HandleKind::row_cache>;

std::shared_ptr<Runtime> offline_runtime() {
  ghtier::RuntimeOptions options;
  options.assumed_profile = "gh200";
  return std::make_shared<Runtime>(options);
}

struct Made {
  ghtier_row_cache_t* handle;
  std::weak_ptr<Runtime> runtime;
  std::shared_ptr<bool> runtime_alive_at_destruction = std::make_shared<bool>(false);
  std::shared_ptr<int> destructions = std::make_shared<int>(0);
};

Made make_witness() {
  Made m{nullptr, {}};
  auto runtime = offline_runtime();
  m.runtime = runtime;
  m.handle = WitnessHolder::create(std::move(runtime), [&](Runtime& kept) {
    EXPECT_EQ(&kept, m.runtime.lock().get());
    return Witness{m.runtime, m.runtime_alive_at_destruction, m.destructions};
  });
  return m;
}

std::string last_error() { return ghtier_error_message(); }

TEST(CApiHolder, TheObjectGoesBeforeTheRuntimeItKeeps) {
  Made m = make_witness();
  ASSERT_NE(m.handle, nullptr);
  EXPECT_FALSE(m.runtime.expired()) << "the holder keeps the runtime alive";
  EXPECT_EQ(WitnessHolder::destroy("test_destroy", m.handle, "witness"), GHTIER_SUCCESS) << last_error();
  EXPECT_EQ(*m.destructions, 1);
  EXPECT_TRUE(*m.runtime_alive_at_destruction) << "the runtime went before the object made over it";
  EXPECT_TRUE(m.runtime.expired()) << "the holder's share of the runtime was not released";
}

TEST(CApiHolder, ACallInFlightKeepsADestroyedHandlesObjectAlive) {
  Made m = make_witness();
  {
    const std::shared_ptr<WitnessHolder> in_flight = WitnessHolder::get(m.handle, "witness");
    EXPECT_EQ(in_flight->object().destructions, m.destructions);
    EXPECT_EQ(&in_flight->runtime(), m.runtime.lock().get());
    ASSERT_EQ(WitnessHolder::destroy("test_destroy", m.handle, "witness"), GHTIER_SUCCESS) << last_error();
    EXPECT_EQ(*m.destructions, 0) << "destroyed under a call in flight";
    EXPECT_GHTIER_ERROR((void)WitnessHolder::get(m.handle, "witness"), ghtier::ErrorCode::invalid_argument);
  }
  EXPECT_EQ(*m.destructions, 1);
  EXPECT_TRUE(m.runtime.expired());
}

TEST(CApiHolder, DestroyTakesNullAndRefusesDeadAndWrongTypeHandles) {
  EXPECT_EQ(WitnessHolder::destroy("test_destroy", nullptr, "witness"), GHTIER_SUCCESS);

  Made m = make_witness();
  ASSERT_EQ(WitnessHolder::destroy("test_destroy", m.handle, "witness"), GHTIER_SUCCESS) << last_error();
  EXPECT_EQ(WitnessHolder::destroy("test_destroy", m.handle, "witness"), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("test_destroy: witness = "), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("already destroyed"), std::string::npos) << last_error();
  EXPECT_EQ(*m.destructions, 1) << "a second destroy touched the object again";

  // A live handle of another kind is refused, and stays live.
  ghtier_runtime_options_t options{};
  options.struct_size = sizeof(options);
  options.assumed_profile = "gh200";
  ghtier_runtime_t* runtime = nullptr;
  ASSERT_EQ(ghtier_runtime_create(&options, &runtime), GHTIER_SUCCESS) << last_error();
  const auto* foreign = reinterpret_cast<const ghtier_row_cache_t*>(runtime);
  EXPECT_EQ(WitnessHolder::destroy("test_destroy", foreign, "witness"), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("it is a runtime handle"), std::string::npos) << last_error();
  EXPECT_EQ(ghtier_runtime_destroy(runtime), GHTIER_SUCCESS) << last_error();
}

TEST(CApiHolder, AMakeThatThrowsRegistersNothingAndReleasesTheRuntime) {
  const std::size_t live_before = ghtier::capi::handles().size();
  auto runtime = offline_runtime();
  const std::weak_ptr<Runtime> weak = runtime;
  EXPECT_THROW((void)WitnessHolder::create(std::move(runtime),
                                           [](Runtime&) -> Witness { throw std::runtime_error("make failed"); }),
               std::runtime_error);
  EXPECT_EQ(ghtier::capi::handles().size(), live_before);
  EXPECT_TRUE(weak.expired()) << "a failed create kept the runtime alive";
}

}  // namespace
