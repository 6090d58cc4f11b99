#pragma once
// beta-CROWN (Wang et al., NeurIPS 2021): the lower bound of c^T f(x) over a
// sub-domain of a ReLU-split branch and bound,
//   D = {x in box : z_j(x) >= 0 for every active split, z_j(x) <= 0 for every
//        inactive split}   (z_j: the split neuron's pre-activation),
// by back-substitution of the Lagrangian
//   c^T f(x) + sum_j beta_j s_j z_j(x),  s_j = -1 (active), +1 (inactive),
// which is <= c^T f(x) on D for every beta >= 0, so every beta >= 0 (and every
// valid lower slope alpha) gives a sound bound. CROWN with splits
// (crownBoundsSplit) uses a split only by clipping its neuron's bounds; the
// multipliers also carry the constraint into the layers below the split, so
// that the back-substituted bound no longer counts inputs that violate it.
// alpha (lower slopes of unstable unsplit ReLU/LeakyReLU neurons) and beta are
// optimised jointly by projected Adam, the best iterate is kept.
//
// Warm start: a node's result carries its alpha/beta (`state`); passing the
// parent's state to a child starts the child's optimisation there (the child's
// new split starts at beta = 0, the slopes are clamped into the child's valid
// ranges), which is what makes a few iterations per node enough.
#include <Eigen/Dense>
#include <atomic>
#include <limits>
#include <vector>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bounds {

struct BetaCrownParams {
  int iters = 20;             // gradient steps (0: evaluate the start only)
  double lr_alpha = 0.1;      // Adam step on the slopes (0: slopes fixed at the start)
  double lr_beta = 0.05;      // Adam step on the multipliers
  double time_limit_s = 0.5;  // checked after every step
  // Stop as soon as the bound exceeds this (e.g. a branch and bound's pruning
  // threshold: the node is closed, more iterations cannot reopen it).
  double stop_above = std::numeric_limits<double>::infinity();
  // Starting slopes of unstable neurons not given by a warm start.
  ReluLowerSlope relu_lower = ReluLowerSlope::kAdaptive;
};

// The optimised variables, per layer of the network (index = layer; empty
// vectors for layers that are not activations).
struct BetaCrownState {
  // Lower slopes of every neuron of each activation layer (only the unstable
  // ReLU/LeakyReLU neurons' entries are read on a warm start).
  std::vector<Eigen::VectorXd> alpha;
  // Multiplier of each pre-activation of each activation layer (0 for unsplit
  // neurons; only the entries of the current splits are read on a warm start).
  std::vector<Eigen::VectorXd> beta;
};

// CrownLowerBoundDetail's fields for the best iterate (bound, symbolic, the
// minimising input corner x of the linear bound — not necessarily in D —, the
// coefficients of each activation layer's output for BaBSR branching), and:
struct BetaCrownResult : CrownLowerBoundDetail {
  // True when the bound exceeds the upper bound of c^T f(x) that t's output
  // bounds give: D is then empty (bound is set to +inf). Sound, not complete:
  // false does not mean D is nonempty.
  bool empty = false;
  BetaCrownState state;  // alpha/beta of the best iterate: the children's warm start
  int iters = 0;         // gradient steps taken
};

// A sound lower bound of min c^T f(x) over D. `t` must be a bound table sound
// for D (e.g. crownBoundsSplit(net, box, splits)): its pre-activation bounds
// define the relaxations (split neurons must already be clipped to their
// sign for the bound to be tight, not for it to be sound). The starting point
// is evaluated first and the best iterate kept, so without `warm` it is never
// looser than crownLowerBound(net, box, t, c) with CrownParams::relu_lower =
// p.relu_lower (beta = 0 there; with iters = 0 the two agree), and with `warm`
// never looser than the warm start's own bound on this node. Without splits
// it is alpha-CROWN (crownLowerBoundDetail with alpha_iters = iters, alpha_lr
// = lr_alpha). Joint optimisation is not monotone in the iterations: a cold
// start can end slightly below alpha-CROWN alone on the same table (seen on
// 1 of 19 mnist sets at 20 iterations, by 0.01). `warm` (optional) is a
// parent node's `state` (or any earlier state of this node).
// ReLU/LeakyReLU splits only; works on dense, sparse and convolution layers
// and max pooling. Throws Error on size mismatches or a split out of range.
BetaCrownResult betaCrownLowerBound(const nn::Network& net, const spec::Box& box,
                                    const BoundTable& t, const std::vector<ReluSplit>& splits,
                                    const Eigen::VectorXd& c, const BetaCrownParams& p = {},
                                    const BetaCrownState* warm = nullptr);

// One sub-domain of a batch: its table (sound for it), splits and optional
// warm start, as betaCrownLowerBound's arguments (pointers kept by the caller).
struct BetaCrownNode {
  const BoundTable* table = nullptr;
  const std::vector<ReluSplit>* splits = nullptr;
  const BetaCrownState* warm = nullptr;
};

// betaCrownLowerBound of the same objective c over many sub-domains at once:
// the nodes' coefficient vectors are stacked into a matrix (one row a node),
// so each layer's back-substitution and forward sweep is one matrix-matrix
// product instead of one matrix-vector product per node (the first layer of
// an MNIST network dominates a node's cost). Result b is that of
// betaCrownLowerBound(net, box, *nodes[b].table, *nodes[b].splits, c, p,
// nodes[b].warm) up to summation order (every step is the same per row; a
// row that stops - bound above p.stop_above or proven empty - leaves the
// batch). The time limit holds for the whole batch. Networks with MaxPool
// layers are bounded one node at a time. Throws Error as betaCrownLowerBound.
std::vector<BetaCrownResult> betaCrownLowerBoundBatch(const nn::Network& net,
                                                      const spec::Box& box,
                                                      const std::vector<BetaCrownNode>& nodes,
                                                      const Eigen::VectorXd& c,
                                                      const BetaCrownParams& p = {});

// Tightens t's pre-activation bounds of the last `layers` ReLU/LeakyReLU
// layers (each unstable neuron's lower and upper bound, by
// betaCrownLowerBound of +-z_j over the layers below it with the splits of
// those layers; no warm start), and those layers' output ranges, in place.
// Sound for D when t is; the later layers' bounds are left as they are (still
// sound), but betaCrownLowerBound on the result relaxes the tightened neurons
// more tightly. Returns false when some pair crosses beyond rounding (D is
// empty; t is then partly updated). Costs 2 x (unstable neurons) optimisations
// per layer: a root-of-subtree option, not a per-node default. time_limit_s
// bounds the whole call: once it has passed (or *cancel is set), the neurons
// left keep their bounds (the table stays sound) and the call returns.
bool betaCrownTightenTable(const nn::Network& net, const spec::Box& box, BoundTable& t,
                           const std::vector<ReluSplit>& splits, const BetaCrownParams& p = {},
                           int layers = 1,
                           double time_limit_s = std::numeric_limits<double>::infinity(),
                           const std::atomic<bool>* cancel = nullptr);

// alpha-CROWN on every layer of t over box (betaCrownTightenTable without
// splits, `iters` steps per neuron and bound, within time_limit_s): t is
// replaced by the tightened table when that call succeeds; on a layer it
// cannot handle (Error) or a crossing, t stays as it was. True when t was
// replaced. verify's root and the min-distortion bisection's radii use it.
bool alphaTightenTable(const nn::Network& net, const spec::Box& box, BoundTable& t, int iters,
                       double time_limit_s, const std::atomic<bool>* cancel = nullptr);

}  // namespace nnopt::bounds
