// The fault injector on the CPU: parsing of plans (and clear refusals), which calls each kind counts, that the
// N-th counted call at a check site fails without being made and the others are made, thread safety, and the
// plan from GHTIER_FAULT_INJECT (this binary is also run with it set: tests/core/CMakeLists.txt).
// The CUDA calls here are stand-ins with CUDA's names in a namespace of their own: they count how often they
// were really called, which is what "failed without being made" is checked against.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/support/cuda_check.hpp"
#include "core/support/fault_injector.hpp"
#include "ghtier/error.hpp"
#include "test_support.hpp"

using namespace ghtier;
using namespace ghtier::detail;

namespace stand_in {
std::atomic<int> made{0};  // calls really made
cudaError_t next_status = cudaSuccess;
cudaError_t cudaMallocAsync(void** p, std::size_t, cudaStream_t) {
  ++made;
  *p = reinterpret_cast<void*>(0x1000);
  return next_status;
}
cudaError_t cudaMemcpyAsync(void*, const void*, std::size_t, cudaMemcpyKind, cudaStream_t) {
  ++made;
  return next_status;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) {
  ++made;
  return next_status;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) {
  ++made;
  return next_status;
}
cudaError_t cudaFreeAsync(void*, cudaStream_t) {
  ++made;
  return next_status;
}
}  // namespace stand_in

