#include "nn/gradient.h"

#include <string>

#include "core/error.h"

namespace nnopt::nn {

Eigen::VectorXd outputGradient(const nn::Network& net, const Eigen::VectorXd& x,
                               const std::vector<Eigen::VectorXd>& acts, const Eigen::VectorXd& c) {
  require(c.size() == net.outputSize(), "gradient: objective has " + std::to_string(c.size()) +
                                            " coefficients, network output has " +
                                            std::to_string(net.outputSize()));
  require(acts.size() == net.numLayers(), "gradient: layer outputs do not match the network");
  Eigen::VectorXd g = c;
  for (int i = static_cast<int>(net.numLayers()) - 1; i >= 0; --i) {
    const auto& layer = net.layers()[i];
    if (layer.isDense()) {
      g = layer.dense().W.applyT(g);
    } else if (layer.isMaxPool()) {  // (sub)gradient: to the window's argmax
      const auto& mp = layer.maxPool();
      const Eigen::VectorXd& pre = i == 0 ? x : acts[i - 1];
      Eigen::VectorXd gin = Eigen::VectorXd::Zero(pre.size());
      for (size_t j = 0; j < mp.windows.size(); ++j) gin[mp.argmax(pre, j)] += g[j];
      g = std::move(gin);
    } else {
      const auto& a = layer.activation();
      const Eigen::VectorXd& pre = i == 0 ? x : acts[i - 1];
      for (Eigen::Index j = 0; j < g.size(); ++j) g[j] *= a.derivative(pre[j]);
    }
  }
  return g;
}

Eigen::VectorXd outputGradient(const nn::Network& net, const Eigen::VectorXd& x,
                               const Eigen::VectorXd& c, Eigen::VectorXd* y) {
  auto acts = net.forwardAll(x);
  if (y) *y = acts.empty() ? x : acts.back();
  return outputGradient(net, x, acts, c);
}

}  // namespace nnopt::nn
