// Names of the request enums.
#include "ghtier/transfer_request.hpp"

namespace ghtier {

std::string_view to_string(TransferPriority priority) noexcept {
  switch (priority) {
    case TransferPriority::urgent: return "urgent";
    case TransferPriority::background: return "background";
  }
  return "unknown";
}

std::string_view to_string(TransferStatus status) noexcept {
  switch (status) {
    case TransferStatus::pending: return "pending";
    case TransferStatus::completed: return "completed";
    case TransferStatus::failed: return "failed";
    case TransferStatus::cancelled: return "cancelled";
    case TransferStatus::captured: return "captured";
  }
  return "unknown";
}

}  // namespace ghtier
