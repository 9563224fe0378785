// Buffer: frees through the RuntimeCore it came from.
#include "ghtier/runtime/buffer.hpp"

#include <utility>

#include "core/runtime/runtime_core.hpp"
#include "core/support/nvtx_range.hpp"

namespace ghtier {

Buffer::Buffer(std::shared_ptr<detail::RuntimeCore> core, void* data, std::size_t bytes, Placement placement,
               std::string tag, cudaStream_t stream) noexcept
    : core_(std::move(core)),
      data_(data),
      bytes_(bytes),
      placement_(std::move(placement)),
      tag_(std::move(tag)),
      stream_(stream) {}

Buffer::~Buffer() { reset(stream_); }

Buffer::Buffer(Buffer&& other) noexcept
    : core_(std::move(other.core_)),
      data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      placement_(std::move(other.placement_)),
      tag_(std::move(other.tag_)),
      stream_(std::exchange(other.stream_, nullptr)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    reset(stream_);
    core_ = std::move(other.core_);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    placement_ = std::move(other.placement_);
    tag_ = std::move(other.tag_);
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

void Buffer::reset() noexcept { reset(stream_); }

void Buffer::reset(cudaStream_t stream) noexcept {
  if (data_ != nullptr && core_ != nullptr) {
    detail::NvtxRange range("ghtier::free", bytes_);
    core_->release(data_, bytes_, placement_.mode, stream);
  }
  core_.reset();
  data_ = nullptr;
  bytes_ = 0;
  placement_ = Placement{};
  tag_.clear();
  stream_ = nullptr;
}

}  // namespace ghtier
