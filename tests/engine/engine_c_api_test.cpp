// The transfer engine's C API without a GPU: every function with bad arguments (NULL handles and outputs,
// handles never made or already destroyed/released, zero and absurd counts, values outside the enums, option
// structs of a bad size), and an offline runtime, which has no GPU for an engine.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ghtier/ghtier.h"
#include "test_support.hpp"

namespace {

#define EXPECT_STATUS(call, expected)                                        \
  do {                                                                       \
    const ghtier_status_t status_ = (call);                                  \
    EXPECT_EQ(status_, expected) << #call << ": " << ghtier_error_message(); \
    if (status_ != GHTIER_SUCCESS) {                                         \
      EXPECT_STRNE(ghtier_error_message(), "") << #call;                     \
    }                                                                        \
  } while (0)

// The last error names what was wrong.
#define EXPECT_MENTIONS(text) \
  EXPECT_NE(std::string(ghtier_error_message()).find(text), std::string::npos) << ghtier_error_message()

ghtier_engine_t* fake_engine() { return reinterpret_cast<ghtier_engine_t*>(std::uintptr_t{0x1230}); }
ghtier_token_t* fake_token() { return reinterpret_cast<ghtier_token_t*>(std::uintptr_t{0x4560}); }
ghtier_host_registration_t* fake_registration() {
  return reinterpret_cast<ghtier_host_registration_t*>(std::uintptr_t{0x7890});
}

class EngineCApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ghtier_runtime_options_t o{};
    o.struct_size = sizeof(o);
    o.assumed_profile = "x86-h100-pcie";
    ASSERT_EQ(ghtier_runtime_create(&o, &offline_), GHTIER_SUCCESS) << ghtier_error_message();
  }
  void TearDown() override { EXPECT_EQ(ghtier_runtime_destroy(offline_), GHTIER_SUCCESS); }

  ghtier_runtime_t* offline_ = nullptr;
  char buffer_[256] = {};
  char other_[256] = {};
};

