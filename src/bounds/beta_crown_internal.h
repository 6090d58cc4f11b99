#pragma once
// Internal to src/bounds/: what one beta-CROWN bound (beta_crown.cpp) and a
// batch of them (beta_crown_batch.cpp) share. Not part of the library's API.
#include <Eigen/Dense>
#include <vector>

#include "bounds/beta_crown.h"
#include "bounds/crown_internal.h"

namespace nnopt::bounds::detail {

// One sub-domain's starting point: its domain, relaxation (warm slopes
// clamped in), split terms (warm multipliers), and where its bound proves it
// empty (empty_at) or may stop (stop_above = min(p.stop_above, empty_at)).
struct BetaNodeSetup {
  ObjectiveDomain dom;
  std::vector<LayerRelax> relax;
  SplitTerms split;
  double empty_at = 0;
  double stop_above = 0;
};
BetaNodeSetup betaNodeSetup(const nn::Network& net, const spec::Box& box, const BoundTable& t,
                            const std::vector<ReluSplit>& splits, const Eigen::VectorXd& c,
                            const BetaCrownParams& p, const BetaCrownState* warm);

// The result for the best iterate (value v) of setup s; best is consumed.
BetaCrownResult betaResult(const nn::Network& net, const BetaNodeSetup& s, double v,
                           BestIterate& best);

}  // namespace nnopt::bounds::detail
