#pragma once
// Symbolic bound propagation with back-substitution to the input
// (CROWN / DeepPoly). Every activation is relaxed by two linear functions of
// its input, built from the already-known pre-activation bounds:
//   lw*t + lb <= f(t) <= uw*t + ub   for t in [l, u].
// The bounds of a Dense layer that feeds an activation (and of the final
// layer) are obtained by back-substituting its linear form through all
// earlier layers down to the input, concretising over the input box, and
// intersecting with interval bounds. Activation outputs are f applied to the
// (tightened) pre-activation bounds.
//
// Floating point: no directed rounding is used (as in intervalBounds); the
// results are sound up to ordinary double rounding error (~1e-12 relative).
#include <Eigen/Dense>
#include <limits>
#include <optional>
#include <vector>

#include "bounds/bound_table.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bounds {

// Lower slope of an unstable ReLU / LeakyReLU (l < 0 < u). The upper bound is
// always the chord. LeakyReLU(alpha) maps slope 0 to alpha.
enum class ReluLowerSlope {
  kAdaptive,  // DeepPoly: 1 if u > -l else 0 (minimises the relaxation area)
  kCrown,     // CROWN fixed choice: u / (u - l), parallel to the chord
  kZero,      // always 0 (alpha for LeakyReLU)
  kOne,       // always 1
};

struct CrownParams {
  ReluLowerSlope relu_lower = ReluLowerSlope::kAdaptive;
  // alpha-CROWN: projected-gradient (Adam) optimisation of the lower slopes
  // of unstable ReLU/LeakyReLU neurons for each final objective (the final
  // output bounds in crownBounds, the objective in crownLowerBound), with the
  // intermediate bounds fixed. 0 = off. Every iterate is a valid relaxation,
  // the best bound seen is returned, so the result is never looser than the
  // unoptimised one.
  int alpha_iters = 0;
  double alpha_lr = 0.1;
  double alpha_time_limit_s = 0.5;  // per objective
  // Optional L1 budget on the input (crownBounds only): the domain is then
  // {x in box : sum_i |x_i - l1_center_i| <= l1_radius}, and every linear form
  // is also concretised exactly over it (a fractional knapsack: move the
  // coordinates with the largest |coefficient| first, each within the box).
  // Empty l1_center = off. Used by the minimal-L1 attack, whose NLP point
  // gives the radius no better point can exceed.
  Eigen::VectorXd l1_center;
  double l1_radius = std::numeric_limits<double>::infinity();
};

// min of a^T x over {lo <= x <= hi, ||x - c||_1 <= r}, c clamped into the box
// (exact; r = inf gives the box minimum). Throws Error on size mismatch.
double minOverBoxL1(const Eigen::VectorXd& a, const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                    const Eigen::VectorXd& c, double r);

// Bounds on every layer output over the box (method = "crown"). Throws Error
// when the box does not match the network input size.
BoundTable crownBounds(const nn::Network& net, const spec::Box& box, const CrownParams& p = {});

// A sound lower bound of c^T f(x) over the box, back-substituting c through the
// whole network with the relaxations defined by the pre-activation bounds of
// t (any sound table for this net and box, e.g. from crownBounds). Never worse
// than the bound from t's output bounds alone. Throws Error on size mismatch.
double crownLowerBound(const nn::Network& net, const spec::Box& box, const BoundTable& t,
                       const Eigen::VectorXd& c, const CrownParams& p = {});

// --- Sub-domains defined by ReLU splits (branch and bound over activations).

// Restricts the pre-activation of neuron `neuron` of activation layer `layer`
// (the output of layer - 1, or the input when layer == 0) to >= 0 (active) or
// <= 0 (inactive).
struct ReluSplit {
  size_t layer = 0;
  int64_t neuron = 0;
  bool active = true;
};

// crownBounds over the sub-domain {x in box : every split holds}. Each split
// clips its pre-activation bounds (active: lo = max(lo, 0); inactive:
// hi = min(hi, 0)) as soon as they are computed, so the layers after it are
// back-substituted with the split (exact) relaxation. When `base` is given
// (a table sound for the sub-domain, e.g. the root bounds or the parent node's
// bounds) every layer is intersected with it as it is computed. Returns
// nullopt when the sub-domain is empty (some bound pair crosses by more than
// rounding error) instead of swapping the pair. Throws Error on size
// mismatches or a split out of range (not a ReLU/LeakyReLU neuron).
std::optional<BoundTable> crownBoundsSplit(const nn::Network& net, const spec::Box& box,
                                           const std::vector<ReluSplit>& splits,
                                           const BoundTable* base = nullptr,
                                           const CrownParams& p = {});

// CROWN bounds of a few pre-activations: neurons `neurons` of activation
// layer `layer` (fed by a Dense layer), back-substituted with the relaxations
// that t's bounds define for the layers below and concretised over box
// intersected with t's input bounds. With a branch-and-bound node's splits
// clipped into t (bab::withSplits) these are bounds for that node: one form
// per neuron, where crownBoundsSplit bounds every neuron of every layer.
// lo / hi get one entry per listed neuron (not intersected with t). Throws
// Error on size mismatches, a neuron out of range or a layer not so fed.
void crownNeuronBounds(const nn::Network& net, const spec::Box& box, const BoundTable& t,
                       size_t layer, const std::vector<int64_t>& neurons, Eigen::VectorXd& lo,
                       Eigen::VectorXd& hi, ReluLowerSlope mode = ReluLowerSlope::kAdaptive);

// crownLowerBound with the by-products of its back-substitution (of the best
// alpha iterate): the input point minimising the final linear lower bound
// (x = mid - sign(a_in) * rad, a corner of the box where a_in != 0), and for
// every activation layer i the coefficient vector of its output in that bound
// (empty for other layers). `symbolic` is the back-substituted bound alone;
// `bound` = max(symbolic, bound from t's output bounds), as crownLowerBound.
struct CrownLowerBoundDetail {
  double bound = -std::numeric_limits<double>::infinity();
  double symbolic = -std::numeric_limits<double>::infinity();
  Eigen::VectorXd x;
  std::vector<Eigen::VectorXd> act_coef;
};
CrownLowerBoundDetail crownLowerBoundDetail(const nn::Network& net, const spec::Box& box,
                                            const BoundTable& t, const Eigen::VectorXd& c,
                                            const CrownParams& p = {});

// The linear relaxation of one activation neuron with pre-activation bounds
// [l, u] (exposed for testing).
struct LinearRelaxation {
  double lw = 0, lb = 0, uw = 0, ub = 0;
  // Range of valid lower slopes (through the origin, lb = 0) for the
  // alpha optimisation; lo == hi when the slope is not optimisable.
  double slope_lo = 0, slope_hi = 0;
};
LinearRelaxation relaxActivation(const nn::Activation& a, double l, double u,
                                 ReluLowerSlope mode = ReluLowerSlope::kAdaptive);

}  // namespace nnopt::bounds
