#pragma once
// Branch and bound over ReLU phases with LP bounds, for one unsafe disjunct
// (min t s.t. c_k^T f(x) - d_k <= t, see verify/disjunct_model.h): an exact
// alternative to the CBC MIP that controls its own search (no root cut loop,
// best-first, one warm-started Clp session per worker thread).
//
// The LP of a node is the big-M model with integrality relaxed, where the
// binaries of the ReLUs split on the path to the node are fixed (z = 1: the
// neuron is active, y = t >= 0; z = 0: inactive, y = 0 >= t); for unsplit
// unstable neurons the relaxation is the triangle. A node is pruned when the
// LP is infeasible or its weak-duality bound (solve::LpSession::Result::bound,
// independent of solver tolerances) exceeds prune_tol. Otherwise the LP's
// input point is replayed through the network (and improved by a short PGD);
// a point with margin <= 0 ends the search. Branching: see ReluBranching.
// Search order: each worker dives (keeps the child on the LP point's side,
// queues the other) and then takes the deepest queued node: the tree is the
// same in any order (the pruning threshold is fixed), depth-first keeps the
// dual simplex warm start one bound change away and the queue small. A node
// whose LP has no relaxation gap left is exact on its linear region: its
// bound decides it, else it is an unresolved leaf.
//
// CROWN node bounds (ReluNodeBounds): a node bounded by CROWN gets CROWN
// bounds of its sub-domain (bounds::crownBoundsSplit with the node's splits,
// intersected with the parent's table), which close it when the sub-domain is
// empty or some constraint's CROWN lower bound exceeds prune_tol; the CROWN
// minimiser is replayed as a candidate. It then branches on the BaBSR score
// of the closest constraint's CROWN bound (backward coefficient times the
// chord's intercept, under the node's bounds); a node without an unstable
// free neuron left is an unresolved leaf (only the LP decides it). kAuto uses
// the LP, and CROWN where the LP fails, and for every node once the root LP
// did not finish within root_lp_time_s: on large CNNs one LP of the whole
// network takes longer than the search has (VNN-COMP marabou cifar10_medium:
// the root LP was not solved in 45 s, a CROWN pass takes 0.2 s). Where the LP
// is fast it is the better bound per second (oval21 cifar_base_kw: 984 LP
// nodes in 55 s, none closed by CROWN when both ran, 376 nodes).

#include <Eigen/Dense>
#include <atomic>
#include <limits>
#include <vector>

#include "bounds/bound_table.h"
#include "nn/network.h"
#include "spec/property.h"
#include "verify/input_bab.h"

namespace nnopt::verify {

enum class ReluBranching {
  kGap,        // largest relaxation gap y - relu(t) at the LP point
  kIntercept,  // BaBSR-like intercept score (see relu_bab.cpp), gap as tie-break
};

enum class ReluNodeBounds {
  kAuto,   // the node LP; CROWN where it fails, and everywhere once the root LP took > root_lp_time_s
  kLp,     // the node LP only
  kCrown,  // CROWN only (nodes left without unstable neurons stay unresolved)
};

struct ReluBabParams {
  double time_limit = std::numeric_limits<double>::infinity();
  const std::atomic<bool>* cancel = nullptr;  // optional: once true, stop as on the time limit
  int threads = 1;
  double prune_tol = 1e-6;  // a node is refuted when its LP bound > this
  long max_nodes = 10'000'000;
  int pgd_steps = 10;  // PGD steps from each node's LP point (0 = replay only)
  ReluBranching branching = ReluBranching::kIntercept;
  ReluNodeBounds node_bounds = ReluNodeBounds::kAuto;
  double root_lp_time_s = 5.0;  // kAuto: the root LP's time limit before the LP is dropped
  // Drop the rows defining pre-activations used nowhere else (ReLUs proven
  // inactive): of the first Dense layer only (exactly implied by the box), or
  // of every layer (the default: a relaxation of the LP, so its bounds stay
  // valid; measured on MNIST 256x2 the LP bounds did not change and the
  // nodes got twice as fast).
  bool drop_dead_rows = true;
  bool drop_dead_rows_all_layers = true;
};

struct ReluBabResult {
  BabStatus status = BabStatus::kIncomplete;
  Eigen::VectorXd x, y;  // kFound: a point satisfying the conjunction
  long nodes = 0;        // LPs solved
  long pruned = 0;
  long unresolved = 0;
  int max_depth = 0;
  int unstable = 0;  // ReLUs with a binary (unstable under the bounds)
  double root_bound = -std::numeric_limits<double>::infinity();
  double time_s = 0.0;
  long lp_iterations = 0;
  long crown_nodes = 0;   // nodes bounded by CROWN
  long crown_pruned = 0;  // of them, closed by CROWN (empty or refuted)
  bool lp_dropped = false;  // kAuto: the root LP did not finish in time, CROWN alone
  double root_lp_s = 0.0;   // the root LP's time (0 when none)
};

// bt: sound bounds for net over box (crownBounds, lpTightenBounds, ...).
// Throws Error when the network is not piecewise linear or sizes mismatch.
ReluBabResult reluBranchAndBound(const nn::Network& net, const spec::Box& box,
                                 const bounds::BoundTable& bt,
                                 const std::vector<spec::OutputConstraint>& conj,
                                 const ReluBabParams& p);

}  // namespace nnopt::verify
