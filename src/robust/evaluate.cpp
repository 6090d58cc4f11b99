// evaluateImage(): the verdicts of one image at every eps, cheapest stage
// first, with what one eps decides carried to the others (see robustness.h).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

#include "attack/attack.h"
#include "attack/pgd.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "core/log.h"
#include "robust/robustness.h"
#include "verify/verify.h"

namespace nnopt::robust {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// What one image's solves have established so far, shared by its eps.
struct Knowledge {
  // Replayed attack points and the eps whose solve found them.
  struct Point {
    Eigen::VectorXd x;
    double eps;
  };
  std::vector<Point> points;
  // Per output class: the largest eps at which it is proven (-inf: none) and
  // the proven lower bound there (valid in every smaller box).
  std::vector<double> proven_eps;
  std::vector<double> proven_lb;
  // Best PGD points of earlier solves (starts for the next ones).
  std::vector<Eigen::VectorXd> hints;
};

// One (image, eps) solve.
class EpsSolver {
 public:
  EpsSolver(const nn::Network& net, const Eigen::VectorXd& x0, int label,
            const RobustParams& p, Knowledge& k, double eps)
      : net_(net), x0_(x0), label_(label), p_(p), k_(k), eps_(eps),
        box_(spec::linfBall(x0, eps, 0.0, 1.0)), deadline_(p.time_limit, p.cancel) {
    const int n_out = static_cast<int>(net.outputSize());
    lb_.assign(n_out, -kInf);
    proven_.assign(n_out, false);
    pgd_margin_.assign(n_out, kInf);
    for (int j = 0; j < n_out; ++j) {
      if (j == label) continue;
      if (k.proven_eps[j] >= eps) {
        lb_[j] = k.proven_lb[j];
        proven_[j] = true;
        ++row_.classes_inferred;
      } else {
        pending_.push_back(j);
      }
    }
  }

  EpsRow run() {
    Timer t;
    row_.eps = eps_;
    row_.solved = true;
    const bool decided = pgd() || proveByCrown() || localNlp() || exact();
    if (!decided) {
      row_.verdict = "unknown";
      if (row_.status.empty())
        row_.status = fmt::format("{} of {} classes unproven", pending_.size(),
                                  net_.outputSize() - 1);
    }
    row_.margin_lower = minLowerBound();
    row_.time_s = t.seconds();
    return row_;
  }

 private:
  double minLowerBound() const {
    double m = kInf;
    for (int j = 0; j < static_cast<int>(lb_.size()); ++j)
      if (j != label_) m = std::min(m, lb_[j]);
    return m;
  }

  // Replays x (clamped into the box) and records it: true when it is an attack.
  bool offer(const Eigen::VectorXd& x, const std::string& stage) {
    if (x.size() != x0_.size() || !x.allFinite()) return false;
    const Eigen::VectorXd xc = x.cwiseMax(box_.lo).cwiseMin(box_.hi);
    double margin = 0;
    int cls = -1;
    const bool attacked = replayUntargeted(net_, box_, label_, xc, &margin, &cls);
    if (std::isnan(row_.margin_upper) || margin < row_.margin_upper) row_.margin_upper = margin;
    if (!attacked) return false;
    row_.verdict = "attacked";
    row_.decided_by = stage;
    row_.adv_class = cls;
    row_.linf = (xc - x0_).cwiseAbs().maxCoeff();
    row_.adversarial = xc;
    row_.status = fmt::format("replayed: logit[{}] > logit[{}] by {:.3g}", cls, label_, -margin);
    k_.points.push_back({xc, eps_});
    return true;
  }

  void prove(int j, double lb) {
    lb_[j] = std::max(lb_[j], lb);
    proven_[j] = true;
    if (eps_ > k_.proven_eps[j] || (eps_ == k_.proven_eps[j] && lb > k_.proven_lb[j])) {
      k_.proven_eps[j] = eps_;
      k_.proven_lb[j] = lb;
    }
  }

