#pragma once
// Branch and bound over input splits (for low-dimensional inputs, e.g. ACAS
// Xu): complete for piecewise-linear networks up to the width floor.
//
// Each node is a sub-box of the input box with the set of unsafe disjuncts not
// yet refuted in it (children inherit the parent's set). Bounding: CROWN
// bounds of the sub-box (refined from the parent's bounds first, see
// InputSplitParams::incremental, then bounds::crownBounds), then for every live
// disjunct and each of its constraints sum c*y <= d a CROWN lower bound of
// c^T f(x) - d (bounds::crownLowerBound); a disjunct dies when one of its
// constraints has lower bound > prune_tol, or a non-negative combination of
// its constraints does (InputSplitParams::combine_iters), the node is pruned
// when all disjuncts are dead. Otherwise the node attack (e.g. a short PGD
// from the centre) runs; a point satisfying a disjunct ends the search
// (status kViolated; forward pass in double), as does one from the caller's
// falsifier run between nodes (InputSplitParams::interlude). Branching
// (InputSplitRule): halve the dimension with the largest score among those
// not much narrower (relative to the root box) than the widest, or the best
// of a few candidates (lookahead). Nodes are served by `threads` workers
// sharing one queue, lowest bound first (BabOrder::kBestFirst, the default:
// the most violated region first, which finds counterexamples sooner) or
// deepest first.
//
// The input split is the low-dimensional policy of the one branch and bound
// (bab/): a node whose bounds leave few ReLUs unstable is handed to the ReLU
// split (bab/relu_bab.h, decision mode) instead of further input splits: the
// mixed policy. Decision mode throughout: kHolds when every node is refuted,
// kViolated with a point that satisfies the spec.
#include <Eigen/Dense>
#include <atomic>
#include <functional>
#include <limits>
#include <string>

#include "bab/relu_bab.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bab {

// Measured on ACAS Xu (72 instances, 116 s each): kCrownCoef solved 71 in
// 189 s in total, kSmear 70 in 398 s (and up to 50x more nodes on property 1).
enum class InputSplitRule { kSmear, kCrownCoef };
// Node order (BabOrder): kBestFirst = lowest bound first (most violated
// region first), kDepthFirst = deepest first, ties by lowest bound (bounded
// memory).
// Unsat instances need the same nodes in any order (the pruning threshold is
// fixed); the order matters for finding counterexamples and for memory.