namespace {

// Runs `call` through GHTIER_CUDA_CHECK; the error's message, or "" when it succeeded.
#define CHECKED(call)               \
  [&]() -> std::string {            \
    try {                           \
      GHTIER_CUDA_CHECK(call);      \
      return std::string();         \
    } catch (const Error& e) {      \
      return std::string(e.what()); \
    }                               \
  }()

std::string refusal_of(std::string_view text) {
  try {
    (void)parse_fault_plan(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "\"" << text << "\" was accepted";
  return {};
}

class FaultInjector : public ::testing::Test {
 protected:
  void SetUp() override {
    stand_in::made = 0;
    stand_in::next_status = cudaSuccess;
    if (std::getenv("GHTIER_FAULT_INJECT") != nullptr) GTEST_SKIP() << "a plan is armed from the environment";
  }
  void TearDown() override { disarm_fault_injection(); }
};

// ---- parsing ------------------------------------------------------------------------------------------------

TEST(FaultPlanParse, DefaultsAndEveryKey) {
  const FaultPlan d = parse_fault_plan("call=4");
  EXPECT_EQ(d.kind, FaultKind::any);
  EXPECT_EQ(d.call, 4u);
  EXPECT_EQ(d.times, 1u);
  EXPECT_EQ(d.error, cudaErrorUnknown);
  EXPECT_TRUE(d.function.empty());
  EXPECT_EQ(parse_fault_plan("kind=alloc").error, cudaErrorMemoryAllocation);

  const FaultPlan p =
      parse_fault_plan(" kind = copy , call=17,times=3, error=cudaErrorLaunchFailure,function=cudaMemcpyAsync ");
  EXPECT_EQ(p.kind, FaultKind::copy);
  EXPECT_EQ(p.call, 17u);
  EXPECT_EQ(p.times, 3u);
  EXPECT_EQ(p.error, cudaErrorLaunchFailure);
  EXPECT_EQ(p.function, "cudaMemcpyAsync");
  EXPECT_EQ(parse_fault_plan("times=all").times, 0u);
  EXPECT_EQ(parse_fault_plan("error=2").error, cudaErrorMemoryAllocation);
  for (const char* kind : {"alloc", "copy", "event", "stream", "any"}) {
    EXPECT_EQ(to_string(parse_fault_plan(std::string("kind=") + kind).kind), kind);
  }
}

TEST(FaultPlanParse, DescribeReadsBackToTheSamePlan) {
  for (const char* text : {"kind=alloc,call=3", "kind=event,call=1,times=all,error=cudaErrorLaunchFailure",
                           "call=9,times=2,error=cudaErrorInvalidValue,function=cudaStreamSynchronize"}) {
    const FaultPlan plan = parse_fault_plan(text);
    EXPECT_EQ(parse_fault_plan(describe(plan)), plan) << text << " -> " << describe(plan);
  }
}

TEST(FaultPlanParse, RefusalsSayWhatWasWrong) {
  EXPECT_NE(refusal_of("").find("empty"), std::string::npos);
  EXPECT_NE(refusal_of("   ").find("empty"), std::string::npos);
  EXPECT_NE(refusal_of("call").find("\"call\" is not key=value"), std::string::npos);
  EXPECT_NE(refusal_of("call=").find("call has no value"), std::string::npos);
  EXPECT_NE(refusal_of("call=0").find("call=0 is not a whole number of at least 1"), std::string::npos);
  EXPECT_NE(refusal_of("call=-1").find("call=-1"), std::string::npos);
  EXPECT_NE(refusal_of("call=3x").find("call=3x"), std::string::npos);
  EXPECT_NE(refusal_of("call=99999999999999999999999").find("call="), std::string::npos);
  EXPECT_NE(refusal_of("times=0").find("times=0"), std::string::npos);
  EXPECT_NE(refusal_of("times=some").find("times=some"), std::string::npos);
  EXPECT_NE(refusal_of("kind=malloc").find("kind=malloc is not alloc, copy, event, stream or any"), std::string::npos);
  EXPECT_NE(refusal_of("error=cudaErrorNoSuchThing").find("error=cudaErrorNoSuchThing is not the name"),
            std::string::npos);
  EXPECT_NE(refusal_of("error=cudaSuccess").find("cudaSuccess is not an error"), std::string::npos);
  EXPECT_NE(refusal_of("error=0").find("error=0 is not a CUDA error number"), std::string::npos);
  EXPECT_NE(refusal_of("error=100000").find("error=100000"), std::string::npos);
  EXPECT_NE(refusal_of("call=1,call=2").find("call is given twice"), std::string::npos);
  EXPECT_NE(refusal_of("count=1").find("unknown key \"count\""), std::string::npos);
  EXPECT_NE(refusal_of("function=cudaFree").find("function=cudaFree is not a CUDA call the injector counts"),
            std::string::npos);
  EXPECT_NE(refusal_of("kind=alloc,function=cudaMemcpy").find("function=cudaMemcpy is not a call of kind=alloc"),
            std::string::npos);
}

TEST(FaultPlanParse, ArmingRefusesAPlanThatCouldNeverFire) {
  const std::optional<FaultPlan> before = armed_fault_plan();
  FaultPlan plan;
  plan.call = 0;
  EXPECT_GHTIER_ERROR(arm_fault_injection(plan), ErrorCode::invalid_argument);
  plan.call = 1;
  plan.error = cudaSuccess;
  EXPECT_GHTIER_ERROR(arm_fault_injection(plan), ErrorCode::invalid_argument);
  EXPECT_EQ(armed_fault_plan(), before) << "a refused plan replaced the armed one";
}

// ---- which calls count ------------------------------------------------------------------------------------

TEST(FaultKindOf, AllocationsCopiesEventsStreamsButNoRelease) {
  struct Case {
    const char* call;
    std::optional<FaultKind> kind;
  };
  const Case cases[] = {
      {"cudaMalloc(&p, n)", FaultKind::alloc},
      {"cudaMallocAsync(&p, n, s)", FaultKind::alloc},
      {"cudaMallocFromPoolAsync(&raw, padded, pool_, on)", FaultKind::alloc},
      {"cudaMallocManaged(&raw, padded, cudaMemAttachGlobal)", FaultKind::alloc},
      {"cudaMallocHost(&p, n)", FaultKind::alloc},
      {"cudaHostAlloc(&p, n, 0)", FaultKind::alloc},
      {"cudaHostRegister(p, n, 0)", FaultKind::alloc},
      {"cudaMemPoolCreate(&pool_, &props)", FaultKind::alloc},
      {"cudaMemcpy(d, s, n, k)", FaultKind::copy},
      {"cudaMemcpyAsync(d, s, n, k, st)", FaultKind::copy},
      {"cudaMemcpy2DAsync(d, 1, s, 1, 1, 1, k, st)", FaultKind::copy},
      {"cudaMemcpyBatchAsync(a, b, c, d, e, f, g, h)", FaultKind::copy},
      {"cudaMemsetAsync(p, 0, n, s)", FaultKind::copy},
      {"cudaMemPrefetchAsync(p, n, l, 0, s)", FaultKind::copy},
      {"cudaEventCreateWithFlags(&e, f)", FaultKind::event},
      {"cudaEventRecord(e, s)", FaultKind::event},
      {"  cudaEventSynchronize ( e )", FaultKind::event},
      {"cudaStreamCreateWithFlags(&s, f)", FaultKind::stream},
      {"cudaStreamSynchronize(s)", FaultKind::stream},
      {"cudaStreamWaitEvent(s, e, 0)", FaultKind::stream},
      {"some::where::cudaStreamSynchronize(s)", FaultKind::stream},
      {"cudaFree(p)", std::nullopt},
      {"cudaFreeAsync(p, s)", std::nullopt},
      {"cudaFreeHost(p)", std::nullopt},
      {"cudaHostUnregister(p)", std::nullopt},
      {"cudaEventDestroy(e)", std::nullopt},
      {"cudaStreamDestroy(s)", std::nullopt},
      {"cudaMemPoolDestroy(pool)", std::nullopt},
      {"cudaMemPoolTrimTo(pool, 0)", std::nullopt},
      {"cudaGetDevice(&d)", std::nullopt},
      {"cudaSetDevice(d)", std::nullopt},
      {"cudaMemAdvise(p, n, a, l)", std::nullopt},
      {"cudaDeviceGetAttribute(&v, a, d)", std::nullopt},
      {"status", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(fault_kind_of(c.call), c.kind) << "\"" << c.call << "\"";
}

// ---- check sites ---------------------------------------------------------------------------------------------

TEST_F(FaultInjector, TheNthCallOfItsKindFailsWithoutBeingMadeAndTheOthersAreMade) {
  ScopedFaultInjection armed(parse_fault_plan("kind=alloc,call=3"));
  void* p = nullptr;
  float dst = 0.0F;
  const float src = 1.0F;
  for (int i = 0; i < 5; ++i) {
    // Copies in between do not count for an allocation plan.
    EXPECT_EQ(CHECKED(stand_in::cudaMemcpyAsync(&dst, &src, 4, cudaMemcpyDefault, nullptr)), "");
  }
  EXPECT_EQ(CHECKED(stand_in::cudaMallocAsync(&p, 64, nullptr)), "");
  EXPECT_EQ(CHECKED(stand_in::cudaMallocAsync(&p, 64, nullptr)), "");
  EXPECT_EQ(stand_in::made, 7);
  p = nullptr;
  try {
    GHTIER_CUDA_CHECK(stand_in::cudaMallocAsync(&p, 64, nullptr));
    ADD_FAILURE() << "the third allocation was not failed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::out_of_memory) << e.what();
    EXPECT_EQ(e.cuda_status(), static_cast<int>(cudaErrorMemoryAllocation));
    const std::string what = e.what();
    EXPECT_NE(what.find("stand_in::cudaMallocAsync(&p, 64, nullptr) failed at fault_injector_test.cpp:"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("cudaErrorMemoryAllocation"), std::string::npos) << what;
    EXPECT_NE(what.find("injected by ghtier's fault injector"), std::string::npos) << what;
  }
  EXPECT_EQ(stand_in::made, 7) << "the failed call was made";
  EXPECT_EQ(p, nullptr) << "the failed allocation handed out a pointer";
  EXPECT_EQ(CHECKED(stand_in::cudaMallocAsync(&p, 64, nullptr)), "") << "times=1: only the third fails";
  EXPECT_EQ(stand_in::made, 8);
  EXPECT_EQ(fault_counted_calls(), 4u);
  EXPECT_EQ(faults_injected(), 1u);
  EXPECT_EQ(last_injected_function(), "cudaMallocAsync");
}

TEST_F(FaultInjector, EachKindCountsOnlyItsOwnCallsAndAnyCountsThemAll) {
  const auto run_all = [] {
    void* p = nullptr;
    int x = 0;
    (void)CHECKED(stand_in::cudaMallocAsync(&p, 8, nullptr));
    (void)CHECKED(stand_in::cudaMemcpyAsync(&x, &x, 4, cudaMemcpyDefault, nullptr));
    (void)CHECKED(stand_in::cudaEventRecord(nullptr, nullptr));
    (void)CHECKED(stand_in::cudaStreamSynchronize(nullptr));
    (void)CHECKED(stand_in::cudaFreeAsync(p, nullptr));  // a release: never counted
  };
  for (const char* kind : {"alloc", "copy", "event", "stream"}) {
    ScopedFaultInjection armed(parse_fault_plan(std::string("kind=") + kind + ",call=1000"));
    run_all();
    run_all();
    EXPECT_EQ(fault_counted_calls(), 2u) << kind;
    EXPECT_EQ(faults_injected(), 0u) << kind;
  }
  ScopedFaultInjection armed(parse_fault_plan("kind=any,call=1000"));
  run_all();
  EXPECT_EQ(fault_counted_calls(), 4u);
}

TEST_F(FaultInjector, SweepingNFailsEachCallOnceInTurn) {
  // The shape of every operation sweep: arm call=N, run, see which call failed; stop when none did.
  const auto operation = [](std::vector<std::string>& failed) {
    void* p = nullptr;
    int x = 0;
    const auto step = [&](const std::string& message) {
      if (!message.empty()) failed.push_back(message);
    };
    step(CHECKED(stand_in::cudaMallocAsync(&p, 8, nullptr)));
    step(CHECKED(stand_in::cudaEventRecord(nullptr, nullptr)));
    step(CHECKED(stand_in::cudaMemcpyAsync(&x, &x, 4, cudaMemcpyDefault, nullptr)));
    step(CHECKED(stand_in::cudaStreamSynchronize(nullptr)));
  };
  const char* expected[] = {"cudaMallocAsync", "cudaEventRecord", "cudaMemcpyAsync", "cudaStreamSynchronize"};
  std::uint64_t n = 1;
  for (;; ++n) {
    std::vector<std::string> failed;
    stand_in::made = 0;
    ScopedFaultInjection armed(parse_fault_plan(fmt::format("kind=any,call={},error=cudaErrorLaunchFailure", n)));
    operation(failed);
    if (faults_injected() == 0) break;
    ASSERT_EQ(failed.size(), 1u) << "N=" << n;
    ASSERT_LE(n, 4u);
    EXPECT_NE(failed[0].find(expected[n - 1]), std::string::npos) << failed[0];
    EXPECT_NE(failed[0].find("cudaErrorLaunchFailure"), std::string::npos) << failed[0];
    EXPECT_EQ(stand_in::made, 3) << "N=" << n;
  }
  EXPECT_EQ(n, 5u) << "the sweep stopped early or ran past the operation's four calls";
}

TEST_F(FaultInjector, TimesFailsConsecutiveCallsAndAllFailsEveryOneFromN) {
  {
    ScopedFaultInjection armed(parse_fault_plan("kind=stream,call=2,times=2"));
    std::vector<bool> failed;
    for (int i = 0; i < 5; ++i) failed.push_back(!CHECKED(stand_in::cudaStreamSynchronize(nullptr)).empty());
    EXPECT_EQ(failed, (std::vector<bool>{false, true, true, false, false}));
  }
  {
    ScopedFaultInjection armed(parse_fault_plan("kind=stream,call=3,times=all"));
    std::vector<bool> failed;
    for (int i = 0; i < 6; ++i) failed.push_back(!CHECKED(stand_in::cudaStreamSynchronize(nullptr)).empty());
    EXPECT_EQ(failed, (std::vector<bool>{false, false, true, true, true, true}));
    EXPECT_EQ(faults_injected(), 4u);
  }
}

TEST_F(FaultInjector, AFunctionFilterCountsOnlyThatFunction) {
  ScopedFaultInjection armed(parse_fault_plan("function=cudaEventRecord,call=2,error=cudaErrorInvalidResourceHandle"));
  EXPECT_EQ(CHECKED(stand_in::cudaStreamSynchronize(nullptr)), "");
  EXPECT_EQ(CHECKED(stand_in::cudaEventRecord(nullptr, nullptr)), "");
  EXPECT_EQ(CHECKED(stand_in::cudaStreamSynchronize(nullptr)), "");
  const std::string message = CHECKED(stand_in::cudaEventRecord(nullptr, nullptr));
  EXPECT_NE(message.find("cudaEventRecord"), std::string::npos) << message;
  EXPECT_NE(message.find("cudaErrorInvalidResourceHandle"), std::string::npos) << message;
  EXPECT_EQ(fault_counted_calls(), 2u);
}

TEST_F(FaultInjector, TheErrorChosenDecidesTheErrorCode) {
  {
    ScopedFaultInjection armed(parse_fault_plan("kind=copy,error=cudaErrorLaunchFailure"));
    int x = 0;
    EXPECT_GHTIER_ERROR(GHTIER_CUDA_CHECK(stand_in::cudaMemcpyAsync(&x, &x, 4, cudaMemcpyDefault, nullptr)),
                        ErrorCode::cuda_error);
  }
  {
    ScopedFaultInjection armed(parse_fault_plan("kind=copy,error=cudaErrorMemoryAllocation"));
    int x = 0;
    EXPECT_GHTIER_ERROR(GHTIER_CUDA_CHECK(stand_in::cudaMemcpyAsync(&x, &x, 4, cudaMemcpyDefault, nullptr)),
                        ErrorCode::out_of_memory);
  }
  EXPECT_EQ(stand_in::made, 0);
}

TEST_F(FaultInjector, CudaCallGivesTheInjectedStatusToSitesThatCheckItThemselves) {
  ScopedFaultInjection armed(parse_fault_plan("kind=alloc,call=2,error=cudaErrorMemoryAllocation"));
  void* p = nullptr;
  EXPECT_EQ(GHTIER_CUDA_CALL(stand_in::cudaMallocAsync(&p, 8, nullptr)), cudaSuccess);
  EXPECT_EQ(GHTIER_CUDA_CALL(stand_in::cudaMallocAsync(&p, 8, nullptr)), cudaErrorMemoryAllocation);
  EXPECT_EQ(stand_in::made, 1);
  // A site that checks its status later names the function: the message still says it was injected.
  try {
    check_cuda(cudaErrorMemoryAllocation, "cudaMallocAsync", __FILE__, __LINE__);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("injected"), std::string::npos) << e.what();
  }
}

TEST_F(FaultInjector, AGenuineFailureIsNotMarkedAsInjected) {
  ScopedFaultInjection armed(parse_fault_plan("kind=stream,call=1"));
  EXPECT_NE(CHECKED(stand_in::cudaStreamSynchronize(nullptr)).find("injected"), std::string::npos);
  stand_in::next_status = cudaErrorInvalidValue;
  const std::string genuine = CHECKED(stand_in::cudaStreamSynchronize(nullptr));
  EXPECT_NE(genuine.find("cudaErrorInvalidValue"), std::string::npos) << genuine;
  EXPECT_EQ(genuine.find("injected"), std::string::npos) << genuine;
}

TEST_F(FaultInjector, NothrowSitesAreNeverInjected) {
  ScopedFaultInjection armed(parse_fault_plan("kind=any,call=1,times=all"));
  GHTIER_CUDA_CHECK_NOTHROW(stand_in::cudaStreamSynchronize(nullptr));
  GHTIER_CUDA_CHECK_NOTHROW(stand_in::cudaFreeAsync(nullptr, nullptr));
  EXPECT_EQ(stand_in::made, 2);
  EXPECT_EQ(fault_counted_calls(), 0u);
}

TEST_F(FaultInjector, DisarmedNothingIsCountedOrFailed) {
  {
    ScopedFaultInjection armed(parse_fault_plan("kind=any,call=1,times=all"));
    EXPECT_TRUE(armed_fault_plan().has_value());
  }
  EXPECT_FALSE(armed_fault_plan().has_value());
  EXPECT_FALSE(fault_injection_armed.load());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(CHECKED(stand_in::cudaStreamSynchronize(nullptr)), "");
  EXPECT_EQ(stand_in::made, 3);
}

TEST_F(FaultInjector, ReArmingStartsTheCountAgain) {
  ScopedFaultInjection first(parse_fault_plan("kind=event,call=1000"));
  for (int i = 0; i < 5; ++i) (void)CHECKED(stand_in::cudaEventRecord(nullptr, nullptr));
  EXPECT_EQ(fault_counted_calls(), 5u);
  arm_fault_injection(parse_fault_plan("kind=event,call=2"));
  EXPECT_EQ(fault_counted_calls(), 0u);
  EXPECT_EQ(CHECKED(stand_in::cudaEventRecord(nullptr, nullptr)), "");
  EXPECT_NE(CHECKED(stand_in::cudaEventRecord(nullptr, nullptr)), "");
}

TEST_F(FaultInjector, ManyThreadsCountEveryCallOnceAndFailExactlyTheChosenOnes) {
  constexpr int threads = 8;
  constexpr int calls_each = 2000;
  ScopedFaultInjection armed(parse_fault_plan("kind=stream,call=5000,times=37"));
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < calls_each; ++i) {
        if (GHTIER_CUDA_CALL(stand_in::cudaStreamSynchronize(nullptr)) != cudaSuccess) ++failures;
      }
    });
  }
  for (std::thread& t : pool) t.join();
  EXPECT_EQ(failures, 37);
  EXPECT_EQ(faults_injected(), 37u);
  EXPECT_EQ(fault_counted_calls(), static_cast<std::uint64_t>(threads * calls_each));
  EXPECT_EQ(stand_in::made, threads * calls_each - 37);
}

// ---- the environment ------------------------------------------------------------------------------------------

// Without GHTIER_FAULT_INJECT nothing is armed when the library loads; with it (the ctest run
// fault_injector_env_test), its plan is armed, counting from zero.
TEST(FaultInjectorEnvironment, ThePlanOfTheEnvironmentIsArmedWhenTheLibraryLoads) {
  const char* text = std::getenv("GHTIER_FAULT_INJECT");
  if (text == nullptr) {
    EXPECT_FALSE(armed_fault_plan().has_value());
    EXPECT_FALSE(fault_injection_armed.load());
    return;
  }
  const std::optional<FaultPlan> plan = armed_fault_plan();
  ASSERT_TRUE(plan.has_value()) << "GHTIER_FAULT_INJECT=" << text << " armed nothing";
  EXPECT_EQ(*plan, parse_fault_plan(text));
  EXPECT_EQ(fault_counted_calls(), 0u);
  // The run sets kind=copy,call=2,error=cudaErrorLaunchFailure.
  int x = 0;
  EXPECT_EQ(CHECKED(stand_in::cudaMemcpyAsync(&x, &x, 4, cudaMemcpyDefault, nullptr)), "");
  EXPECT_NE(CHECKED(stand_in::cudaMemcpyAsync(&x, &x, 4, cudaMemcpyDefault, nullptr)).find("cudaErrorLaunchFailure"),
            std::string::npos);
  disarm_fault_injection();
}

}  // namespace
