#include "attack/attack.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <thread>

#include "attack/local_pwl.h"
#include "bab/relu_bab.h"
#include "core/atomic_minmax.h"
#include "bounds/bound_table.h"
#include "core/error.h"
#include "core/log.h"
#include "formulate/embed.h"
#include "formulate/ideal_cuts.h"
#include "model/math_model.h"
#include "solve/solver.h"

namespace nnopt::attack {

const char* methodName(Method m) {
  switch (m) {
    case Method::kMip: return "mip";
    case Method::kNlp: return "nlp";
    case Method::kBab: return "bab";
    case Method::kPortfolio: return "portfolio";
  }
  return "?";
}

const char* nlpFormName(NlpForm f) {
  switch (f) {
    case NlpForm::kScholtes: return "scholtes";
    case NlpForm::kProduct: return "product";
    case NlpForm::kInequality: return "inequality";
    case NlpForm::kFischerBurmeister: return "fb";
    case NlpForm::kChenMangasarian: return "cm";
    case NlpForm::kPenalty: return "penalty";
  }
  return "?";
}

NlpForm parseNlpForm(const std::string& s) {
  if (s == "scholtes") return NlpForm::kScholtes;
  if (s == "product") return NlpForm::kProduct;
  if (s == "inequality" || s == "product-ineq") return NlpForm::kInequality;
  if (s == "fb") return NlpForm::kFischerBurmeister;
  if (s == "cm") return NlpForm::kChenMangasarian;
  if (s == "penalty") return NlpForm::kPenalty;
  throw Error("unknown NLP/MPEC form '" + s +
              "' (supported: scholtes, product, inequality|product-ineq, fb, cm, penalty)");
}

const char* verdictName(Verdict v) {
  switch (v) {
    case Verdict::kAttackFound: return "attack_found";
    case Verdict::kRobust: return "robust";
    case Verdict::kNoAttackFound: return "no_attack_found";
    case Verdict::kTimeout: return "timeout";
  }
  return "?";
}

const char* localSolverName(LocalSolver s) {
  switch (s) {
    case LocalSolver::kAuto: return "auto";
    case LocalSolver::kPwl: return "pwl";
    case LocalSolver::kIpopt: return "ipopt";
  }
  return "?";
}

LocalSolver parseLocalSolver(const std::string& s) {
  if (s == "auto") return LocalSolver::kAuto;
  if (s == "pwl") return LocalSolver::kPwl;
  if (s == "ipopt") return LocalSolver::kIpopt;
  throw Error("unknown local solver '" + s + "' (supported: auto, pwl, ipopt)");
}

LocalSolver resolveLocal(LocalSolver s, const nn::Network& net) {
  if (s != LocalSolver::kAuto) return s;
  return net.isPiecewiseLinear() ? LocalSolver::kPwl : LocalSolver::kIpopt;
}

int runnerUp(const Eigen::VectorXd& logits, int true_label) {
  int best = -1;
  for (Eigen::Index j = 0; j < logits.size(); ++j) {
    if (j == true_label) continue;
    if (best < 0 || logits[j] > logits[best]) best = static_cast<int>(j);
  }
  return best;
}

bool replayMarginAttack(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                        const Eigen::VectorXd& x, MarginAttackResult& r, double tol) {
  r.adversarial = x;
  r.logits_adv = net.forward(x);
  Eigen::Index arg = 0;
  r.logits_adv.maxCoeff(&arg);
  r.predicted_label_adv = static_cast<int>(arg);
  r.margin = r.logits_adv[r.true_label] - r.logits_adv[r.target_label];
  r.linf_distance = (x - x0).cwiseAbs().maxCoeff();
  return box.contains(x, tol) && r.margin < 0.0;
}

namespace {

struct MarginModel {
  model::MathModel m;
  formulate::Embedding e;
  bounds::BoundTable bt;  // the table the network was embedded with
};

MarginModel buildMarginModel(const nn::Network& net, const spec::Box& box, int true_label,
                             int target_label, const formulate::EmbedOptions& opt,
                             const MarginAttackParams& p, MarginAttackResult& r) {
  MarginModel mm;
  Timer timer;
  // An LP-tightening budget never exceeds a fifth of the attack's time limit.
  const double lp_budget = std::min(p.lp_time_limit, 0.2 * p.time_limit);
  auto bt = bounds::tightestBounds(net, box, net.isPiecewiseLinear() ? p.bounds
                                                                     : bounds::BoundsLevel::kCrown,
                                   lp_budget);
  r.bounds_method = bt.method;
  r.bounds_time_s = timer.seconds();
  mm.e = formulate::embedNetwork(mm.m, net, bt, opt);
  mm.bt = bt;
  mm.m.objLinear() = {{mm.e.output_vars[true_label], 1.0},
                      {mm.e.output_vars[target_label], -1.0}};
  mm.m.setSense(model::Sense::kMinimize);
  return mm;
}

void fillSize(MarginAttackResult& r, const MarginModel& mm) {
  r.variables = mm.m.numVars();
  r.binaries = mm.m.numIntegers();
  r.constraints = mm.m.numRows();
  r.unstable_relus = mm.e.unstable_relus;
  r.stable_relus = mm.e.stable_relus;
}

Eigen::VectorXd inputPoint(const formulate::Embedding& e, const std::vector<double>& x,
                           const spec::Box& box) {
  Eigen::VectorXd p(static_cast<Eigen::Index>(e.input_vars.size()));
  for (size_t i = 0; i < e.input_vars.size(); ++i)
    // Clamp into the box: solvers may overshoot bounds by their tolerance; the
    // clamped point is what gets replayed and reported.
    p[i] = std::clamp(x[e.input_vars[i]], box.lo[i], box.hi[i]);
  return p;
}

std::vector<double> startVector(const model::MathModel& m) {
  std::vector<double> s(m.numVars());
  for (int j = 0; j < m.numVars(); ++j) s[j] = m.vars()[j].start;
  return s;
}

MarginAttackResult runNlp(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                          MarginAttackResult r, const MarginAttackParams& p);

// Shared state of a kPortfolio run (CBC and the ReLU BaB in parallel).
struct Race {
  std::atomic<bool> cancel{false};
  // Best margin replayed through the forward pass by either solver.
  std::atomic<double> upper{std::numeric_limits<double>::infinity()};
  std::atomic<double> lower_mip{-std::numeric_limits<double>::infinity()};
  std::atomic<double> lower_bab{-std::numeric_limits<double>::infinity()};
};

// The NLP stage of a warm-started exact run: one start, a tenth of the time
// limit; its point (when it has one) is replayed and inside the box.
MarginAttackResult nlpSeed(const nn::Network& net, const spec::Box& box,
                           const Eigen::VectorXd& x0, const MarginAttackResult& r,
                           const MarginAttackParams& p) {
  MarginAttackParams np = p;
  np.method = Method::kNlp;
  np.time_limit = p.time_limit / 10.0;
  MarginAttackResult nr;
  nr.true_label = r.true_label;
  nr.target_label = r.target_label;
  return runNlp(net, box, x0, nr, np);
}
bool hasSeedPoint(const MarginAttackResult& nr, const Eigen::VectorXd& x0) {
  return nr.adversarial.size() == x0.size() && std::isfinite(nr.margin);
}

MarginAttackResult runMip(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                          MarginAttackResult r, const MarginAttackParams& p,
                          Race* race = nullptr) {
  require(net.isPiecewiseLinear(),
          "MIP cannot encode smooth activations (Tanh/Sigmoid); use --method nlp");
  Timer timer;
  // The clean image is a feasible MIP start; a given point (mip_start, or the
  // NLP's with mip_warm_start) replaces it when its replayed margin is lower.
  Eigen::VectorXd given = p.mip_start;
  if (p.mip_warm_start && race == nullptr) {
    const MarginAttackResult nr = nlpSeed(net, box, x0, r, p);
    r.warm_start_time_s = nr.time_s;
    if (hasSeedPoint(nr, x0)) {
      r.warm_start_margin = nr.margin;
      given = nr.adversarial;
    }
  }
  Eigen::VectorXd mip_start = x0;
  if (given.size() == x0.size()) {
    MarginAttackResult g = r, clean = r;
    replayMarginAttack(net, box, x0, given.cwiseMax(box.lo).cwiseMin(box.hi), g);
    replayMarginAttack(net, box, x0, x0, clean);
    if (g.margin < clean.margin) mip_start = g.adversarial;
  }
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kBigM;
  auto mm = buildMarginModel(net, box, r.true_label, r.target_label, opt, p, r);
  fillSize(r, mm);
  formulate::setStartFromInput(mm.m, net, mm.e, mip_start);
  solve::SolveParams sp;
  sp.time_limit = std::max(0.0, p.time_limit - timer.seconds());
  sp.threads = p.threads;
  sp.verbose = p.solver_log;
  sp.start = startVector(mm.m);
  sp.cancel = p.cancel;
  if (p.mip_ideal_cuts) sp.mip_cuts = formulate::idealCutSeparator(net, mm.e, mm.bt);
  if (race != nullptr) {
    sp.cancel = &race->cancel;
    // CBC's incumbents count for the race only once replayed.
    sp.mip_progress = [&](const double* x, double bound) {
      if (x != nullptr) {
        Eigen::VectorXd in(static_cast<Eigen::Index>(mm.e.input_vars.size()));
        for (size_t i = 0; i < mm.e.input_vars.size(); ++i)
          in[i] = std::clamp(x[mm.e.input_vars[i]], box.lo[i], box.hi[i]);
        const Eigen::VectorXd y = net.forward(in);
        const double v = y[r.true_label] - y[r.target_label];
        if (std::isfinite(v)) atomicMin(race->upper, v);
      }
      atomicMax(race->lower_mip, bound);
    };
  }
  auto sol = solve::solveMip(mm.m, sp);
  r.status = solve::statusName(sol.status);
  r.solver_message = sol.message;
  r.iterations = sol.iterations;
  r.solves = 1;
  r.solver_objective = sol.objective;
  r.bound = sol.bound;
  bool attack = false;
  if (sol.hasPoint()) attack = replayMarginAttack(net, box, x0, inputPoint(mm.e, sol.x, box), r);
  // A proven dual bound > 0 certifies robustness whether or not the search
  // for the minimum finished (solveMip claims no bound before the root LP is
  // solved). An infeasible model is never a proof: the box always has points.
  const bool bounded_run = sol.status == solve::SolveStatus::kOptimal ||
                           sol.status == solve::SolveStatus::kFeasible ||
                           sol.status == solve::SolveStatus::kNoSolution;
  if (attack)
    r.verdict = Verdict::kAttackFound;
  else if (bounded_run && r.bound > p.robust_tol)
    r.verdict = Verdict::kRobust;
  else if (sol.status == solve::SolveStatus::kOptimal ||
           sol.status == solve::SolveStatus::kInfeasible)
    r.verdict = Verdict::kNoAttackFound;  // optimum within tolerance of 0
  else
    r.verdict = Verdict::kTimeout;
  r.time_s = timer.seconds();
  return r;
}

MarginAttackResult runPwl(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                          const MarginAttackResult& r0, const MarginAttackParams& p) {
  Timer timer;
  const double limit = std::isfinite(p.time_limit) ? p.time_limit : kDefaultLocalTimeLimit;
  PwlMarginLocal local(net, box, x0, r0.true_label, r0.target_label, p);
  MarginAttackResult r =
      local.solveFrom(p.nlp_start, std::max(0.0, limit - timer.seconds()), p.cancel);
  r.time_s = timer.seconds();
  return r;
}

MarginAttackResult runNlp(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                          MarginAttackResult r, const MarginAttackParams& p) {
  if (!p.label_mpec && resolveLocal(p.local, net) == LocalSolver::kPwl)
    return runPwl(net, box, x0, r, p);
  Timer timer;
  Deadline deadline(std::isfinite(p.time_limit) ? p.time_limit : kDefaultLocalTimeLimit, p.cancel);
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kComplementarity;
  opt.input_chunk = p.input_chunk;
  switch (p.nlp_form) {
    case NlpForm::kScholtes:
      opt.compl_form = formulate::ComplForm::kRelaxed;
      opt.compl_param = p.tau_start;
      break;
    case NlpForm::kProduct: opt.compl_form = formulate::ComplForm::kProduct; break;
    case NlpForm::kInequality: opt.compl_form = formulate::ComplForm::kInequality; break;
    case NlpForm::kFischerBurmeister:
      opt.compl_form = formulate::ComplForm::kFischerBurmeister;
      opt.compl_param = p.tau_start;
      break;
    case NlpForm::kChenMangasarian:
      opt.compl_form = formulate::ComplForm::kChenMangasarian;
      opt.compl_param = p.tau_start;
      break;
    case NlpForm::kPenalty: opt.compl_form = formulate::ComplForm::kNone; break;
  }
  auto mm = buildMarginModel(net, box, r.true_label, r.target_label, opt, p, r);
  fillSize(r, mm);
  Eigen::VectorXd start = p.nlp_start.size() ? p.nlp_start : x0;
  for (Eigen::Index i = 0; i < start.size(); ++i)
    start[i] = std::clamp(start[i], box.lo[i], box.hi[i]);
  formulate::setStartFromInput(mm.m, net, mm.e, start);

  solve::SolveParams sp;
  sp.threads = 1;
  sp.verbose = p.solver_log;
  sp.cancel = p.cancel;
  sp.start = startVector(mm.m);
  // The continuation schedule: one parameter value per solve.
  const bool continuation = p.nlp_form == NlpForm::kScholtes ||
                            p.nlp_form == NlpForm::kFischerBurmeister ||
                            p.nlp_form == NlpForm::kChenMangasarian;
  std::vector<double> taus = {0.0};
  if (continuation) {
    taus.clear();
    for (double tau = p.tau_start; tau >= p.tau_end; tau *= p.tau_factor) taus.push_back(tau);
    if (taus.empty()) taus.push_back(p.tau_end);
  } else if (p.nlp_form == NlpForm::kPenalty) {
    taus.clear();
    for (double rho = p.rho_start; rho <= p.rho_end; rho *= p.rho_factor) taus.push_back(rho);
    if (taus.empty()) taus.push_back(p.rho_start);
  }
  solve::Solution sol;
  std::vector<double> best_x;
  for (double tau : taus) {
    if (deadline.expired()) break;
    if (continuation) formulate::setComplementarityParam(mm.m, mm.e, opt.compl_form, tau);
    if (p.nlp_form == NlpForm::kPenalty) {
      // objective = margin + rho * sum y*s
      mm.m.objQuadratic().clear();
      for (const auto& pr : mm.e.compl_pairs) mm.m.objQuadratic().push_back({pr.y, pr.s, tau});
    }
    sp.time_limit = deadline.remaining();
    sol = solve::solveNlp(mm.m, sp);
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
  if (!best_x.empty()) {
    mm.m.objQuadratic().clear();  // report the margin, not the penalised objective
    r.solver_objective = mm.m.evalObjective(best_x);
    r.compl_violation = formulate::complementarityViolation(mm.e, best_x);
    bool attack = replayMarginAttack(net, box, x0, inputPoint(mm.e, best_x, box), r);
    r.verdict = attack ? Verdict::kAttackFound : Verdict::kNoAttackFound;
  } else {
    r.verdict = deadline.expired() ? Verdict::kTimeout : Verdict::kNoAttackFound;
  }
  r.time_s = timer.seconds();
  return r;
}

// Minimises e_true - e_target over the box by ReLU-split branch and bound;
// the verdict follows the MIP's rules (robust only from a finished search
// with a proven bound > robust_tol, attacks only after replay).
MarginAttackResult runBab(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                          MarginAttackResult r, const MarginAttackParams& p,
                          Race* race = nullptr) {
  require(net.isPiecewiseLinear(),
          "bab needs a ReLU/LeakyReLU network (no Tanh/Sigmoid); use --method nlp");
  Timer timer;
  bab::BabParams bp;
  if (!p.bab_node_lp && net.isFullyConnected()) bab::useBetaNodes(bp);
  bp.fresh_candidates = p.bab_fresh;
  if (p.bab_beta_steps >= 0) bp.beta_iters_no_lp = p.bab_beta_steps;
  if (p.bab_batch > 0) bp.batch = p.bab_batch;
  bp.time_limit = p.time_limit;
  bp.starts = {x0};
  if (p.nlp_start.size() == x0.size()) bp.starts.push_back(p.nlp_start);
  if (p.bab_decide) {
    bp.mode = bab::BabMode::kDecide;
    bp.threshold = p.robust_tol;
  }
  bp.cancel = p.cancel;
  if (race != nullptr) {
    bp.cancel = &race->cancel;
    bp.shared_upper = &race->upper;
    bp.lower_out = &race->lower_bab;
  }
  Eigen::VectorXd c = Eigen::VectorXd::Zero(net.outputSize());
  c[r.true_label] = 1.0;
  c[r.target_label] = -1.0;
  const auto res = bab::reluBranchAndBound(net, box, c, bp);
  r.status = bab::babStatusName(res.status);
  r.iterations = res.nodes;
  r.solves = 1;
  r.solver_objective = res.objective;
  r.bound = res.lower_bound;
  r.unstable_relus = res.unstable_root;
  r.bounds_method = bp.root_lp_time_limit > 0 ? "lp" : "crown";
  r.bounds_time_s = res.root_time_s;
  const bool finished = res.status == bab::BabStatus::kOptimal ||
                        res.status == bab::BabStatus::kHolds ||
                        res.status == bab::BabStatus::kViolated;
  if (res.x.size() && replayMarginAttack(net, box, x0, res.x, r))
    r.verdict = Verdict::kAttackFound;
  else if (r.bound > p.robust_tol)  // a proven lower bound, finished or not
    r.verdict = Verdict::kRobust;
  else if (finished || res.status == bab::BabStatus::kIncomplete)
    r.verdict = Verdict::kNoAttackFound;
  else
    r.verdict = Verdict::kTimeout;
  r.time_s = timer.seconds();
  return r;
}

// CBC and the BaB race on two threads; the main thread watches the combined
// gap. Both solvers replay their points, so the reported margin is a forward
// pass, and the bound is the larger of two proven lower bounds.
MarginAttackResult runPortfolio(const nn::Network& net, const spec::Box& box,
                                const Eigen::VectorXd& x0, MarginAttackResult r,
                                const MarginAttackParams& p) {
  require(net.isPiecewiseLinear(),
          "portfolio (MIP + BaB) needs a ReLU/LeakyReLU network; use --method nlp");
  if (net.hasMaxPool()) {  // the BaB refuses MaxPool: the race is CBC alone
    r.method = "portfolio";
    MarginAttackParams pm = p;
    MarginAttackResult out = runMip(net, box, x0, r, pm);
    out.method = "portfolio";
    out.status += " (mip only: MaxPool)";
    return out;
  }
  Timer timer;
  Race race;
  MarginAttackResult rm = r, rb = r;
  rm.method = "mip";
  rb.method = "bab";
  std::atomic<bool> done_mip{false}, done_bab{false};
  std::exception_ptr err_mip, err_bab;
  MarginAttackParams pm = p, pb = p;
  pm.threads = 1;
  double ws_margin = std::numeric_limits<double>::quiet_NaN(), ws_time = 0.0;
  if (p.mip_warm_start) {
    // The NLP's replayed point seeds both: CBC's incumbent, a BaB start, and
    // the shared upper bound the BaB prunes against from its first node.
    const MarginAttackResult nr = nlpSeed(net, box, x0, r, p);
    ws_time = nr.time_s;
    if (hasSeedPoint(nr, x0)) {
      ws_margin = nr.margin;
      atomicMin(race.upper, nr.margin);
      pm.mip_start = nr.adversarial;
      pb.nlp_start = nr.adversarial;
    }
    pm.time_limit = pb.time_limit = std::max(0.0, p.time_limit - timer.seconds());
  }
  std::thread tm([&] {
    try {
      rm = runMip(net, box, x0, rm, pm, &race);
    } catch (...) {
      err_mip = std::current_exception();
      race.cancel = true;
    }
    done_mip = true;
  });
  std::thread tb([&] {
    try {
      rb = runBab(net, box, x0, rb, pb, &race);
    } catch (...) {
      err_bab = std::current_exception();
      race.cancel = true;
    }
    done_bab = true;
  });
  auto gap = [](double u) { return std::max(1e-4, 1e-4 * std::abs(u)); };
  bool combined = false;
  while (!(done_mip && done_bab)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (p.cancel != nullptr && p.cancel->load()) race.cancel = true;  // the caller's stop
    if ((done_mip && rm.status == "optimal") || (done_bab && rb.status == "optimal")) {
      race.cancel = true;  // one finished: the other has nothing left to add
      continue;
    }
    const double u = race.upper.load();
    const double l = std::max(race.lower_mip.load(), race.lower_bab.load());
    if (!race.cancel && std::isfinite(u) && l >= u - gap(u)) {
      combined = true;
      race.cancel = true;
    }
  }
  tm.join();
  tb.join();
  if (err_mip) std::rethrow_exception(err_mip);
  if (err_bab) std::rethrow_exception(err_bab);

  // The better replayed point of the two.
  const bool mip_better = !std::isnan(rm.margin) && (std::isnan(rb.margin) || rm.margin <= rb.margin);
  MarginAttackResult out = mip_better ? rm : rb;
  out.method = "portfolio";
  out.warm_start_margin = ws_margin;
  out.warm_start_time_s = ws_time;
  out.iterations = rm.iterations + rb.iterations;
  out.solves = 2;
  out.variables = rm.variables;
  out.binaries = rm.binaries;
  out.constraints = rm.constraints;
  out.unstable_relus = rm.unstable_relus;
  out.stable_relus = rm.stable_relus;
  out.bounds_method = rm.bounds_method;
  out.bounds_time_s = rm.bounds_time_s;
  // An infeasible MIP proves nothing (numerical trouble: the box has points).
  const double mip_bound = rm.status == "infeasible" ? -std::numeric_limits<double>::infinity()
                                                     : rm.bound;
  const double bound = std::max(mip_bound, rb.bound);
  out.bound = std::isnan(out.margin) ? bound : std::min(bound, out.margin);
  const bool mip_opt = rm.status == "optimal", bab_opt = rb.status == "optimal";
  const bool proven = mip_opt || bab_opt || combined ||
                      (!std::isnan(out.margin) && bound >= out.margin - gap(out.margin));
  if (proven)
    out.status = std::string("optimal (") +
                 (mip_opt ? "mip first" : bab_opt ? "bab first" : "combined bounds") + ")";
  else
    out.status = "timeout (mip: " + rm.status + ", bab: " + rb.status + ")";
  if (out.verdict != Verdict::kAttackFound) {
    if (bound > p.robust_tol)  // the larger of two proven lower bounds
      out.verdict = Verdict::kRobust;
    else if (proven)
      out.verdict = Verdict::kNoAttackFound;
    else
      out.verdict = Verdict::kTimeout;
  }
  out.time_s = timer.seconds();
  return out;
}

}  // namespace

MarginAttackResult marginAttack(const nn::Network& net, const spec::Box& box,
                                const Eigen::VectorXd& x0, int true_label, int target_label,
                                const MarginAttackParams& params) {
  const int n_out = static_cast<int>(net.outputSize());
  require(box.size() == net.inputSize() && x0.size() == net.inputSize(),
          "attack: input size does not match the network (" + std::to_string(net.inputSize()) +
              " expected)");
  require(!box.empty(), "attack: the input box is empty (some lower bound > upper bound)");
  require(true_label >= 0 && true_label < n_out,
          "label " + std::to_string(true_label) + " out of range: the network has " +
              std::to_string(n_out) + " outputs");
  require(target_label >= 0 && target_label < n_out && target_label != true_label,
          "target " + std::to_string(target_label) + " must be a class in [0," +
              std::to_string(n_out - 1) + "] other than the true label " +
              std::to_string(true_label));
  MarginAttackResult r;
  r.true_label = true_label;
  r.target_label = target_label;
  if (params.method == Method::kMip) {
    r.method = "mip";
    return runMip(net, box, x0, r, params);
  }
  if (params.method == Method::kBab) {
    r.method = "bab";
    return runBab(net, box, x0, r, params);
  }
  if (params.method == Method::kPortfolio) {
    r.method = "portfolio";
    return runPortfolio(net, box, x0, r, params);
  }
  r.method = std::string(params.label_mpec ? "mpec:" : "nlp:") + nlpFormName(params.nlp_form);
  return runNlp(net, box, x0, r, params);
}

}  // namespace nnopt::attack
