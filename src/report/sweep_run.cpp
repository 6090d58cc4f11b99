// runSweep(): the sweep wired to the ONNX loader and the attack engine. Kept
// apart from sweep.cpp so that the bookkeeping/table code links without the
// solver backends (its tests inject their own runner).
#include "attack/attack.h"
#include "attack/exact_policy.h"
#include "attack/multistart.h"
#include "io/onnx.h"
#include "report/sweep.h"

namespace nnopt::report {
namespace {

// "optimal", or the portfolio's "optimal (mip first)" / "(bab first)" / "(combined bounds)".
bool provenOptimal(const attack::MarginAttackResult& r) {
  return r.status == "optimal" || r.status.rfind("optimal (", 0) == 0;
}

bool mipTimedOut(const attack::MarginAttackResult& r) {
  return !provenOptimal(r) && r.status != "infeasible";
}

void fillResult(SweepRecord& rec, const attack::MarginAttackResult& r) {
  rec.method_result = r.method;
  rec.verdict = attack::verdictName(r.verdict);
  rec.margin = r.margin;
  rec.bound = r.bound;
  rec.solver_objective = r.solver_objective;
  rec.status = r.status;
  rec.time_s = r.time_s;
  rec.variables = r.variables;
  rec.binaries = r.binaries;
  rec.constraints = r.constraints;
  rec.linf_distance = r.linf_distance;
}

SweepRecord runMethod(const nn::Network& net, const spec::Box& box, const Eigen::VectorXd& x0,
                      int true_label, int target_label, const MethodSpec& m, int starts,
                      const SweepParams& p) {
  attack::MarginAttackParams ap;
  ap.time_limit = p.time_limit;
  ap.cancel = p.cancel;
  ap.threads = 1;
  attack::MultiStartParams msp;
  if (m.nlpType()) {
    ap.method = attack::Method::kNlp;
    ap.label_mpec = m.kind == SweepMethodKind::kMpec;
    if (m.form == "pwl") {
      ap.local = attack::LocalSolver::kPwl;
    } else {
      ap.local = attack::LocalSolver::kIpopt;
      ap.nlp_form = attack::parseNlpForm(m.form);
    }
  } else if (m.kind == SweepMethodKind::kAuto) {
    ap.method = attack::Method::kNlp;  // the screen: the default local solver, as in `attack --method auto`
  }
  msp.nlp = ap;
  msp.starts = starts;
  msp.early_stop = p.early_stop;
  msp.threads = p.threads;

  SweepRecord rec;
  rec.starts = starts;
  if (m.exactType()) {
    // mip: CBC alone (the seed study's column); portfolio: CBC and the ReLU
    // BaB racing; exact: per network, the portfolio above the size rule of
    // attack/exact_policy.h, else CBC (its fixed costs do not pay there).
    std::string chosen;
    if (m.kind == SweepMethodKind::kExact) {
      attack::ExactPolicy policy;
      if (p.portfolio_min_unstable) policy.portfolio_min_unstable = *p.portfolio_min_unstable;
      const attack::ExactChoice c = attack::chooseExactMethod(net, box, policy);
      ap.method = c.method;
      chosen = attack::methodName(c.method);
    } else {
      ap.method = m.kind == SweepMethodKind::kMip ? attack::Method::kMip
                                                  : attack::Method::kPortfolio;
    }
    auto r = attack::marginAttack(net, box, x0, true_label, target_label, ap);
    fillResult(rec, r);
    if (!chosen.empty()) {
      rec.method_result = "exact(" + chosen + ")";
      rec.decided_by = chosen;
    }
    rec.timed_out = mipTimedOut(r);
    rec.proven = provenOptimal(r);
    rec.starts_run = 1;
    rec.first_attack_start = r.verdict == attack::Verdict::kAttackFound ? 0 : -1;
  } else if (m.kind == SweepMethodKind::kAuto) {
    attack::AutoParams autop;
    autop.screen = msp;
    autop.mip = ap;  // the exact stage: CBC or the portfolio (attack/exact_policy.h)
    auto a = attack::autoAttack(net, box, x0, true_label, target_label, autop);
    fillResult(rec, a.result);
    rec.decided_by = a.decided_by;
    rec.starts_run = a.screen.starts_run;
    rec.first_attack_start = a.screen.first_attack_start;
    rec.starts_per_s = a.screen.starts_per_s;
    rec.timed_out = a.mip_ran ? mipTimedOut(a.result)
                              : a.result.verdict == attack::Verdict::kTimeout;
    rec.proven = a.mip_ran && provenOptimal(a.result);
  } else if (starts > 1) {
    auto ms = attack::multiStartAttack(net, box, x0, true_label, target_label, msp);
    fillResult(rec, ms.best);
    rec.time_s = ms.time_s;
    rec.starts_run = ms.starts_run;
    rec.first_attack_start = ms.first_attack_start;
    rec.starts_per_s = ms.starts_per_s;
    rec.timed_out = ms.best.verdict == attack::Verdict::kTimeout;
  } else {
    auto r = attack::marginAttack(net, box, x0, true_label, target_label, ap);
    fillResult(rec, r);
    rec.starts_run = 1;
    rec.first_attack_start = r.verdict == attack::Verdict::kAttackFound ? 0 : -1;
    rec.starts_per_s = r.time_s > 0 ? 1.0 / r.time_s : std::numeric_limits<double>::quiet_NaN();
    rec.timed_out = r.verdict == attack::Verdict::kTimeout;
  }
  return rec;
}

}  // namespace

SweepOutcome runSweep(const SweepParams& p, const SweepProgressFn& progress,
                      const JobRunner& runner) {
  SweepHooks hooks;
  hooks.runner = runner;
  hooks.load_network = [](const std::string& path) { return io::loadOnnx(path); };
  hooks.run = runMethod;
  return runSweepWith(p, hooks, progress);
}

}  // namespace nnopt::report
