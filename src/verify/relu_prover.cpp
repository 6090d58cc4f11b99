#include "verify/relu_prover.h"

#include <algorithm>
#include <chrono>
#include <functional>
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
  bp.fresh_candidates = p.fresh_candidates;
  if (p.batch > 0) bp.batch = p.batch;
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

namespace {

// Runs a and b on two threads, each with a cancel flag that is set once the
// other returned true (it decided), *outer is set or the deadline passed.
// Each side catches its own exceptions.
void raceTwo(const std::function<bool(const std::atomic<bool>*)>& a,
             const std::function<bool(const std::atomic<bool>*)>& b,
             const std::atomic<bool>* outer, const Deadline& deadline) {
  std::atomic<bool> race{false};
  std::atomic<bool> done_a{false}, done_b{false};
  std::thread ta([&] {
    if (a(&race)) race = true;
    done_a = true;
  });
  std::thread tb([&] {
    if (b(&race)) race = true;
    done_b = true;
  });
  while (!(done_a && done_b)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if ((outer != nullptr && outer->load()) || deadline.expired()) race = true;
  }
  ta.join();
  tb.join();
}

}  // namespace

DisjunctRace raceDisjunct(const nn::Network& net, const spec::Box& box,
                          const bounds::BoundTable& bt,
                          const std::vector<spec::OutputConstraint>& conj, ReluProverParams rp,
                          MipParams mp, const std::atomic<bool>* outer, const Deadline& deadline) {
  DisjunctRace out;
  raceTwo(
      [&](const std::atomic<bool>* cancel) {
        try {
          rp.cancel = cancel;
          out.bab = decideDisjunct(net, box, bt, conj, rp);
          return decidedBy(out.bab);
        } catch (...) {
          out.err_bab = std::current_exception();
        }
        return false;
      },
      [&](const std::atomic<bool>* cancel) {
        try {
          mp.cancel = cancel;
          out.mip = solveDisjunctMip(net, box, bt, conj, mp);
          return out.mip.outcome == MipOutcome::kRefuted ||
                 out.mip.outcome == MipOutcome::kCandidate;
        } catch (...) {
          out.err_mip = std::current_exception();
        }
        return false;
      },
      outer, deadline);
  return out;
}

namespace {
// One thread: the beta-CROWN search's share of the time left (at least
// kBetaSliceMinS) before the node-LP search takes over.
constexpr double kBetaSliceShare = 0.03;
constexpr double kBetaSliceMinS = 1.0;
}  // namespace

LpBetaRace raceLpAndBeta(const nn::Network& net, const spec::Box& box, const bounds::BoundTable& bt,
                         const std::vector<spec::OutputConstraint>& conj, const ReluProverParams& rp,
                         bool keep_tables, const std::atomic<bool>* outer, const Deadline& deadline) {
  ReluProverParams lp = rp, beta = rp;
  beta.node_bounds = bab::NodeBounds::kCrown;
  if (!keep_tables) beta.node_crown = beta.crown_tables_no_lp = false;
  beta.threads = std::max(1, rp.threads / 2);
  lp.threads = std::max(1, rp.threads - beta.threads);
  bab::BabResult r_lp, r_beta;
  std::exception_ptr err_lp, err_beta;
  auto side = [&](ReluProverParams& p, bab::BabResult& r, std::exception_ptr& err) {
    return [&](const std::atomic<bool>* cancel) {
      try {
        p.cancel = cancel;
        r = decideDisjunct(net, box, bt, conj, p);
        return decidedBy(r);
      } catch (...) {
        err = std::current_exception();
      }
      return false;
    };
  };
  if (rp.threads < 2) {
    // One thread: a short beta-CROWN search first, then the node LPs.
    beta.threads = lp.threads = 1;
    beta.time_limit = std::min({rp.time_limit, deadline.remaining(),
                                std::max(kBetaSliceMinS, kBetaSliceShare * deadline.remaining())});
    if (!side(beta, r_beta, err_beta)(outer)) {
      lp.time_limit = std::min(rp.time_limit, deadline.remaining());
      side(lp, r_lp, err_lp)(outer);
    }
  } else {
    raceTwo(side(lp, r_lp, err_lp), side(beta, r_beta, err_beta), outer, deadline);
  }
  if (err_lp && err_beta) std::rethrow_exception(err_lp);
  const bool lp_decided = !err_lp && decidedBy(r_lp);
  const bool beta_decided = !err_beta && decidedBy(r_beta);
  const bool take_beta = err_lp || (beta_decided && !lp_decided);
  LpBetaRace out;
  out.result = take_beta ? r_beta : r_lp;
  if (take_beta ? !err_lp : !err_beta) out.other_nodes = take_beta ? r_lp.nodes : r_beta.nodes;
  out.lp_decided = !take_beta && lp_decided;
  out.beta_decided = take_beta && beta_decided;
  return out;
}

}  // namespace nnopt::verify
