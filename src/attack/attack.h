#pragma once
// L-inf margin attack (the seed blog's problem): minimise
// logit[true] - logit[target] over inputs in a box, by exact MIP (CBC) or a
// complementarity NLP (Ipopt). Every reported attack is replayed through the
// forward pass in double before it is called an attack.
#include <Eigen/Dense>
#include <atomic>
#include <limits>
#include <string>
#include <vector>

#include "bounds/lp_tighten.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::attack {

enum class Method {
  kMip,  // big-M MIP by CBC
  kNlp,  // complementarity NLP by Ipopt (local)
  kBab,  // branch and bound over ReLU splits (bab/relu_bab.h): exact, like kMip
  // kMip and kBab at once on two threads, sharing replayed incumbents; stops
  // when the larger of their lower bounds meets the best replayed margin
  // (within 1e-4 absolute or relative) or when either finishes.
  kPortfolio,
};
const char* methodName(Method m);

// How the NLP writes each ReLU's complementarity y*s.
// The NLP forms are the MPEC reformulations of the GAMS NLPEC family.
enum class NlpForm {
  kScholtes,    // y*s <= tau, tau driven to 0 with warm starts (default)
  kProduct,     // y*s = 0
  kInequality,  // y*s <= 0
  kFischerBurmeister,  // sqrt(y^2 + s^2 + 2mu) - y - s = 0, mu driven to 0
  kChenMangasarian,    // y + s - sqrt((y - s)^2 + 4mu^2) = 0, mu driven to 0
  kPenalty,     // rho * sum y*s added to the objective, rho increasing
};
const char* nlpFormName(NlpForm f);
// Accepts scholtes, product, inequality (alias product-ineq), fb, cm, penalty;
// throws Error listing the choices.
NlpForm parseNlpForm(const std::string& s);

enum class Verdict {
  kAttackFound,    // replayed counterexample: logit[target] > logit[true] inside the box
  kRobust,         // exact method finished with a proven bound > 0
  kNoAttackFound,  // a heuristic/local method finished without an attack
  kTimeout,        // exact method stopped by the time limit without an attack
};
const char* verdictName(Verdict v);

// Which engine solves the local problem of Method::kNlp (and of every local
// solve inside multi-start, auto, the warm starts and verify's falsification).
enum class LocalSolver {
  kAuto,   // kPwl on piecewise-linear networks, kIpopt otherwise
  kPwl,    // the native active-set walk over linear regions (attack/local_pwl.h)
  kIpopt,  // the complementarity NLP in the form nlp_form (Ipopt)
};
const char* localSolverName(LocalSolver s);     // auto, pwl, ipopt
LocalSolver parseLocalSolver(const std::string& s);  // throws Error listing the choices
// kAuto resolved for net.
LocalSolver resolveLocal(LocalSolver s, const nn::Network& net);
// Default wall-clock limit of one local solve when the caller sets none: no
// local run is without an end.
inline constexpr double kDefaultLocalTimeLimit = 300.0;

