#include "verify/relu_prover.h"

#include <chrono>
#include <thread>

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
  bab::BabParams bp = bab::decisionParams(bt, p.prune_tol);
  bp.time_limit = p.time_limit;
  bp.cancel = p.cancel;
  bp.threads = p.threads;
  bp.max_nodes = p.max_nodes;
  bp.node_bounds = p.node_bounds;
  bp.beta_iters = p.beta_iters;
  bp.beta_iters_no_lp = p.beta_iters_no_lp;
  bp.node_crown = p.node_crown;
  bp.crown_tables_no_lp = p.crown_tables_no_lp;
  bp.root_lp_cap_s = p.root_lp_time_s;
  bp.branching = p.branching;
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

bool decidedBy(const bab::BabResult& r) {
  return r.status == bab::BabStatus::kHolds || r.status == bab::BabStatus::kViolated;
}

DisjunctRace raceDisjunct(const nn::Network& net, const spec::Box& box,
                          const bounds::BoundTable& bt,
                          const std::vector<spec::OutputConstraint>& conj, ReluProverParams rp,
                          MipParams mp, const std::atomic<bool>* outer, const Deadline& deadline) {
  std::atomic<bool> race{false};
  std::atomic<bool> done_bab{false}, done_mip{false};
  rp.cancel = &race;
  mp.cancel = &race;
  DisjunctRace out;
  std::thread tb([&] {
    try {
      out.bab = decideDisjunct(net, box, bt, conj, rp);
      if (decidedBy(out.bab)) race = true;
    } catch (...) {
      out.err_bab = std::current_exception();
    }
    done_bab = true;
  });
  std::thread tm([&] {
    try {
      out.mip = solveDisjunctMip(net, box, bt, conj, mp);
      if (out.mip.outcome == MipOutcome::kRefuted || out.mip.outcome == MipOutcome::kCandidate)
        race = true;
    } catch (...) {
      out.err_mip = std::current_exception();
    }
    done_mip = true;
  });
  while (!(done_bab && done_mip)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if ((outer != nullptr && outer->load()) || deadline.expired()) race = true;
  }
  tb.join();
  tm.join();
  return out;
}

}  // namespace nnopt::verify
