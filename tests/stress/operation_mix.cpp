// OperationMix: weighted kinds, round-robin directions, log-uniform sizes.
#include "operation_mix.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace ghtier::stress {

OperationMix::OperationMix(MixOptions options, std::uint64_t seed) : options_(std::move(options)), rng_(seed) {
  if (options_.modes.empty()) throw std::invalid_argument("OperationMix: no memory mode to allocate in");
  if (options_.min_bytes == 0 || options_.min_bytes > options_.max_bytes) {
    throw std::invalid_argument("OperationMix: min_bytes must be in [1, max_bytes]");
  }
  if (options_.max_held == 0) throw std::invalid_argument("OperationMix: max_held must be at least 1");
  if (options_.max_batch_items == 0) throw std::invalid_argument("OperationMix: max_batch_items must be at least 1");
  // Allocate first (free and relocate need a kept buffer), free last.
  for (StressOp kind : {StressOp::allocate, StressOp::copy, StressOp::batch, StressOp::prefetch, StressOp::relocate,
                        StressOp::gather, StressOp::free}) {
    if (possible(kind)) first_round_.push_back(kind);
  }
}

bool OperationMix::possible(StressOp kind) const noexcept {
  if (options_.weights[index_of(kind)] == 0) return false;
  switch (kind) {
    case StressOp::prefetch: return !options_.prefetch_modes.empty();
    case StressOp::gather: return !options_.gpu_modes.empty();
    case StressOp::relocate: return options_.modes.size() > 1;
    default: return true;
  }
}

bool OperationMix::eligible(StressOp kind, std::size_t held) const noexcept {
  if (!possible(kind)) return false;
  switch (kind) {
    case StressOp::allocate: return held < options_.max_held;
    case StressOp::free:
    case StressOp::relocate: return held > 0;
    default: return true;
  }
}

std::size_t OperationMix::draw_bytes() {
  const double lo = std::log(static_cast<double>(options_.min_bytes));
  const double hi = std::log(static_cast<double>(options_.max_bytes));
  const double x = std::exp(std::uniform_real_distribution<double>(lo, hi)(rng_));
  const auto bytes = static_cast<std::size_t>(x);
  return std::clamp(bytes, options_.min_bytes, options_.max_bytes);
}

PlannedOp OperationMix::next(std::size_t held) {
  unsigned total = 0;
  for (StressOp kind : all_stress_ops) {
    if (eligible(kind, held)) total += options_.weights[index_of(kind)];
  }
  // held == 0 with allocate's weight 0 would leave nothing: then a copy (always possible).
  PlannedOp op;
  op.kind = StressOp::copy;
  const auto first =
      std::find_if(first_round_.begin(), first_round_.end(), [&](StressOp kind) { return eligible(kind, held); });
  if (first != first_round_.end()) {
    op.kind = *first;
    first_round_.erase(first);
  } else if (total > 0) {
    unsigned pick = std::uniform_int_distribution<unsigned>(0, total - 1)(rng_);
    for (StressOp kind : all_stress_ops) {
      if (!eligible(kind, held)) continue;
      const unsigned w = options_.weights[index_of(kind)];
      if (pick < w) {
        op.kind = kind;
        break;
      }
      pick -= w;
    }
  }
  op.seed = rng_();
  op.use_stream = (rng_() & 1) != 0;
  op.urgent = (rng_() & 3) == 0;
  op.bytes = draw_bytes();
  std::size_t& turn = turn_[index_of(op.kind)];
  const auto& modes = options_.modes;
  switch (op.kind) {
    case StressOp::allocate: op.from = modes[turn++ % modes.size()]; break;
    case StressOp::free: op.held_index = rng_() % held; break;
    case StressOp::copy:
    case StressOp::batch: {
      const std::size_t pair = turn++ % (modes.size() * modes.size());
      op.from = modes[pair / modes.size()];
      op.to = modes[pair % modes.size()];
      if (op.kind == StressOp::batch) {
        op.items = 1 + rng_() % options_.max_batch_items;
        if (op.bytes < op.items) op.bytes = op.items;
      } else {
        const auto& shared = options_.shared_modes;
        op.from_shared = (rng_() % 4 == 0) && std::find(shared.begin(), shared.end(), op.from) != shared.end();
      }
      break;
    }
    case StressOp::prefetch: {
      const auto& p = options_.prefetch_modes;
      const std::size_t k = turn++ % (p.size() * 2);
      op.from = p[k / 2];
      op.via_engine = (k % 2) == 0;
      break;
    }
    case StressOp::relocate:
      op.held_index = rng_() % held;
      op.to = modes[turn++ % modes.size()];  // the worker skips to the next tier when it is the buffer's own
      break;
    case StressOp::gather: {
      const auto& g = options_.gpu_modes;
      const std::size_t pair = turn++ % (g.size() * g.size());
      op.from = g[pair / g.size()];
      op.to = g[pair % g.size()];
      op.items = gather_row_widths[rng_() % gather_row_widths.size()];
      if (op.bytes < op.items) op.bytes = op.items;
      op.bytes -= op.bytes % op.items;  // whole rows
      break;
    }
  }
  return op;
}

}  // namespace ghtier::stress