struct MarginAttackParams {
  Method method = Method::kMip;
  LocalSolver local = LocalSolver::kAuto;
  NlpForm nlp_form = NlpForm::kScholtes;  // Ipopt local solver only
  // Bounds behind the native local solver's model (only units stable over the
  // whole box are removed by them; the walk's result does not depend on them).
  bounds::BoundsLevel local_bounds = bounds::BoundsLevel::kInterval;
  // Native local solver: projected-gradient steps from the start before the
  // region walk (0 = walk from the start itself).
  int local_pgd_steps = 30;
  // Native local solver: after the certified point, LPs of pieces one flip
  // away that do not touch it (LpccParams::explore). Sweep eps 0.1: 16 took
  // the walk to the proven optimum on 1x40, 2x40, 2x50, 1x60, 5x10 (where it
  // stopped 0.02-0.66 above) for 10-40 ms more.
  int local_explore = 16;
  double time_limit = std::numeric_limits<double>::infinity();  // seconds
  int threads = 1;
  bool solver_log = false;
  // Continuation for scholtes (tau), fb and cm (mu):
  // tau = tau_start, tau *= tau_factor while tau >= tau_end.
  double tau_start = 1.0;
  double tau_factor = 0.01;
  double tau_end = 1e-8;
  // Penalty form: rho = rho_start, rho *= rho_factor while rho <= rho_end.
  double rho_start = 1.0;
  double rho_factor = 10.0;
  double rho_end = 1e4;
  // NLP: first-layer partial sums over blocks of this many inputs
  // (formulate::EmbedOptions::input_chunk); 0 = one row per neuron.
  int input_chunk = 0;
  // Continuation steps after the first start Ipopt from the previous solve's
  // primal-dual point (SolveParams::warm_*); false = primal start only.
  // Sweep nets 2x40 / 5x30 (Scholtes): 151 -> 71 / 170 -> 84 iterations,
  // same margins (see docs/results/multistart-bench.md).
  bool warm_duals = true;
  // "mpec" labels the method as the MPEC route in reports (same engine).
  bool label_mpec = false;
  // A MIP proves robustness only when its bound exceeds this (solver tolerances).
  double robust_tol = 1e-6;
  // Bounds behind the big-M constants and the NLP's variable bounds: interval,
  // crown (symbolic back-substitution) or lp (crown, then LP tightening with
  // Clp within lp_time_limit seconds). Tighter bounds fix more ReLUs (fewer
  // binaries / complementarity pairs) and shrink big-M constants.
  bounds::BoundsLevel bounds = bounds::BoundsLevel::kCrown;
  double lp_time_limit = 30.0;
  // Initial input point for the NLP (empty: the clean image). kBab replays it
  // as a start point too.
  Eigen::VectorXd nlp_start;
  // kBab: decide whether the margin exceeds robust_tol (stop at the first
  // replayed attack) instead of proving the minimum margin.
  bool bab_decide = false;
  // kMip: run the NLP (nlp_form, one start, at most a tenth of the time
  // limit) first and give CBC its replayed point as the incumbent, so the
  // search prunes against a near-optimal margin from the first node.
  bool mip_warm_start = false;
  // kMip: CBC separates cuts of the ideal ReLU formulation
  // (formulate/ideal_cuts.h) at the root, those with at most 64 terms.
  bool mip_ideal_cuts = false;
  // bab (and the portfolio's BaB side): bound every node by its LP, the
  // former default. Off: on a fully-connected network nodes are bounded by
  // beta-CROWN (5 steps, warm-started) on the parents' tables, an LP only at
  // leaves (margin optimum at eps 0.1, mlp_2x40 / 3x30: 1.3 / 3.2 s against
  // 39 / 108 s); convolutional networks keep the node LPs.
  bool bab_node_lp = false;
  int bab_fresh = 0;  // bab / portfolio: bab::BabParams::fresh_candidates
  // bab / portfolio with beta-CROWN nodes: optimisation steps per node
  // (bab::BabParams::beta_iters_no_lp); -1 = bab::useBetaNodes' default.
  int bab_beta_steps = -1;
  int bab_batch = 0;  // bab / portfolio: bab::BabParams::batch (0 = bab::kDefaultBatch)
  // Stop as on the time limit once *cancel becomes true (Ctrl-C in Python):
  // CBC, the Ipopt continuation, the native local walk, the BaB and the
  // portfolio race look at it; the result is then a timeout or the best so far.
  const std::atomic<bool>* cancel = nullptr;
  // kMip: an input point (clamped into the box) to start CBC from when its
  // margin is below the clean image's. kPortfolio fills it from the NLP.
  Eigen::VectorXd mip_start;
};

struct MarginAttackResult {
  Verdict verdict = Verdict::kNoAttackFound;
  std::string method;              // "mip", "nlp:scholtes", ...
  std::string status;              // solver status text
  std::string solver_message;      // the solver's own words (MIP), may be empty
  int true_label = -1;
  int target_label = -1;
  // Best objective found, re-computed by the forward pass at `adversarial`
  // (NaN when the solver returned no point).
  double margin = std::numeric_limits<double>::quiet_NaN();
  double solver_objective = std::numeric_limits<double>::quiet_NaN();
  // Proven lower bound on the margin over the box (MIP only; -inf otherwise).
  double bound = -std::numeric_limits<double>::infinity();
  Eigen::VectorXd adversarial;     // input point (pixel space), empty if none
  Eigen::VectorXd logits_adv;
  int predicted_label_adv = -1;
  double linf_distance = std::numeric_limits<double>::quiet_NaN();
  double time_s = 0.0;
  double compl_violation = 0.0;    // NLP: max |y*s| at the solution
  long iterations = 0;             // NLP iterations, simplex pivots (pwl) or MIP nodes
  int solves = 0;                  // number of solver calls (continuation steps, LPs)
  // Native local solver (method "nlp:pwl"): accepted ReLU flips, tied pairs at
  // the returned point, how many of their neighbouring pieces were solved
  // without improvement, and whether that covers all ties (lpcc_local.h).
  int local_flips = 0;
  int local_ties = 0;
  int local_ties_checked = 0;
  bool local_certified = false;
  int local_explored = 0;       // exploration LPs (MarginAttackParams::local_explore)
  int local_explore_moves = 0;  // of those, jumps that improved
  // Model size.
  int variables = 0;
  int binaries = 0;
  int constraints = 0;
  int unstable_relus = 0;
  int stable_relus = 0;
  std::string bounds_method;       // bounds behind the model ("interval", "crown", "lp")
  double bounds_time_s = 0.0;
  // kMip with mip_warm_start: the NLP's replayed margin (NaN if it found no
  // point) and its time, included in time_s.
  double warm_start_margin = std::numeric_limits<double>::quiet_NaN();
  double warm_start_time_s = 0.0;
};

// Runner-up class: the highest clean logit among classes != true_label.
int runnerUp(const Eigen::VectorXd& logits, int true_label);

// Minimise logit[true] - logit[target] over x in box. x0 is the clean input
// (used for the distance report and as the default NLP start).
MarginAttackResult marginAttack(const nn::Network& net, const spec::Box& box,
                                const Eigen::VectorXd& x0, int true_label, int target_label,
                                const MarginAttackParams& params);

// Replays x through the network: returns true when x lies in the box (to tol)
// and logit[target] > logit[true]. Fills margin/logits/prediction of r.
bool replayMarginAttack(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                        const Eigen::VectorXd& x, MarginAttackResult& r, double tol = 1e-9);

}  // namespace nnopt::attack
