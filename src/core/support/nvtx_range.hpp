// NVTX ranges in the "ghtier" domain: every public operation that places or moves memory opens one,
// with its byte count as the payload, so Nsight Systems shows what ghtier did and how much.
#pragma once

#include <nvtx3/nvtx3.hpp>

#include <cstdint>

namespace ghtier::detail {

struct NvtxDomain {
  static constexpr char const* name{"ghtier"};
};

/// A scoped range; `operation` must be a string literal (NVTX keeps the pointer).
class NvtxRange {
 public:
  NvtxRange(const char* operation, std::uint64_t bytes)
      : range_(nvtx3::event_attributes{nvtx3::message{operation}, nvtx3::payload{bytes}}) {}

 private:
  nvtx3::scoped_range_in<NvtxDomain> range_;
};

}  // namespace ghtier::detail
