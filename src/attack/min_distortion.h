#pragma once
// Minimal-perturbation (minimal-distortion) attack, the seed tutorial's
// problem: find the input x closest to the clean input x0 in a norm such that
//   logit[target] >= logit[true] + gap,   x in [0,1]^n  (and |x_i - x0_i| <= max_eps).
//   L1:   d = d+ - d-, d+, d- >= 0, minimise sum(d+ + d-)    (MIP or NLP)
//   Linf: one t >= |d_i|, minimise t                          (MIP or NLP)
//   L2:   minimise sum d_i^2 (quadratic objective)            (NLP only: CBC has no
//                                                               quadratic objective)
// The network is embedded with formulate::embedNetwork over the input box
// (big-M for the MIP, complementarity with Scholtes continuation for the NLP),
// with neuron bounds from bounds::tightestBounds. Every reported point is
// replayed through Network::forward in double before it is called an attack.
#include <Eigen/Dense>
#include <atomic>
#include <limits>
#include <string>

#include "attack/attack.h"
#include "bounds/lp_tighten.h"
#include "nn/network.h"
#include "spec/property.h"

namespace nnopt::attack {

enum class Norm { kL1, kLinf, kL2 };
const char* normName(Norm n);            // "l1", "linf", "l2"
Norm parseNorm(const std::string& s);    // l1 | linf | l2 (also L1, Linf, inf, L2); throws Error
// The methods of the minimal-distortion attack: mip | nlp | bab (L-inf
// bisection, see minDistortionBisection); throws Error otherwise.
Method parseMinDistortionMethod(const std::string& s);

enum class MinDistVerdict {
  kAttackFound,    // replayed point reaching the gap (optimal when `optimal` is set)
  kNoAttackFound,  // the method finished without a replayable point (local NLP, numerics)
  kInfeasible,     // the MIP proves that no x in the box reaches the gap
  kTimeout,        // stopped by the time limit without a point
};
const char* minDistVerdictName(MinDistVerdict v);  // attack_found, no_attack_found, ...

struct MinDistortionParams {
  Method method = Method::kMip;
  // Local solver of Method::kNlp and of the MIP's NLP warm start: kAuto = the
  // native walk (solve::LpccLocalSolver) on ReLU/LeakyReLU/MaxPool networks
  // for L1 and L-inf, Ipopt (Scholtes) for L2 and smooth activations.
  LocalSolver local = LocalSolver::kAuto;
  // Native walk: the gap row gets a slack s >= 0 penalised by rho * s (an
  // exact penalty once rho exceeds the row's multiplier). rho starts at
  // pwl_rho_factor / max_i |d gap / d x_i| at the start point and grows x10
  // (at most pwl_rho_rounds times) while the walk ends with s > 0.
  double pwl_rho_factor = 10.0;
  int pwl_rho_rounds = 4;
  // Exploration LPs after each certified point (LpccParams::explore). Off by
  // default: on the ConvNet an LP costs tens of milliseconds here.
  int pwl_explore = 0;
  Norm norm = Norm::kL1;
  double gap = 0.1;  // required logit[target] - logit[true]
  // Per-pixel bound |x_i - x0_i| <= max_eps (+inf: only x in [0,1]^n).
  double max_eps = std::numeric_limits<double>::infinity();
  double time_limit = std::numeric_limits<double>::infinity();  // seconds, whole attack
  int threads = 1;
  bool solver_log = false;
  // Scholtes continuation of the NLP: tau = tau_start, *= tau_factor while >= tau_end.
  double tau_start = 1.0;
  double tau_factor = 0.01;
  double tau_end = 1e-8;
  // Continuation steps after the first start Ipopt from the previous solve's
  // primal-dual point (SolveParams::warm_*); false = primal start only.
  // Sweep nets 2x40 / 5x30 (Scholtes): 151 -> 71 / 170 -> 84 iterations,
  // same margins (see docs/results/multistart-bench.md).
  bool warm_duals = true;
  bounds::BoundsLevel bounds = bounds::BoundsLevel::kCrown;
  double lp_time_limit = 30.0;  // LP tightening budget (at most a fifth of time_limit)
  // Replay tolerances: the box to box_tol, the gap to gap_tol.
  double box_tol = 1e-9;
  double gap_tol = 1e-6;
  // NLP: initial input point (empty: x0). MIP: an input point offered to CBC as
  // a MIP start (e.g. an NLP solution); ignored when it does not replay.
  Eigen::VectorXd start;
  // MIP only: first run the NLP (within a quarter of the time limit) and, when
  // its point replays, (a) offer it to CBC as the incumbent and (b) shrink the
  // per-pixel box to |d_i| <= its distance (Linf and L1: every better point
  // lies inside, so the MIP's optimum and lower bound stay valid for the
  // original problem), which tightens the neuron bounds behind the big-M rows.
  bool nlp_warm_start = false;
  // MIP: CBC separates cuts of the ideal ReLU formulation at the root
  // (formulate/ideal_cuts.h). On the tutorial ConvNet's min-L1 model they
  // leave the root bound at 0 (the per-neuron hull over the box still lets
  // the clean input reach the gap), so off by default.
  bool mip_ideal_cuts = false;
  // L1 only: the MIP may assume ||x - x0||_1 <= l1_budget (set from the NLP
  // point's distance by nlp_warm_start: every better point lies inside). The
  // model gets that row, and the neuron bounds are also computed over the box
  // intersected with the L1 ball (CrownParams::l1_center / l1_radius).
  double l1_budget = std::numeric_limits<double>::infinity();
  // Method::kBab (L-inf only): stop the bisection once the replayed distance
  // and the proven lower bound are this close (relative).
  double bab_rel_gap = 1e-4;
  // Stop as on the time limit once *cancel becomes true (Ctrl-C in Python).
  const std::atomic<bool>* cancel = nullptr;
};

struct MinDistortionResult {
  MinDistVerdict verdict = MinDistVerdict::kNoAttackFound;
  std::string method;  // "mip", "bab", "nlp:pwl" or "nlp:scholtes"
  std::string status;  // solver status text
  Norm norm = Norm::kL1;
  int true_label = -1;
  int target_label = -1;
  double gap = 0.0;
  double max_eps = std::numeric_limits<double>::infinity();
  // Replayed point (clamped into the box) and its distances to x0 (NaN: none).
  Eigen::VectorXd adversarial;
  double distance = std::numeric_limits<double>::quiet_NaN();  // in `norm`
  double l1 = std::numeric_limits<double>::quiet_NaN();
  double l2 = std::numeric_limits<double>::quiet_NaN();
  double linf = std::numeric_limits<double>::quiet_NaN();
  Eigen::VectorXd logits_adv;
  int predicted_label_adv = -1;
  double achieved_gap = std::numeric_limits<double>::quiet_NaN();  // logit[target] - logit[true]
  bool repaired = false;  // the solver's point missed the gap by a rounding error and was
                          // nudged along the gradient of the gap before the replay
  // Distance objective at the solver's point (L2: the norm, not its square).
  double solver_objective = std::numeric_limits<double>::quiet_NaN();
  // MIP and bab: proven lower bound on the distance over the box (CBC's dual
  // bound, or the bisection's largest refuted radius; -inf when none), and
  // whether optimality was proven.
  double lower_bound = -std::numeric_limits<double>::infinity();
  bool optimal = false;
  double compl_violation = 0.0;  // NLP: max |y*s| at the solution
  // nlp:pwl: accepted pair flips, ties at the point, ties checked, and
  // whether every single-flip neighbouring region was checked (see
  // solve/lpcc_local.h), and the final penalty weight of the gap slack.
  int local_flips = 0, local_ties = 0, local_ties_checked = 0;
  bool local_certified = false;
  int local_explored = 0, local_explore_moves = 0;  // LpccParams::explore (pwl_explore)
  double local_rho = std::numeric_limits<double>::quiet_NaN();
  double time_s = 0.0;
  long iterations = 0;  // NLP iterations or MIP nodes
  int solves = 0;
  // Model size.
  int variables = 0;
  int binaries = 0;
  int constraints = 0;
  int unstable_relus = 0;
  int stable_relus = 0;
  std::string bounds_method;
  double bounds_time_s = 0.0;
  // MIP with nlp_warm_start: the NLP's replayed distance (NaN: none), its
  // time, and the per-pixel bound the MIP box was shrunk to (+inf: none).
  double warm_start_distance = std::numeric_limits<double>::quiet_NaN();
  double warm_start_time_s = 0.0;
  double mip_box_eps = std::numeric_limits<double>::infinity();
};

// The input box: [0,1]^n intersected with the max_eps L-inf ball around x0.
spec::Box minDistortionBox(const Eigen::VectorXd& x0, double max_eps);

// Minimise the distance to x0 subject to logit[target] >= logit[true] + gap.
// Throws Error for bad labels/sizes, a negative gap is allowed, L2 with
// Method::kMip ("CBC has no quadratic objective; use --method nlp"), L2 or
// smooth activations with LocalSolver::kPwl, and smooth activations with the
// MIP.
MinDistortionResult minDistortionAttack(const nn::Network& net, const Eigen::VectorXd& x0,
                                        int true_label, int target_label,
                                        const MinDistortionParams& params);

// Method::kBab's proof stage (L-inf), after the local solver filled r (its
// point, if any, is the first upper bound): bisection over the radius m of
// the L-inf ball around x0 (within the box). Each radius is one decision of
// the ReLU branch and bound (bab/relu_bab.h; root bounds by CROWN and
// alpha-CROWN over that ball) on v(x) = logit[true] - logit[target] + gap:
// min v > 0 proves that every point reaching the gap is farther than m (the
// lower bound rises to m); a point with v <= 0 is replayed and becomes the
// answer when closer; a radius not decided in its budget (half the time
// left, at most a sixth of time_limit) is not tried again, so the next radius is smaller. Without a point
// the first radius is the whole box (a proof that no input reaches the gap:
// kInfeasible). r.lower_bound is the largest radius proven, r.optimal when
// it is within bab_rel_gap of the distance; r.iterations counts B&B nodes,
// r.solves radii. Throws Error for a norm other than L-inf.
void minDistortionBisection(const nn::Network& net, const Eigen::VectorXd& x0,
                            const MinDistortionParams& p, double time_limit,
                            MinDistortionResult& r);

// Replays x: fills adversarial, distances, logits, prediction and achieved gap
// of r (r.norm, r.true_label, r.target_label, r.gap must be set) and returns
// true when x is in the box (to box_tol) and logit[target] >= logit[true] +
// gap - gap_tol.
bool replayMinDistortion(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                         const Eigen::VectorXd& x, MinDistortionResult& r, double box_tol = 1e-9,
                         double gap_tol = 1e-6);

}  // namespace nnopt::attack
