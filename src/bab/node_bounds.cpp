#include "bab/node_bounds.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace nnopt::bab {

namespace {

using Eigen::VectorXd;

// Folds function k's bound d of a node into o.
void addObjective(ObjectiveBound& o, size_t k, const spec::OutputConstraint& f,
                  bounds::CrownLowerBoundDetail&& d) {
  const double v = d.bound - f.rhs;
  o.corners.push_back(std::move(d.x));
  if (k == 0 || v > o.closest) {  // the first always: a bound may be -inf
    o.closest = v;
    o.k_closest = k;
    o.act_coef = std::move(d.act_coef);
  }
}

// Plain CROWN of each beta-CROWN node's closest function, one batch per
// function: beta-CROWN without steps, splits or warm start is CROWN on the
// node's table. The bound may only raise `closest`.
void branchingCoefficients(const nn::Network& net, const spec::Box& box,
                           const std::vector<spec::OutputConstraint>& obj,
                           const std::vector<VectorXd>& coefs, const std::vector<NodeView>& nodes,
                           const ObjectiveSettings& s, std::vector<ObjectiveBound>& out) {
  const std::vector<bounds::ReluSplit> none;
  bounds::BetaCrownParams bp;
  bp.iters = 0;
  bp.relu_lower = s.crown.relu_lower;
  for (size_t k = 0; k < obj.size(); ++k) {
    std::vector<bounds::BetaCrownNode> batch;
    std::vector<size_t> row;
    for (size_t b = 0; b < nodes.size(); ++b) {
      if (out[b].empty || out[b].k_closest != k) continue;
      batch.push_back({nodes[b].table, &none, nullptr});
      row.push_back(b);
    }
    if (batch.empty()) continue;
    std::vector<bounds::CrownLowerBoundDetail> res;
    if (s.crown.alpha_iters > 0) {  // alpha-CROWN: one node at a time
      for (const auto& n : batch)
        res.push_back(bounds::crownLowerBoundDetail(net, box, *n.table, coefs[k], s.crown));
    } else {
      for (auto& r : bounds::betaCrownLowerBoundBatch(net, box, batch, coefs[k], bp))
        res.push_back(std::move(r));
    }
    for (size_t r = 0; r < res.size(); ++r) {
      ObjectiveBound& o = out[row[r]];
      o.closest = std::max(o.closest, res[r].bound - obj[k].rhs);
      o.act_coef = std::move(res[r].act_coef);
    }
  }
}

}  // namespace

std::vector<ObjectiveBound> objectiveBounds(const nn::Network& net, const spec::Box& box,
                                            const std::vector<spec::OutputConstraint>& obj,
                                            const std::vector<VectorXd>& coefs,
                                            const std::vector<NodeView>& nodes,
                                            const ObjectiveSettings& s) {
  std::vector<ObjectiveBound> out(nodes.size());
  for (size_t k = 0; k < obj.size(); ++k) {
    if (s.beta_iters <= 0) {
      for (size_t b = 0; b < nodes.size(); ++b)
        addObjective(out[b], k, obj[k],
                     bounds::crownLowerBoundDetail(net, box, *nodes[b].table, coefs[k], s.crown));
      continue;
    }
    bounds::BetaCrownParams bp;
    const double node_time = bp.time_limit_s;  // per node, as one at a time
    if (s.decide) bp.stop_above = s.threshold + obj[k].rhs;
    // The root gets 3x the steps: a batch holds nodes of one step count.
    for (const bool root : {true, false}) {
      bp.iters = root ? 3 * s.beta_iters : s.beta_iters;
      std::vector<bounds::BetaCrownNode> batch;
      std::vector<size_t> row;
      for (size_t b = 0; b < nodes.size(); ++b) {
        const NodeView& n = nodes[b];
        if (out[b].empty || (n.depth == 0) != root) continue;
        batch.push_back({n.table, n.splits, n.warm ? &(*n.warm)[k] : nullptr});
        row.push_back(b);
      }
      if (batch.empty()) continue;
      bp.time_limit_s = node_time * static_cast<double>(batch.size());
      auto res = bounds::betaCrownLowerBoundBatch(net, box, batch, coefs[k], bp);
      for (size_t r = 0; r < res.size(); ++r) {
        ObjectiveBound& o = out[row[r]];
        if (res[r].empty) {
          o.empty = true;
          continue;
        }
        o.beta.push_back(std::move(res[r].state));
        addObjective(o, k, obj[k], std::move(res[r]));
      }
    }
  }
  if (s.beta_iters > 0) branchingCoefficients(net, box, obj, coefs, nodes, s, out);
  return out;
}

}  // namespace nnopt::bab
