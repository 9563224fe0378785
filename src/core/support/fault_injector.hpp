// FaultInjector: makes the N-th CUDA call of one kind (allocation, copy, event, stream) fail with a chosen
// error, without making the call, so that tests can walk every error path of ghtier. Armed by the environment
// (GHTIER_FAULT_INJECT, read when the library loads) or by a test (arm_fault_injection); off, a check site pays
// one relaxed atomic load. docs/reliability.md says how to run it by hand and what ghtier promises afterwards.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ghtier::detail {

/// Which CUDA calls a plan counts. Release calls (cudaFree*, cudaHostUnregister, cudaEventDestroy,
/// cudaStreamDestroy, cudaMemPoolDestroy, ...) and queries of attributes or devices are never counted: skipping
/// a release would leak by construction, and a failed query is not a fault that ghtier handles.
enum class FaultKind : std::uint8_t {
  alloc,   ///< cudaMalloc*, cudaHostAlloc, cudaHostRegister, cudaMemPoolCreate
  copy,    ///< cudaMemcpy*, cudaMemset*, cudaMemPrefetch*
  event,   ///< cudaEvent* but cudaEventDestroy
  stream,  ///< cudaStream* but cudaStreamDestroy (create, synchronize, wait event, capture queries)
  any,     ///< any of the four
};

/// What to inject: the `call`-th counted call (1-based) and the `times - 1` after it fail with `error`.
struct FaultPlan {
  FaultKind kind = FaultKind::any;
  std::uint64_t call = 1;
  std::uint64_t times = 1;  ///< 0: every counted call from `call` on
  cudaError_t error = cudaErrorMemoryAllocation;
  std::string function;  ///< when not empty, only calls of this CUDA function are counted

  friend bool operator==(const FaultPlan&, const FaultPlan&) = default;
};

/// The name of a kind ("alloc", "copy", "event", "stream", "any").
[[nodiscard]] std::string_view to_string(FaultKind kind) noexcept;

/// Parses "key=value,..." with keys kind (alloc|copy|event|stream|any, default any), call (N >= 1, default 1),
/// times (N >= 1 or "all", default 1), error (a CUDA error name such as cudaErrorMemoryAllocation or its
/// number; default cudaErrorMemoryAllocation for kind=alloc, cudaErrorUnknown otherwise) and function (a CUDA
/// function name such as cudaMemcpyAsync). Throws Error(invalid_argument) naming the key and what it accepts.
[[nodiscard]] FaultPlan parse_fault_plan(std::string_view text);

/// The plan in the form parse_fault_plan reads.
[[nodiscard]] std::string describe(const FaultPlan& plan);

/// The kind a check site's call text belongs to ("cudaMallocAsync(&p, n, s)" -> alloc; a namespace before the
/// name is ignored), or nothing for a call that is never counted.
[[nodiscard]] std::optional<FaultKind> fault_kind_of(std::string_view call) noexcept;

/// Arms `plan` (replacing any plan, also one from the environment) and zeroes the counters. Thread-safe.
void arm_fault_injection(const FaultPlan& plan);
/// Disarms; the counters keep their values. Thread-safe.
void disarm_fault_injection() noexcept;
/// The armed plan, if any.
[[nodiscard]] std::optional<FaultPlan> armed_fault_plan();
/// Calls the armed plan counted since it was armed (whether or not they failed).
[[nodiscard]] std::uint64_t fault_counted_calls() noexcept;
/// Calls that failed by injection since the plan was armed.
[[nodiscard]] std::uint64_t faults_injected() noexcept;
/// The CUDA function of the last call that failed by injection (e.g. "cudaMemcpyAsync"), or "" if none has.
[[nodiscard]] std::string last_injected_function();

/// Arms a plan for one scope (a test) and disarms at its end.
class ScopedFaultInjection {
 public:
  explicit ScopedFaultInjection(const FaultPlan& plan) { arm_fault_injection(plan); }
  ~ScopedFaultInjection() { disarm_fault_injection(); }
  ScopedFaultInjection(const ScopedFaultInjection&) = delete;
  ScopedFaultInjection& operator=(const ScopedFaultInjection&) = delete;
};

// ---- check sites (through GHTIER_CUDA_CALL, below) ------------------------------------------------------

extern std::atomic<bool> fault_injection_armed;

/// Counts `call` against the armed plan; true when this call is to fail (injected_fault() says with what).
bool fault_due_slow(const char* call) noexcept;
/// The error of the last fault injected on this thread.
[[nodiscard]] cudaError_t injected_fault() noexcept;
/// True (once) when the last fault injected on this thread was at a call of the same CUDA function as `call`
/// (its text, or just the name): check_cuda marks the message of an injected failure so that nobody chases a
/// driver bug that is not there.
[[nodiscard]] bool take_injected_mark(const char* call) noexcept;

[[nodiscard]] inline bool fault_due(const char* call) noexcept {
  return fault_injection_armed.load(std::memory_order_relaxed) && fault_due_slow(call);
}

}  // namespace ghtier::detail

/// Evaluates a CUDA call through the fault injector: the call's own status, or, when the armed plan says this
/// call fails, the injected error without making the call. For sites that look at the status themselves.
#define GHTIER_CUDA_CALL(call) (::ghtier::detail::fault_due(#call) ? ::ghtier::detail::injected_fault() : (call))
