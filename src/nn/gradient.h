#pragma once
// Gradients of linear functions of a network's output (vector-Jacobian
// products), for first-order attacks and split heuristics.
#include <Eigen/Dense>
#include <vector>

#include "nn/network.h"

namespace nnopt::nn {

// Gradient of c^T f(x) with respect to x (a vector-Jacobian product through
// the Dense/Activation chain, using Activation::derivative at the
// pre-activation values; at a ReLU kink the derivative of the active side
// t > 0 is used). Fills y = f(x) when y != nullptr. Throws Error on size
// mismatch.
Eigen::VectorXd outputGradient(const nn::Network& net, const Eigen::VectorXd& x,
                               const Eigen::VectorXd& c, Eigen::VectorXd* y = nullptr);

// Same, from the layer outputs of Network::forwardAll(x).
Eigen::VectorXd outputGradient(const nn::Network& net, const Eigen::VectorXd& x,
                               const std::vector<Eigen::VectorXd>& acts, const Eigen::VectorXd& c);

}  // namespace nnopt::nn
