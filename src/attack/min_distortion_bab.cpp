// Method::kBab of the minimal-distortion attack (L-inf): a proven lower bound
// on the distance by bisection over the radius, each radius decided by the
// ReLU branch and bound (bab/relu_bab.h) in decision mode.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "attack/min_distortion.h"
#include "bab/relu_bab.h"
#include "bounds/beta_crown.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "core/log.h"
#include "fmt/format.h"

namespace nnopt::attack {

namespace {

enum class Radius { kTooSmall, kReached, kUnknown };

// Decides whether some x in minDistortionBox(x0, m) reaches the gap:
// kTooSmall when the search proves min v > 0 for
//   v(x) = logit[true] - logit[target] + gap   (v <= 0: the gap is reached),
// kReached with *x when a point replays to v(x) <= 0, else kUnknown.
Radius decideRadius(const nn::Network& net, const Eigen::VectorXd& x0, int true_label,
                    int target_label, const MinDistortionParams& p, double m, double budget_s,
                    Eigen::VectorXd* x, long* nodes, bounds::ReluCounts* relus,
                    double* bounds_s) {
  const spec::Box box = minDistortionBox(x0, std::min(m, p.max_eps));
  spec::OutputConstraint v;
  v.coefs = {{true_label, 1.0}, {target_label, -1.0}};
  v.rhs = -p.gap;
  Timer t;
  bounds::BoundTable table = bounds::crownBounds(net, box);
  // alpha-CROWN on every layer's bounds (as verify's root), at most a fifth
  // of the step.
  bounds::alphaTightenTable(net, box, table, 20, 0.2 * budget_s, p.cancel);
  *relus = bounds::countRelus(net, table);
  *bounds_s = t.seconds();
  bab::BabParams bp = bab::decisionParams(table, 0.0);
  bp.time_limit = std::max(0.0, budget_s - t.seconds());
  bp.threads = std::max(1, p.threads);
  bp.cancel = p.cancel;
  const bab::BabResult r = bab::reluBranchAndBound(net, box, {v}, bp);
  *nodes += r.nodes;
  if (r.status == bab::BabStatus::kHolds) return Radius::kTooSmall;
  if (r.status == bab::BabStatus::kViolated && r.x.size() == x0.size()) {
    *x = r.x;
    return Radius::kReached;
  }
  return Radius::kUnknown;
}

}  // namespace

void minDistortionBisection(const nn::Network& net, const Eigen::VectorXd& x0,
                            const MinDistortionParams& p, double time_limit,
                            MinDistortionResult& r) {
  require(p.norm == Norm::kLinf,
          "min-distortion --method bab bounds the L-inf distance only (use mip for l1)");
  Deadline deadline(time_limit, p.cancel);
  const spec::Box full = minDistortionBox(x0, p.max_eps);
  // The largest radius of the box: beyond it the ball adds nothing.
  double box_radius = 0.0;
  for (Eigen::Index i = 0; i < x0.size(); ++i)
    box_radius = std::max({box_radius, x0[i] - full.lo[i], full.hi[i] - x0[i]});
  const bool have_point = r.verdict == MinDistVerdict::kAttackFound;
  double upper = have_point ? r.distance : box_radius;  // a point or the whole box
  double lo = 0.0;      // proven: no point within this radius reaches the gap
  double probe = upper;  // radii at or above this are not tried again
  int steps = 0, unknown = 0;
  bounds::ReluCounts first_relus;
  double first_bounds_s = 0.0;
  long nodes = 0;
  bool box_proven = false;
  auto converged = [&] { return upper - lo <= std::max(1e-7, p.bab_rel_gap * upper); };
  while (!deadline.expired() && !converged() && probe - lo > 1e-7) {
    // Without a point the first step is the whole box (a proof of
    // infeasibility); then halve [lo, probe].
    const double m = !have_point && steps == 0 ? box_radius : 0.5 * (lo + probe);
    // At most a sixth of the time per radius: one undecided radius near the
    // optimum must not eat the time that proves smaller ones.
    const double budget = std::min(0.5 * deadline.remaining(), time_limit / 6.0);
    Eigen::VectorXd x;
    bounds::ReluCounts relus;
    Radius d = Radius::kUnknown;
    double bounds_s = 0.0;
    try {
      d = decideRadius(net, x0, r.true_label, r.target_label, p, m, budget, &x, &nodes, &relus,
                       &bounds_s);
    } catch (const Error&) {
      // A failed search (e.g. an LP Clp could not solve) decides nothing: the
      // local point and the radii proven so far stand.
    }
    if (steps == 0) {
      first_relus = relus;
      first_bounds_s = bounds_s;
    }
    const int64_t unstable = relus.unstable;
    ++steps;
    logInfo(fmt::format("min-distortion bab: radius {:.6g}: {} ({} unstable ReLUs, {:.2f} s "
                        "budget); bounds [{:.6g}, {:.6g}]",
                        m,
                        d == Radius::kTooSmall ? "no point reaches the gap"
                        : d == Radius::kReached ? "a point reaches the gap"
                                                : "undecided",
                        unstable, budget, d == Radius::kTooSmall ? m : lo, upper));
    if (d == Radius::kTooSmall) {
      lo = m;
      if (m >= box_radius) box_proven = true;
      if (box_proven) break;
    } else if (d == Radius::kReached) {
      MinDistortionResult cand = r;
      if (replayMinDistortion(net, full, x0, x, cand, p.box_tol, p.gap_tol) &&
          (r.verdict != MinDistVerdict::kAttackFound || cand.distance < r.distance)) {
        cand.verdict = MinDistVerdict::kAttackFound;
        cand.solver_objective = cand.distance;
        r = cand;
        upper = r.distance;
      }
      probe = std::min(probe, std::min(m, upper));
    } else {
      ++unknown;
      probe = m;  // not decided in its budget: a smaller radius is easier
    }
  }
  r.method = "bab";
  r.iterations = nodes;
  r.solves = steps;
  // The ReLU counts of the first radius's root table (the local solver's
  // model sizes stay in variables / constraints).
  r.unstable_relus = static_cast<int>(first_relus.unstable);
  r.stable_relus = static_cast<int>(first_relus.active + first_relus.inactive);
  r.bounds_method = "crown+alpha (first radius)";
  r.bounds_time_s = first_bounds_s;
  if (box_proven && r.verdict != MinDistVerdict::kAttackFound) {
    // No point: drop whatever the local solver left short of the gap.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    r.verdict = MinDistVerdict::kInfeasible;
    r.lower_bound = std::numeric_limits<double>::infinity();
    r.adversarial.resize(0);
    r.logits_adv.resize(0);
    r.distance = r.l1 = r.l2 = r.linf = r.achieved_gap = nan;
    r.predicted_label_adv = -1;
  } else if (r.verdict == MinDistVerdict::kAttackFound) {
    r.lower_bound = lo;
    r.optimal = converged();
  } else {
    r.lower_bound = lo;
  }
  r.status = fmt::format(
      "bisection over the L-inf radius by the ReLU B&B: {} radii ({} undecided in their "
      "budget), {} nodes; proven lower bound {:.6g}{}",
      steps, unknown, nodes, lo,
      r.optimal ? fmt::format(", optimal within {:g} relative", p.bab_rel_gap) : "");
}

}  // namespace nnopt::attack