  // Drops the proven classes from pending_; true (certified) when none is left.
  bool settle(const std::string& stage) {
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                  [&](int j) { return proven_[j]; }),
                   pending_.end());
    if (!pending_.empty()) return false;
    row_.verdict = "certified";
    row_.decided_by = stage;
    row_.status = fmt::format("every class proven: margin >= {:.3g}", minLowerBound());
    return true;
  }

  bool timeUp() {
    if (!deadline_.expired()) return false;
    row_.status = fmt::format("time limit ({} s): {} classes unproven", p_.time_limit,
                              pending_.size());
    return true;
  }

  // "Some pending class j beats the label": one disjunct y_label - y_j <= 0 per class.
  spec::OutputSpec unsafeSpec() const {
    spec::OutputSpec unsafe;
    for (int j : pending_) {
      spec::OutputConstraint c;
      c.coefs = {{label_, 1.0}, {j, -1.0}};
      unsafe.disjuncts.push_back({c});
    }
    return unsafe;
  }

  // Stage 1: PGD on the disjunction "some pending class beats the label".
  bool pgd() {
    if (pending_.empty()) return settle("inferred");
    const spec::OutputSpec unsafe = unsafeSpec();
    attack::PgdParams pp;
    pp.restarts = p_.pgd_restarts;
    pp.steps = p_.pgd_steps;
    pp.seed = p_.seed;
    pp.time_limit = std::min(2.0, p_.pgd_time_frac * p_.time_limit);
    pp.target = -1e-9;
    pp.cancel = p_.cancel;
    pp.starts.push_back(x0_);
    for (const auto& h : k_.hints) pp.starts.push_back(h);
    for (const auto& pt : k_.points) pp.starts.push_back(pt.x);
    pp.restarts = std::max<int>(pp.restarts, static_cast<int>(pp.starts.size()));
    const attack::PgdResult r = attack::pgdMinimize(net_, box_, unsafe, pp);
    if (r.x.size() == 0) return false;
    best_x_ = r.x;
    k_.hints.push_back(r.x);
    for (int j : pending_) pgd_margin_[j] = r.y[label_] - r.y[j];
    return offer(r.x, "pgd");
  }

  // Stage 2: CROWN, then alpha-CROWN on the classes it leaves open.
  bool proveByCrown() {
    if (timeUp()) return false;
    const bounds::BoundTable t = bounds::crownBounds(net_, box_);
    const int n_out = static_cast<int>(net_.outputSize());
    auto objective = [&](int j) {
      Eigen::VectorXd c = Eigen::VectorXd::Zero(n_out);
      c[label_] = 1.0;
      c[j] = -1.0;
      return c;
    };
    for (int j : pending_) {
      const double lb = bounds::crownLowerBound(net_, box_, t, objective(j));
      lb_[j] = std::max(lb_[j], lb);
      if (lb > p_.robust_tol) {
        prove(j, lb);
        ++row_.classes_bound;
      }
    }
    if (settle("crown")) return true;
    if (p_.alpha_iters <= 0) return false;
    bounds::CrownParams cp;
    cp.alpha_iters = p_.alpha_iters;
    for (int j : pending_) {
      if (timeUp()) return false;
      const double lb = bounds::crownLowerBound(net_, box_, t, objective(j), cp);
      lb_[j] = std::max(lb_[j], lb);
      if (lb > p_.robust_tol) {
        prove(j, lb);
        ++row_.classes_bound;
      }
    }
    return settle("alpha-crown");
  }

  // The pending classes, most promising attack first (smallest PGD margin,
  // then smallest lower bound).
  std::vector<int> attackOrder() const {
    std::vector<int> order = pending_;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      if (pgd_margin_[a] != pgd_margin_[b]) return pgd_margin_[a] < pgd_margin_[b];
      return lb_[a] < lb_[b];
    });
    return order;
  }

  attack::MarginAttackParams attackParams(double time_limit) const {
    attack::MarginAttackParams ap;
    ap.time_limit = time_limit;
    ap.threads = 1;
    ap.robust_tol = p_.robust_tol;
    ap.cancel = p_.cancel;
    if (best_x_.size() == x0_.size()) ap.nlp_start = best_x_;
    return ap;
  }

  // Stage 3: the local solver on the most promising class.
  bool localNlp() {
    if (!p_.nlp_screen || pending_.empty() || timeUp()) return false;
    attack::MarginAttackParams ap =
        attackParams(std::min({5.0, p_.nlp_time_frac * p_.time_limit, deadline_.remaining()}));
    ap.method = attack::Method::kNlp;
    const int j = attackOrder().front();
    try {
      const auto r = attack::marginAttack(net_, box_, x0_, label_, j, ap);
      if (r.adversarial.size()) return offer(r.adversarial, "nlp");
    } catch (const Error& e) {
      logWarn(std::string("robustness: local NLP failed: ") + e.what());
    }
    return false;
  }

  bool useVerify() const {
    return p_.method == ExactMethod::kVerify ||
           (p_.method == ExactMethod::kAuto && !net_.hasMaxPool());
  }

  // The verifier on the disjunction of the pending classes: sat is replayed
  // here again; unsat proves every pending class (margin > robust_tol).
  bool exactVerify() {
    spec::Property prop;
    prop.input_boxes = {box_};
    prop.unsafe = unsafeSpec();
    verify::VerifyParams vp;
    vp.timeout_s = deadline_.remaining();
    vp.threads = 1;
    vp.seed = p_.seed;
    vp.nlp = false;  // the local solver ran already
    vp.pgd_restarts = 2;
    vp.pgd_steps = 20;
    vp.prune_tol = p_.robust_tol;
    vp.mip_unsat_tol = p_.robust_tol;
    vp.cancel = p_.cancel;
    const verify::VerifyResult r = verify::verifyProperty(net_, prop, vp);
    if (r.answer == verify::VerifyAnswer::kSat) {
      if (offer(r.x, "exact:verify")) return true;
      row_.status = "verify: counterexample did not replay";
      return false;
    }
    if (r.answer == verify::VerifyAnswer::kUnsat) {
      for (int j : pending_) {
        prove(j, p_.robust_tol);
        ++row_.classes_exact;
      }
      return settle("exact:verify");
    }
    row_.status = fmt::format("verify: {} ({} of {} classes refuted, not carried over)",
                              verify::answerName(r.answer), r.disjuncts_refuted, r.disjuncts);
    return false;
  }

  attack::Method exactMethod() const {
    switch (p_.method) {
      case ExactMethod::kMip: return attack::Method::kMip;
      case ExactMethod::kBab: return attack::Method::kBab;
      case ExactMethod::kPortfolio: return attack::Method::kPortfolio;
      default: return attack::Method::kMip;  // auto on MaxPool networks
    }
  }

  // One exact solve of class j within time_limit: true when it attacked.
  // Proven classes are recorded; an unfinished one stays pending.
  bool exactClass(int j, double time_limit, const std::string& stage) {
    attack::MarginAttackParams ap = attackParams(time_limit);
    ap.method = exactMethod();
    // Decision mode: stop at the first attack or a bound above the tolerance.
    ap.bab_decide = ap.method == attack::Method::kBab;
    const auto r = attack::marginAttack(net_, box_, x0_, label_, j, ap);
    if (r.adversarial.size() && offer(r.adversarial, stage)) return true;
    if (std::isfinite(r.bound)) lb_[j] = std::max(lb_[j], r.bound);
    if (r.verdict == attack::Verdict::kRobust && r.bound > p_.robust_tol) {
      prove(j, r.bound);
      ++row_.classes_exact;
    }
    return false;
  }

  // Stage 4: the exact method per pending class, most promising attack first;
  // each class gets an equal share of the time left, and the classes an
  // earlier share did not settle get the time left over in a second pass.
  bool exact() {
    if (p_.method == ExactMethod::kNone || pending_.empty()) return false;
    if (!net_.isPiecewiseLinear()) {
      row_.status = "no exact method for Tanh/Sigmoid networks: screens only";
      return false;
    }
    if (useVerify()) {
      try {
        return exactVerify();
      } catch (const Error& e) {
        row_.status = std::string("exact method failed: ") + e.what();
        return false;
      }
    }
    const std::string stage = std::string("exact:") + attack::methodName(exactMethod());
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<int> order = attackOrder();
      for (size_t k = 0; k < order.size(); ++k) {
        if (timeUp()) return false;
        const double share = deadline_.remaining() / static_cast<double>(order.size() - k);
        try {
          if (exactClass(order[k], share, stage)) return true;
        } catch (const Error& e) {
          row_.status = std::string("exact method failed: ") + e.what();
          return false;
        }
      }
      if (settle(stage)) return true;
      if (deadline_.remaining() < 0.05 * p_.time_limit) break;
    }
    timeUp();
    return false;
  }

  const nn::Network& net_;
  const Eigen::VectorXd& x0_;
  const int label_;
  const RobustParams& p_;
  Knowledge& k_;
  const double eps_;
  const spec::Box box_;
  const Deadline deadline_;
  EpsRow row_;
  std::vector<int> pending_;         // wrong classes not proven yet
  std::vector<double> lb_;           // per class: best proven lower bound in this box
  std::vector<bool> proven_;         // per class: margin > robust_tol over this box
  std::vector<double> pgd_margin_;   // per class: y_label - y_j at the best PGD point
  Eigen::VectorXd best_x_;
};

