#pragma once
// The ReLU-split branch and bound (bab/relu_bab.h, the one engine) as the
// exact method of `verify` for one unsafe disjunct: is there an x in the box
// with c_k^T f(x) <= d_k for every constraint k? Decision mode on
// v(x) = max_k (c_k^T f(x) - d_k): the disjunct is refuted when the search
// proves min v > prune_tol, and a point replaying to v(x) <= 0 is a candidate
// counterexample. The caller's bound table (LP-tightened in verify) is the
// root table; every worker dives (depth-first) with its own warm-started LP,
// node LP points are polished by a few PGD steps.
#include <atomic>
#include <exception>
#include <limits>
#include <vector>

#include "bab/relu_bab.h"
#include "bounds/bound_table.h"
#include "core/log.h"
#include "nn/network.h"
#include "spec/property.h"
#include "verify/disjunct_model.h"

namespace nnopt::verify {

struct ReluProverParams {
  double time_limit = std::numeric_limits<double>::infinity();
  const std::atomic<bool>* cancel = nullptr;  // optional: once true, stop as on the time limit
  int threads = 1;
  double prune_tol = 1e-6;  // refuted when the proven bound of v exceeds this
  long max_nodes = 10'000'000;
  int pgd_steps = 10;  // PGD steps from each node's LP point (0 = replay only)
  bab::BabBranching branching = bab::BabBranching::kBabsr;
  bab::NodeBounds node_bounds = bab::NodeBounds::kAuto;
  double root_lp_time_s = 5.0;  // kAuto: the root LP's time limit before the LP is dropped
  int beta_iters = 0;  // beta-CROWN node bounds (bab::BabParams::beta_iters), 0 = CROWN
  // beta-CROWN steps at nodes without an LP (bab::BabParams::beta_iters_no_lp):
  // on by default, where the LP is dropped (large CNNs) it is the only bound.
  int beta_iters_no_lp = 5;
  // Intermediate bounds of a child node (bab::BabParams::node_crown /
  // crown_tables_no_lp): CROWN with its splits at LP-bounded nodes, resp. at
  // nodes without an LP; otherwise the parent's table with the splits clipped.
  bool node_crown = false;
  bool crown_tables_no_lp = true;
  int fresh_candidates = 0;  // bab::BabParams::fresh_candidates
  int batch = 0;  // bab::BabParams::batch (beta-CROWN nodes); 0 = the preset's
};

// bt: sound bounds for net over box. The result's status: kHolds (refuted),
// kViolated (x replays to v(x) <= 0), kTimeout, kNodeLimit / kIncomplete.
// Throws Error when the network is not piecewise linear, has MaxPool layers,
// or sizes mismatch.
bab::BabResult decideDisjunct(const nn::Network& net, const spec::Box& box,
                              const bounds::BoundTable& bt,
                              const std::vector<spec::OutputConstraint>& conj,
                              const ReluProverParams& p);

// True when the search decided the disjunct (refuted, or a point found).
bool decidedBy(const bab::BabResult& r);

// The portfolio on one disjunct: decideDisjunct and the CBC MIP
// (solveDisjunctMip) race on two threads; each watches a shared flag, set
// when the other decided (refuted or a candidate), when *outer is set or the
// deadline passes. Both outcomes are returned (sound either way: a
// refutation from a finished search, a candidate only to be replayed), with
// the exception each side threw, if any. rp.cancel / mp.cancel are replaced.
struct DisjunctRace {
  bab::BabResult bab;
  MipResult mip;
  std::exception_ptr err_bab, err_mip;
};
DisjunctRace raceDisjunct(const nn::Network& net, const spec::Box& box,
                          const bounds::BoundTable& bt,
                          const std::vector<spec::OutputConstraint>& conj, ReluProverParams rp,
                          MipParams mp, const std::atomic<bool>* outer, const Deadline& deadline);

// The ReLU B&B with node LPs (rp) racing, on one disjunct, the same search
// with beta-CROWN nodes without LPs on the parents' tables (LPs only at
// leaves; keep_tables: rp's node_crown / crown_tables_no_lp as given): rp's
// threads are shared (the LP side gets the odd one), both stop as
// raceDisjunct's sides. With one thread the two take turns instead: the
// beta-CROWN search for 3 % of the time left (at least 1 s), then, if it did
// not decide, the node-LP search for the rest. verify's default on
// fully-connected networks (each side wins by 2-17x on some MNIST MLP
// properties). `result` is
// the deciding side's (both sound), else the LP side's; an exception is
// rethrown only when both sides threw.
struct LpBetaRace {
  bab::BabResult result;
  long other_nodes = 0;  // nodes of the side not reported
  bool lp_decided = false, beta_decided = false;  // the side whose result is reported decided
};
LpBetaRace raceLpAndBeta(const nn::Network& net, const spec::Box& box, const bounds::BoundTable& bt,
                         const std::vector<spec::OutputConstraint>& conj, const ReluProverParams& rp,
                         bool keep_tables, const std::atomic<bool>* outer, const Deadline& deadline);

}  // namespace nnopt::verify
