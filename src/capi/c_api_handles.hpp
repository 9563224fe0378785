// The one registry of C handles (runtimes, engines, tokens, host registrations, index checks, row caches,
// hash tables). A handle is a 64-bit id, not an address: the top 8 bits name its kind, the low 56 bits are a
// serial number that is never reused, so a destroyed handle is always recognised, never aliases a later
// object, and ids of different kinds can never meet however many are made. The registry holds a share of
// each object: a call in flight keeps its object alive while another thread destroys the handle.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace ghtier::capi {

static_assert(sizeof(void*) == 8, "C handles are 64-bit ids passed as pointers");

enum class HandleKind : std::uint8_t {
  runtime = 0x11,
  engine = 0x12,
  token = 0x13,
  host_registration = 0x14,
  index_check = 0x21,
  row_cache = 0x22,
  hash_table = 0x23,
  cpu_gather_pipeline = 0x24,
  activation_offloader = 0x31,
  weight_streamer = 0x33,
  kv_cache = 0x38,
};

/// "runtime", "engine", ... (the C type without ghtier_ and _t); "unknown" for other values.
[[nodiscard]] const char* kind_name(HandleKind kind) noexcept;

class HandleRegistry {
 public:
  static constexpr int serial_bits = 56;
  static constexpr std::uint64_t max_serial = (std::uint64_t{1} << serial_bits) - 1;

  /// `first_serial` > 0 (tests start near max_serial to check exhaustion).
  explicit HandleRegistry(std::uint64_t first_serial = 1) noexcept : next_serial_(first_serial) {}

  /// A new id of `kind` for `object`. Throws Error(out_of_memory) when the serials are used up (2^56 ids:
  /// never in practice; an id is never wrapped into another kind's range).
  [[nodiscard]] std::uint64_t add(HandleKind kind, std::shared_ptr<void> object);
  /// The object behind a live id of `kind`. Throws Error(invalid_argument) naming `what` for 0, an id of
  /// another kind, or one that is not live (destroyed, or never made).
  [[nodiscard]] std::shared_ptr<void> get(std::uint64_t id, HandleKind kind, const char* what) const;
  /// Removes a live id of `kind` and returns its object. Throws as get().
  [[nodiscard]] std::shared_ptr<void> remove(std::uint64_t id, HandleKind kind, const char* what);
  /// Live ids now (all kinds).
  [[nodiscard]] std::size_t size() const;

  [[nodiscard]] static HandleKind kind_of(std::uint64_t id) noexcept {
    return static_cast<HandleKind>(id >> serial_bits);
  }

 private:
  void check_kind(std::uint64_t id, HandleKind kind, const char* what) const;

  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<void>> live_;
  std::uint64_t next_serial_;
};

/// The process's registry (never destroyed: handles may be destroyed from atexit handlers).
[[nodiscard]] HandleRegistry& handles();

/// Typed front ends over handles(): Handle is the opaque C type, Object what it stands for.
template <typename Handle, typename Object>
[[nodiscard]] Handle* add_handle(HandleKind kind, std::shared_ptr<Object> object) {
  return reinterpret_cast<Handle*>(static_cast<std::uintptr_t>(handles().add(kind, std::move(object))));
}
template <typename Object, typename Handle>
[[nodiscard]] std::shared_ptr<Object> get_handle(const Handle* handle, HandleKind kind, const char* what) {
  return std::static_pointer_cast<Object>(handles().get(reinterpret_cast<std::uintptr_t>(handle), kind, what));
}
template <typename Object, typename Handle>
[[nodiscard]] std::shared_ptr<Object> remove_handle(const Handle* handle, HandleKind kind, const char* what) {
  return std::static_pointer_cast<Object>(handles().remove(reinterpret_cast<std::uintptr_t>(handle), kind, what));
}

}  // namespace ghtier::capi
