// Buffer: the RAII handle of one allocation made by a Runtime: data pointer, size, mode and the placement
// that put it there. Movable, not copyable; freeing goes back through the runtime that made it.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>

#include "ghtier/memory/memory_mode.hpp"
#include "ghtier/policy/placement.hpp"

namespace ghtier {

namespace detail {
class RuntimeCore;
}

class GHTIER_API Buffer {
 public:
  /// An empty buffer (data() == nullptr, size() == 0).
  Buffer() noexcept = default;
  /// Frees the memory: stream-ordered on stream() when the buffer has one, else at once (then every piece
  /// of work that uses the memory must have finished). Never throws; a failure is logged. Caller must
  /// ensure stream() still exists: before destroying that stream, set_stream(nullptr) (or another stream).
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  /// Frees what this buffer held (as the destructor does), then takes `other`'s allocation.
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  [[nodiscard]] void* data() const noexcept { return data_; }
  template <typename T>
  [[nodiscard]] T* data_as() const noexcept {
    return static_cast<T*>(data_);
  }
  [[nodiscard]] std::size_t size() const noexcept { return bytes_; }
  [[nodiscard]] MemoryMode mode() const noexcept { return placement_.mode; }
  /// The placement the policy chose (mode, advice applied at allocation, reason).
  [[nodiscard]] const Placement& placement() const noexcept { return placement_; }
  [[nodiscard]] const std::string& tag() const noexcept { return tag_; }
  /// The stream the buffer was allocated on and is freed on (nullptr: synchronous).
  [[nodiscard]] cudaStream_t stream() const noexcept { return stream_; }
  /// Makes later frees stream-ordered on `stream` (e.g. the stream that last used the memory).
  void set_stream(cudaStream_t stream) noexcept { stream_ = stream; }
  [[nodiscard]] bool empty() const noexcept { return data_ == nullptr; }
  explicit operator bool() const noexcept { return data_ != nullptr; }

  /// Frees now (as the destructor does) and leaves the buffer empty.
  void reset() noexcept;
  /// Frees stream-ordered on `stream` (nullptr: at once) and leaves the buffer empty.
  void reset(cudaStream_t stream) noexcept;

 private:
  friend class detail::RuntimeCore;
  Buffer(std::shared_ptr<detail::RuntimeCore> core, void* data, std::size_t bytes, Placement placement, std::string tag,
         cudaStream_t stream) noexcept;

  std::shared_ptr<detail::RuntimeCore> core_;  // keeps the resources alive while the buffer lives
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
  Placement placement_;
  std::string tag_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace ghtier
