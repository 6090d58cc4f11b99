#include "attack/min_distortion.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attack/pgd.h"
#include "bounds/bound_table.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "nn/gradient.h"
#include "core/log.h"
#include "formulate/embed.h"
#include "formulate/ideal_cuts.h"
#include "model/math_model.h"
#include "solve/lpcc_local.h"
#include "solve/solver.h"

namespace nnopt::attack {

using model::kInf;

const char* normName(Norm n) {
  switch (n) {
    case Norm::kL1: return "l1";
    case Norm::kLinf: return "linf";
    case Norm::kL2: return "l2";
  }
  return "?";
}

Norm parseNorm(const std::string& s) {
  if (s == "l1" || s == "L1") return Norm::kL1;
  if (s == "linf" || s == "Linf" || s == "inf" || s == "l-inf" || s == "L-inf") return Norm::kLinf;
  if (s == "l2" || s == "L2") return Norm::kL2;
  throw Error("unknown norm '" + s + "' (supported: l1, linf, l2)");
}

Method parseMinDistortionMethod(const std::string& s) {
  if (s == "mip") return Method::kMip;
  if (s == "nlp") return Method::kNlp;
  if (s == "bab") return Method::kBab;
  throw Error("--objective min-distortion supports --method mip, nlp or bab (linf) (got '" + s +
              "')");
}

const char* minDistVerdictName(MinDistVerdict v) {
  switch (v) {
    case MinDistVerdict::kAttackFound: return "attack_found";
    case MinDistVerdict::kNoAttackFound: return "no_attack_found";
    case MinDistVerdict::kInfeasible: return "infeasible";
    case MinDistVerdict::kTimeout: return "timeout";
  }
  return "?";
}

spec::Box minDistortionBox(const Eigen::VectorXd& x0, double max_eps) {
  require(!std::isnan(max_eps) && max_eps >= 0, "max-eps must be >= 0");
  spec::Box b;
  b.lo = Eigen::VectorXd::Zero(x0.size());
  b.hi = Eigen::VectorXd::Ones(x0.size());
  if (std::isfinite(max_eps)) return spec::linfBall(x0, max_eps, 0.0, 1.0);
  return b;
}

bool replayMinDistortion(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                         const Eigen::VectorXd& x, MinDistortionResult& r, double box_tol,
                         double gap_tol) {
  r.adversarial = x;
  r.logits_adv = net.forward(x);
  Eigen::Index arg = 0;
  r.logits_adv.maxCoeff(&arg);
  r.predicted_label_adv = static_cast<int>(arg);
  r.achieved_gap = r.logits_adv[r.target_label] - r.logits_adv[r.true_label];
  const Eigen::VectorXd d = x - x0;
  r.l1 = d.lpNorm<1>();
  r.l2 = d.norm();
  r.linf = d.size() ? d.lpNorm<Eigen::Infinity>() : 0.0;
  r.distance = r.norm == Norm::kL1 ? r.l1 : r.norm == Norm::kL2 ? r.l2 : r.linf;
  return box.contains(x, box_tol) && r.achieved_gap >= r.gap - gap_tol;
}

namespace {

// The model: network over the box, the gap row, the distance variables and objective.
struct DistModel {
  model::MathModel m;
  formulate::Embedding e;
  bounds::BoundTable bt;  // the table the network was embedded with
  std::vector<int> dplus, dminus;  // L1: per input, -1 when fixed at 0
  std::vector<int> dist_row;        // L1: per input, x_i - d+_i + d-_i = x0_i
  int t = -1;                      // Linf
  std::vector<int> up_row, dn_row;  // Linf: per input, x_i - t <= x0_i / x_i + t >= x0_i (-1: none)
  int gap_row = -1;
};

DistModel buildModel(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                     const formulate::EmbedOptions& opt, const MinDistortionParams& p,
                     MinDistortionResult& r) {
  DistModel dm;
  Timer timer;
  const double lp_budget = std::min(p.lp_time_limit, 0.2 * p.time_limit);
  auto bt = bounds::tightestBounds(
      net, box, net.isPiecewiseLinear() ? p.bounds : bounds::BoundsLevel::kCrown, lp_budget);
  const bool l1_budget = p.norm == Norm::kL1 && std::isfinite(p.l1_budget);
  if (l1_budget) {  // both tables are sound for box ∩ L1 ball: keep the tighter side
    bounds::CrownParams cp;
    cp.l1_center = x0;
    cp.l1_radius = p.l1_budget;
    const auto b1 = bounds::crownBounds(net, box, cp);
    for (size_t k = 0; k < bt.lo.size(); ++k) {
      bt.lo[k] = bt.lo[k].cwiseMax(b1.lo[k]);
      bt.hi[k] = bt.hi[k].cwiseMin(b1.hi[k]).cwiseMax(bt.lo[k]);
    }
    bt.method += "+l1";
  }
  r.bounds_method = bt.method;
  r.bounds_time_s = timer.seconds();
  auto& m = dm.m;
  dm.e = formulate::embedNetwork(m, net, bt, opt);
  dm.bt = bt;
  const auto& e = dm.e;
  // logit[target] - logit[true] >= gap
  dm.gap_row = m.addRow(
      {{e.output_vars[r.target_label], 1.0}, {e.output_vars[r.true_label], -1.0}}, p.gap, kInf,
      "gap");
  const int n = static_cast<int>(x0.size());
  switch (p.norm) {
    case Norm::kL1: {
      // x_i - d+_i + d-_i = x0_i, 0 <= d+_i <= hi_i - x0_i, 0 <= d-_i <= x0_i - lo_i.
      dm.dplus.assign(n, -1);
      dm.dminus.assign(n, -1);
      dm.dist_row.assign(n, -1);
      for (int i = 0; i < n; ++i) {
        const double up = box.hi[i] - x0[i], down = x0[i] - box.lo[i];
        std::vector<model::LinTerm> terms{{e.input_vars[i], 1.0}};
        if (up > 0) {
          dm.dplus[i] = m.addVar(0.0, up, false, "dp" + std::to_string(i));
          terms.push_back({dm.dplus[i], -1.0});
          m.objLinear().push_back({dm.dplus[i], 1.0});
        }
        if (down > 0) {
          dm.dminus[i] = m.addVar(0.0, down, false, "dm" + std::to_string(i));
          terms.push_back({dm.dminus[i], 1.0});
          m.objLinear().push_back({dm.dminus[i], 1.0});
        }
        dm.dist_row[i] = m.addRow(std::move(terms), x0[i], x0[i], "dist" + std::to_string(i));
      }
      if (l1_budget) {  // sum d+ + d- <= budget (no better point lies outside)
        std::vector<model::LinTerm> all;
        for (int i = 0; i < n; ++i) {
          if (dm.dplus[i] >= 0) all.push_back({dm.dplus[i], 1.0});
          if (dm.dminus[i] >= 0) all.push_back({dm.dminus[i], 1.0});
        }
        m.addRow(std::move(all), -kInf, p.l1_budget, "l1_budget");
      }
      break;
    }
    case Norm::kLinf: {
      double tmax = 0.0;
      for (int i = 0; i < n; ++i)
        tmax = std::max({tmax, box.hi[i] - x0[i], x0[i] - box.lo[i]});
      dm.t = m.addVar(0.0, tmax, false, "t");
      dm.up_row.assign(n, -1);
      dm.dn_row.assign(n, -1);
      for (int i = 0; i < n; ++i) {
        if (box.hi[i] > x0[i])  // x_i - t <= x0_i
          dm.up_row[i] = m.addRow({{e.input_vars[i], 1.0}, {dm.t, -1.0}}, -kInf, x0[i],
                                  "up" + std::to_string(i));
        if (box.lo[i] < x0[i])  // x_i + t >= x0_i
          dm.dn_row[i] = m.addRow({{e.input_vars[i], 1.0}, {dm.t, 1.0}}, x0[i], kInf,
                                  "dn" + std::to_string(i));
      }
      m.objLinear().push_back({dm.t, 1.0});
      break;
    }
    case Norm::kL2: {
      // sum (x_i - x0_i)^2 = sum x_i^2 - 2 x0_i x_i + x0_i^2
      double off = 0.0;
      for (int i = 0; i < n; ++i) {
        m.objQuadratic().push_back({e.input_vars[i], e.input_vars[i], 1.0});
        if (x0[i] != 0.0) m.objLinear().push_back({e.input_vars[i], -2.0 * x0[i]});
        off += x0[i] * x0[i];
      }
      m.setObjOffset(off);
      break;
    }
  }
  m.setSense(model::Sense::kMinimize);
  r.variables = m.numVars();
  r.binaries = m.numIntegers();
  r.constraints = m.numRows();
  r.unstable_relus = e.unstable_relus;
  r.stable_relus = e.stable_relus;
  return dm;
}

// Start values of all variables from an input point s.
std::vector<double> startFrom(DistModel& dm, const nn::Network& net, const Eigen::VectorXd& x0,
                              const Eigen::VectorXd& s) {
  formulate::setStartFromInput(dm.m, net, dm.e, s);
  auto set = [&](int v, double val) {
    if (v >= 0) dm.m.vars()[v].start = std::clamp(val, dm.m.vars()[v].lb, dm.m.vars()[v].ub);
  };
  for (size_t i = 0; i < dm.dplus.size(); ++i) {
    set(dm.dplus[i], std::max(s[i] - x0[i], 0.0));
    set(dm.dminus[i], std::max(x0[i] - s[i], 0.0));
  }
  if (dm.t >= 0) set(dm.t, s.size() ? (s - x0).cwiseAbs().maxCoeff() : 0.0);
  std::vector<double> v(dm.m.numVars());
  for (int j = 0; j < dm.m.numVars(); ++j) v[j] = dm.m.vars()[j].start;
  return v;
}

Eigen::VectorXd inputPoint(const formulate::Embedding& e, const std::vector<double>& x,
                           const spec::Box& box) {
  Eigen::VectorXd p(static_cast<Eigen::Index>(e.input_vars.size()));
  for (size_t i = 0; i < e.input_vars.size(); ++i)
    p[i] = std::clamp(x[e.input_vars[i]], box.lo[i], box.hi[i]);
  return p;
}

double objectiveAsDistance(const MinDistortionParams& p, double obj) {
  return p.norm == Norm::kL2 ? std::sqrt(std::max(obj, 0.0)) : obj;
}

// Replays x; when it misses the gap by a small amount only (solver tolerances,
// clamping), nudges it along the projected gradient of the gap (a few tiny
// steps, each replayed) so that the reported point reaches the gap exactly.
bool replayOrRepair(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                    Eigen::VectorXd x, MinDistortionResult& r, const MinDistortionParams& p) {
  if (replayMinDistortion(net, box, x0, x, r, p.box_tol, p.gap_tol)) return true;
  if (!box.contains(x, p.box_tol)) return false;
  const double deficit0 = r.gap - r.achieved_gap;
  if (!(deficit0 > 0) || deficit0 > 1e-3 * std::max(1.0, std::abs(r.gap))) return false;
  Eigen::VectorXd c = Eigen::VectorXd::Zero(net.outputSize());
  c[r.target_label] = 1.0;
  c[r.true_label] = -1.0;
  MinDistortionResult best = r;
  for (int it = 0; it < 30; ++it) {
    Eigen::VectorXd g = nn::outputGradient(net, x, c);
    for (Eigen::Index i = 0; i < g.size(); ++i)
      if ((g[i] > 0 && x[i] >= box.hi[i]) || (g[i] < 0 && x[i] <= box.lo[i])) g[i] = 0.0;
    const double gg = g.squaredNorm();
    if (!(gg > 0)) break;
    const double deficit = r.gap - r.achieved_gap;
    x = (x + (2.0 * deficit + 1e-9) / gg * g).cwiseMax(box.lo).cwiseMin(box.hi);
    if (replayMinDistortion(net, box, x0, x, r, p.box_tol, 0.0)) {
      r.repaired = true;
      return true;
    }
  }
  r = best;
  return false;
}

void checkArgs(const nn::Network& net, const Eigen::VectorXd& x0, int true_label,
               int target_label, const MinDistortionParams& p) {
  const int n_out = static_cast<int>(net.outputSize());
  require(x0.size() == net.inputSize(), "min-distortion: input has " +
                                            std::to_string(x0.size()) + " values, the network " +
                                            std::to_string(net.inputSize()));
  require(true_label >= 0 && true_label < n_out,
          "label " + std::to_string(true_label) + " out of range: the network has " +
              std::to_string(n_out) + " outputs");
  require(target_label >= 0 && target_label < n_out && target_label != true_label,
          "target " + std::to_string(target_label) + " must be a class in [0," +
              std::to_string(n_out - 1) + "] other than the true label " +
              std::to_string(true_label));
  require(std::isfinite(p.gap), "min-distortion: the gap must be finite");
  require(!std::isnan(p.max_eps) && p.max_eps >= 0, "--max-eps must be >= 0");
  if (p.local == LocalSolver::kPwl) {
    require(p.norm != Norm::kL2,
            "L2 minimal distortion has a quadratic objective: the native local solver (--local "
            "pwl) handles l1 and linf; use --local ipopt");
    require(net.isPiecewiseLinear(),
            "the native local solver needs a ReLU/LeakyReLU/MaxPool network (Tanh/Sigmoid: use "
            "--local ipopt)");
  }
  if (p.method == Method::kBab) {
    require(p.norm == Norm::kLinf,
            "min-distortion --method bab bounds the L-inf distance only (use mip for l1)");
    require(net.isPiecewiseLinear() && !net.hasMaxPool(),
            "min-distortion --method bab needs a ReLU/LeakyReLU network without MaxPool (use "
            "mip)");
  }
  if (p.method == Method::kMip) {
    require(p.norm != Norm::kL2,
            "L2 minimal distortion needs --method nlp: CBC has no quadratic objective");
    require(net.isPiecewiseLinear(),
            "MIP cannot encode smooth activations (Tanh/Sigmoid); use --method nlp");
  }
}

MinDistortionResult runMip(const nn::Network& net, const spec::Box& box,
                           const Eigen::VectorXd& x0, MinDistortionResult r,
                           const MinDistortionParams& p) {
  Timer timer;
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kBigM;
  auto dm = buildModel(net, box, x0, opt, p, r);
  solve::SolveParams sp;
  sp.time_limit = std::max(0.0, p.time_limit - timer.seconds());
  sp.threads = p.threads;
  sp.verbose = p.solver_log;
  sp.cancel = p.cancel;
  if (p.mip_ideal_cuts) sp.mip_cuts = formulate::idealCutSeparator(net, dm.e, dm.bt);
  // A MIP start: the given point if it reaches the gap, else the clean input
  // (CBC drops a start that violates a row, e.g. the gap).
  Eigen::VectorXd s = x0.cwiseMax(box.lo).cwiseMin(box.hi);
  if (p.start.size() == x0.size()) {
    MinDistortionResult tmp = r;
    if (replayMinDistortion(net, box, x0, p.start, tmp, p.box_tol, p.gap_tol)) s = p.start;
  }
  sp.start = startFrom(dm, net, x0, s);
  auto sol = solve::solveMip(dm.m, sp);
  r.status = solve::statusName(sol.status);
  if (!sol.message.empty()) r.status += " (" + sol.message + ")";
  r.iterations = sol.iterations;
  r.solves = 1;
  r.solver_objective = objectiveAsDistance(p, sol.objective);
  r.lower_bound = std::isfinite(sol.bound) ? std::max(0.0, sol.bound) : sol.bound;
  if (sol.status == solve::SolveStatus::kInfeasible) {
    r.verdict = MinDistVerdict::kInfeasible;
    r.lower_bound = kInf;
  } else if (sol.hasPoint() && replayOrRepair(net, box, x0, inputPoint(dm.e, sol.x, box), r, p)) {
    r.verdict = MinDistVerdict::kAttackFound;
    r.optimal = sol.status == solve::SolveStatus::kOptimal;
  } else if (sol.status == solve::SolveStatus::kOptimal ||
             sol.status == solve::SolveStatus::kFeasible) {
    r.verdict = MinDistVerdict::kNoAttackFound;  // a point that does not replay (numerics)
    if (sol.hasPoint()) r.status += "; the solver's point fails the replay";
  } else if (sol.status == solve::SolveStatus::kNoSolution) {
    r.verdict = MinDistVerdict::kTimeout;
  } else {
    r.verdict = MinDistVerdict::kNoAttackFound;
  }
  r.time_s = timer.seconds();
  return r;
}

// A local solve's end: the point x (all variables; empty = none) replayed
// (or repaired) into r's verdict.
void finishLocal(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                 const formulate::Embedding& e, const std::vector<double>& x, bool expired,
                 MinDistortionResult& r, const MinDistortionParams& p) {
  if (x.empty()) {
    r.verdict = expired ? MinDistVerdict::kTimeout : MinDistVerdict::kNoAttackFound;
    return;
  }
  r.compl_violation = formulate::complementarityViolation(e, x);
  const bool ok = replayOrRepair(net, box, x0, inputPoint(e, x, box), r, p);
  r.verdict = ok ? MinDistVerdict::kAttackFound : MinDistVerdict::kNoAttackFound;
}

MinDistortionResult runNlp(const nn::Network& net, const spec::Box& box,
                           const Eigen::VectorXd& x0, MinDistortionResult r,
                           const MinDistortionParams& p) {
  Timer timer;
  Deadline deadline(std::isfinite(p.time_limit) ? p.time_limit : kDefaultLocalTimeLimit, p.cancel);
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kComplementarity;
  opt.compl_form = formulate::ComplForm::kRelaxed;
  opt.compl_param = p.tau_start;
  auto dm = buildModel(net, box, x0, opt, p, r);
  Eigen::VectorXd s = p.start.size() == x0.size() ? p.start : x0;
  s = s.cwiseMax(box.lo).cwiseMin(box.hi);
  solve::SolveParams sp;
  sp.threads = 1;
  sp.verbose = p.solver_log;
  sp.cancel = p.cancel;
  sp.start = startFrom(dm, net, x0, s);
  std::vector<double> taus;
  for (double tau = p.tau_start; tau >= p.tau_end; tau *= p.tau_factor) taus.push_back(tau);
  if (taus.empty()) taus.push_back(p.tau_end);
  solve::Solution sol;
  std::vector<double> best_x;
  for (double tau : taus) {
    if (deadline.expired()) break;
    formulate::setComplementarityParam(dm.m, dm.e, opt.compl_form, tau);
    sp.time_limit = deadline.remaining();
    sol = solve::solveNlp(dm.m, sp);
    ++r.solves;
    r.iterations += sol.iterations;
    if (!sol.hasPoint()) break;
    best_x = sol.x;
    sp.start = sol.x;  // warm start the next, tighter problem
    if (p.warm_duals) {
      sp.warm_z_l = sol.z_l;
      sp.warm_z_u = sol.z_u;
      sp.warm_lambda = sol.lambda;
    }
  }
  r.status = solve::statusName(sol.status);
  if (!sol.message.empty()) r.status += " (" + sol.message + ")";
  if (!best_x.empty()) r.solver_objective = objectiveAsDistance(p, dm.m.evalObjective(best_x));
  finishLocal(net, box, x0, dm.e, best_x, deadline.expired(), r, p);
  r.time_s = timer.seconds();
  return r;
}

// The native walk (solve::LpccLocalSolver) on the min-distortion LPCC: the
// network with ComplForm::kNone, the distance rows, and the gap row made
// elastic, logit[target] - logit[true] + s >= gap with rho * s added to the
// distance objective, so that the start's linear region (the clean image's,
// where the gap is violated) is feasible. The walk is then a homotopy from
// the start: each LP moves as far towards the gap as its region allows and
// the ReLU boundaries it reaches are crossed when their multipliers say the
// penalised objective improves. While the walk ends with s > 0 (rho below
// the gap row's multiplier, or no point of the union of regions reached
// reaches the gap), rho grows x10 and the walk resumes from its point.
MinDistortionResult runPwl(const nn::Network& net, const spec::Box& box,
                           const Eigen::VectorXd& x0, MinDistortionResult r,
                           const MinDistortionParams& p) {
  Timer timer;
  Deadline deadline(std::isfinite(p.time_limit) ? p.time_limit : kDefaultLocalTimeLimit, p.cancel);
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kComplementarity;
  opt.compl_form = formulate::ComplForm::kNone;
  MinDistortionParams bp = p;
  bp.bounds = bounds::BoundsLevel::kInterval;  // the walk's point does not depend on them
  auto dm = buildModel(net, box, x0, opt, bp, r);
  auto& m = dm.m;
  const int slack = m.addVar(0.0, kInf, false, "gap_slack");
  m.rows()[dm.gap_row].terms.push_back({slack, 1.0});
  r.variables = m.numVars();
  const std::vector<model::LinTerm> dist_obj = m.objLinear();
  Eigen::VectorXd s = p.start.size() == x0.size() ? p.start : x0;
  s = s.cwiseMax(box.lo).cwiseMin(box.hi);
  Eigen::VectorXd c = Eigen::VectorXd::Zero(net.outputSize());
  c[r.target_label] = 1.0;
  c[r.true_label] = -1.0;
  const double gmax = nn::outputGradient(net, s, c).lpNorm<Eigen::Infinity>();
  double rho = p.pwl_rho_factor / std::max(gmax, 1e-6);
  auto objective = [&] {
    std::vector<model::LinTerm> o = dist_obj;
    o.push_back({slack, rho});
    return o;
  };
  m.objLinear() = objective();
  std::vector<solve::ComplementarityPair> pairs;
  pairs.reserve(dm.e.compl_pairs.size());
  for (const auto& pr : dm.e.compl_pairs) pairs.push_back({pr.y, pr.s});
  solve::LpccLocalSolver lpcc(m, std::move(pairs));
  std::vector<double> v = startFrom(dm, net, x0, s);
  {
    const Eigen::VectorXd f = net.forward(s);
    v[slack] = std::max(0.0, p.gap - (f[r.target_label] - f[r.true_label]));
  }
  // Crash basis at the start x0 (dual simplex from there): the inputs basic
  // on their distance rows with every distance variable at 0, every neuron
  // variable and the gap slack basic (see LpccLocalSolver::solve).
  const int nv = m.numVars();
  std::vector<signed char> crash(nv + m.numRows(), -1);
  std::fill(crash.begin(), crash.begin() + nv, 0);
  for (int j = 0; j < nv; ++j)
    if (m.vars()[j].lb == m.vars()[j].ub) crash[j] = -1;
  for (int j : dm.dplus) if (j >= 0) crash[j] = -1;
  for (int j : dm.dminus) if (j >= 0) crash[j] = -1;
  for (size_t i = 0; i < dm.dist_row.size(); ++i)  // a fixed input: its row's slack is basic
    if (crash[dm.e.input_vars[i]] != 0) crash[nv + dm.dist_row[i]] = 0;
  if (dm.t >= 0) crash[dm.t] = -1;
  for (size_t i = 0; i < dm.up_row.size(); ++i) {
    // x_i sits on its up row (slack nonbasic at x0_i) when there is one, the
    // down row's slack is then basic (degenerate); else on its down row.
    if (dm.up_row[i] >= 0) {
      crash[nv + dm.up_row[i]] = 1;
      if (dm.dn_row[i] >= 0) crash[nv + dm.dn_row[i]] = 0;
    } else if (dm.dn_row[i] >= 0) {
      crash[nv + dm.dn_row[i]] = -1;
    }
  }
  // One walk within the remaining time, its counts added to r.
  auto walk = [&](const std::vector<double>& from, const std::vector<signed char>* cr) {
    solve::LpccParams lp;
    lp.time_limit = std::max(0.0, deadline.remaining());
    lp.explore = p.pwl_explore;
    solve::LpccResult q = lpcc.solve(from, lp, cr);
    r.solves += q.lp_solves;
    r.iterations += q.pivots;
    r.local_flips += q.flips;
    r.local_explored += q.explored;
    r.local_explore_moves += q.explore_moves;
    return q;
  };
  solve::LpccResult res;
  for (int round = 0; round <= p.pwl_rho_rounds; ++round) {
    if (round > 0) {
      if (deadline.expired()) break;
      rho *= 10.0;
      lpcc.setObjective(objective());
    }
    solve::LpccResult cur = walk(v, round == 0 ? &crash : nullptr);
    if (cur.x.empty()) break;
    res = std::move(cur);
    v = res.x;
    if (res.x[slack] <= 1e-9 * std::max(1.0, std::abs(p.gap))) break;
  }
  // Phase 1 by PGD when the homotopy from the start stalls short of the gap
  // (a local maximum of the gap over the regions it crossed): a point that
  // reaches the gap makes its own region feasible, and the walk from there
  // descends the distance with the slack at 0.
  const double slack_tol = 1e-9 * std::max(1.0, std::abs(p.gap));
  auto short_of_gap = [&](const solve::LpccResult& q) {
    return q.x.empty() || q.x[slack] > slack_tol;
  };
  std::string note;
  if (short_of_gap(res) && !deadline.expired()) {
    spec::OutputSpec os;
    os.disjuncts.push_back(
        {spec::OutputConstraint{{{r.true_label, 1.0}, {r.target_label, -1.0}}, 0.0}});
    PgdParams pp;
    pp.restarts = 8;
    pp.steps = 100;
    pp.time_limit = std::min(2.0, 0.25 * deadline.remaining());
    pp.target = -p.gap;
    pp.starts = {s};
    const PgdResult pr = pgdMinimize(net, box, os, pp);
    const Eigen::VectorXd f = pr.x.size() ? net.forward(pr.x) : Eigen::VectorXd();
    if (f.size() && f[r.target_label] - f[r.true_label] >= p.gap) {
      std::vector<double> w = startFrom(dm, net, x0, pr.x);
      w[slack] = 0.0;
      solve::LpccResult cur = walk(w, nullptr);
      if (!short_of_gap(cur)) {
        res = std::move(cur);
        note = "walk restarted from a PGD point reaching the gap";
      }
    }
  }
  r.local_rho = rho;
  r.local_ties = res.ties;
  r.local_ties_checked = res.ties_checked;
  r.local_certified = res.certified;
  r.status = res.x.empty() ? "no point" : solve::statusName(res.status);
  if (!res.message.empty()) r.status += " (" + res.message + ")";
  if (!note.empty()) r.status += "; " + note;
  if (!res.x.empty()) {
    r.solver_objective = res.objective - rho * res.x[slack];
    if (short_of_gap(res)) r.status += "; the walk ended short of the gap";
  }
  finishLocal(net, box, x0, dm.e, res.x, deadline.expired(), r, p);
  r.time_s = timer.seconds();
  return r;
}

// Method::kNlp (and the MIP's warm start): the native walk or Ipopt.
MinDistortionResult runLocal(const nn::Network& net, const spec::Box& box,
                             const Eigen::VectorXd& x0, MinDistortionResult r,
                             const MinDistortionParams& p) {
  if (p.norm != Norm::kL2 && resolveLocal(p.local, net) == LocalSolver::kPwl) {
    r.method = "nlp:pwl";
    return runPwl(net, box, x0, r, p);
  }
  r.method = "nlp:scholtes";
  return runNlp(net, box, x0, r, p);
}

}  // namespace

MinDistortionResult minDistortionAttack(const nn::Network& net, const Eigen::VectorXd& x0,
                                        int true_label, int target_label,
                                        const MinDistortionParams& params) {
  checkArgs(net, x0, true_label, target_label, params);
  const spec::Box box = minDistortionBox(x0, params.max_eps);
  MinDistortionResult r;
  r.norm = params.norm;
  r.true_label = true_label;
  r.target_label = target_label;
  r.gap = params.gap;
  r.max_eps = params.max_eps;
  if (params.method == Method::kBab) {
    // The local solver (a quarter of the time) for a point, then the proof.
    Timer timer;
    MinDistortionParams np = params;
    np.method = Method::kNlp;
    np.time_limit = 0.25 * params.time_limit;
    r = runLocal(net, box, x0, r, np);
    r.warm_start_distance = r.verdict == MinDistVerdict::kAttackFound ? r.distance : NAN;
    r.warm_start_time_s = r.time_s;
    minDistortionBisection(net, x0, params, std::max(0.0, params.time_limit - timer.seconds()),
                           r);
    r.time_s = timer.seconds();
    return r;
  }
  if (params.method == Method::kMip) {
    r.method = "mip";
    if (!params.nlp_warm_start) return runMip(net, box, x0, r, params);
    Timer timer;
    MinDistortionParams np = params;
    np.method = Method::kNlp;
    np.time_limit = 0.25 * params.time_limit;
    MinDistortionResult nr = r;
    nr = runLocal(net, box, x0, nr, np);
    MinDistortionParams mp = params;
    mp.time_limit = std::max(0.0, params.time_limit - timer.seconds());
    spec::Box mbox = box;
    if (nr.verdict == MinDistVerdict::kAttackFound) {
      mp.start = nr.adversarial;
      // Every point better than the NLP's has |d_i| <= its distance (L1 and Linf).
      const double rad = nr.distance * (1.0 + 1e-9) + 1e-9;
      if (rad < std::min(params.max_eps, 1.0)) {
        mbox = minDistortionBox(x0, rad);
        r.mip_box_eps = rad;
      }
      if (params.norm == Norm::kL1) mp.l1_budget = std::min(mp.l1_budget, rad);
    }
    r.warm_start_distance = nr.verdict == MinDistVerdict::kAttackFound ? nr.distance : NAN;
    r.warm_start_time_s = nr.time_s;
    MinDistortionResult mr = runMip(net, mbox, x0, r, mp);
    mr.time_s = timer.seconds();
    // The NLP point stands when the MIP returns nothing better (e.g. a timeout
    // before CBC accepted the start).
    if (nr.verdict == MinDistVerdict::kAttackFound &&
        (mr.verdict != MinDistVerdict::kAttackFound || nr.distance < mr.distance)) {
      const MinDistortionResult keep = mr;
      mr = nr;
      mr.method = "mip";
      mr.status = keep.status + "; point from the NLP warm start (the MIP's point was not closer)";
      // (An "infeasible" MIP here can only come from the gap tolerance: no bound then.)
      mr.lower_bound = keep.verdict == MinDistVerdict::kInfeasible
                           ? -std::numeric_limits<double>::infinity()
                           : keep.lower_bound;
      // A MIP proven optimal bounds every point of the box; the NLP point is at
      // least as close as the MIP's, so it is optimal too (to the MIP's gap).
      mr.optimal = keep.optimal;
      mr.iterations = keep.iterations;
      mr.solves = keep.solves;
      mr.variables = keep.variables;
      mr.binaries = keep.binaries;
      mr.constraints = keep.constraints;
      mr.unstable_relus = keep.unstable_relus;
      mr.stable_relus = keep.stable_relus;
      mr.bounds_method = keep.bounds_method;
      mr.bounds_time_s = keep.bounds_time_s;
      mr.warm_start_distance = keep.warm_start_distance;
      mr.warm_start_time_s = keep.warm_start_time_s;
      mr.mip_box_eps = keep.mip_box_eps;
      mr.time_s = keep.time_s;
    }
    return mr;
  }
  return runLocal(net, box, x0, r, params);
}

}  // namespace nnopt::attack