// A verdict for eps from what is known, without solving: an attack point that
// lies in its box, or every class proven at a larger (or equal) eps.
bool inferRow(const nn::Network& net, const Eigen::VectorXd& x0, int label, const Knowledge& k,
              double eps, EpsRow& row) {
  const spec::Box box = spec::linfBall(x0, eps, 0.0, 1.0);
  for (const auto& pt : k.points) {
    double margin = 0;
    int cls = -1;
    if (!replayUntargeted(net, box, label, pt.x, &margin, &cls)) continue;
    row.verdict = "attacked";
    row.adv_class = cls;
    row.linf = (pt.x - x0).cwiseAbs().maxCoeff();
    row.margin_upper = std::isnan(row.margin_upper) ? margin : std::min(row.margin_upper, margin);
    row.from_eps = pt.eps;
    row.status = fmt::format("the attack found at eps {} lies in this box", pt.eps);
    return true;
  }
  double weakest = kInf, lb = kInf;
  for (int j = 0; j < static_cast<int>(k.proven_eps.size()); ++j) {
    if (j == label) continue;
    if (!(k.proven_eps[j] >= eps)) return false;
    weakest = std::min(weakest, k.proven_eps[j]);
    lb = std::min(lb, k.proven_lb[j]);
  }
  row.verdict = "certified";
  row.from_eps = weakest;
  row.margin_lower = lb;
  row.classes_inferred = static_cast<int>(k.proven_eps.size()) - 1;
  row.status = fmt::format("every class proven at eps >= {}", weakest);
  return true;
}

