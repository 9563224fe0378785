// ScopedAdvice: advice (and an optional prefetch) for one phase of a program, undone when the phase ends:
// "during the forward pass these weights are read-mostly and accessed by the GPU".
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <vector>

#include "ghtier/memory/location.hpp"
#include "ghtier/policy/placement.hpp"
#include "ghtier/runtime/buffer.hpp"
#include "ghtier/runtime/runtime.hpp"

namespace ghtier {

/// What a phase wants. Fields left at their defaults are not touched.
struct GHTIER_API AdviceSet {
  bool read_mostly = false;                      ///< set read-mostly for the phase
  Location preferred_location = Location::none;  ///< set this preferred location for the phase
  AccessedBy accessed_by;                        ///< add these accessed-by mappings for the phase
  Location prefetch_to = Location::none;         ///< prefetch the range here when the phase starts
};

/// Applies an AdviceSet to a range on construction and restores the range's previous advice on
/// destruction. The previous advice is read from the driver (cudaMemRangeGetAttribute) for managed
/// memory; for system memory the driver cannot be asked, so the advice restored is the one the placement
/// applied at allocation. Pages are not moved back: a prefetch is not undone. Not copyable or movable.
class GHTIER_API ScopedAdvice {
 public:
  /// Throws as Runtime::advise / Runtime::prefetch; a failure part-way undoes what was applied.
  ScopedAdvice(Runtime& runtime, const void* p, std::size_t bytes, const AdviceSet& advice,
               cudaStream_t stream = nullptr);
  ScopedAdvice(Runtime& runtime, const Buffer& buffer, const AdviceSet& advice, cudaStream_t stream = nullptr);
  /// Restores the previous advice; a failure is logged, never thrown.
  ~ScopedAdvice();
  ScopedAdvice(const ScopedAdvice&) = delete;
  ScopedAdvice& operator=(const ScopedAdvice&) = delete;

 private:
  struct Undo {
    Advice advice;
    Location location;
  };
  void undo() noexcept;

  Runtime& runtime_;
  const void* p_;
  std::size_t bytes_;
  std::vector<Undo> undo_;  // applied in reverse order
};

}  // namespace ghtier
