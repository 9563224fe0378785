// The fault injector's plan, counters and parser, and the reading of GHTIER_FAULT_INJECT when the library loads.
#include "core/support/fault_injector.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "ghtier/error.hpp"

namespace ghtier::detail {

std::atomic<bool> fault_injection_armed{false};

namespace {

struct InjectorState {
  std::mutex mutex;
  std::optional<FaultPlan> plan;
  std::uint64_t counted = 0;
  std::uint64_t injected = 0;
  std::string_view last_function;  // into a string literal of a check site
};

InjectorState& state() {
  static InjectorState s;  // constructed on first use: safe from other libraries' static initialisers
  return s;
}

thread_local cudaError_t last_injected_error = cudaSuccess;
thread_local const char* last_injected_call = nullptr;

constexpr std::string_view kind_names = "alloc, copy, event, stream or any";
// CUDA's error codes are below 1000 (cudaErrorUnknown is 999); the names are looked up, not copied.
constexpr int largest_cuda_error = 1100;

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The function name of a call's text: "ns::cudaMemcpyAsync(a, b)" -> "cudaMemcpyAsync".
std::string_view function_of(std::string_view call) noexcept {
  call = trim(call);
  const std::size_t paren = call.find('(');
  std::string_view name = trim(call.substr(0, paren));
  const std::size_t colon = name.rfind("::");
  if (colon != std::string_view::npos) name.remove_prefix(colon + 2);
  return name;
}

std::optional<FaultKind> kind_of_function(std::string_view f) noexcept {
  if (starts_with(f, "cudaMalloc") || f == "cudaHostAlloc" || f == "cudaHostRegister" || f == "cudaMemPoolCreate") {
    return FaultKind::alloc;
  }
  if (starts_with(f, "cudaMemcpy") || starts_with(f, "cudaMemset") || starts_with(f, "cudaMemPrefetch")) {
    return FaultKind::copy;
  }
  if (starts_with(f, "cudaEvent") && f != "cudaEventDestroy") return FaultKind::event;
  if (starts_with(f, "cudaStream") && f != "cudaStreamDestroy") return FaultKind::stream;
  return std::nullopt;
}

std::uint64_t parse_count(std::string_view key, std::string_view value) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n == 0) {
    throw_error(ErrorCode::invalid_argument,
                fmt::format("fault injection: {}={} is not a whole number of at least 1", key, value));
  }
  return n;
}

cudaError_t parse_error(std::string_view value) {
  int number = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec == std::errc{} && end == value.data() + value.size()) {
    if (number <= 0 || number > largest_cuda_error) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("fault injection: error={} is not a CUDA error number (1 to {})", value, largest_cuda_error));
    }
    return static_cast<cudaError_t>(number);
  }
  for (int code = 1; code <= largest_cuda_error; ++code) {
    if (value == cudaGetErrorName(static_cast<cudaError_t>(code))) return static_cast<cudaError_t>(code);
  }
  throw_error(ErrorCode::invalid_argument,
              fmt::format("fault injection: error={} is not the name of a CUDA error (such as "
                          "cudaErrorMemoryAllocation or cudaErrorLaunchFailure; cudaSuccess is not an error)",
                          value));
}

FaultKind parse_kind(std::string_view value) {
  for (FaultKind k : {FaultKind::alloc, FaultKind::copy, FaultKind::event, FaultKind::stream, FaultKind::any}) {
    if (value == to_string(k)) return k;
  }
  throw_error(ErrorCode::invalid_argument, fmt::format("fault injection: kind={} is not {}", value, kind_names));
}

bool counts(const FaultPlan& plan, const char* call) noexcept {
  const std::string_view function = function_of(call);
  const std::optional<FaultKind> kind = kind_of_function(function);
  if (!kind) return false;
  if (plan.kind != FaultKind::any && plan.kind != *kind) return false;
  return plan.function.empty() || plan.function == function;
}

// GHTIER_FAULT_INJECT, read once when the library loads. A plan that does not parse ends the process: a run
// that asked for faults and silently got none would pass for the wrong reason.
[[maybe_unused]] const bool armed_from_environment = [] {
  const char* text = std::getenv("GHTIER_FAULT_INJECT");
  if (text == nullptr || *text == '\0') return false;
  try {
    arm_fault_injection(parse_fault_plan(text));
    std::fprintf(stderr, "ghtier: fault injection armed from GHTIER_FAULT_INJECT: %s\n",
                 describe(*armed_fault_plan()).c_str());
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ghtier: GHTIER_FAULT_INJECT=\"%s\" is not valid: %s\n", text, e.what());
    std::fflush(stderr);
    std::_Exit(2);
  }
}();

}  // namespace

std::string_view to_string(FaultKind kind) noexcept {
  switch (kind) {
    case FaultKind::alloc: return "alloc";
    case FaultKind::copy: return "copy";
    case FaultKind::event: return "event";
    case FaultKind::stream: return "stream";
    case FaultKind::any: return "any";
  }
  return "unknown";
}

