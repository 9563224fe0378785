// MemoryMode: the four ways ghtier allocates memory, and what each one is on a given platform.
#pragma once

#include "ghtier/export.h"

#include <array>
#include <optional>
#include <string_view>

#include "ghtier/platform/platform.hpp"

namespace ghtier {

enum class MemoryMode {
  device,       ///< HBM, from a stream-ordered pool (cudaMallocAsync)
  pinned_host,  ///< page-locked host memory (cudaMallocHost / host memory pool)
  managed,      ///< cudaMallocManaged: migrates on fault or prefetch
  system,       ///< plain malloc/mmap memory: reached by the GPU only through ATS or HMM
};
inline constexpr std::array<MemoryMode, 4> all_memory_modes{MemoryMode::device, MemoryMode::pinned_host,
                                                            MemoryMode::managed, MemoryMode::system};

[[nodiscard]] GHTIER_API std::string_view to_string(MemoryMode mode) noexcept;
/// "device" -> MemoryMode::device ...; nullopt for anything else.
[[nodiscard]] GHTIER_API std::optional<MemoryMode> parse_memory_mode(std::string_view text) noexcept;

/// What a mode is on one platform.
struct GHTIER_API ModeAccess {
  bool gpu_access = false;    ///< a kernel may dereference it
  bool cpu_access = false;    ///< the CPU may dereference it
  bool migrates = false;      ///< pages move to the toucher (fault, prefetch or access counters)
  std::string_view lives_in;  ///< where its bytes are, in words
  std::string_view gpu_path;  ///< how a kernel reaches it, in words
};
[[nodiscard]] GHTIER_API ModeAccess describe_mode(const Platform& platform, MemoryMode mode) noexcept;

/// How ghtier moves bytes from a buffer of one mode into a buffer of another.
enum class MoveMechanism {
  copy_engine,  ///< cudaMemcpyAsync on a copy stream (DMA)
  staged_copy,  ///< CPU threads copy through a ring of pinned buffers while the DMA moves the last chunk
  host_copy,    ///< both sides are CPU memory: CPU threads copy
};
[[nodiscard]] GHTIER_API std::string_view to_string(MoveMechanism mechanism) noexcept;
[[nodiscard]] GHTIER_API MoveMechanism choose_move(const Platform& platform, MemoryMode from, MemoryMode to) noexcept;

/// How a buffer of this mode is brought next to the GPU without changing its pointer, if it can be.
enum class Relocation {
  none,      ///< the pointer cannot move: copy into a buffer of another mode instead
  prefetch,  ///< cudaMemPrefetchAsync (and cudaMemAdvise) migrate its pages
};
[[nodiscard]] GHTIER_API std::string_view to_string(Relocation relocation) noexcept;
[[nodiscard]] GHTIER_API Relocation relocation_for(const Platform& platform, MemoryMode mode) noexcept;

}  // namespace ghtier
