#pragma once
// Branch and bound over ReLU splits: minimise c^T f(x) over an input box, to a
// proven optimum within a gap (optimisation mode) or until it is decided
// whether min c^T f(x) > threshold (decision mode, what verification needs).
//
// A node is a set of splits (pre-activation >= 0 or <= 0 for some neurons).
// Bounding, cheapest first:
//  1. intermediate bounds: CROWN with the splits (bounds::crownBoundsSplit),
//     intersected with the parent's table (the root table: CROWN, optionally
//     LP-tightened); an empty sub-domain is pruned;
//  2. objective: CROWN lower bound; its minimising box corner is replayed
//     as an incumbent candidate;
//  3. when CROWN cannot prune: the LP relaxation of the node (bab/node_lp.h);
//     its input point is replayed too. When the replayed value is within the
//     gap of the LP bound the node is solved (the relaxation is tight there).
// A node without unstable neurons has an exact LP, so the search terminates.
// Branching: BaBSR-style score |backward coefficient| * (-l u / (u - l)) of the
// node's CROWN objective bound over unstable, unsplit neurons. Node order:
// best-first (lowest bound) or depth-first.
//
// Every objective value reported is recomputed by Network::forward in double
// at a point inside the box; lower bounds come from CROWN or from the
// weak-duality bound of an LP that Clp solved to optimality. Nodes that Clp
// declares infeasible are pruned (not certified; Clp's tolerances apply).
#include <Eigen/Dense>
#include <atomic>
#include <limits>
#include <string>
#include <vector>

#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bab {

enum class BabMode {
  kOptimize,  // proven optimum within abs_gap / rel_gap
  kDecide,    // is min c^T f(x) > threshold?
};

enum class BabOrder {
  kBestFirst,   // lowest lower bound first
  kDepthFirst,  // deepest first, ties by lowest bound (bounded memory)
};

enum class BabBranching {
  kBabsr,        // |CROWN coefficient| * triangle intercept (no LP needed)
  kLpViolation,  // |CROWN coefficient| * (y - relu(t)) at the node LP solution
};

struct BabParams {
  BabMode mode = BabMode::kOptimize;
  double threshold = 0.0;  // decision mode
  double abs_gap = 1e-4;   // optimisation mode: stop when best - bound <= max(abs, rel * |best|)
  double rel_gap = 1e-4;
  double time_limit = std::numeric_limits<double>::infinity();  // seconds, everything
  long max_nodes = 10'000'000;                                  // nodes bounded
  BabOrder order = BabOrder::kBestFirst;
  // Root bounds: CROWN, then LP tightening (bounds::lpTightenBounds) for at
  // most this many seconds (and at most a fifth of time_limit); 0 = CROWN only.
  double root_lp_time_limit = 10.0;
  bounds::CrownParams crown_root{bounds::ReluLowerSlope::kAdaptive, 20, 0.1, 0.5};
  bounds::CrownParams crown_node;  // per node (no alpha iterations by default)
  // Cuts (bab::NodeLp::addCuts): rounds at the root and at every other node,
  // a cap on their number, and the relative violation a cut needs.
  int cut_rounds_root = 20;
  int cut_rounds_node = 0;
  int max_cuts = 2000;
  double cut_min_violation = 1e-3;
  bool purge_cuts = true;  // after the root: keep only the cuts binding there
  int tighten_depth = 0;  // LP-tighten the bounds of nodes up to this depth
  bool node_lp = true;             // LP bounding when CROWN cannot prune
  bool lp_node_bounds = false;     // see bab/node_lp.h (NodeLp's node_bounds)
  BabBranching branching = BabBranching::kLpViolation;
  // Strong branching: the top k candidates of `branching` are scored by the
  // LP bounds of both children (product of the gains); 0 or 1 = off.
  int strong_branching = 8;
  // Rebuild the node LP from the node's own table instead of warm-starting
  // the root one (tighter relaxation, ~100x slower per node).
  bool fresh_node_lp = false;
  // Points evaluated before the search (e.g. an attack's result); each is
  // clamped into the box and replayed. Empty: the box centre.
  std::vector<Eigen::VectorXd> starts;
  double log_interval_s = 5.0;  // progress lines via nnopt::log (info)
  // Racing another exact solver (attack::Method::kPortfolio), all optional:
  // stop (status kTimeout) when *cancel becomes true; `shared_upper` holds the
  // best objective any solver has REPLAYED through the forward pass - nodes
  // close against min(own incumbent, *shared_upper), and the search lowers it
  // when it finds a better point; `lower_out` receives this search's proven
  // lower bound about every 0.2 s.
  const std::atomic<bool>* cancel = nullptr;
  std::atomic<double>* shared_upper = nullptr;
  std::atomic<double>* lower_out = nullptr;
};

enum class BabStatus {
  kOptimal,     // optimisation mode: objective - lower_bound within the gap
  kHolds,       // decision mode: lower_bound > threshold
  kViolated,    // decision mode: x replays to objective < threshold
  kTimeout,
  kNodeLimit,
  kIncomplete,  // search ended with unresolved nodes (LP failures at leaves)
};
const char* babStatusName(BabStatus s);

struct BabResult {
  BabStatus status = BabStatus::kIncomplete;
  double objective = std::numeric_limits<double>::infinity();  // c^T forward(x)
  Eigen::VectorXd x;                                           // best point, inside the box
  // Proven lower bound on min c^T f(x) over the box (min over open, pruned
  // and unresolved nodes).
  double lower_bound = -std::numeric_limits<double>::infinity();
  double root_bound = -std::numeric_limits<double>::infinity();  // before branching
  long nodes = 0;       // nodes bounded
  long lps = 0;         // node LPs solved
  long lp_failures = 0; // node LPs without an optimal solution
  long strong_lps = 0;  // LPs for strong branching
  long lp_iterations = 0;
  int cuts = 0;       // rows added by cut rounds
  int cuts_kept = 0;  // after the purge at the root
  long pruned = 0;      // by bound, emptiness or LP tightness
  long unresolved = 0;  // leaves that could not be closed
  int unstable_root = 0;  // unstable ReLUs in the root table
  int max_depth = 0;
  double root_time_s = 0.0;  // root bounds
  double lp_time_s = 0.0;    // node LPs
  double time_s = 0.0;
};

// Throws Error when the network is not ReLU/LeakyReLU-only (alpha in [0, 1)),
// the box does not match it or is empty, or c has the wrong size.
BabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& c,
                             const BabParams& p = {});

}  // namespace nnopt::bab
