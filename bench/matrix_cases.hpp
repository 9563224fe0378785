// The cases of the "bandwidth_matrix" suite as plain values: which transfers, which sizes, how each is
// named and which figures of a link model (measured in the same run) it is compared with. Pure, tested in CI
// (tests/tools/matrix_cases_test.cpp); the timed bodies live in bandwidth_matrix_bench.cu.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ghtier/platform/platform.hpp"

namespace ghtier::bench {

/// The memories the matrix moves bytes between.
enum class MatrixTier {
  device,    ///< cudaMalloc
  pinned,    ///< cudaHostAlloc
  pageable,  ///< aligned_alloc, touched by the CPU
  managed,   ///< cudaMallocManaged, resident on the host (prefetched there before every timed iteration)
};
inline constexpr std::array<MatrixTier, 4> all_matrix_tiers{MatrixTier::device, MatrixTier::pinned,
                                                            MatrixTier::pageable, MatrixTier::managed};
[[nodiscard]] std::string_view to_string(MatrixTier tier) noexcept;

enum class MatrixMethod {
  memcpy,         ///< cudaMemcpyAsync (copy engine, or the driver's own path for pageable/managed memory)
  sm_copy,        ///< a kernel copying with 16-byte loads and stores (zero-copy where a side is host memory)
  prefetch,       ///< cudaMemPrefetchAsync of managed (or, with ATS/HMM, pageable) memory
  bidirectional,  ///< pinned H2D and D2H at once on two streams; GB/s of both added
  latency,        ///< small pinned copies back to back: microseconds per copy
};
[[nodiscard]] std::string_view to_string(MatrixMethod method) noexcept;

/// One case. memcpy/sm_copy/latency: `from` -> `to`. prefetch: the buffer's tier is the non-device side
/// and the direction is towards `to`. bidirectional: pinned <-> device.
struct MatrixCase {
  MatrixMethod method = MatrixMethod::memcpy;
  MatrixTier from = MatrixTier::pinned;
  MatrixTier to = MatrixTier::device;
  std::size_t bytes = 0;  ///< of one transfer
};

/// What a case is compared with: a bandwidth ceiling in GB/s (latency cases: a baseline in us) taken
/// from the profile's link model, and its name. value 0 = no figure applies (host-to-host copies).
struct MatrixCeiling {
  double value = 0;
  std::string name;
};

/// "4KiB", "1MiB", "1GiB": exact binary units (sizes are powers of two).
[[nodiscard]] std::string size_name(std::size_t bytes);
/// Quick: 4 KiB, 1 MiB, 64 MiB, 256 MiB. Full: powers of 4 from 4 KiB to 1 GiB.
[[nodiscard]] std::vector<std::size_t> matrix_sizes(bool quick);
/// 4 KiB, 16 KiB, 64 KiB.
[[nodiscard]] std::vector<std::size_t> latency_sizes();
/// The largest transfer of the suite: what each buffer must hold.
[[nodiscard]] std::size_t matrix_buffer_bytes(bool quick);

/// "bandwidth_matrix/memcpy/pinned_to_device/64MiB", ".../prefetch/managed_to_device/1MiB",
/// ".../bidirectional/pinned_device/64MiB", ".../latency/pinned_to_device/4KiB".
[[nodiscard]] std::string case_name(const MatrixCase& c);

/// Whether a kernel of this platform may dereference memory of this tier (pageable: only with ATS or HMM).
[[nodiscard]] bool kernel_can_reach(const Platform& platform, MatrixTier tier) noexcept;

/// Every case of the suite for this platform, in the order it runs: memcpy for all 16 ordered pairs,
/// sm_copy where a kernel reaches both sides, prefetch where managed memory migrates (and for pageable
/// memory where the GPU reaches it), bidirectional, then latency.
[[nodiscard]] std::vector<MatrixCase> matrix_cases(const Platform& platform, bool quick);

/// The link-model figure a case is held against: h2d/d2h for copy-engine transfers, pageable_* for
/// pageable copies, sm_read/sm_write for zero-copy kernels, hbm/2 for device-to-device copies (each byte
/// is read and written), bidirectional for both directions, latency_us + bytes/h2d for small copies.
/// Flows that share one direction of the link add up their time per byte.
[[nodiscard]] MatrixCeiling matrix_ceiling(const LinkModel& link, const MatrixCase& c);

/// The link-model figures matrix_ceiling reads for this case (none for host-to-host copies): what
/// `ghtier bench` measures next to the case before computing its ceiling from them.
[[nodiscard]] std::vector<LinkFigure> matrix_ceiling_figures(const MatrixCase& c);

/// Transfers queued per timed iteration: enough to keep the link busy for small sizes, one for large.
[[nodiscard]] int transfers_per_iteration(std::size_t bytes) noexcept;

/// Timed iterations (median reported): 5 in the quick suite, 9 in the full one.
[[nodiscard]] int matrix_repeats(bool quick) noexcept;

/// Whether the case can be queued behind a StreamBlocker. Copies that involve pageable or managed memory,
/// or host-to-host copies, are synchronous with respect to the host (CUDA's API sync rules): behind a
/// blocked stream they would wait for the spin kernel's timeout, so they are timed without it.
[[nodiscard]] bool uses_stream_blocker(const MatrixCase& c) noexcept;

}  // namespace ghtier::bench
