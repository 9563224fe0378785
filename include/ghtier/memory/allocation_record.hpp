// AllocationRecord and AllocationLookup: what ghtier knows about a pointer it handed out. The tracking
// adaptor implements the lookup; the transfer engine and the kernels use it to refuse out-of-range copies.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <optional>
#include <string>

#include "ghtier/memory/memory_mode.hpp"

namespace ghtier {

struct GHTIER_API AllocationRecord {
  void* base = nullptr;
  std::size_t bytes = 0;
  MemoryMode mode = MemoryMode::device;
  std::string tag;  ///< the placement request's tag, if any
};

class GHTIER_API AllocationLookup {
 public:
  virtual ~AllocationLookup() = default;
  /// The live allocation that contains `p` (interior pointers included), or nullopt.
  [[nodiscard]] virtual std::optional<AllocationRecord> find(const void* p) const = 0;
};

}  // namespace ghtier