bool cancelled(const RobustParams& p) { return p.cancel != nullptr && p.cancel->load(); }

// Shrinks r's upper end to x when x is a counterexample: inside [0,1]^n,
// finite, and Network::forward(x) has some wrong class above the label.
void offerCounterexample(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                         const Eigen::VectorXd& x, RadiusResult& r) {
  if (x.size() != x0.size() || !x.allFinite() || x.minCoeff() < 0.0 || x.maxCoeff() > 1.0) return;
  int cls = -1;
  if (!(untargetedMargin(net.forward(x), label, &cls) < 0)) return;
  const double d = (x - x0).cwiseAbs().maxCoeff();
  if (d >= r.attacked_hi) return;
  r.attacked_hi = d;
  r.adversarial = x;
  r.adv_class = cls;
}

// The next eps to probe: the middle of [lo, hi], or, with no counterexample
// yet, twice lo (capped at 1, where the box is all of [0,1]^n).
double nextProbe(const RadiusResult& r, double tol) {
  if (std::isfinite(r.attacked_hi)) return 0.5 * (r.certified_lo + r.attacked_hi);
  return std::min(1.0, r.certified_lo > 0 ? 2.0 * r.certified_lo : std::max(16.0 * tol, 1e-3));
}

// Bisection between the largest certified eps and the closest counterexample
// of the grid rows (and of k), one (image, eps) instance per probe, sharing
// k's attack points and per-class proofs.
RadiusResult searchRadius(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                          const RobustParams& p, Knowledge& k, const std::vector<EpsRow>& rows) {
  RadiusResult r;
  for (const auto& row : rows) {
    if (row.verdict == "certified") r.certified_lo = std::max(r.certified_lo, row.eps);
    if (row.verdict == "attacked") offerCounterexample(net, x0, label, row.adversarial, r);
  }
  for (const auto& pt : k.points) offerCounterexample(net, x0, label, pt.x, r);
  double every_class = kInf;  // the per-class proofs carried in k
  for (int j = 0; j < static_cast<int>(k.proven_eps.size()); ++j)
    if (j != label) every_class = std::min(every_class, k.proven_eps[j]);
  if (std::isfinite(every_class)) r.certified_lo = std::max(r.certified_lo, every_class);
  Timer t;
  while (!cancelled(p)) {
    if (r.attacked_hi - r.certified_lo <= p.radius_tol) {
      r.closed = true;
      r.status = fmt::format("closed: width {:.3g} <= {:.3g} after {} probes",
                             r.attacked_hi - r.certified_lo, p.radius_tol, r.probes);
      break;
    }
    if (r.certified_lo >= 1.0) {
      r.status = "certified on all of [0,1]^n: no counterexample exists";
      break;
    }
    if (r.probes >= p.radius_probes) {
      r.status = fmt::format("probe cap ({}) reached", p.radius_probes);
      break;
    }
    const double eps = nextProbe(r, p.radius_tol);
    EpsRow row;
    if (!inferRow(net, x0, label, k, eps, row)) {
      row = EpsSolver(net, x0, label, p, k, eps).run();
      ++r.probes;
    }
    if (row.verdict == "certified") {
      r.certified_lo = std::max(r.certified_lo, eps);
      continue;
    }
    const double before = r.attacked_hi;
    if (row.verdict == "attacked") {
      offerCounterexample(net, x0, label, row.adversarial, r);
      for (const auto& pt : k.points) offerCounterexample(net, x0, label, pt.x, r);
      if (r.attacked_hi < before) continue;
      r.status = fmt::format("probe at eps {:.6g} attacked without a closer point", eps);
      break;
    }
    r.status = fmt::format("probe at eps {:.6g} unknown ({}): the interval stays as proven", eps,
                           row.status);
    break;
  }
  if (r.attacked_hi < r.certified_lo)  // a bound and a replay disagree: say so, keep both
    r.status += fmt::format("; inconsistent: counterexample at {:.6g} below certified {:.6g}",
                            r.attacked_hi, r.certified_lo);
  r.time_s = t.seconds();
  return r;
}

