#pragma once
// The ReLU-split branch and bound (bab/relu_bab.h, the one engine) as the
// exact method of `verify` for one unsafe disjunct: is there an x in the box
// with c_k^T f(x) <= d_k for every constraint k? Decision mode on
// v(x) = max_k (c_k^T f(x) - d_k): the disjunct is refuted when the search
// proves min v > prune_tol, and a point replaying to v(x) <= 0 is a candidate
// counterexample. The caller's bound table (LP-tightened in verify) is the
// root table; every worker dives (depth-first) with its own warm-started LP,
// node LP points are polished by a few PGD steps.
#include <atomic>
#include <limits>
#include <vector>

#include "bab/relu_bab.h"
#include "bounds/bound_table.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::verify {

struct ReluProverParams {
  double time_limit = std::numeric_limits<double>::infinity();
  const std::atomic<bool>* cancel = nullptr;  // optional: once true, stop as on the time limit
  int threads = 1;
  double prune_tol = 1e-6;  // refuted when the proven bound of v exceeds this
  long max_nodes = 10'000'000;
  int pgd_steps = 10;  // PGD steps from each node's LP point (0 = replay only)
  bab::BabBranching branching = bab::BabBranching::kBabsr;
  bab::NodeBounds node_bounds = bab::NodeBounds::kAuto;
  double root_lp_time_s = 5.0;  // kAuto: the root LP's time limit before the LP is dropped
};

// bt: sound bounds for net over box. The result's status: kHolds (refuted),
// kViolated (x replays to v(x) <= 0), kTimeout, kNodeLimit / kIncomplete.
// Throws Error when the network is not piecewise linear, has MaxPool layers,
// or sizes mismatch.
bab::BabResult decideDisjunct(const nn::Network& net, const spec::Box& box,
                              const bounds::BoundTable& bt,
                              const std::vector<spec::OutputConstraint>& conj,
                              const ReluProverParams& p);

}  // namespace nnopt::verify
