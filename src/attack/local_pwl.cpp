#include "attack/local_pwl.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attack/pgd.h"
#include "bounds/bound_table.h"
#include "core/error.h"
#include "nn/gradient.h"
#include "core/log.h"
#include "formulate/embed.h"
#include "model/math_model.h"

namespace nnopt::attack {

solve::LpccParams defaultLpccParams(double time_limit) {
  solve::LpccParams lp;
  lp.time_limit = time_limit;
  return lp;
}

struct PwlMarginLocal::Impl {
  const nn::Network* net = nullptr;
  spec::Box box;
  Eigen::VectorXd x0;
  int true_label = -1, target_label = -1;
  model::MathModel m;
  formulate::Embedding e;
  std::unique_ptr<solve::LpccLocalSolver> lpcc;
  MarginAttackResult base;  // model size and bounds fields, filled once
  double setup_s = 0.0;
  int pgd_steps = 0;
  int explore = 0;
  std::vector<signed char> crashAt(const Eigen::VectorXd& s) const;
};

PwlMarginLocal::PwlMarginLocal(const nn::Network& net, const spec::Box& box,
                               const Eigen::VectorXd& x0, int true_label, int target_label,
                               const MarginAttackParams& p)
    : impl_(std::make_unique<Impl>()) {
  require(net.isPiecewiseLinear(),
          "the native local solver needs a ReLU/LeakyReLU/MaxPool network (Tanh/Sigmoid: use "
          "--local ipopt)");
  auto& I = *impl_;
  Timer timer;
  I.net = &net;
  I.box = box;
  I.x0 = x0;
  I.true_label = true_label;
  I.target_label = target_label;
  I.pgd_steps = p.local_pgd_steps;
  I.explore = p.local_explore;
  // Interval bounds: the walk's result does not depend on them (they only
  // remove units that are stable over the whole box), and they cost one
  // forward pass where CROWN costs a back-substitution per layer.
  const auto level = p.local_bounds;
  auto bt = bounds::tightestBounds(net, box, level, std::min(p.lp_time_limit, 0.2 * p.time_limit));
  I.base.bounds_method = bt.method;
  I.base.bounds_time_s = timer.seconds();
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kComplementarity;
  opt.compl_form = formulate::ComplForm::kNone;
  I.e = formulate::embedNetwork(I.m, net, bt, opt);
  I.m.objLinear() = {{I.e.output_vars[true_label], 1.0}, {I.e.output_vars[target_label], -1.0}};
  I.m.setSense(model::Sense::kMinimize);
  std::vector<solve::ComplementarityPair> pairs;
  pairs.reserve(I.e.compl_pairs.size());
  for (const auto& pr : I.e.compl_pairs) pairs.push_back({pr.y, pr.s});
  I.lpcc = std::make_unique<solve::LpccLocalSolver>(I.m, std::move(pairs));
  I.base.true_label = true_label;
  I.base.target_label = target_label;
  I.base.method = "nlp:pwl";
  I.base.variables = I.m.numVars();
  I.base.binaries = 0;
  I.base.constraints = I.m.numRows();
  I.base.unstable_relus = I.e.unstable_relus;
  I.base.stable_relus = I.e.stable_relus;
  I.setup_s = timer.seconds();
}

PwlMarginLocal::~PwlMarginLocal() = default;
PwlMarginLocal::PwlMarginLocal(PwlMarginLocal&&) noexcept = default;
PwlMarginLocal& PwlMarginLocal::operator=(PwlMarginLocal&&) noexcept = default;

double PwlMarginLocal::setupSeconds() const { return impl_->setup_s; }

// The crash basis of a walk from s: inputs at the bound their gradient in
// s's piece prefers, every other free variable basic (see LpccLocalSolver::solve).
std::vector<signed char> PwlMarginLocal::Impl::crashAt(const Eigen::VectorXd& s) const {
  Eigen::VectorXd c = Eigen::VectorXd::Zero(net->outputSize());
  c[true_label] += 1.0;
  c[target_label] -= 1.0;
  const Eigen::VectorXd g = nn::outputGradient(*net, s, c);
  std::vector<signed char> crash(m.numVars(), 0);
  for (int j = 0; j < m.numVars(); ++j)
    if (m.vars()[j].lb == m.vars()[j].ub) crash[j] = -1;
  for (size_t i = 0; i < e.input_vars.size(); ++i)
    crash[e.input_vars[i]] = g[static_cast<Eigen::Index>(i)] < 0.0 ? 1 : -1;
  return crash;
}

MarginAttackResult PwlMarginLocal::solveFrom(const Eigen::VectorXd& start, double time_limit,
                                             const std::atomic<bool>* cancel, int explore) {
  auto& I = *impl_;
  Timer timer;
  Eigen::VectorXd s = start.size() ? start : I.x0;
  require(s.size() == I.x0.size(), "local solver: the start point has the wrong size");
  s = s.cwiseMax(I.box.lo).cwiseMin(I.box.hi);
  return walkFrom(s, time_limit, cancel, explore);
}

MarginAttackResult PwlMarginLocal::walkFrom(Eigen::VectorXd s, double time_limit,
                                            const std::atomic<bool>* cancel, int explore) {
  auto& I = *impl_;
  Timer timer;
  MarginAttackResult r = I.base;
  // PGD first (forward/backward passes only): the walk then starts in a
  // region near a good local minimum and needs few flips (sweep 5x60: 110
  // flips / 2525 pivots from the clean image, 8 / 64 after 20 PGD steps).
  if (I.pgd_steps > 0) {
    spec::OutputSpec os;
    os.disjuncts.push_back({spec::OutputConstraint{{{I.true_label, 1.0}, {I.target_label, -1.0}}, 0.0}});
    PgdParams pp;
    pp.restarts = 1;
    pp.steps = I.pgd_steps;
    pp.time_limit = 0.5 * time_limit;
    pp.target = -std::numeric_limits<double>::infinity();
    pp.starts = {s};
    const PgdResult pr = pgdMinimize(*I.net, I.box, os, pp);
    if (pr.x.size() == s.size()) s = pr.x;
  }
  formulate::setStartFromInput(I.m, *I.net, I.e, s);
  std::vector<double> sv(I.m.numVars());
  for (int j = 0; j < I.m.numVars(); ++j) sv[j] = I.m.vars()[j].start;
  const std::vector<signed char> crash = I.crashAt(s);
  solve::LpccParams lp = defaultLpccParams(time_limit);
  lp.explore = explore >= 0 ? explore : I.explore;
  lp.cancel = cancel;
  const solve::LpccResult res = I.lpcc->solve(sv, lp, &crash);
  r.status = std::string(solve::statusName(res.status)) + " (" + res.message + ")";
  r.iterations = res.pivots;
  r.solves = res.lp_solves;
  r.local_flips = res.flips;
  r.local_ties = res.ties;
  r.local_ties_checked = res.ties_checked;
  r.local_certified = res.certified;
  r.local_explored = res.explored;
  r.local_explore_moves = res.explore_moves;
  bool attack = false;
  if (!res.x.empty()) {
    r.solver_objective = res.objective;
    r.compl_violation = formulate::complementarityViolation(I.e, res.x);
    Eigen::VectorXd xin(static_cast<Eigen::Index>(I.e.input_vars.size()));
    for (size_t i = 0; i < I.e.input_vars.size(); ++i)
      xin[i] = std::clamp(res.x[I.e.input_vars[i]], I.box.lo[i], I.box.hi[i]);
    attack = replayMarginAttack(*I.net, I.box, I.x0, xin, r);
  } else {
    // No point from the walk: the start itself is a point of the box.
    attack = replayMarginAttack(*I.net, I.box, I.x0, s, r);
  }
  r.verdict = attack ? Verdict::kAttackFound : Verdict::kNoAttackFound;
  if (!attack && res.x.empty() && res.message.find("time") != std::string::npos)
    r.verdict = Verdict::kTimeout;
  r.time_s = timer.seconds();
  return r;
}

}  // namespace nnopt::attack
