// IndexFault: the device-side record behind IndexCheck, shared by the kernels (which write it) and the
// host code (which reads it back and turns it into an Error). Plain data: cleared by a memset to zero.
#pragma once

#include <cstdint>
#include <string>

namespace ghtier::detail {

struct IndexFault {
  unsigned long long position_plus_one = 0;  ///< position of the reported index in its call, plus one; 0: none
  long long value = 0;                       ///< that index
  unsigned long long rows = 0;               ///< the row count it was checked against
  unsigned long long count = 0;              ///< how many out-of-range indices were met
};
static_assert(sizeof(IndexFault) == 32);

/// "gather: 3 indices out of range; the first reported is indices[17] = -1, outside the table's 1000 rows".
[[nodiscard]] std::string describe_index_fault(const IndexFault& fault, const char* operation);

}  // namespace ghtier::detail
