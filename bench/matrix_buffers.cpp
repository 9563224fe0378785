// Allocation of the bandwidth matrix's buffers, and the process-wide set that every case shares.
#include "matrix_buffers.hpp"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "bench_suite.hpp"
#include "core/support/cuda_check.hpp"
#include "ghtier/error.hpp"

namespace ghtier::bench {

void MatrixBuffers::Release::operator()(char* p) const noexcept {
  switch (tier) {
    case MatrixTier::device:
    case MatrixTier::managed: GHTIER_CUDA_CHECK_NOTHROW(cudaFree(p)); break;
    case MatrixTier::pinned: GHTIER_CUDA_CHECK_NOTHROW(cudaFreeHost(p)); break;
    case MatrixTier::pageable: std::free(p); break;
  }
}

MatrixBuffers::MatrixBuffers(int device, std::size_t bytes)
    : device_(device),
      bytes_(bytes),
      buffers_{{{Owned(nullptr, {MatrixTier::device}), Owned(nullptr, {MatrixTier::device})},
                {Owned(nullptr, {MatrixTier::pinned}), Owned(nullptr, {MatrixTier::pinned})},
                {Owned(nullptr, {MatrixTier::pageable}), Owned(nullptr, {MatrixTier::pageable})},
                {Owned(nullptr, {MatrixTier::managed}), Owned(nullptr, {MatrixTier::managed})}}} {}

MatrixBuffers::~MatrixBuffers() = default;

char* MatrixBuffers::buffer(MatrixTier tier, int index) {
  if (index < 0 || index > 1) {
    throw_error(ErrorCode::invalid_argument, fmt::format("MatrixBuffers::buffer: index must be 0 or 1, got {}", index));
  }
  Owned& slot = buffers_[static_cast<std::size_t>(tier)][static_cast<std::size_t>(index)];
  if (slot) return slot.get();
  GHTIER_CUDA_CHECK(cudaSetDevice(device_));
  void* p = nullptr;
  switch (tier) {
    case MatrixTier::device:
      GHTIER_CUDA_CHECK(cudaMalloc(&p, bytes_));
      slot.reset(static_cast<char*>(p));
      GHTIER_CUDA_CHECK(cudaMemset(p, 1, bytes_));
      GHTIER_CUDA_CHECK(cudaDeviceSynchronize());
      break;
    case MatrixTier::pinned:
      GHTIER_CUDA_CHECK(cudaHostAlloc(&p, bytes_, cudaHostAllocDefault));
      slot.reset(static_cast<char*>(p));
      std::memset(p, 1, bytes_);
      break;
    case MatrixTier::pageable:
      // Page-aligned like any large malloc; touched so that no copy pays for first-touch page faults.
      p = std::aligned_alloc(4096, (bytes_ + 4095) / 4096 * 4096);
      if (p == nullptr) {
        throw OutOfMemoryError(fmt::format("aligned_alloc of {} bytes of pageable memory failed", bytes_));
      }
      slot.reset(static_cast<char*>(p));
      std::memset(p, 1, bytes_);
      break;
    case MatrixTier::managed:
      GHTIER_CUDA_CHECK(cudaMallocManaged(&p, bytes_, cudaMemAttachGlobal));
      slot.reset(static_cast<char*>(p));
      GHTIER_CUDA_CHECK(cudaDeviceSynchronize());  // the CPU may touch managed memory only while no kernel runs
      std::memset(p, 1, bytes_);                   // first touch by the CPU: its pages start on the host
      break;
  }
  return slot.get();
}

MatrixBuffers& matrix_buffers(int device, std::size_t bytes) {
  static std::mutex mutex;
  static std::unique_ptr<MatrixBuffers> shared;
  static bool cleanup_registered = false;
  std::lock_guard lock(mutex);
  if (!shared || shared->device() != device || shared->bytes() < bytes) {
    shared.reset();  // free the old set before allocating a larger one
    shared = std::make_unique<MatrixBuffers>(device, bytes);
  }
  if (!cleanup_registered) {
    cleanup_registered = true;
    on_suite_cleanup([] {
      std::lock_guard cleanup_lock(mutex);
      shared.reset();
      cleanup_registered = false;
    });
  }
  return *shared;
}

}  // namespace ghtier::bench
