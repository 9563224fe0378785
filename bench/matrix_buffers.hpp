// MatrixBuffers: the source and destination buffers of every bandwidth-matrix case, two per tier,
// allocated on first use and kept for the whole run (pinned 1 GiB costs most of a second to allocate,
// so allocating per case would dwarf the copies it times).
#pragma once

#include <array>
#include <cstddef>
#include <memory>

#include "matrix_cases.hpp"

namespace ghtier::bench {

class MatrixBuffers {
 public:
  /// Buffers of `bytes` each on `device`; nothing is allocated until buffer() asks for it.
  MatrixBuffers(int device, std::size_t bytes);
  ~MatrixBuffers();
  MatrixBuffers(const MatrixBuffers&) = delete;
  MatrixBuffers& operator=(const MatrixBuffers&) = delete;

  /// Buffer `index` (0 or 1) of a tier, allocated and touched (so that its pages exist where the tier
  /// says) on first use. Throws Error(invalid_argument) for another index, Error(out_of_memory) or a
  /// CUDA error when the allocation fails.
  [[nodiscard]] char* buffer(MatrixTier tier, int index);
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] int device() const noexcept { return device_; }

 private:
  struct Release {
    MatrixTier tier;
    void operator()(char* p) const noexcept;
  };
  using Owned = std::unique_ptr<char, Release>;

  int device_;
  std::size_t bytes_;
  std::array<std::array<Owned, 2>, all_matrix_tiers.size()> buffers_;
};

/// The process's buffers for `device`, at least `bytes` each: created on first use, replaced if a larger
/// size or another device is asked for, freed by release_suite_resources() after the run.
[[nodiscard]] MatrixBuffers& matrix_buffers(int device, std::size_t bytes);

}  // namespace ghtier::bench