struct InputSplitParams {
  double time_limit = std::numeric_limits<double>::infinity();  // seconds
  const std::atomic<bool>* cancel = nullptr;  // optional: once true, stop as on the time limit
  int threads = 1;
  bounds::CrownParams crown;  // per node
  // A point of the node's box to replay for every node that survives its
  // bounds (e.g. a short PGD from the centre, see verify's pgdNodeAttack),
  // given the node box and the disjuncts still alive there; the result is
  // clamped into the box and replayed. Unset: the box centre. Called from
  // worker threads concurrently.
  std::function<Eigen::VectorXd(const spec::Box&, const spec::OutputSpec&)> node_attack;
  long max_nodes = 20'000'000;
  InputSplitRule split = InputSplitRule::kCrownCoef;
  BabOrder order = BabOrder::kBestFirst;
  // 0: split the top dimension of `split`. k > 0: bound the children of the
  // top k smear dimensions and the top crown dimension and keep the split
  // that leaves the least violation (costs up to 2(k+1) boundings per
  // split instead of 2). `verify` uses k = 2: on ACAS Xu the crown rule alone
  // keeps halving one dimension (depth 30-45 where the lookahead needs 12-26;
  // 3_8 / prop 1: 9759 boundings, 16 s, vs 1452, 1.8 s; 4_7 / prop 1: no
  // proof in 116 s vs 4 s).
  int lookahead = 0;
  // With lookahead: judge the candidate splits by the children's cheap
  // refined bounds (see incremental) and bound only the chosen split's
  // children in full (3_8 / prop 1: 1.8 s vs 2.9 s with full bounds).
  bool lookahead_cheap = true;
  double prune_tol = 1e-9;
  // A dimension narrower than this (relative to max(1, |centre|)) is not split;
  // a node with no splittable dimension left is an unresolved leaf.
  double min_rel_width = 1e-12;
  // Only dimensions whose width relative to the root box is at least this
  // fraction of the largest relative width are split (keeps the scores from
  // halving one dimension forever).
  double min_width_ratio = 1.0 / 32;
  // Children are first bounded with bounds refined from the parent's
  // (bounds/refine.h, cheap); those not pruned by them also get full
  // CROWN bounds (the better bound per constraint counts). At most
  // max_tables parent tables are kept at a time (memory); other nodes'
  // children get full CROWN bounds only.
  bool incremental = true;
  long max_tables = 20000;
  // Conjunctions of several constraints (e.g. "Y_0 is the minimum"): when no
  // single constraint is refuted, a non-negative combination sum_k l_k
  // (c_k^T y - d_k) with a lower bound > prune_tol refutes the conjunction
  // too (on an unsafe point every term is <= 0). The weights l (on the
  // simplex) are found by exponentiated supergradient steps: the gradient of
  // the bound in l is each constraint's value at the relaxed network's
  // minimiser (bounds::crownLowerBoundDetail's corner and relaxation choice).
  // Every candidate bound comes from bounds::crownLowerBound itself, so the
  // weights only steer, they never make a bound unsound. 0 = off.
  int combine_iters = 8;
  // A node whose bounds leave at most this many ReLU/LeakyReLU neurons
  // unstable is decided per live disjunct by the ReLU split (decisionParams
  // in bab/relu_bab.h: LP bounds over the node's box, complete, at most
  // exact_time_max_s each)
  // instead of further input splits, which cannot close a nearly tight
  // property (ACAS Xu 1_1 / prop 5: best margin 0.004, no proof in 116 s).
  // -1 = off.
  int exact_unstable_max = -1;
  double exact_time_max_s = 2.0;
  // Once the search has run exact_late_s (wall time x threads: with the wall
  // time alone, 2 threads bounded 2.4x the nodes of 1 before the switch on
  // ACAS Xu 4_2 / prop 2 and gained little), nodes with up to
  // exact_unstable_late unstable neurons go to the ReLU B&B too (when that is
  // larger than exact_unstable_max): the B&B decides bigger leaves than the
  // input split can close, but costs more on the many small instances. ACAS
  // Xu 2021 (186 instances, 116 s): with 48 from the start every instance
  // was decided (3_3 and 4_2 prop 2 in 70 / 46 s, timeouts at 16) but three
  // others took 2.5-7x longer (1_1 prop 6: 8.5 -> 37 s); all of those end
  // before 10 s at 16. -1 = off.
  int exact_unstable_late = -1;
  double exact_late_s = 10.0;
  // Optional falsifier between nodes (one worker at a time, the others go
  // on): called once the search has run interlude_first_s, then again after
  // as long again as the search has run so far (doubling gaps), with a
  // budget of interlude_share times the elapsed time. It returns true with a
  // point that satisfies the spec (the caller replayed it) to end the search
  // as kViolated. Counterexamples the node-centre PGD misses (ACAS Xu 5_3 /
  // prop 2, 1_9 / prop 7) fall to the LPCC walk within seconds, while
  // searches that finish fast never pay for it.
  std::function<bool(double budget_s, Eigen::VectorXd* x)> interlude;
  double interlude_first_s = 0.3;
  double interlude_share = 0.25;
};

struct InputSplitResult {
  // kHolds: every node refuted, no input in the box satisfies the spec;
  // kViolated: x, y satisfy the spec (forward pass in double); kTimeout;
  // kNodeLimit; kIncomplete: unresolved leaves at the width floor.
  BabStatus status = BabStatus::kIncomplete;
  Eigen::VectorXd x, y;
  long nodes = 0;  // nodes bounded
  long pruned = 0;
  long unresolved = 0;  // leaves at the width floor
  int max_depth = 0;
  // Nodes decided (or tried) by the ReLU B&B (exact_unstable_max/late): runs
  // (one per live disjunct), their B&B nodes, their wall time.
  long exact_runs = 0, exact_nodes = 0;
  double exact_time_s = 0.0;
  double interlude_time_s = 0.0;  // wall time in the interludes (falsifier)
  double time_s = 0.0;
  double root_bound = -std::numeric_limits<double>::infinity();  // min over live disjuncts
};

// Throws Error when the box does not match the network or the spec refers to
// outputs out of range.
InputSplitResult inputSplitBranchAndBound(const nn::Network& net, const spec::Box& box,
                                          const spec::OutputSpec& spec,
                                          const InputSplitParams& p);

}  // namespace nnopt::bab
