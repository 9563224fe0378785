// What every fault sweep of the GPU tests shares: bytes of any runtime buffer read and written from the host, a
// snapshot of a runtime's statistics to compare after a failure, a sentinel allocation that must survive every
// failure untouched, and the sweep itself (arm call=N, run, disarm, until an N injects nothing).
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/support/fault_injector.hpp"
#include "ghtier/error.hpp"
#include "ghtier/runtime/runtime.hpp"
#include "test_support.hpp"

namespace ghtier::test {

inline void sweep_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    FAIL() << call << ": " << cudaGetErrorString(status);
  }
}
#define SWEEP_CUDA(call) ::ghtier::test::sweep_cuda((call), #call)

/// Writes host bytes into any runtime memory (device memory through cudaMemcpy, the rest directly).
inline void put_bytes(void* dst, const std::vector<unsigned char>& bytes, MemoryMode mode) {
  if (mode == MemoryMode::device) {
    SWEEP_CUDA(cudaMemcpy(dst, bytes.data(), bytes.size(), cudaMemcpyHostToDevice));
    SWEEP_CUDA(cudaDeviceSynchronize());  // from pageable memory cudaMemcpy returns once staged
  } else {
    SWEEP_CUDA(cudaDeviceSynchronize());  // managed pages may be on the GPU
    std::memcpy(dst, bytes.data(), bytes.size());
  }
}

/// Reads n bytes of any runtime memory to the host.
inline std::vector<unsigned char> get_bytes(const void* src, std::size_t n, MemoryMode mode) {
  std::vector<unsigned char> out(n);
  SWEEP_CUDA(cudaDeviceSynchronize());
  if (mode == MemoryMode::device) {
    SWEEP_CUDA(cudaMemcpy(out.data(), src, n, cudaMemcpyDeviceToHost));
  } else {
    std::memcpy(out.data(), src, n);
  }
  return out;
}

/// The counters of every tier that a failure must leave as they were.
struct RuntimeSnapshot {
  std::array<std::size_t, 4> current_bytes{};
  std::array<std::size_t, 4> current_allocations{};
  std::array<std::size_t, 4> budget_used{};
  std::size_t live_allocations = 0;

  static RuntimeSnapshot of(const Runtime& runtime) {
    RuntimeSnapshot s;
    for (MemoryMode mode : all_memory_modes) {
      const auto i = static_cast<std::size_t>(mode);
      const AllocationStatistics st = runtime.statistics(mode);
      s.current_bytes[i] = st.current_bytes;
      s.current_allocations[i] = st.current_allocations;
      s.budget_used[i] = runtime.budget_used(mode);
    }
    s.live_allocations = runtime.live_allocations().size();
    return s;
  }
  friend bool operator==(const RuntimeSnapshot&, const RuntimeSnapshot&) = default;
};

inline std::string describe(const RuntimeSnapshot& s) {
  return fmt::format("bytes {} allocations {} budget used {} live {}", fmt::join(s.current_bytes, "/"),
                     fmt::join(s.current_allocations, "/"), fmt::join(s.budget_used, "/"), s.live_allocations);
}

/// An allocation made before a sweep, holding random bytes that no failure may touch.
class Sentinel {
 public:
  Sentinel(Runtime& runtime, MemoryMode mode, std::size_t bytes, std::mt19937_64& rng)
      : buffer_(runtime.allocate_in(mode, bytes)), bytes_(random_bytes(rng, bytes)) {
    put_bytes(buffer_.data(), bytes_, mode);
  }
  [[nodiscard]] bool intact() const { return get_bytes(buffer_.data(), bytes_.size(), buffer_.mode()) == bytes_; }

 private:
  Buffer buffer_;
  std::vector<unsigned char> bytes_;
};

/// How one attempt of an operation under an armed plan ended.
enum class Outcome {
  completed,  ///< the operation succeeded (the fault was absorbed, e.g. a refused batch call replaced by copies)
  failed,     ///< it threw ghtier::Error, or its token reported failed
};

/// A failure must name the CUDA function whose call failed (what the injector says it failed).
inline void expect_names_the_call(const std::string& message, std::uint64_t n) {
  const std::string function = detail::last_injected_function();
  EXPECT_FALSE(message.empty()) << "N=" << n;
  EXPECT_NE(message.find(function), std::string::npos)
      << "N=" << n << ": the error does not name the failed call " << function << ": " << message;
}

/// One operation to sweep: `prepare(N)` runs disarmed before each attempt (fresh objects, fresh source bytes);
/// `attempt(N)` runs under kind=any,call=N (it does the operation, checks its result and returns how it ended);
/// `after(N)` runs disarmed after it (the checks that nothing else was disturbed and the object still works).
struct SweptOperation {
  std::string what;
  std::function<void(std::uint64_t)> prepare = [](std::uint64_t) {};
  std::function<Outcome(std::uint64_t)> attempt;
  std::function<void(std::uint64_t)> after = [](std::uint64_t) {};
};

/// Sweeps N = 1, 2, ... with `error` and stops at the first N that injected nothing (the operation made fewer
/// counted calls; that attempt must have completed). Returns the number of counted calls swept.
inline std::uint64_t sweep_calls(const SweptOperation& op, cudaError_t error) {
  constexpr std::uint64_t most_calls = 400;
  std::uint64_t failed = 0;
  for (std::uint64_t n = 1; n <= most_calls; ++n) {
    op.prepare(n);
    if (::testing::Test::HasFatalFailure()) return n;
    detail::FaultPlan plan;
    plan.kind = detail::FaultKind::any;
    plan.call = n;
    plan.error = error;
    detail::arm_fault_injection(plan);
    Outcome outcome = Outcome::completed;
    try {
      outcome = op.attempt(n);
    } catch (...) {
      detail::disarm_fault_injection();
      throw;
    }
    const std::uint64_t injected = detail::faults_injected();
    detail::disarm_fault_injection();
    if (outcome == Outcome::failed) ++failed;
    if (injected == 0) {
      EXPECT_EQ(outcome, Outcome::completed) << op.what << ": N=" << n << " failed, nothing injected";
    }
    op.after(n);
    if (::testing::Test::HasFatalFailure()) return n;
    if (injected == 0) {
      std::printf("[ sweep    ] %s, %s: %llu counted calls, %llu of them failed the operation\n", op.what.c_str(),
                  cudaGetErrorName(error), static_cast<unsigned long long>(n - 1),
                  static_cast<unsigned long long>(failed));
      return n - 1;
    }
  }
  ADD_FAILURE() << op.what << ": more than " << most_calls << " counted calls";
  return most_calls;
}

/// The two errors every operation is swept with: out of memory (which a spill policy may absorb) and a plain
/// CUDA error that nothing absorbs.
inline constexpr cudaError_t swept_errors[] = {cudaErrorMemoryAllocation, cudaErrorInvalidValue};

}  // namespace ghtier::test
