// GraphOwnedEvent: the completion event of a request captured into a CUDA graph. It never goes back to an
// event pool: a later request reusing it could be reported complete by a graph launch, and an engine
// destroyed before the graph would destroy an event the graph still names. Its life follows the graph
// instead: a CUDA user object, retained by the graph under capture and by the request's token, destroys it
// once both are gone. A user object's destructor may make no CUDA call, so it only retires the event; retired
// events are destroyed by the next call that may make CUDA calls (a capture, an engine's start or end).
#pragma once

#include <cuda_runtime_api.h>

namespace ghtier::detail {

struct GraphOwnedEvent {
  cudaEvent_t event = nullptr;
  cudaUserObject_t owner = nullptr;  ///< holds one reference for the token; the graph holds the other
};

/// Creates an event on the current device, records it on `capture` (a stream capturing a graph) and gives
/// the graph a share of it. Throws Error(cuda_error); nothing leaks when it throws.
[[nodiscard]] GraphOwnedEvent record_graph_owned_event(cudaStream_t capture);

/// Drops the token's share (the event is retired once the graph, and every graph made from it, is gone).
void release_graph_owned_event(const GraphOwnedEvent& event) noexcept;

/// Destroys the events whose graphs and tokens are gone. Never throws.
void destroy_retired_graph_events() noexcept;

}  // namespace ghtier::detail
