// The weight planner with its search method chosen by the caller: tests compare the local search, which
// plan_weights uses beyond a few layers, against brute force on profiles small enough to enumerate.
#pragma once

#include "ghtier/workloads/weight_plan.hpp"

namespace ghtier::detail {

enum class WeightSearchMethod {
  automatic,   ///< every resident set where the layers are few enough, else the local search (plan_weights)
  local_only,  ///< the local search at any layer count
};

/// plan_weights with the search method given; same contract otherwise.
[[nodiscard]] WeightPlan plan_weights_by(const WeightPlanRequest& request, WeightSearchMethod method);

}  // namespace ghtier::detail
