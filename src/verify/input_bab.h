#pragma once
// Branch and bound over input splits (for low-dimensional inputs, e.g. ACAS
// Xu): complete for piecewise-linear networks up to the width floor.
//
// Each node is a sub-box of the input box with the set of unsafe disjuncts not
// yet refuted in it (children inherit the parent's set). Bounding: CROWN
// bounds of the sub-box (refined from the parent's bounds first, see
// InputBabParams::incremental, then bounds::crownBounds), then for every live
// disjunct and each of its constraints sum c*y <= d a CROWN lower bound of
// c^T f(x) - d (bounds::crownLowerBound); a disjunct dies when one of its
// constraints has lower bound > prune_tol, the node is pruned when all
// disjuncts are dead. Otherwise a short PGD runs from the centre; a point
// satisfying a disjunct ends the search (status kFound; the caller replays).
// Branching (SplitRule): halve the dimension with the largest score among
// those not much narrower (relative to the root box) than the widest. Nodes
// are served by `threads` workers sharing one queue, lowest bound first
// (NodeOrder::kBestFirst, the default: the most violated region first, which
// finds counterexamples sooner) or deepest first.
#include <Eigen/Dense>
#include <atomic>
#include <limits>
#include <string>

#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::verify {

// Measured on ACAS Xu (72 instances, 116 s each): kCrownCoef solved 71 in
// 189 s in total, kSmear 70 in 398 s (and up to 50x more nodes on property 1).
enum class SplitRule { kSmear, kCrownCoef };
enum class NodeOrder {
  kDepthFirst,  // deepest first, ties by lowest bound (bounded memory)
  kBestFirst,   // lowest bound first (most violated region first)
};
// Unsat instances need the same nodes in any order (the pruning threshold is
// fixed); the order matters for finding counterexamples and for memory.

struct InputBabParams {
  double time_limit = std::numeric_limits<double>::infinity();  // seconds
  const std::atomic<bool>* cancel = nullptr;  // optional: once true, stop as on the time limit
  int threads = 1;
  bounds::CrownParams crown;  // per node
  int pgd_steps = 5;          // PGD steps from each unpruned node's centre (0 = centre only)
  long max_nodes = 20'000'000;
  SplitRule split = SplitRule::kCrownCoef;
  NodeOrder order = NodeOrder::kBestFirst;
  // 0: split the top dimension of `split`. k > 0: bound the children of the
  // top k smear dimensions and the top crown dimension and keep the split
  // whose worse child has the best bound (costs up to 2(k+1) boundings per
  // split instead of 2).
  int lookahead = 0;
  double prune_tol = 1e-9;
  // A dimension narrower than this (relative to max(1, |centre|)) is not split;
  // a node with no splittable dimension left is an unresolved leaf.
  double min_rel_width = 1e-12;
  // Only dimensions whose width relative to the root box is at least this
  // fraction of the largest relative width are split (keeps the scores from
  // halving one dimension forever).
  double min_width_ratio = 1.0 / 32;
  // Children are first bounded with bounds refined from the parent's
  // (verify/refine_bounds.h, cheap); those not pruned by them also get full
  // CROWN bounds (the better bound per constraint counts). At most
  // max_tables parent tables are kept at a time (memory); other nodes'
  // children get full CROWN bounds only.
  bool incremental = true;
  long max_tables = 20000;
};

enum class BabStatus {
  kProven,  // every node pruned: no input in the box satisfies the spec
  kFound,   // x, y satisfy the spec (forward pass in double)
  kTimeout,
  kIncomplete,  // node limit or unresolved leaves at the width floor
};
const char* babStatusName(BabStatus s);

struct InputBabResult {
  BabStatus status = BabStatus::kIncomplete;
  Eigen::VectorXd x, y;
  long nodes = 0;  // nodes bounded
  long pruned = 0;
  long unresolved = 0;  // leaves at the width floor
  int max_depth = 0;
  double time_s = 0.0;
  double root_bound = -std::numeric_limits<double>::infinity();  // min over live disjuncts
};

// Throws Error when the box does not match the network or the spec refers to
// outputs out of range.
InputBabResult inputBranchAndBound(const nn::Network& net, const spec::Box& box,
                                   const spec::OutputSpec& spec, const InputBabParams& p);

}  // namespace nnopt::verify