RadiusResult misclassifiedRadius() {
  RadiusResult r;
  r.attacked_hi = 0.0;
  r.closed = true;
  r.status = "misclassified: the clean image is a counterexample";
  return r;
}

Knowledge freshKnowledge(int n_out) {
  Knowledge k;
  k.proven_eps.assign(n_out, -kInf);
  k.proven_lb.assign(n_out, -kInf);
  return k;
}

}  // namespace

const char* exactMethodName(ExactMethod m) {
  switch (m) {
    case ExactMethod::kAuto: return "auto";
    case ExactMethod::kVerify: return "verify";
    case ExactMethod::kPortfolio: return "portfolio";
    case ExactMethod::kMip: return "mip";
    case ExactMethod::kBab: return "bab";
    case ExactMethod::kNone: return "none";
  }
  return "?";
}

ExactMethod parseExactMethod(const std::string& s) {
  for (ExactMethod m : {ExactMethod::kAuto, ExactMethod::kVerify, ExactMethod::kPortfolio,
                        ExactMethod::kMip, ExactMethod::kBab, ExactMethod::kNone})
    if (s == exactMethodName(m)) return m;
  throw Error("--method must be auto, verify, portfolio, mip, bab or none (got '" + s + "')");
}

double untargetedMargin(const Eigen::VectorXd& y, int label, int* cls) {
  int best = -1;
  for (int j = 0; j < static_cast<int>(y.size()); ++j)
    if (j != label && (best < 0 || y[j] > y[best])) best = j;
  if (cls) *cls = best;
  return best < 0 ? kInf : y[label] - y[best];
}

bool replayUntargeted(const nn::Network& net, const spec::Box& box, int label,
                      const Eigen::VectorXd& x, double* margin, int* cls) {
  if (x.size() != net.inputSize() || !x.allFinite() || !box.contains(x, 0.0)) return false;
  const Eigen::VectorXd y = net.forward(x);
  if (!y.allFinite()) return false;
  int c = -1;
  const double m = untargetedMargin(y, label, &c);
  if (margin) *margin = m;
  if (cls) *cls = c;
  return m < 0;
}

std::vector<double> normalizeEps(std::vector<double> eps) {
  require(!eps.empty(), "--eps: give at least one budget (e.g. --eps 0.01,0.03)");
  for (double e : eps)
    require(std::isfinite(e) && e >= 0, fmt::format("--eps: every budget must be a finite number "
                                                    ">= 0 (got {})", e));
  std::sort(eps.begin(), eps.end());
  eps.erase(std::unique(eps.begin(), eps.end()), eps.end());
  return eps;
}

