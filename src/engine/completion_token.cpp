// CompletionToken: a checked handle over TransferState.
#include "ghtier/engine/completion_token.hpp"

#include <fmt/format.h>

#include "engine/transfer_state.hpp"

namespace ghtier {

CompletionToken::CompletionToken() noexcept = default;
CompletionToken::CompletionToken(std::shared_ptr<detail::TransferState> state) noexcept : state_(std::move(state)) {}
CompletionToken::~CompletionToken() = default;
CompletionToken::CompletionToken(CompletionToken&& other) noexcept = default;
CompletionToken& CompletionToken::operator=(CompletionToken&& other) noexcept = default;

detail::TransferState& CompletionToken::state(const char* member) const {
  if (!state_) {
    throw_error(
        ErrorCode::invalid_argument,
        fmt::format("CompletionToken::{}: the token is empty (released, moved from, or never assigned)", member));
  }
  return *state_;
}

bool CompletionToken::ready() const { return state("ready").ready(); }
TransferStatus CompletionToken::wait() const { return state("wait").wait(); }
TransferStatus CompletionToken::wait_for(std::chrono::nanoseconds timeout) const {
  return state("wait_for").wait_for(timeout);
}
void CompletionToken::make_stream_wait(cudaStream_t stream) const {
  state("make_stream_wait").make_stream_wait(stream);
}
TransferStatus CompletionToken::status() const { return state("status").status(); }
std::optional<Error> CompletionToken::error() const { return state("error").error(); }
std::size_t CompletionToken::bytes() const { return state("bytes").bytes(); }

void CompletionToken::release() {
  (void)state("release");
  state_.reset();
}

}  // namespace ghtier
