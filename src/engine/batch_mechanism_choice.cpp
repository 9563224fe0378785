// The batch mechanism's cost model: per-item copy-engine cost against per-launch kernel cost and bandwidths.
#include "engine/batch_mechanism_choice.hpp"

#include "engine/batch_copy_kernel.hpp"

namespace ghtier::detail {

namespace {

// Copy-engine and SM bandwidths of the lane's direction, GB/s. Device to device: both at HBM speed.
struct LaneRates {
  double copy_engine_gbps;
  double sm_gbps;
};

LaneRates rates_of(LaneId lane, const LinkModel& link) noexcept {
  switch (lane) {
    case LaneId::to_device: return {link.h2d_gbps, link.sm_read_gbps};
    case LaneId::to_host: return {link.d2h_gbps, link.sm_write_gbps};
    case LaneId::local: return {link.hbm_gbps, link.hbm_gbps};
  }
  return {link.h2d_gbps, link.sm_read_gbps};
}

}  // namespace

double copy_engine_batch_seconds(const BatchShape& shape, const LinkModel& link, const BatchCosts& costs) {
  const LaneRates rates = rates_of(shape.lane, link);
  return static_cast<double>(shape.items) * costs.copy_engine_item_us * 1e-6 +
         static_cast<double>(shape.bytes) / (rates.copy_engine_gbps * 1e9);
}

double sm_batch_seconds(const BatchShape& shape, const LinkModel& link, const BatchCosts& costs) {
  const LaneRates rates = rates_of(shape.lane, link);
  const std::size_t per_launch = static_cast<std::size_t>(sm_batch_max_items);
  const std::size_t launches = (shape.items + per_launch - 1) / per_launch;
  return static_cast<double>(launches) * costs.kernel_launch_us * 1e-6 +
         static_cast<double>(shape.bytes) / (rates.sm_gbps * 1e9);
}

bool use_sm_batch(BatchMechanism mechanism, const BatchShape& shape, const LinkModel& link, const BatchCosts& costs) {
  if (!shape.gpu_reachable || shape.items == 0) return false;
  switch (mechanism) {
    case BatchMechanism::copy_engine: return false;
    case BatchMechanism::sm_kernel: return true;
    case BatchMechanism::automatic: break;
  }
  if (!shape.fixed_pages || shape.bytes > shape.items * sm_batch_mean_item_limit) return false;
  link.validate();
  return sm_batch_seconds(shape, link, costs) < copy_engine_batch_seconds(shape, link, costs);
}

}  // namespace ghtier::detail
