#pragma once
// Internal to src/bounds/: the relaxation vectors CROWN back-substitutes
// through and the lower-bound optimiser shared by alpha-CROWN (crown.cpp) and
// beta-CROWN (beta_crown.cpp). Not part of the library's API.
#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bounds::detail {

// Relaxation vectors of one activation layer, or the relaxation of a max
// pool: x[pool_lo[j]] <= y_j (the input with the largest lower bound) and
// y_j <= x[pool_up[j]] when that input's lower bound is at least every other
// input's upper bound (y_j is then exactly that input), else y_j <= pool_ub[j]
// (the largest upper bound; pool_up[j] = -1).
struct LayerRelax {
  Eigen::VectorXd lw, lb, uw, ub, slope_lo, slope_hi;
  bool optimisable = false;  // some neuron has slope_lo < slope_hi
  std::vector<int64_t> pool_lo, pool_up;
  Eigen::VectorXd pool_ub;
};

// The relaxation of every activation / max-pool layer from t's bounds.
std::vector<LayerRelax> relaxAll(const nn::Network& net, const BoundTable& t, ReluLowerSlope mode);

// The relaxation of one activation layer from its pre-activation bounds.
LayerRelax relaxLayer(const nn::Activation& a, const Eigen::VectorXd& l, const Eigen::VectorXd& u,
                      ReluLowerSlope mode);

// Range of f over [l, u] for each neuron. All supported activations are
// monotone on each side of 0, so the range is spanned by f(l), f(u) and f(0).
void activationRange(const nn::Activation& a, const Eigen::VectorXd& l,
                     const Eigen::VectorXd& u, Eigen::VectorXd& lo, Eigen::VectorXd& hi);

// Back-substitutes the upper (au z + cu) and lower (al z + cl) linear forms
// of the output z of layer `top` (top < 0: the input) to the input and
// concretises them over [mid - rad, mid + rad] into hi / lo.
void backSubstitute(const nn::Network& net, const std::vector<LayerRelax>& relax, int top,
                    Eigen::MatrixXd au, Eigen::VectorXd cu, Eigen::MatrixXd al,
                    Eigen::VectorXd cl, const Eigen::VectorXd& mid, const Eigen::VectorXd& rad,
                    Eigen::VectorXd& lo, Eigen::VectorXd& hi);

// Splits grouped by activation layer: (neuron, active) pairs. Throws Error on
// a split out of range or on a layer that is not ReLU/LeakyReLU.
using SplitsByLayer = std::vector<std::vector<std::pair<int64_t, bool>>>;
SplitsByLayer groupSplits(const nn::Network& net, const std::vector<ReluSplit>& splits);

void checkBox(const nn::Network& net, const spec::Box& box, const char* what);

// The domain a lower bound of c^T f(x) is taken over: the box intersected
// with t's input bounds (tighter after a split on an activation applied to the
// input, and sound for the same domain) as [mid - rad, mid + rad], and the
// bounds of c^T y from t's output bounds alone.
struct ObjectiveDomain {
  Eigen::VectorXd lo, hi, mid, rad;
  double from_table = 0;   // lower bound of c^T y from t's output bounds
  double upper_table = 0;  // upper bound of c^T y from t's output bounds
};
// Throws Error (prefixed by `what`) on size mismatches of box, t and c.
ObjectiveDomain objectiveDomain(const nn::Network& net, const spec::Box& box, const BoundTable& t,
                                const Eigen::VectorXd& c, const char* what);

// Settings of optimiseLowerBound.
struct OptimiseSettings {
  int iters = 0;              // gradient steps after the starting point
  double lr_alpha = 0.1;      // Adam step on the lower slopes (0 = slopes fixed)
  double lr_beta = 0.05;      // Adam step on the split multipliers
  double time_limit_s = 0.5;  // checked after every step
  double stop_above = std::numeric_limits<double>::infinity();  // stop once the bound exceeds it
};

// Split terms of beta-CROWN: for each activation layer i, sign[i] has one
// entry per pre-activation, s = -1 for an active split (z >= 0), +1 for an
// inactive one (z <= 0), 0 for unsplit neurons (empty = no split in the
// layer). beta[i] (same sizes, >= 0) are the multipliers: the bound is that of
// c^T f(x) + sum_j beta_j s_j z_j, which is <= c^T f(x) on the sub-domain.
struct SplitTerms {
  std::vector<Eigen::VectorXd> sign, beta;
};

// What the best iterate's back-substitution leaves behind.
struct BestIterate {
  std::vector<Eigen::VectorXd> rec;    // coefficients at each activation / max-pool output
  Eigen::VectorXd a_in;                // coefficients of the input
  std::vector<Eigen::VectorXd> slopes; // lower slopes (relax[i].lw) of each activation layer
  std::vector<Eigen::VectorXd> beta;   // split multipliers (empty without splits)
  int iters_run = 0;
};

// The lower bound of c^T (network output) over [mid - rad, mid + rad] for
// the relaxation `relax`, maximised by projected Adam over the lower slopes
// of unstable ReLU/LeakyReLU neurons (within [slope_lo, slope_hi]) and, when
// `split` is given, over the multipliers beta >= 0 (its beta is the start).
// Every iterate is a sound bound; the best one is returned (the start is
// evaluated first, so it is never worse than the starting point).
double optimiseLowerBound(const nn::Network& net, std::vector<LayerRelax> relax,
                          const Eigen::VectorXd& c, const Eigen::VectorXd& mid,
                          const Eigen::VectorXd& rad, const OptimiseSettings& s,
                          const SplitTerms* split = nullptr, BestIterate* best = nullptr);

// d from the best iterate of optimiseLowerBound (value `symbolic`): bound =
// max(symbolic, from_table), the minimising input corner, the coefficients of
// the activation outputs (empty for other layers).
void fillDetail(const nn::Network& net, const ObjectiveDomain& dom, double symbolic,
                const BestIterate& best, CrownLowerBoundDetail& d);

}  // namespace nnopt::bounds::detail
