// Names and descriptions of stress operations.
#include "stress_operation.hpp"

#include <fmt/format.h>

namespace ghtier::stress {

std::string_view to_string(StressOp op) noexcept {
  switch (op) {
    case StressOp::allocate: return "allocate";
    case StressOp::free: return "free";
    case StressOp::copy: return "copy";
    case StressOp::batch: return "batch";
    case StressOp::prefetch: return "prefetch";
    case StressOp::relocate: return "relocate";
    case StressOp::gather: return "gather";
  }
  return "unknown";
}

std::string describe(const PlannedOp& op) {
  switch (op.kind) {
    case StressOp::allocate: return fmt::format("allocate {} {} B", to_string(op.from), op.bytes);
    case StressOp::free: return fmt::format("free kept buffer #{}", op.held_index);
    case StressOp::copy:
      return fmt::format("copy {}{}->{} {} B", op.from_shared ? "shared " : "", to_string(op.from), to_string(op.to),
                         op.bytes);
    case StressOp::batch:
      return fmt::format("batch {}->{} {} items over {} B", to_string(op.from), to_string(op.to), op.items, op.bytes);
    case StressOp::prefetch:
      return fmt::format("prefetch {} {} B via {}", to_string(op.from), op.bytes, op.via_engine ? "engine" : "runtime");
    case StressOp::relocate: return fmt::format("relocate kept buffer #{} to {}", op.held_index, to_string(op.to));
    case StressOp::gather:
      return fmt::format("gather from {} into {}, rows of {} B, {} B out", to_string(op.from), to_string(op.to),
                         op.items, op.bytes);
  }
  return "unknown operation";
}

}  // namespace ghtier::stress
