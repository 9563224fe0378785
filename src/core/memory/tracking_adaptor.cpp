// TrackingAdaptor: an ordered map under a shared mutex; lookups (the common case: the engine checking a
// pointer before a copy) share the lock, allocations and frees take it exclusively.
#include "ghtier/memory/tracking_adaptor.hpp"

#include <fmt/format.h>

#include <iterator>
#include <mutex>
#include <utility>

#include "core/memory/allocation_checks.hpp"
#include "core/support/log_nothrow.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace {
std::uintptr_t address_of(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }
}  // namespace

void* TrackingAdaptor::allocate(std::size_t bytes, std::size_t alignment, std::string tag) {
  return allocate_tagged(bytes, alignment, nullptr, true, std::move(tag));
}

void* TrackingAdaptor::allocate_async(std::size_t bytes, std::size_t alignment, cudaStream_t stream, std::string tag) {
  return allocate_tagged(bytes, alignment, stream, false, std::move(tag));
}

void* TrackingAdaptor::allocate_tagged(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous,
                                       std::string tag) {
  void* p = synchronous ? upstream_.allocate(bytes, alignment) : upstream_.allocate_async(bytes, alignment, stream);
  try {
    Entry entry{AllocationRecord{p, bytes, upstream_.mode(), std::move(tag)}, alignment};
    std::unique_lock lock(mutex_);
    const auto [it, inserted] = entries_.emplace(address_of(p), std::move(entry));
    if (!inserted) {
      // The upstream returned a pointer that is still live: it is broken. Keep the old record.
      throw_error(ErrorCode::internal,
                  fmt::format("TrackingAdaptor::allocate: the upstream returned {}, which is still allocated", p));
    }
    live_bytes_ += bytes;
  } catch (const Error&) {
    throw;
  } catch (...) {
    if (synchronous) {
      upstream_.deallocate(p, bytes, alignment);
    } else {
      upstream_.deallocate_async(p, bytes, alignment, stream);
    }
    throw;
  }
  return p;
}

TrackingAdaptor::Entry TrackingAdaptor::take_checked(void* p, const char* operation) {
  std::unique_lock lock(mutex_);
  const auto it = entries_.find(address_of(p));
  if (it != entries_.end()) {
    Entry entry = std::move(it->second);
    entries_.erase(it);
    live_bytes_ -= entry.record.bytes;
    return entry;
  }
  // Not a base pointer: say whether it lies inside a live allocation, which is a different mistake.
  auto after = entries_.upper_bound(address_of(p));
  if (after != entries_.begin()) {
    const Entry& before = std::prev(after)->second;
    if (address_of(p) < address_of(before.record.base) + before.record.bytes) {
      throw_error(ErrorCode::invalid_argument,
                  fmt::format("{}: {} points {} bytes into the allocation at {} ({} bytes, {}); free its base "
                              "pointer",
                              operation, p, address_of(p) - address_of(before.record.base), before.record.base,
                              before.record.bytes, to_string(before.record.mode)));
    }
  }
  throw_error(ErrorCode::not_found,
              fmt::format("{}: {} is not a live allocation of this {} resource (never allocated here, or already "
                          "freed)",
                          operation, p, to_string(upstream_.mode())));
}

void TrackingAdaptor::deallocate(void* p) {
  if (p == nullptr) throw_error(ErrorCode::invalid_argument, "TrackingAdaptor::deallocate: null pointer");
  const Entry entry = take_checked(p, "TrackingAdaptor::deallocate");
  upstream_.deallocate(p, entry.record.bytes, entry.alignment);
}

void TrackingAdaptor::deallocate_async(void* p, cudaStream_t stream) {
  if (p == nullptr) throw_error(ErrorCode::invalid_argument, "TrackingAdaptor::deallocate_async: null pointer");
  const Entry entry = take_checked(p, "TrackingAdaptor::deallocate_async");
  upstream_.deallocate_async(p, entry.record.bytes, entry.alignment, stream);
}

std::optional<AllocationRecord> TrackingAdaptor::find(const void* p) const {
  std::shared_lock lock(mutex_);
  auto after = entries_.upper_bound(address_of(p));
  if (after == entries_.begin()) return std::nullopt;
  const AllocationRecord& record = std::prev(after)->second.record;
  if (address_of(p) >= address_of(record.base) + record.bytes) return std::nullopt;
  return record;
}

std::vector<AllocationRecord> TrackingAdaptor::live_allocations() const {
  std::shared_lock lock(mutex_);
  std::vector<AllocationRecord> records;
  records.reserve(entries_.size());
  for (const auto& [address, entry] : entries_) records.push_back(entry.record);
  return records;
}

std::size_t TrackingAdaptor::live_count() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

std::size_t TrackingAdaptor::live_bytes() const {
  std::shared_lock lock(mutex_);
  return live_bytes_;
}

void* TrackingAdaptor::do_allocate(std::size_t bytes, std::size_t alignment, cudaStream_t stream, bool synchronous) {
  return allocate_tagged(bytes, alignment, stream, synchronous, std::string());
}

void TrackingAdaptor::do_deallocate(void* p, std::size_t bytes, std::size_t alignment, cudaStream_t stream,
                                    bool synchronous) noexcept {
  if (p == nullptr) return;
  Entry entry;
  try {
    entry = take_checked(p, synchronous ? "TrackingAdaptor::deallocate" : "TrackingAdaptor::deallocate_async");
  } catch (const std::exception& e) {
    detail::log_nothrow(LogLevel::error, "{}; ignored", e.what());
    return;
  }
  if (entry.record.bytes != bytes || entry.alignment != alignment) {
    detail::log_nothrow(LogLevel::error,
                        "TrackingAdaptor::deallocate: {} was allocated with {} bytes (alignment {}) but freed with {} "
                        "(alignment {}); freeing what was allocated",
                        p, entry.record.bytes, entry.alignment, bytes, alignment);
  }
  if (synchronous) {
    upstream_.deallocate(p, entry.record.bytes, entry.alignment);
  } else {
    upstream_.deallocate_async(p, entry.record.bytes, entry.alignment, stream);
  }
}

}  // namespace ghtier
