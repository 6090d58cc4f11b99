#pragma once
// Random dense networks and points the unit tests share.
#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "nn/network.h"

namespace nnopt::test {

// Dense layers of the given widths with activation `act` between them;
// weights N(0, 1/fan_in), biases N(0, 0.01), reproducible from seed.
inline nn::Network randomNet(const std::vector<int>& widths, unsigned seed,
                             nn::ActKind act = nn::ActKind::kRelu) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::vector<nn::Layer> layers;
  for (size_t i = 1; i < widths.size(); ++i) {
    nn::Dense d;
    d.W = Eigen::MatrixXd(widths[i], widths[i - 1]);
    d.b.resize(widths[i]);
    const double s = 1.0 / std::sqrt(double(widths[i - 1]));
    for (int r = 0; r < d.W.rows(); ++r) {
      d.b[r] = 0.1 * g(rng);
      for (int c = 0; c < d.W.cols(); ++c) d.W(r, c) = s * g(rng);
    }
    layers.push_back({"fc" + std::to_string(i), d, {widths[i]}});
    if (i + 1 < widths.size())
      layers.push_back({"act" + std::to_string(i), nn::Activation{act}, {widths[i]}});
  }
  return nn::Network({widths[0]}, layers);
}

// A point with coordinates uniform in [0, 1].
inline Eigen::VectorXd randomPoint(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Eigen::VectorXd x(n);
  for (int i = 0; i < n; ++i) x[i] = u(rng);
  return x;
}

}  // namespace nnopt::test
