// The engine's C++ API where no GPU is needed: options out of range, no device, empty tokens, registration
// arguments, names of the enums.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "core/runtime/runtime_core.hpp"
#include "ghtier/runtime/runtime.hpp"

#include "ghtier/engine/completion_token.hpp"
#include "ghtier/engine/host_registration.hpp"
#include "ghtier/engine/transfer_engine.hpp"
#include "test_support.hpp"

namespace ghtier {
namespace {

TEST(TransferEngineApi, RefusesOptionsOutOfRange) {
  const Platform platform = assume_platform("x86-h100-pcie");
  auto with = [](auto change) {
    TransferEngineOptions o;
    change(o);
    return o;
  };
  EXPECT_GHTIER_ERROR(TransferEngine(platform, 0, nullptr, with([](auto& o) { o.chunk_bytes = 100; })),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(TransferEngine(platform, 0, nullptr, with([](auto& o) { o.staging_chunk_bytes = 0; })),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(TransferEngine(platform, 0, nullptr, with([](auto& o) { o.staging_slots = 1; })),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(TransferEngine(platform, 0, nullptr, with([](auto& o) { o.batch_max_items = 0; })),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(TransferEngine(platform, 0, nullptr, with([](auto& o) { o.copy_threads = 100000; })),
                      ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(TransferEngine(platform, 0, nullptr, with([](auto& o) {
                                       o.chunk_bytes = 1 << 20;
                                       o.background_window_bytes = 4096;
                                     })),
                      ErrorCode::invalid_argument);
}

TEST(TransferEngineApi, ValidateNeedsNoDevice) {
  EXPECT_NO_THROW(validate(TransferEngineOptions{}));
  TransferEngineOptions o;
  o.staging_chunk_bytes = 1000;
  EXPECT_GHTIER_ERROR(validate(o), ErrorCode::invalid_argument);
  // Polling for a request's end is bounded: 0 (never) to 10 ms, no more.
  TransferEngineOptions poll;
  poll.completion_poll_us = 0;
  EXPECT_NO_THROW(validate(poll));
  poll.completion_poll_us = 10'000;
  EXPECT_NO_THROW(validate(poll));
  poll.completion_poll_us = 10'001;
  EXPECT_GHTIER_ERROR(validate(poll), ErrorCode::invalid_argument);
  try {
    validate(poll);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("completion_poll_us"), std::string::npos) << e.what();
  }
}

TEST(TransferEngineApi, NeedsADeviceInRange) {
  const Platform platform = assume_platform("gh200");
  if (visible_device_count() == 0) {
    EXPECT_GHTIER_ERROR(TransferEngine(platform, 0), ErrorCode::no_device);
  } else {
    EXPECT_GHTIER_ERROR(TransferEngine(platform, visible_device_count()), ErrorCode::invalid_argument);
    EXPECT_GHTIER_ERROR(TransferEngine(platform, -1), ErrorCode::invalid_argument);
  }
}

TEST(TransferEngineApi, EmptyTokensSaySo) {
  CompletionToken token;
  EXPECT_FALSE(token.valid());
  EXPECT_GHTIER_ERROR((void)token.ready(), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)token.wait(), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)token.wait_for(std::chrono::milliseconds(1)), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(token.make_stream_wait(nullptr), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)token.status(), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)token.error(), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR((void)token.bytes(), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(token.release(), ErrorCode::invalid_argument);
  CompletionToken moved = std::move(token);
  EXPECT_FALSE(moved.valid());
}

TEST(TransferEngineApi, HostRegistrationArguments) {
  char buffer[64];
  EXPECT_GHTIER_ERROR(HostRegistration(nullptr, 4096), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(HostRegistration(buffer, 0), ErrorCode::invalid_argument);
  // Sizes no address space holds, and ranges that wrap, are refused before any CUDA call (this runs
  // without a GPU: a CUDA call would fail with another code).
  EXPECT_GHTIER_ERROR(HostRegistration(buffer, std::size_t{1} << 60), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(HostRegistration(buffer, max_transfer_bytes + 1), ErrorCode::invalid_argument);
  EXPECT_GHTIER_ERROR(HostRegistration(reinterpret_cast<void*>(~std::uintptr_t{0} - 4095), 8192),
                      ErrorCode::invalid_argument);
  HostRegistration none;
  EXPECT_FALSE(none.registered());
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_EQ(none.size(), 0u);
  none.reset();  // nothing to undo
}

// The engine refuses an offline runtime (no GPU behind it) with a clear error, before touching CUDA.
TEST(TransferEngineApi, RefusesAnOfflineRuntime) {
  RuntimeOptions options;
  options.assumed_profile = "gh200";
  const Runtime runtime(options);
  EXPECT_GHTIER_ERROR(TransferEngine{runtime}, ErrorCode::unsupported);
}

// Runtime::quiesce calls every registered transfer waiter (what engines over the runtime register), and a
// waiter being called is never removed under it: remove_transfer_waiter returns only after the call ends,
// so an engine destroyed during a quiesce is not waited on after it is gone.
TEST(TransferEngineApi, QuiesceCallsWaitersAndRemovalWaitsForTheCall) {
  RuntimeOptions options;
  options.assumed_profile = "x86-h100-pcie";
  const Runtime runtime(options);
  const std::shared_ptr<detail::RuntimeCore> core = runtime.shared_core();
  std::atomic<int> calls{0};
  std::atomic<bool> inside{false};
  std::atomic<bool> finished{false};
  const std::uint64_t slow = core->add_transfer_waiter([&] {
    inside = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ++calls;
    finished = true;
  });
  const std::uint64_t quick = core->add_transfer_waiter([&] { ++calls; });
  std::thread quiescer([&] { runtime.quiesce(); });
  while (!inside) std::this_thread::yield();
  core->remove_transfer_waiter(slow);
  EXPECT_TRUE(finished.load());  // removal waited for the call in progress
  quiescer.join();
  EXPECT_EQ(calls.load(), 2);
  runtime.quiesce();  // only the quick one is left
  EXPECT_EQ(calls.load(), 3);
  core->remove_transfer_waiter(quick);
  core->remove_transfer_waiter(quick);  // twice: no effect
  runtime.quiesce();
  EXPECT_EQ(calls.load(), 3);
}

TEST(TransferEngineApi, EnumNames) {
  EXPECT_EQ(to_string(TransferPriority::urgent), "urgent");
  EXPECT_EQ(to_string(TransferPriority::background), "background");
  EXPECT_EQ(to_string(TransferStatus::pending), "pending");
  EXPECT_EQ(to_string(TransferStatus::completed), "completed");
  EXPECT_EQ(to_string(TransferStatus::failed), "failed");
  EXPECT_EQ(to_string(TransferStatus::cancelled), "cancelled");
  EXPECT_EQ(to_string(TransferStatus::captured), "captured");
}

}  // namespace
}  // namespace ghtier
