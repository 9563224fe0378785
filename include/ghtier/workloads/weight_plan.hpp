// Weight streaming planning: from per-layer weight bytes and compute times, the link model and a device
// budget, choose which layers stay resident in HBM, how many ring slots the streamed rest cycles through
// (the lookahead that hides the copies) and, where the GPU may read host memory in place (GH200), which
// streamed layers are read over the link instead of copied. Pure C++ over plain values: no GPU, tested in
// CI, printed by `ghtier plan weights`.
#pragma once

#include "ghtier/export.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "ghtier/platform/link_model.hpp"

namespace ghtier {

/// Where one layer's weights are while it computes.
enum class WeightPlacement {
  resident,  ///< kept in device memory for good
  streamed,  ///< copied host -> device into a ring slot ahead of its compute, the slot reused afterwards
  in_place,  ///< read by the kernels straight from host memory over the link (GH200 C2C): no slot, no copy
};

[[nodiscard]] GHTIER_API std::string_view to_string(WeightPlacement placement) noexcept;

/// One layer of one pass (forward for inference; the caller passes the reverse order for backward).
struct GHTIER_API WeightLayerProfile {
  std::size_t weight_bytes = 0;  ///< all the layer's weight tensors together
  double compute_seconds = 0;    ///< the layer's compute with its weights in device memory
};

/// What the planner is asked.
struct GHTIER_API WeightPlanRequest {
  std::vector<WeightLayerProfile> layers;  ///< in the order the pass touches them
  LinkModel link;                          ///< h2d_gbps (copies) and sm_read_gbps (in-place reads) are used
  /// Device bytes for weights: resident layers plus the ring (slots x the largest layer).
  std::size_t device_budget_bytes = 0;
  /// Whether a kernel may read a layer's host copy in place (pinned or, on GH200, system memory). The
  /// planner chooses it for a layer only where the cost model predicts a shorter pass.
  bool allow_in_place = false;
  /// Largest number of ring slots tried; 0 = as many as there are layers.
  std::size_t max_slots = 8;
  /// The compute times are estimates, or one plan serves passes of different lengths (decode and prefill):
  /// plan for both the given times and times as long as each layer's copy (where hiding a copy behind the
  /// previous layer matters most), taking the plan whose worse relative loss in the two is smallest. A
  /// single ring slot, which serialises each copy behind the previous layer's compute, can win a few percent
  /// for short compute and lose up to 2x for long compute; hedged, the planner keeps two slots there.
  bool hedge_compute = false;
};

/// The predicted course of one pass in the steady state (the ring's copies for the next pass start while
/// this one ends, as in decode steps or repeated forward passes).
struct GHTIER_API WeightStepPrediction {
  double step_seconds = 0;         ///< one pass, steady state
  double first_step_seconds = 0;   ///< the first pass, from an empty ring
  double compute_seconds = 0;      ///< the layers' compute (in-place layers at their slower rate)
  double bound_seconds = 0;        ///< max(resident compute of every layer, streamed bytes / h2d)
  std::size_t resident_bytes = 0;  ///< weights kept in device memory
  std::size_t streamed_bytes = 0;  ///< bytes copied per pass
  std::size_t in_place_bytes = 0;  ///< bytes read in place per pass
  std::size_t ring_bytes = 0;      ///< slots x slot size
  std::size_t device_bytes = 0;    ///< resident_bytes + ring_bytes
};

/// A plan: one placement per layer, the ring, and what the planner predicts for it.
struct GHTIER_API WeightPlan {
  std::vector<WeightPlacement> placements;  ///< one per layer, in the request's order
  std::size_t ring_slots = 0;               ///< 0 only when no layer is streamed
  std::size_t slot_bytes = 0;               ///< the largest layer: any layer can be demoted into the ring
  WeightStepPrediction predicted;
  WeightStepPrediction all_resident;  ///< every layer resident (needs every byte on the device)
  WeightStepPrediction naive;         ///< every layer copied synchronously before its compute, no overlap
};

/// The least device budget any plan can run in: one ring slot (the largest layer); 0 when every layer may
/// be read in place. Throws Error(invalid_argument) as plan_weights does for bad layers.
[[nodiscard]] GHTIER_API std::size_t minimum_weight_budget(const WeightPlanRequest& request);

/// Simulates passes under given placements and ring slots: one H2D lane copies the streamed layers in
/// order, cycling across passes; the copy of a layer waits for its slot (freed when the layer `slots`
/// streamed layers earlier has computed); a layer computes after the previous one and after its copy.
/// Throws Error(invalid_argument) for placements of another length than layers, streamed layers with 0
/// slots, a negative or non-finite time, or a link of bandwidth 0 where it is used.
[[nodiscard]] GHTIER_API WeightStepPrediction simulate_weight_step(const std::vector<WeightLayerProfile>& layers,
                                                                   const LinkModel& link,
                                                                   const std::vector<WeightPlacement>& placements,
                                                                   std::size_t ring_slots);

/// Chooses the plan with the shortest predicted pass that fits the budget (hedge_compute: the least worse
/// relative loss over the two compute cases; `predicted` is always for the given compute times). Where the layers are
/// few (every resident set times every ring size within 2^17 simulations: 14 layers at the default 8 slots), every
/// resident set is tried for every ring size, so the resident/streamed plan is the best the model knows;
/// beyond, a local search per ring size (several starts, then swaps of one or two resident layers for a
/// streamed one while that helps). Then streamed layers are switched to in-place reads where allowed and
/// faster. Throws Error(invalid_argument) for no layers,
/// a negative or non-finite time or bandwidth, and Error(out_of_budget) for a budget below
/// minimum_weight_budget (the message gives the minimum).
[[nodiscard]] GHTIER_API WeightPlan plan_weights(const WeightPlanRequest& request);

/// A human-readable table of the plan, as `ghtier plan weights` prints it.
[[nodiscard]] GHTIER_API std::string describe_weight_plan(const WeightPlanRequest& request, const WeightPlan& plan);
/// The plan as one JSON object (placements, ring, predictions).
[[nodiscard]] GHTIER_API std::string weight_plan_to_json(const WeightPlan& plan);

}  // namespace ghtier