TEST_F(EngineCApi, CreateAndDestroy) {
  ghtier_engine_t* engine = fake_engine();
  EXPECT_STATUS(ghtier_engine_create(offline_, nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("engine is NULL");
  EXPECT_STATUS(ghtier_engine_create(nullptr, nullptr, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(engine, nullptr) << "the output is cleared on failure";
  // An offline runtime has no GPU.
  EXPECT_STATUS(ghtier_engine_create(offline_, nullptr, &engine), GHTIER_ERROR_UNSUPPORTED);
  EXPECT_MENTIONS("offline");
  // Option structs: size 0, not a multiple of 8, larger than this library knows; enums; reserved fields.
  ghtier_engine_options_t o{};
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("struct_size");
  o.struct_size = 12;
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  o.struct_size = sizeof(o) + 8;
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  o.struct_size = sizeof(o);
  o.batch_mechanism = 7;
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("batch_mechanism");
  o.batch_mechanism = GHTIER_BATCH_SM_KERNEL;
  o.reserved = 1;
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  o.reserved = 0;
  o.chunk_bytes = 100;  // below 4 KiB: refused by the engine's own option checks, before the runtime is asked
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("chunk_bytes");
  o.chunk_bytes = 0;
  o.staging_slots = 1;
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("staging_slots");
  o.staging_slots = 0;
  EXPECT_STATUS(ghtier_engine_create(offline_, &o, &engine), GHTIER_ERROR_UNSUPPORTED);
  // An older, smaller struct (struct_size only) is accepted: the rest take defaults.
  ghtier_engine_options_t old{};
  old.struct_size = sizeof(std::size_t);
  EXPECT_STATUS(ghtier_engine_create(offline_, &old, &engine), GHTIER_ERROR_UNSUPPORTED);
  // A destroyed runtime.
  ghtier_runtime_options_t ro{};
  ro.struct_size = sizeof(ro);
  ro.assumed_profile = "gh200";
  ghtier_runtime_t* gone = nullptr;
  ASSERT_EQ(ghtier_runtime_create(&ro, &gone), GHTIER_SUCCESS);
  ASSERT_EQ(ghtier_runtime_destroy(gone), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_engine_create(gone, nullptr, &engine), GHTIER_ERROR_INVALID_ARGUMENT);
  // Destroy: NULL is a no-op, a handle never made is an error.
  EXPECT_STATUS(ghtier_engine_destroy(nullptr), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_engine_destroy(fake_engine()), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("not a live engine");
}

TEST_F(EngineCApi, SubmissionArguments) {
  ghtier_token_t* token = fake_token();
  // Outputs and pointers first (checked before the engine is looked up).
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, nullptr, nullptr),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("token is NULL");
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), nullptr, other_, 16, nullptr, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("dst is NULL");
  EXPECT_EQ(token, nullptr);
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, nullptr, 16, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("src is NULL");
  EXPECT_STATUS(ghtier_engine_copy(nullptr, buffer_, other_, 16, nullptr, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("engine is NULL");
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, nullptr, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("not a live engine");
  // Transfer options.
  ghtier_transfer_options_t o{};
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, &o, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("struct_size");
  o.struct_size = sizeof(o);
  o.priority = 9;
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, &o, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("priority");
  o.priority = GHTIER_PRIORITY_URGENT;
  o.num_wait_streams = 2;
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, &o, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("wait_streams is NULL");
  o.num_wait_streams = 0;
  o.num_wait_events = 1;
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, &o, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("wait_events is NULL");
  void* no_event[1] = {nullptr};
  o.wait_events = no_event;
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, &o, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("wait_events[0] is NULL");
  o.num_wait_events = std::size_t{1} << 40;
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, &o, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  o.num_wait_events = 0;
  o.reserved = 3;
  EXPECT_STATUS(ghtier_engine_copy(fake_engine(), buffer_, other_, 16, &o, &token), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("reserved");
  // Prefetch.
  EXPECT_STATUS(
      ghtier_engine_prefetch(fake_engine(), buffer_, 16, static_cast<ghtier_prefetch_target_t>(5), nullptr, &token),
      GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("target");
  EXPECT_STATUS(ghtier_engine_prefetch(fake_engine(), nullptr, 16, GHTIER_PREFETCH_DEVICE, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("ptr is NULL");
  EXPECT_STATUS(ghtier_engine_prefetch(fake_engine(), buffer_, 16, GHTIER_PREFETCH_HOST, nullptr, nullptr),
                GHTIER_ERROR_INVALID_ARGUMENT);
  // Batches.
  void* dsts[1] = {buffer_};
  const void* srcs[1] = {other_};
  std::size_t sizes[1] = {16};
  EXPECT_STATUS(ghtier_engine_copy_batch(fake_engine(), dsts, srcs, sizes, 0, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("count is 0");
  EXPECT_STATUS(ghtier_engine_copy_batch(fake_engine(), nullptr, srcs, sizes, 1, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("dsts is NULL");
  EXPECT_STATUS(ghtier_engine_copy_batch(fake_engine(), dsts, nullptr, sizes, 1, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_engine_copy_batch(fake_engine(), dsts, srcs, nullptr, 1, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_engine_copy_batch(fake_engine(), dsts, srcs, sizes, std::size_t{1} << 40, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_engine_copy_batch(fake_engine(), dsts, srcs, sizes, 1, nullptr, &token),
                GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("not a live engine");
  // Synchronize and statistics.
  EXPECT_STATUS(ghtier_engine_synchronize(nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_engine_synchronize(fake_engine()), GHTIER_ERROR_INVALID_ARGUMENT);
  ghtier_engine_statistics_t stats{};
  EXPECT_STATUS(ghtier_engine_get_statistics(fake_engine(), nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_engine_get_statistics(fake_engine(), &stats), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("struct_size");
  stats.struct_size = sizeof(stats);
  EXPECT_STATUS(ghtier_engine_get_statistics(fake_engine(), &stats), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("not a live engine");
}

TEST_F(EngineCApi, TokensAndRegistrations) {
  int ready = 0;
  ghtier_transfer_state_t state = GHTIER_TRANSFER_PENDING;
  EXPECT_STATUS(ghtier_token_poll(nullptr, &ready), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_token_poll(fake_token(), nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("ready is NULL");
  EXPECT_STATUS(ghtier_token_poll(fake_token(), &ready), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("not a live token");
  EXPECT_STATUS(ghtier_token_wait(nullptr, &state), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_token_wait(fake_token(), nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_token_wait_on_stream(nullptr, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_token_wait_on_stream(fake_token(), nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_token_destroy(nullptr), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_token_destroy(fake_token()), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("not a live token");

  ghtier_host_registration_t* registration = fake_registration();
  EXPECT_STATUS(ghtier_host_registration_create(nullptr, 4096, &registration), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(registration, nullptr);
  EXPECT_MENTIONS("p is null");
  EXPECT_STATUS(ghtier_host_registration_create(buffer_, 0, &registration), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_MENTIONS("zero bytes");
  EXPECT_STATUS(ghtier_host_registration_create(buffer_, 64, nullptr), GHTIER_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(ghtier_host_registration_destroy(nullptr), GHTIER_SUCCESS);
  EXPECT_STATUS(ghtier_host_registration_destroy(fake_registration()), GHTIER_ERROR_INVALID_ARGUMENT);
}

TEST_F(EngineCApi, NamesOfTheEnumsAreStable) {
  // The values are part of the ABI: a Python or C caller passes numbers.
  EXPECT_EQ(GHTIER_PRIORITY_DEFAULT, 0);
  EXPECT_EQ(GHTIER_PRIORITY_URGENT, 1);
  EXPECT_EQ(GHTIER_PRIORITY_BACKGROUND, 2);
  EXPECT_EQ(GHTIER_TRANSFER_COMPLETED, 1);
  EXPECT_EQ(GHTIER_TRANSFER_CAPTURED, 4);
  EXPECT_EQ(GHTIER_PREFETCH_HOST, 1);
  EXPECT_EQ(GHTIER_BATCH_AUTOMATIC, 0);
  EXPECT_EQ(GHTIER_BATCH_COPY_ENGINE, 1);
  EXPECT_EQ(GHTIER_BATCH_SM_KERNEL, 2);
  EXPECT_EQ(sizeof(ghtier_engine_options_t) % 8, 0u);
  EXPECT_EQ(sizeof(ghtier_transfer_options_t) % 8, 0u);
  EXPECT_EQ(sizeof(ghtier_engine_statistics_t) % 8, 0u);
}

}  // namespace
