// Names of the request enums.
#include "ghtier/engine/transfer_request.hpp"

#include "core/support/enum_names.hpp"

namespace ghtier {

constexpr detail::EnumName<TransferPriority> transfer_priority_names[] = {
    {TransferPriority::urgent, "urgent"},
    {TransferPriority::background, "background"},
};
static_assert(detail::enum_names_complete(transfer_priority_names, TransferPriority::urgent,
                                          TransferPriority::background));

std::string_view to_string(TransferPriority priority) noexcept {
  return detail::enum_to_string(transfer_priority_names, priority);
}

constexpr detail::EnumName<TransferStatus> transfer_status_names[] = {
    {TransferStatus::pending, "pending"},   {TransferStatus::completed, "completed"},
    {TransferStatus::failed, "failed"},     {TransferStatus::cancelled, "cancelled"},
    {TransferStatus::captured, "captured"},
};
static_assert(detail::enum_names_complete(transfer_status_names, TransferStatus::pending, TransferStatus::captured));

std::string_view to_string(TransferStatus status) noexcept {
  return detail::enum_to_string(transfer_status_names, status);
}

}  // namespace ghtier
