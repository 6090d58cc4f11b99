#pragma once
// Bounds on every layer output of a network over an input box. lo[i]/hi[i]
// bound the output of layer i; the pre-activation bounds of an activation
// layer i are those of layer i-1 (or the input box when i == 0).
#include <Eigen/Dense>
#include <string>
#include <utility>
#include <vector>

#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bounds {

struct BoundTable {
  Eigen::VectorXd in_lo, in_hi;
  std::vector<Eigen::VectorXd> lo, hi;
  std::string method;  // "interval", "crown", "lp", ...

  const Eigen::VectorXd& preLo(size_t layer) const { return layer == 0 ? in_lo : lo[layer - 1]; }
  const Eigen::VectorXd& preHi(size_t layer) const { return layer == 0 ? in_hi : hi[layer - 1]; }
};

// Counts of ReLU neurons by phase over the table (pre-activation sign).
struct ReluCounts {
  int64_t active = 0, inactive = 0, unstable = 0;
};
ReluCounts countRelus(const nn::Network& net, const BoundTable& t);

// Range of a max-pooling layer over input bounds [in_lo, in_hi] (exact for
// the box): lo_j = max of the window's lower bounds, hi_j = max of its upper
// bounds. lo/hi may alias in_lo/in_hi.
void maxPoolRange(const nn::MaxPool& mp, const Eigen::VectorXd& in_lo,
                  const Eigen::VectorXd& in_hi, Eigen::VectorXd& lo, Eigen::VectorXd& hi);

// Range [lo, hi] of max_k (c_k^T y - d_k) over the table's output bounds
// (-inf, -inf for an empty conjunction): the objective of min t s.t.
// c_k^T y - d_k <= t lies in it at every optimum.
std::pair<double, double> conjunctionRange(const nn::Network& net, const BoundTable& t,
                                           const std::vector<spec::OutputConstraint>& conj);

// Interval bound propagation (sound, loose).
BoundTable intervalBounds(const nn::Network& net, const spec::Box& box);

}  // namespace nnopt::bounds
