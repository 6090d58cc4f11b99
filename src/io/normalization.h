#pragma once
// Input normalisation (x - mean) / std applied outside the graph, as --mean/--std
// (and the Python API's mean=/std=) give it: one value for every input, or one
// value per channel of a C x H x W (NCHW without the batch) input, e.g. CIFAR-10's
// --mean 0.4914,0.4822,0.4465 --std 0.2470,0.2435,0.2616. The perturbation and the
// [0, 1] box stay in pixel space; the network gets the normalised input.
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "nn/network.h"

namespace nnopt::io {

// `values` (1 value, or C for an input of shape C x H x W) expanded to one value
// per input, channel-major as the network reads them. Throws Error("--mean has 2
// values but ... input is 3x32x32 ...") naming `what`, the count and the shape.
Eigen::VectorXd expandPerChannel(const std::vector<double>& values, const nn::Shape& shape,
                                 const std::string& what);

// The checks that need no network: --mean and --std given together, each value
// finite, every std > 0. Empty vectors mean "no normalisation".
void checkNormalization(const std::vector<double>& mean, const std::vector<double>& stdv);

// net computing net((x - mean) / std) after the checks above and expandPerChannel;
// net itself when both vectors are empty.
nn::Network withNormalization(const nn::Network& net, const std::vector<double>& mean,
                              const std::vector<double>& stdv);

}  // namespace nnopt::io
