#include "verify/relu_prover.h"

#include "attack/pgd.h"
#include "core/error.h"

namespace nnopt::verify {

bab::BabResult decideDisjunct(const nn::Network& net, const spec::Box& box,
                              const bounds::BoundTable& bt,
                              const std::vector<spec::OutputConstraint>& conj,
                              const ReluProverParams& p) {
  require(net.isPiecewiseLinear(),
          "ReLU branch and bound needs a piecewise-linear network (ReLU/LeakyReLU)");
  require(!net.hasMaxPool(), "ReLU branch and bound does not support MaxPool layers");
  require(box.size() == net.inputSize(), "ReLU B&B: box has " + std::to_string(box.size()) +
                                             " dimensions, network input has " +
                                             std::to_string(net.inputSize()));
  bab::BabParams bp;
  bp.mode = bab::BabMode::kDecide;
  bp.threshold = p.prune_tol;
  bp.violation_level = 0.0;
  bp.time_limit = p.time_limit;
  bp.cancel = p.cancel;
  bp.threads = p.threads;
  bp.max_nodes = p.max_nodes;
  bp.order = bab::BabOrder::kDepthFirst;
  bp.root_table = &bt;
  bp.node_bounds = p.node_bounds;
  bp.root_lp_cap_s = p.root_lp_time_s;
  bp.branching = p.branching;
  bp.strong_branching = 0;
  bp.cut_rounds_root = 0;
  bp.log_interval_s = 1e300;
  if (p.pgd_steps > 0) {
    spec::OutputSpec one;
    one.disjuncts = {conj};
    bp.polish = [&net, &box, one, steps = p.pgd_steps](const Eigen::VectorXd& x) {
      attack::PgdParams pp;
      pp.restarts = 1;
      pp.steps = steps;
      pp.step_init = 0.05;
      pp.step_final = 0.001;
      pp.starts = {x};
      return attack::pgdMinimize(net, box, one, pp).x;
    };
  }
  return bab::reluBranchAndBound(net, box, conj, bp);
}

}  // namespace nnopt::verify
