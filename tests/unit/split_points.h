#pragma once
// Sampled points of a ReLU-split sub-domain (tests of the split bounds).
#include <Eigen/Dense>
#include <vector>

#include "bounds/crown.h"

namespace nnopt::test {

// Does x satisfy every split? outs: Network::forwardAll(x) (the output of
// each layer), from which the split neurons' pre-activation signs are read.
inline bool satisfiesSplits(const std::vector<Eigen::VectorXd>& outs, const Eigen::VectorXd& x,
                            const std::vector<bounds::ReluSplit>& splits) {
  for (const auto& s : splits) {
    const double z = s.layer == 0 ? x[s.neuron] : outs[s.layer - 1][s.neuron];
    if (s.active ? z < 0 : z > 0) return false;
  }
  return true;
}

}  // namespace nnopt::test
