#pragma once
// Random boxes, sampled points, unstable neurons and random objectives for the
// branch-and-bound tests (test_bab.cpp, test_node_lp.cpp).
#include <Eigen/Dense>
#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::test {

// A box of the given width around a centre uniform in [-1, 1]^n.
inline spec::Box randomBox(std::mt19937& rng, int n, double width) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  spec::Box box{Eigen::VectorXd(n), Eigen::VectorXd(n)};
  for (int i = 0; i < n; ++i) {
    const double c = u(rng);
    box.lo[i] = c - 0.5 * width;
    box.hi[i] = c + 0.5 * width;
  }
  return box;
}

// A point of the box, each coordinate at a bound with probability 0.2.
inline Eigen::VectorXd samplePoint(std::mt19937& rng, const spec::Box& box) {
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::bernoulli_distribution corner(0.2);
  Eigen::VectorXd x(box.size());
  for (Eigen::Index i = 0; i < box.size(); ++i) {
    double t = u01(rng);
    if (corner(rng)) t = t < 0.5 ? 0.0 : 1.0;
    x[i] = box.lo[i] + t * (box.hi[i] - box.lo[i]);
  }
  return x;
}

// Unstable ReLU neurons of a table: (activation layer, neuron).
inline std::vector<bounds::ReluSplit> unstable(const nn::Network& net, const bounds::BoundTable& t) {
  std::vector<bounds::ReluSplit> out;
  for (size_t i = 0; i < net.numLayers(); ++i) {
    if (!net.layers()[i].isActivation()) continue;
    for (Eigen::Index j = 0; j < t.preLo(i).size(); ++j)
      if (t.preLo(i)[j] < 0 && t.preHi(i)[j] > 0) out.push_back({i, j, true});
  }
  return out;
}

// v(x) = max_k (c_k^T f(x) - d_k).
inline double objectiveAt(const nn::Network& net, const std::vector<spec::OutputConstraint>& obj,
                          const Eigen::VectorXd& x) {
  const Eigen::VectorXd y = net.forward(x);
  double v = -std::numeric_limits<double>::infinity();
  for (const auto& c : obj) v = std::max(v, c.eval(y));
  return v;
}

inline std::vector<spec::OutputConstraint> randomObjective(std::mt19937& rng, int n_out, int k) {
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<spec::OutputConstraint> obj(k);
  for (auto& c : obj) {
    for (int j = 0; j < n_out; ++j) c.coefs.push_back({j, g(rng)});
    c.rhs = 0.3 * g(rng);
  }
  return obj;
}

}  // namespace nnopt::test
