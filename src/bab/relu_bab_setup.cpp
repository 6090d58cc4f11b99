// Set-ups of the ReLU branch and bound (bab/relu_bab.h): a child's table
// without a new bound computation (the splits clipped into the parent's), the
// parameter presets of its callers (beta-CROWN nodes, verify's decision
// mode), and the status names.
#include <algorithm>
#include <optional>
#include <vector>

#include "bab/relu_bab.h"

namespace nnopt::bab {

const char* babStatusName(BabStatus s) {
  switch (s) {
    case BabStatus::kOptimal: return "optimal";
    case BabStatus::kHolds: return "holds";
    case BabStatus::kViolated: return "violated";
    case BabStatus::kTimeout: return "timeout";
    case BabStatus::kNodeLimit: return "node_limit";
    case BabStatus::kIncomplete: return "incomplete";
  }
  return "?";
}

using bounds::BoundTable;
using bounds::ReluSplit;

// A copy of t with the pre-activation bounds of every split neuron clipped at
// 0 (and its activation's output bounds with them); nullopt when a split
// contradicts t (the sub-domain is empty).
std::optional<BoundTable> withSplits(const nn::Network& net, const BoundTable& t,
                                     const std::vector<ReluSplit>& splits) {
  BoundTable out = t;
  for (const auto& s : splits) {
    Eigen::VectorXd& lo = s.layer == 0 ? out.in_lo : out.lo[s.layer - 1];
    Eigen::VectorXd& hi = s.layer == 0 ? out.in_hi : out.hi[s.layer - 1];
    double& l = lo[s.neuron];
    double& u = hi[s.neuron];
    if (s.active) {
      if (u < 0) return std::nullopt;
      l = std::max(l, 0.0);
    } else {
      if (l > 0) return std::nullopt;
      u = std::min(u, 0.0);
    }
    const auto& act = net.layers()[s.layer].activation();
    out.lo[s.layer][s.neuron] = std::max(out.lo[s.layer][s.neuron], act.apply(l));
    out.hi[s.layer][s.neuron] = std::min(out.hi[s.layer][s.neuron], act.apply(u));
  }
  return out;
}

void useBetaNodes(BabParams& p) {
  p.node_bounds = NodeBounds::kCrown;
  p.node_crown = false;
  p.crown_tables_no_lp = false;
  p.beta_iters_no_lp = 5;
  p.batch = kDefaultBatch;
}

BabParams decisionParams(const bounds::BoundTable& root, double prune_tol) {
  BabParams bp;
  bp.mode = BabMode::kDecide;
  bp.threshold = prune_tol;
  bp.violation_level = 0.0;
  bp.order = BabOrder::kDepthFirst;
  bp.root_table = &root;
  bp.node_bounds = NodeBounds::kAuto;
  bp.node_crown = false;
  bp.beta_iters = 0;
  bp.beta_iters_no_lp = 5;
  bp.batch = kDefaultBatch;
  bp.root_lp_cap_s = 5.0;
  bp.branching = BabBranching::kBabsr;
  bp.strong_branching = 0;
  bp.cut_rounds_root = 0;
  bp.log_interval_s = 1e300;
  return bp;
}

}  // namespace nnopt::bab
