#include "verify/disjunct_model.h"

#include <algorithm>
#include <cmath>

#include "attack/pgd.h"
#include "core/error.h"
#include "nn/gradient.h"
#include "core/log.h"
#include "solve/lpcc_local.h"
#include "solve/solver.h"

namespace nnopt::verify {

namespace {

double widen(double v, double dir) {
  return v + dir * 1e-7 * (1.0 + std::abs(v));
}

std::vector<double> startVector(const model::MathModel& m) {
  std::vector<double> s(m.numVars());
  for (int j = 0; j < m.numVars(); ++j) s[j] = m.vars()[j].start;
  return s;
}

// The walk's first basis at the start s (dual simplex from there): inputs at
// the bound the gradient of the conjunction's largest constraint prefers,
// every neuron variable and t basic, that constraint's row at its bound and
// the other unsafe rows' slacks basic (LpccLocalSolver::solve ignores it
// when it is not a basis).
std::vector<signed char> falsifyCrash(const DisjunctModel& dm, const nn::Network& net,
                                      const std::vector<spec::OutputConstraint>& conj,
                                      const Eigen::VectorXd& s) {
  const int nv = dm.m.numVars(), nr = dm.m.numRows();
  std::vector<signed char> crash(nv + nr, -1);
  std::fill(crash.begin(), crash.begin() + nv, 0);
  for (int j = 0; j < nv; ++j)
    if (dm.m.vars()[j].lb == dm.m.vars()[j].ub) crash[j] = -1;
  if (conj.empty()) return crash;
  const Eigen::VectorXd y = net.forward(s);
  size_t top = 0;
  for (size_t k = 1; k < conj.size(); ++k)
    if (conj[k].eval(y) > conj[top].eval(y)) top = k;
  Eigen::VectorXd c = Eigen::VectorXd::Zero(net.outputSize());
  for (const auto& [j, a] : conj[top].coefs) c[j] += a;
  const Eigen::VectorXd g = nn::outputGradient(net, s, c);
  for (size_t i = 0; i < dm.e.input_vars.size(); ++i)
    crash[dm.e.input_vars[i]] = g[static_cast<Eigen::Index>(i)] < 0.0 ? 1 : -1;
  const int first = nr - static_cast<int>(conj.size());  // the unsafe rows come last
  for (size_t k = 0; k < conj.size(); ++k) crash[nv + first + static_cast<int>(k)] = k == top ? 1 : 0;
  return crash;
}

}  // namespace

const char* mipOutcomeName(MipOutcome o) {
  switch (o) {
    case MipOutcome::kRefuted:
      return "refuted";
    case MipOutcome::kCandidate:
      return "candidate";
    case MipOutcome::kOpen:
      return "open";
    case MipOutcome::kUnknown:
      return "unknown";
  }
  return "?";
}

double conjunctionMargin(const std::vector<spec::OutputConstraint>& conj,
                         const Eigen::VectorXd& y) {
  double m = -std::numeric_limits<double>::infinity();
  for (const auto& c : conj) {
    double v = c.eval(y);
    m = std::isnan(v) ? std::numeric_limits<double>::infinity() : std::max(m, v);
  }
  return m;
}

DisjunctModel buildDisjunctModel(const nn::Network& net, const bounds::BoundTable& bt,
                                 const std::vector<spec::OutputConstraint>& conj,
                                 const formulate::EmbedOptions& opt) {
  const int64_t n_out = net.outputSize();
  for (const auto& c : conj)
    for (const auto& [j, a] : c.coefs)
      require(j >= 0 && j < n_out, "verify: output constraint refers to Y_" + std::to_string(j) +
                                       " but the network has " + std::to_string(n_out) +
                                       " outputs");
  DisjunctModel dm;
  dm.e = formulate::embedNetwork(dm.m, net, bt, opt);
  auto [tlo, thi] = bounds::conjunctionRange(net, bt, conj);
  if (conj.empty()) tlo = thi = -1.0;  // always satisfied: any point has t = -1
  tlo = std::isfinite(tlo) ? widen(tlo, -1.0) : -model::kInf;
  thi = std::isfinite(thi) ? widen(thi, 1.0) : model::kInf;
  if (tlo > thi) std::swap(tlo, thi);
  dm.t = dm.m.addVar(tlo, thi, false, "t");
  for (size_t k = 0; k < conj.size(); ++k) {
    std::vector<model::LinTerm> terms;
    for (const auto& [j, a] : conj[k].coefs) terms.push_back({dm.e.output_vars[j], a});
    terms.push_back({dm.t, -1.0});
    dm.m.addRow(std::move(terms), -model::kInf, conj[k].rhs, "unsafe" + std::to_string(k));
  }
  dm.m.objLinear() = {{dm.t, 1.0}};
  dm.m.setSense(model::Sense::kMinimize);
  return dm;
}

void setDisjunctStart(DisjunctModel& dm, const nn::Network& net,
                      const std::vector<spec::OutputConstraint>& conj, const Eigen::VectorXd& x0) {
  formulate::setStartFromInput(dm.m, net, dm.e, x0);
  auto& tv = dm.m.vars()[dm.t];
  double t = conj.empty() ? -1.0 : conjunctionMargin(conj, net.forward(x0));
  tv.start = std::clamp(t, tv.lb, tv.ub);
}

Eigen::VectorXd inputOf(const DisjunctModel& dm, const std::vector<double>& sol,
                        const spec::Box& box) {
  Eigen::VectorXd p(static_cast<Eigen::Index>(dm.e.input_vars.size()));
  for (size_t i = 0; i < dm.e.input_vars.size(); ++i)
    p[i] = std::clamp(sol[dm.e.input_vars[i]], box.lo[i], box.hi[i]);
  return p;
}

MipResult solveDisjunctMip(const nn::Network& net, const spec::Box& box,
                           const bounds::BoundTable& bt,
                           const std::vector<spec::OutputConstraint>& conj, const MipParams& p) {
  Timer timer;
  MipResult r;
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kBigM;
  DisjunctModel dm = buildDisjunctModel(net, bt, conj, opt);
  r.binaries = dm.m.numIntegers();
  solve::SolveParams sp;
  sp.time_limit = p.time_limit;
  sp.cancel = p.cancel;
  sp.threads = p.threads;
  sp.stop_below = 0.0;
  sp.verbose = p.solver_log;
  if (p.start.size() == net.inputSize()) {
    Eigen::VectorXd s = p.start.cwiseMax(box.lo).cwiseMin(box.hi);
    setDisjunctStart(dm, net, conj, s);
    sp.start = startVector(dm.m);
  }
  solve::Solution sol = solve::solveMip(dm.m, sp);
  r.nodes = sol.iterations;
  r.objective = sol.objective;
  r.bound = sol.bound;
  r.status = std::string(solve::statusName(sol.status)) +
             (sol.message.empty() ? "" : " (" + sol.message + ")");
  if (sol.hasPoint()) r.x = inputOf(dm, sol.x, box);
  if (sol.hasPoint() && sol.objective <= 0.0)
    r.outcome = MipOutcome::kCandidate;
  else if ((sol.status == solve::SolveStatus::kOptimal ||
            sol.status == solve::SolveStatus::kFeasible ||
            sol.status == solve::SolveStatus::kNoSolution) &&
           sol.bound > p.unsat_tol)
    // A proven dual bound is valid whether or not the search finished; an
    // infeasible model is never taken as a proof (the model always has
    // points, so infeasibility can only be numerical trouble).
    r.outcome = MipOutcome::kRefuted;
  else if (sol.status == solve::SolveStatus::kOptimal)
    r.outcome = MipOutcome::kUnknown;  // optimum in [0, unsat_tol]
  else if (sol.status == solve::SolveStatus::kFeasible ||
           sol.status == solve::SolveStatus::kNoSolution)
    r.outcome = MipOutcome::kOpen;
  else
    r.outcome = MipOutcome::kUnknown;
  r.time_s = timer.seconds();
  return r;
}

NlpFalsifyResult nlpFalsify(const nn::Network& net, const spec::Box& box,
                            const bounds::BoundTable& bt,
                            const std::vector<spec::OutputConstraint>& conj,
                            const Eigen::VectorXd& x0, const NlpFalsifyParams& p) {
  Timer timer;
  Deadline deadline(std::isfinite(p.time_limit) ? p.time_limit : attack::kDefaultLocalTimeLimit,
                    p.cancel);
  NlpFalsifyResult r;
  try {
    formulate::EmbedOptions opt;
    opt.relu = formulate::ReluEncoding::kComplementarity;
    if (attack::resolveLocal(p.local, net) == attack::LocalSolver::kPwl) {
      // The native walk from x0's linear region (min t is linear; the
      // unstable units are the LPCC's pairs).
      r.method = "nlp:pwl";
      opt.compl_form = formulate::ComplForm::kNone;
      DisjunctModel dm = buildDisjunctModel(net, bt, conj, opt);
      const Eigen::VectorXd s = x0.cwiseMax(box.lo).cwiseMin(box.hi);
      setDisjunctStart(dm, net, conj, s);
      std::vector<solve::ComplementarityPair> pairs;
      for (const auto& pr : dm.e.compl_pairs) pairs.push_back({pr.y, pr.s});
      solve::LpccLocalSolver lpcc(dm.m, std::move(pairs));
      solve::LpccParams lp;
      lp.time_limit = deadline.remaining();
      lp.explore = p.explore;
      lp.cancel = p.cancel;
      const std::vector<signed char> crash = falsifyCrash(dm, net, conj, s);
      const auto res = lpcc.solve(startVector(dm.m), lp, &crash);
      r.solves = res.lp_solves;
      r.iterations = res.pivots;
      r.status = std::string(solve::statusName(res.status)) + " (" + res.message + ")";
      if (!res.x.empty()) {
        r.x = inputOf(dm, res.x, box);
        r.margin = conj.empty() ? -1.0 : conjunctionMargin(conj, net.forward(r.x));
      }
      r.time_s = timer.seconds();
      return r;
    }
    r.method = "nlp:scholtes";
    opt.compl_form = formulate::ComplForm::kRelaxed;
    opt.compl_param = p.tau_start;
    DisjunctModel dm = buildDisjunctModel(net, bt, conj, opt);
    Eigen::VectorXd s = x0.cwiseMax(box.lo).cwiseMin(box.hi);
    setDisjunctStart(dm, net, conj, s);
    solve::SolveParams sp;
    sp.threads = 1;
    sp.cancel = p.cancel;
    sp.start = startVector(dm.m);
    std::vector<double> last;
    solve::Solution sol;
    for (double tau = p.tau_start; tau >= p.tau_end; tau *= p.tau_factor) {
      if (deadline.expired()) break;
      formulate::setComplementarityParam(dm.m, dm.e, formulate::ComplForm::kRelaxed, tau);
      sp.time_limit = deadline.remaining();
      sol = solve::solveNlp(dm.m, sp);
      ++r.solves;
      r.iterations += sol.iterations;
      if (!sol.hasPoint()) break;
      last = sol.x;
      sp.start = sol.x;
    }
    r.status = std::string(solve::statusName(sol.status)) +
               (sol.message.empty() ? "" : " (" + sol.message + ")");
    if (!last.empty()) {
      r.x = inputOf(dm, last, box);
      r.margin = conj.empty() ? -1.0 : conjunctionMargin(conj, net.forward(r.x));
    }
  } catch (const Error& e) {
    r.status = std::string("error: ") + e.what();
  }
  r.time_s = timer.seconds();
  return r;
}

}  // namespace nnopt::verify
