#pragma once
// Random dense networks and points the unit tests share.
#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "nn/network.h"

namespace nnopt::test {

// One dense layer y = W x + b / one activation layer of width n.
inline nn::Layer denseLayer(const Eigen::MatrixXd& W, const Eigen::VectorXd& b) {
  nn::Dense d;
  d.W = W;
  d.b = b;
  return nn::Layer{"fc", d, {W.rows()}};
}

inline nn::Layer actLayer(nn::ActKind k, int64_t n) {
  nn::Activation a;
  a.kind = k;
  return nn::Layer{"act", a, {n}};
}

// y0 = relu(x0 + x1), y1 = relu(x0 - x1): 2 inputs, 2 outputs.
inline nn::Network sumDiffNet() {
  Eigen::MatrixXd W(2, 2);
  W << 1, 1, 1, -1;
  return nn::Network({2}, {denseLayer(W, Eigen::VectorXd::Zero(2)),
                           actLayer(nn::ActKind::kRelu, 2)});
}

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

// in -> widths[0] -> act -> ... -> widths.back() (no activation on the
// output) drawing from rng: weights N(0, 1/fan_in), biases N(0, 0.09), row
// by row (each row's weights, then its bias).
inline nn::Network randomNet(std::mt19937& rng, int in, const std::vector<int>& widths,
                             nn::ActKind kind = nn::ActKind::kRelu, double alpha = 0.0) {
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<nn::Layer> layers;
  int prev = in;
  for (size_t k = 0; k < widths.size(); ++k) {
    nn::Dense d;
    d.W = Eigen::MatrixXd(widths[k], prev);
    d.b.resize(widths[k]);
    for (int r = 0; r < widths[k]; ++r) {
      for (int c = 0; c < prev; ++c) d.W(r, c) = nd(rng) / std::sqrt(double(prev));
      d.b[r] = 0.3 * nd(rng);
    }
    layers.push_back(nn::Layer{"fc", d, {widths[k]}});
    if (k + 1 < widths.size()) {
      nn::Activation a;
      a.kind = kind;
      a.alpha = alpha;
      layers.push_back(nn::Layer{"act", a, {widths[k]}});
    }
    prev = widths[k];
  }
  return nn::Network({in}, layers);
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
