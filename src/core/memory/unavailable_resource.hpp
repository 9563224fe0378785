// UnavailableResource: the upstream of a tier the runtime has no memory for (an offline runtime, or a mode
// the caller gave no resource for), so every tier has the same adaptor stack and budgets still work.
#pragma once

#include <string>

#include <fmt/format.h>

#include "ghtier/error.hpp"
#include "ghtier/memory/memory_resource.hpp"

namespace ghtier::detail {

/// Refuses every allocation with Error(unsupported) and a reason; frees nothing (it never handed anything out).
class UnavailableResource final : public MemoryResource {
 public:
  UnavailableResource(MemoryMode mode, std::string why) : mode_(mode), why_(std::move(why)) {}

 private:
  void* do_allocate(std::size_t, std::size_t, cudaStream_t, bool) override {
    throw_error(ErrorCode::unsupported, fmt::format("no {} memory: {}", to_string(mode_), why_));
  }
  void do_deallocate(void*, std::size_t, std::size_t, cudaStream_t, bool) noexcept override {}
  [[nodiscard]] MemoryMode do_mode() const noexcept override { return mode_; }

  MemoryMode mode_;
  std::string why_;
};

}  // namespace ghtier::detail