ImageResult evaluateImage(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                          const RobustParams& params) {
  const int n_out = static_cast<int>(net.outputSize());
  require(x0.size() == net.inputSize(),
          fmt::format("image has {} pixels but the network expects {} inputs", x0.size(),
                      net.inputSize()));
  require(n_out >= 2, "robustness needs a network with at least 2 outputs");
  require(label >= 0 && label < n_out,
          fmt::format("label {} out of range: the network has {} outputs", label, n_out));
  require(std::is_sorted(params.eps.begin(), params.eps.end()), "robustness: eps must be sorted");
  ImageResult out;
  out.label = label;
  const Eigen::VectorXd y0 = net.forward(x0);
  Eigen::Index am = 0;
  y0.maxCoeff(&am);
  out.predicted = static_cast<int>(am);
  out.clean_margin = untargetedMargin(y0, label);
  const int n = static_cast<int>(params.eps.size());
  out.rows.resize(n);
  for (int i = 0; i < n; ++i) out.rows[i].eps = params.eps[i];
  if (!(out.clean_margin > 0)) {
    for (auto& r : out.rows) {
      r.verdict = "misclassified";
      r.decided_by = "clean";
      r.margin_upper = out.clean_margin;
      r.status = fmt::format("the clean image is classified {} (label {})", out.predicted, label);
    }
    if (params.radius) out.radius = misclassifiedRadius();
    return out;
  }
  auto fresh = [&] { return freshKnowledge(n_out); };
  Knowledge k = fresh();
  std::vector<bool> done(n, false);
  // Infer or solve row i; with params.infer off every row is solved alone.
  auto decide = [&](int i) {
    if (done[i]) return;
    done[i] = true;
    EpsRow& row = out.rows[i];
    if (!params.infer) {
      Knowledge alone = fresh();
      row = EpsSolver(net, x0, label, params, alone, params.eps[i]).run();
      return;
    }
    if (inferRow(net, x0, label, k, params.eps[i], row)) {
      row.inferred = true;
      row.decided_by = "inferred";
      return;
    }
    row = EpsSolver(net, x0, label, params, k, params.eps[i]).run();
  };
  // Bisection over the sorted eps: an attack settles the larger ones, a
  // certificate the smaller ones; an unknown leaves both halves to solve.
  std::function<void(int, int)> bisect = [&](int lo, int hi) {
    if (lo > hi || cancelled(params)) return;
    const int mid = lo + (hi - lo) / 2;
    decide(mid);
    const std::string& v = out.rows[mid].verdict;
    if (v == "attacked") {
      for (int i = mid + 1; i <= hi; ++i) decide(i);
      bisect(lo, mid - 1);
    } else if (v == "certified") {
      for (int i = lo; i < mid; ++i) decide(i);
      bisect(mid + 1, hi);
    } else {
      bisect(lo, mid - 1);
      bisect(mid + 1, hi);
    }
  };
  bisect(0, n - 1);
  // Rows solved to unknown that a later solve settled.
  for (auto& row : out.rows) {
    if (!params.infer || row.verdict != "unknown") continue;
    EpsRow up = row;
    if (!inferRow(net, x0, label, k, row.eps, up)) continue;
    up.upgraded = true;
    up.decided_by = "inferred";
    row = up;
  }
  if (params.radius && !cancelled(params)) out.radius = searchRadius(net, x0, label, params, k, out.rows);
  out.cancelled = cancelled(params);
  return out;
}

RadiusResult radiusFromRows(const nn::Network& net, const Eigen::VectorXd& x0, int label,
                            const RobustParams& params, const std::vector<EpsRow>& rows) {
  const int n_out = static_cast<int>(net.outputSize());
  require(x0.size() == net.inputSize() && label >= 0 && label < n_out,
          "radius: image size or label does not fit the network");
  if (!(untargetedMargin(net.forward(x0), label) > 0)) return misclassifiedRadius();
  Knowledge k = freshKnowledge(n_out);
  return searchRadius(net, x0, label, params, k, rows);
}

}  // namespace nnopt::robust
