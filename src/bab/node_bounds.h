#pragma once
// The objective bounds of the ReLU branch and bound's nodes (bab/relu_bab.h),
// many nodes at a time: for each node and each function c_k^T f - d_k of the
// objective, plain CROWN on the node's table or beta-CROWN (split multipliers
// and slopes, warm-started from the parent's state; all nodes of a call in
// one bounds::betaCrownLowerBoundBatch per function), and where beta-CROWN
// bounded a node, plain CROWN's coefficients of its closest function for the
// branching scores, also batched: beta-CROWN's coefficients mislead BaBSR
// (MNIST-FC 256x4 prop_4_0.05, beta-CROWN nodes without LP, 60 s: 35101
// nodes, 25.6 % of the first disjunct closed with plain CROWN's against
// 34457 nodes, 0.02 % with beta's).
#include <Eigen/Dense>
#include <limits>
#include <vector>

#include "bounds/beta_crown.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::bab {

// One node as the bounding sees it (pointers kept by the caller).
struct NodeView {
  const bounds::BoundTable* table = nullptr;            // sound for the node
  const std::vector<bounds::ReluSplit>* splits = nullptr;
  const std::vector<bounds::BetaCrownState>* warm = nullptr;  // the parent's, per function
  int depth = 0;  // the root (depth 0) gets 3x the beta-CROWN steps
};

struct ObjectiveSettings {
  int beta_iters = 0;  // beta-CROWN steps per node; 0 = plain CROWN
  // Decision mode: beta-CROWN may stop once a function's bound exceeds
  // threshold (the node is closed).
  bool decide = false;
  double threshold = 0;
  bounds::CrownParams crown;  // plain CROWN's parameters
};

struct ObjectiveBound {
  bool empty = false;  // beta-CROWN proved that no input reaches the node
  double closest = -std::numeric_limits<double>::infinity();  // max over k of c_k^T f - d_k's bound
  size_t k_closest = 0;
  // Coefficients of each activation output in the closest function's bound
  // (plain CROWN's where beta-CROWN bounded the node): the branching scores.
  std::vector<Eigen::VectorXd> act_coef;
  std::vector<bounds::BetaCrownState> beta;  // per function: the children's warm start
  std::vector<Eigen::VectorXd> corners;      // each bound's minimising input corner, to replay
};

// The bounds of every node (ObjectiveBound per node, in order).
std::vector<ObjectiveBound> objectiveBounds(const nn::Network& net, const spec::Box& box,
                                            const std::vector<spec::OutputConstraint>& obj,
                                            const std::vector<Eigen::VectorXd>& coefs,
                                            const std::vector<NodeView>& nodes,
                                            const ObjectiveSettings& s);

}  // namespace nnopt::bab
