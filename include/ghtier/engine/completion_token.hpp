// CompletionToken: what TransferEngine::submit hands back. The host can poll or wait on it, a consumer
// stream can be made to wait on it without blocking the host, and it says how the request ended.
#pragma once

#include "ghtier/export.h"

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include "ghtier/engine/transfer_request.hpp"
#include "ghtier/error.hpp"

namespace ghtier {

namespace detail {
class TransferState;
}

/// Move-only handle of one submitted request. Dropping or releasing it does not cancel the request (its
/// bytes still move and its on_complete still runs). Every member except valid() throws
/// Error(invalid_argument) on an empty token (released, moved from, or default-constructed).
class GHTIER_API CompletionToken {
 public:
  CompletionToken() noexcept;
  /// Used by the engine.
  explicit CompletionToken(std::shared_ptr<detail::TransferState> state) noexcept;
  ~CompletionToken();
  CompletionToken(CompletionToken&& other) noexcept;
  CompletionToken& operator=(CompletionToken&& other) noexcept;
  CompletionToken(const CompletionToken&) = delete;
  CompletionToken& operator=(const CompletionToken&) = delete;

  /// False once released or moved from.
  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }

  /// Non-blocking: has the request ended (and its on_complete run)?
  [[nodiscard]] bool ready() const;
  /// Blocks until the request has ended and its on_complete has run; returns how it ended (completed,
  /// failed, cancelled; captured at once for a request recorded into a graph). Never throws for the
  /// request's own failure: see error().
  [[nodiscard]] TransferStatus wait() const;
  /// As wait(), but gives up after `timeout` and returns TransferStatus::pending.
  [[nodiscard]] TransferStatus wait_for(std::chrono::nanoseconds timeout) const;
  /// Makes work enqueued on `stream` after this call wait until the request's bytes have arrived, without
  /// blocking the host, once the request's last chunk is on its copy stream (at once for urgent requests
  /// the engine could start; a queued background request blocks the host until its last chunk is enqueued).
  /// Requests that end on the CPU (staged copies into pageable memory, host-to-host copies) block until they
  /// end. For a captured request it adds a dependency inside the capture. Throws Error with the request's
  /// failure if it failed, Error(invalid_argument) if it was cancelled, Error(cuda_error) if CUDA refuses.
  void make_stream_wait(cudaStream_t stream) const;
  /// pending until the request has ended and its on_complete has run.
  [[nodiscard]] TransferStatus status() const;
  /// The failure of a failed request (which CUDA call, CUDA's text); nullopt otherwise.
  [[nodiscard]] std::optional<Error> error() const;
  /// Bytes the request moves.
  [[nodiscard]] std::size_t bytes() const;
  /// Lets go of the request's result; later calls on this token throw_error(invalid_argument). For a
  /// captured request the graph keeps its completion event (released when the graph, every executable
  /// graph made from it and the token are gone; never reused by another request). Throws
  /// Error(invalid_argument) if the token is already empty.
  void release();

 private:
  [[nodiscard]] detail::TransferState& state(const char* member) const;

  std::shared_ptr<detail::TransferState> state_;
};

}  // namespace ghtier
