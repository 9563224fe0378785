// choose_completion_wait: plain rules over the chunk's place in its job and on its lane.
#include "engine/completion_wait_choice.hpp"

namespace ghtier::detail {

CompletionWaitChoice choose_completion_wait(const CompletionWaitInputs& chunk, const CompletionWaitPolicy& policy) {
  const bool short_enough =
      chunk.chunk_bytes <= policy.poll_bytes_limit && chunk.bytes_ahead <= policy.poll_bytes_limit - chunk.chunk_bytes;
  if (policy.poll_budget.count() <= 0 || chunk.priority != TransferPriority::urgent || !chunk.last_chunk ||
      chunk.waits_for_dependency || !short_enough) {
    return {};
  }
  return {CompletionWait::polled, policy.poll_budget};
}

}  // namespace ghtier::detail
