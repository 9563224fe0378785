// GraphOwnedEvent: a user object per captured event; retired events wait in a process-wide list.
#include "engine/graph_owned_event.hpp"

#include <mutex>
#include <vector>

#include "core/support/cuda_check.hpp"
#include "core/support/log_nothrow.hpp"
#include "engine/event_watcher.hpp"  // RelaxedCaptureScope
#include "engine/live_engines.hpp"
#include "ghtier/error.hpp"

namespace ghtier::detail {

namespace {

struct RetiredEvents {
  std::mutex mutex;
  std::vector<cudaEvent_t> events;
};

// Never destroyed: user objects may be released during static destruction.
RetiredEvents& retired() {
  static auto* list = new RetiredEvents;
  return *list;
}

// The user object's destructor: runs when the graph and the token have let go, on a thread where CUDA calls
// are forbidden.
void retire(void* event) noexcept {
  try {
    RetiredEvents& list = retired();
    std::lock_guard lock(list.mutex);
    list.events.push_back(static_cast<cudaEvent_t>(event));
  } catch (...) {
    // Out of memory: the event leaks (a small driver object), which is safe.
  }
}

}  // namespace

GraphOwnedEvent record_graph_owned_event(cudaStream_t capture) {
  destroy_retired_graph_events();
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  cudaGraph_t graph = nullptr;
  GHTIER_CUDA_CHECK(cudaStreamGetCaptureInfo(capture, &status, nullptr, &graph));
  if (status != cudaStreamCaptureStatusActive || graph == nullptr) {
    throw_error(ErrorCode::invalid_argument, "record_graph_owned_event: the stream is not capturing a graph");
  }
  GraphOwnedEvent owned;
  GHTIER_CUDA_CHECK(cudaEventCreateWithFlags(&owned.event, cudaEventDisableTiming));
  try {
    GHTIER_CUDA_CHECK(cudaEventRecord(owned.event, capture));
    // Two references: the token's, and the one moved into the graph.
    GHTIER_CUDA_CHECK(cudaUserObjectCreate(&owned.owner, owned.event, retire, 2, cudaUserObjectNoDestructorSync));
  } catch (...) {
    GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(owned.event));
    throw;
  }
  const cudaError_t retained = cudaGraphRetainUserObject(graph, owned.owner, 1, cudaGraphUserObjectMove);
  if (retained != cudaSuccess) {
    (void)cudaGetLastError();
    GHTIER_CUDA_CHECK_NOTHROW(cudaUserObjectRelease(owned.owner, 2));  // retires the event
    check_cuda(retained, "cudaGraphRetainUserObject", __FILE__, __LINE__);
  }
  return owned;
}

void release_graph_owned_event(const GraphOwnedEvent& event) noexcept {
  if (event.owner == nullptr || process_exiting()) return;  // at exit CUDA may be gone: the OS reclaims it
  RelaxedCaptureScope relaxed;  // a token may be dropped on a thread that is capturing a graph
  GHTIER_CUDA_CHECK_NOTHROW(cudaUserObjectRelease(event.owner, 1));
}

void destroy_retired_graph_events() noexcept {
  if (process_exiting()) return;
  std::vector<cudaEvent_t> events;
  try {
    RetiredEvents& list = retired();
    std::lock_guard lock(list.mutex);
    events.swap(list.events);
  } catch (...) {
    return;
  }
  if (events.empty()) return;
  RelaxedCaptureScope relaxed;
  for (cudaEvent_t event : events) GHTIER_CUDA_CHECK_NOTHROW(cudaEventDestroy(event));
}

}  // namespace ghtier::detail