FaultPlan parse_fault_plan(std::string_view text) {
  FaultPlan plan;
  bool error_given = false;
  std::string seen;  // keys given so far, to refuse a key given twice
  if (trim(text).empty()) {
    throw_error(
        ErrorCode::invalid_argument,
        "fault injection: the plan is empty (expected e.g. \"kind=alloc,call=3,error=cudaErrorMemoryAllocation\")");
  }
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      throw_error(
          ErrorCode::invalid_argument,
          fmt::format("fault injection: \"{}\" is not key=value (keys: kind, call, times, error, function)", item));
    }
    const std::string_view key = trim(item.substr(0, equals));
    const std::string_view value = trim(item.substr(equals + 1));
    if (value.empty()) throw_error(ErrorCode::invalid_argument, fmt::format("fault injection: {} has no value", key));
    const std::string marker = fmt::format("[{}]", key);
    if (seen.find(marker) != std::string::npos) {
      throw_error(ErrorCode::invalid_argument, fmt::format("fault injection: {} is given twice", key));
    }
    seen += marker;
    if (key == "kind") {
      plan.kind = parse_kind(value);
    } else if (key == "call") {
      plan.call = parse_count(key, value);
    } else if (key == "times") {
      plan.times = value == "all" ? 0 : parse_count(key, value);
    } else if (key == "error") {
      plan.error = parse_error(value);
      error_given = true;
    } else if (key == "function") {
      const std::optional<FaultKind> kind = kind_of_function(value);
      if (!kind) {
        throw_error(ErrorCode::invalid_argument,
                    fmt::format("fault injection: function={} is not a CUDA call the injector counts (an allocation, "
                                "copy, event or stream call other than a release)",
                                value));
      }
      plan.function = std::string(value);
    } else {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("fault injection: unknown key \"{}\" (keys: kind, call, times, error, function)", key));
    }
  }
  if (!plan.function.empty() && plan.kind != FaultKind::any && kind_of_function(plan.function) != plan.kind) {
    throw_error(ErrorCode::invalid_argument, fmt::format("fault injection: function={} is not a call of kind={}",
                                                         plan.function, to_string(plan.kind)));
  }
  if (!error_given) plan.error = plan.kind == FaultKind::alloc ? cudaErrorMemoryAllocation : cudaErrorUnknown;
  return plan;
}

std::string describe(const FaultPlan& plan) {
  std::string text =
      fmt::format("kind={},call={},times={},error={}", to_string(plan.kind), plan.call,
                  plan.times == 0 ? std::string("all") : std::to_string(plan.times), cudaGetErrorName(plan.error));
  if (!plan.function.empty()) text += ",function=" + plan.function;
  return text;
}

std::optional<FaultKind> fault_kind_of(std::string_view call) noexcept { return kind_of_function(function_of(call)); }

void arm_fault_injection(const FaultPlan& plan) {
  if (plan.call == 0) throw_error(ErrorCode::invalid_argument, "fault injection: call must be at least 1");
  if (plan.error == cudaSuccess) throw_error(ErrorCode::invalid_argument, "fault injection: error is cudaSuccess");
  InjectorState& s = state();
  std::lock_guard lock(s.mutex);
  s.plan = plan;
  s.counted = 0;
  s.injected = 0;
  s.last_function = {};
  fault_injection_armed.store(true, std::memory_order_relaxed);
}

void disarm_fault_injection() noexcept {
  InjectorState& s = state();
  std::lock_guard lock(s.mutex);
  fault_injection_armed.store(false, std::memory_order_relaxed);
  s.plan.reset();
}

std::optional<FaultPlan> armed_fault_plan() {
  InjectorState& s = state();
  std::lock_guard lock(s.mutex);
  return s.plan;
}

std::uint64_t fault_counted_calls() noexcept {
  InjectorState& s = state();
  std::lock_guard lock(s.mutex);
  return s.counted;
}

std::uint64_t faults_injected() noexcept {
  InjectorState& s = state();
  std::lock_guard lock(s.mutex);
  return s.injected;
}

std::string last_injected_function() {
  InjectorState& s = state();
  std::lock_guard lock(s.mutex);
  return std::string(s.last_function);
}

bool fault_due_slow(const char* call) noexcept {
  InjectorState& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.plan || !counts(*s.plan, call)) return false;
  const std::uint64_t n = ++s.counted;
  const FaultPlan& plan = *s.plan;
  if (n < plan.call || (plan.times != 0 && n - plan.call >= plan.times)) return false;
  ++s.injected;
  s.last_function = function_of(call);
  last_injected_error = plan.error;
  last_injected_call = call;
  return true;
}

cudaError_t injected_fault() noexcept { return last_injected_error; }

bool take_injected_mark(const char* call) noexcept {
  if (last_injected_call == nullptr || call == nullptr) return false;
  // A site that keeps the status and checks it later passes the function's name, not the call's text.
  const bool same = function_of(last_injected_call) == function_of(call);
  if (same) last_injected_call = nullptr;
  return same;
}

}  // namespace ghtier::detail
