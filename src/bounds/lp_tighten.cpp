#include "bounds/lp_tighten.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "bounds/crown.h"
#include "core/error.h"
#include "core/log.h"
#include "model/math_model.h"
#include "solve/lp_session.h"

namespace nnopt::bounds {

namespace {

using Eigen::VectorXd;
using model::kInf;
using model::LinTerm;
using solve::LpSession;
using solve::SolveStatus;

// A layer output as an affine function of one LP variable:
// value = scale * x[var] + offset, or the constant offset when var < 0.
// Stable ReLUs and LeakyReLUs then need no variable of their own.
struct Expr {
  int var = -1;
  double scale = 0.0;
  double offset = 0.0;
};

// How far an accepted LP bound is moved outward (covers the rounding error of
// the network's own forward pass compared with the exact LP rows).
double outward(double v) { return 1e-7 * (1.0 + std::abs(v)); }

// Range of f over [l, u]: every supported activation is monotone on each side
// of 0, so it is spanned by f(l), f(u) and f(0).
void activationRange(const nn::Activation& a, double l, double u, double& lo, double& hi) {
  const double fl = a.apply(l), fu = a.apply(u);
  lo = std::min(fl, fu);
  hi = std::max(fl, fu);
  if (l < 0 && u > 0) {
    lo = std::min(lo, a.apply(0.0));
    hi = std::max(hi, a.apply(0.0));
  }
}

// Intersects [lo, hi] with [lo2, hi2]. Two sound enclosures can only cross by
// rounding; then keep an ordered pair.
void intersect(double& lo, double& hi, double lo2, double hi2) {
  lo = std::max(lo, lo2);
  hi = std::min(hi, hi2);
  if (lo > hi) std::swap(lo, hi);
}

bool isPiecewise(const nn::Activation& a) {
  return a.kind == nn::ActKind::kRelu || a.kind == nn::ActKind::kLeakyRelu;
}

double slopeOf(const nn::Activation& a) {
  return a.kind == nn::ActKind::kLeakyRelu ? a.alpha : 0.0;
}

void checkInputs(const nn::Network& net, const spec::Box& box, const BoundTable& start) {
  require(box.lo.size() == net.inputSize() && box.hi.size() == net.inputSize(),
          "lp bounds: box has " + std::to_string(box.size()) + " dimensions, network input has " +
              std::to_string(net.inputSize()));
  require(box.lo.allFinite() && box.hi.allFinite(), "lp bounds: input box must be finite");
  require(!box.empty(), "lp bounds: input box is empty");
  const size_t L = net.numLayers();
  require(start.lo.size() == L && start.hi.size() == L,
          "lp bounds: the start bound table has " + std::to_string(start.lo.size()) +
              " layers, the network " + std::to_string(L));
  for (size_t i = 0; i < L; ++i)
    require(start.lo[i].size() == net.layers()[i].outSize() &&
                start.hi[i].size() == net.layers()[i].outSize(),
            "lp bounds: the start bound table does not match layer " + std::to_string(i) + " ('" +
                net.layers()[i].name + "')");
}

class Tightener {
 public:
  Tightener(const nn::Network& net, const spec::Box& box, const BoundTable& start,
            const LpTightenParams& p, LpTightenStats& st)
      : net_(net), p_(p), st_(st), deadline_(p.time_limit_s, p.cancel), lp_(inputModel(box)) {
    t_ = start;
    t_.method = "lp";
    t_.in_lo = box.lo;
    t_.in_hi = box.hi;
    vlo_.assign(box.lo.data(), box.lo.data() + box.size());
    vhi_.assign(box.hi.data(), box.hi.data() + box.size());
    cur_.resize(box.size());
    for (Eigen::Index i = 0; i < box.size(); ++i) cur_[i] = {static_cast<int>(i), 1.0, 0.0};
  }

  BoundTable run() {
    countCandidates();
    bool seen_activation = false;
    for (size_t k = 0; k < net_.numLayers(); ++k) {
      const auto& layer = net_.layers()[k];
      if (layer.isDense()) {
        denseBounds(k, layer.dense());
        if (!stopped_) buildDense(k, layer.dense());
        // Without an activation before it the layer is an affine map of the
        // box, where the interval step (for the first layer) is exact.
        bool visited = false;
        const nn::Activation* next = nextOf(k, seen_activation, visited);
        if (!stopped_ && visited) tightenLayer(k, next);
      } else if (layer.isMaxPool()) {
        seen_activation = true;
        maxPoolBounds(k, layer.maxPool());
        if (!stopped_) buildMaxPool(k, layer.maxPool());
      } else {
        seen_activation = true;
        activationBounds(k, layer.activation());
        if (!stopped_) buildActivation(k, layer.activation());
      }
    }
    return std::move(t_);
  }

 private:
  int addVars(const std::vector<double>& lb, const std::vector<double>& ub) {
    vlo_.insert(vlo_.end(), lb.begin(), lb.end());
    vhi_.insert(vhi_.end(), ub.begin(), ub.end());
    return lp_.addVars(lb, ub);
  }

  static model::MathModel inputModel(const spec::Box& box) {
    model::MathModel m;
    for (Eigen::Index i = 0; i < box.size(); ++i) m.addVar(box.lo[i], box.hi[i]);
    return m;
  }

  // Interval step from the (tightened) previous bounds, intersected with start.
  void denseBounds(size_t k, const nn::Dense& d) {
    const VectorXd& plo = t_.preLo(k);
    const VectorXd& phi = t_.preHi(k);
    VectorXd c = 0.5 * (plo + phi), r = 0.5 * (phi - plo);
    VectorXd mid = d.W.apply(c) + d.b, rad = d.W.applyAbs(r);
    for (Eigen::Index j = 0; j < mid.size(); ++j)
      intersect(t_.lo[k][j], t_.hi[k][j], mid[j] - rad[j], mid[j] + rad[j]);
  }

  void activationBounds(size_t k, const nn::Activation& a) {
    const VectorXd& plo = t_.preLo(k);
    const VectorXd& phi = t_.preHi(k);
    for (Eigen::Index j = 0; j < plo.size(); ++j) {
      double lo, hi;
      activationRange(a, plo[j], phi[j], lo, hi);
      intersect(t_.lo[k][j], t_.hi[k][j], lo, hi);
    }
  }

  void maxPoolBounds(size_t k, const nn::MaxPool& mp) {
    VectorXd lo, hi;
    maxPoolRange(mp, t_.preLo(k), t_.preHi(k), lo, hi);
    for (Eigen::Index j = 0; j < lo.size(); ++j) intersect(t_.lo[k][j], t_.hi[k][j], lo[j], hi[j]);
  }

  // Max pool: one variable y_j per output within its bounds (so y_j <= the
  // largest upper bound) and y_j >= x_i for every input of the window (a
  // sound relaxation; y_j = x_i when one input dominates the window).
  void buildMaxPool(size_t k, const nn::MaxPool& mp) {
    const Eigen::Index n = static_cast<Eigen::Index>(mp.windows.size());
    std::vector<double> lb(n), ub(n);
    for (Eigen::Index j = 0; j < n; ++j) lb[j] = t_.lo[k][j], ub[j] = t_.hi[k][j];
    const int first = addVars(lb, ub);
    std::vector<LpSession::LinRow> rows;
    for (Eigen::Index j = 0; j < n; ++j) {
      const int y = first + static_cast<int>(j);
      for (int64_t i : mp.windows[j]) {
        const Expr& e = cur_[i];
        if (e.var < 0 || e.scale == 0.0) continue;  // a constant: below lb already
        LpSession::LinRow r;  // y - s v >= o, the other side finite and redundant
        r.terms = {{y, 1.0}, {e.var, -e.scale}};
        const double act_hi =
            vhi_[y] + std::max(-e.scale * vlo_[e.var], -e.scale * vhi_[e.var]);
        r.lo = e.offset;
        r.hi = act_hi + 1.0 + 1e-3 * std::abs(act_hi);
        if (!std::isfinite(r.hi)) r.hi = kInf;
        rows.push_back(std::move(r));
      }
    }
    lp_.addRows(rows);
    cur_.assign(n, Expr{});
    for (Eigen::Index j = 0; j < n; ++j) cur_[j] = {first + static_cast<int>(j), 1.0, 0.0};
  }

  // One variable per neuron, bounded by the current bounds, and the rows
  // t_j - sum_c W_jc * in_c = b_j.
  void buildDense(size_t k, const nn::Dense& d) {
    const Eigen::Index n = d.W.rows();
    std::vector<double> lb(n), ub(n);
    for (Eigen::Index j = 0; j < n; ++j) lb[j] = t_.lo[k][j], ub[j] = t_.hi[k][j];
    const int first = addVars(lb, ub);
    std::vector<LpSession::LinRow> rows(n);
    for (Eigen::Index j = 0; j < n; ++j) {
      auto& r = rows[j];
      r.terms.push_back({first + static_cast<int>(j), 1.0});
      double rhs = d.b[j];
      d.W.forEachInRow(j, [&](Eigen::Index c, double w) {
        if (w == 0.0) return;
        const Expr& e = cur_[c];
        rhs += w * e.offset;
        if (e.var >= 0 && e.scale != 0.0) r.terms.push_back({e.var, -w * e.scale});
      });
      r.lo = r.hi = rhs;
    }
    lp_.addRows(rows);
    cur_.assign(n, Expr{});
    for (Eigen::Index j = 0; j < n; ++j) cur_[j] = {first + static_cast<int>(j), 1.0, 0.0};
  }

  void buildActivation(size_t k, const nn::Activation& a) {
    const VectorXd& plo = t_.preLo(k);
    const VectorXd& phi = t_.preHi(k);
    std::vector<Expr> out(cur_.size());
    std::vector<LpSession::LinRow> rows;
    for (size_t j = 0; j < cur_.size(); ++j) {
      const Expr e = cur_[j];
      const double l = plo[j], u = phi[j];
      if (e.var < 0 || e.scale == 0.0) {
        out[j] = {-1, 0.0, a.apply(e.offset)};
        continue;
      }
      if (isPiecewise(a)) {
        const double alpha = slopeOf(a);
        if (l >= 0) {
          out[j] = e;
          continue;
        }
        if (u <= 0) {
          out[j] =
              alpha == 0.0 ? Expr{-1, 0.0, 0.0} : Expr{e.var, alpha * e.scale, alpha * e.offset};
          continue;
        }
      }
      const int y = addVars({t_.lo[k][j]}, {t_.hi[k][j]});
      out[j] = {y, 1.0, 0.0};
      // Rows in terms of v = x[e.var]: y + cf * (s v + o) >= / <= rhs.
      // The open side of each inequality gets a finite, redundant bound from
      // the variable bounds (with a wide margin): every row boxed keeps the
      // dual simplex warm start effective (see solve/lp_session.h).
      auto row = [&](double cf, double lo, double hi) {
        LpSession::LinRow r;
        const double a = cf * e.scale;
        r.terms = {{y, 1.0}, {e.var, a}};
        const double act_lo = vlo_[y] + std::min(a * vlo_[e.var], a * vhi_[e.var]);
        const double act_hi = vhi_[y] + std::max(a * vlo_[e.var], a * vhi_[e.var]);
        const double margin = 1.0 + 1e-3 * (std::abs(act_lo) + std::abs(act_hi));
        r.lo = lo == -kInf ? act_lo - margin : lo - cf * e.offset;
        r.hi = hi == kInf ? act_hi + margin : hi - cf * e.offset;
        if (!std::isfinite(r.lo)) r.lo = -kInf;
        if (!std::isfinite(r.hi)) r.hi = kInf;
        rows.push_back(std::move(r));
      };
      if (isPiecewise(a)) {
        // Triangle relaxation (convex hull over [l, u]): f is max(t, alpha t)
        // (convex) for alpha <= 1 and min(t, alpha t) (concave) for alpha > 1;
        // the chord joins (l, alpha l) and (u, u).
        const double alpha = slopeOf(a);
        const double c = (u - alpha * l) / (u - l);
        const double chord_rhs = alpha * l - c * l;  // y = c t + chord_rhs on the chord
        // Loosening against rounding of c and chord_rhs.
        const double slack = 1e-10 * (1.0 + std::abs(l) + std::abs(u)) * (1.0 + std::abs(alpha));
        if (alpha <= 1.0) {
          row(-1.0, 0.0, kInf);                      // y >= t
          if (alpha != 0.0) row(-alpha, 0.0, kInf);  // y >= alpha t
          row(-c, -kInf, chord_rhs + slack);         // y <= chord
        } else {
          row(-1.0, -kInf, 0.0);             // y <= t
          row(-alpha, -kInf, 0.0);           // y <= alpha t
          row(-c, chord_rhs - slack, kInf);  // y >= chord
        }
      } else {
        // Tanh / sigmoid: the CROWN lines lw t + lb <= f(t) <= uw t + ub.
        const LinearRelaxation rl = relaxActivation(a, l, u);
        const double slack =
            1e-10 * (1.0 + std::abs(rl.lb) + std::abs(rl.ub) +
                     (std::abs(rl.lw) + std::abs(rl.uw)) * (std::abs(l) + std::abs(u)));
        row(-rl.lw, rl.lb - slack, kInf);
        row(-rl.uw, -kInf, rl.ub + slack);
      }
    }
    lp_.addRows(rows);
    cur_ = std::move(out);
  }

  // Whether neuron j of Dense layer k (followed by `next`, nullptr for the
  // output) is optimised by tightenLayer under the current bounds.
  bool isCandidate(size_t k, Eigen::Index j, const nn::Activation* next) const {
    const bool pwl = next && isPiecewise(*next);
    return next == nullptr || !p_.only_unstable || (pwl && t_.lo[k][j] < 0 && t_.hi[k][j] > 0);
  }

  // The activation after Dense layer k when tightenLayer will visit k (the
  // output layer: nullptr); `visited` false otherwise.
  const nn::Activation* nextOf(size_t k, bool seen_activation, bool& visited) const {
    const size_t L = net_.numLayers();
    const bool feeds_act = k + 1 < L && net_.layers()[k + 1].isActivation();
    visited = seen_activation && (feeds_act || (k + 1 == L && p_.tighten_output));
    return feeds_act ? &net_.layers()[k + 1].activation() : nullptr;
  }

  // Candidates per Dense layer under the start bounds (the layers not reached
  // yet are projected with these; neurons stabilised on the way need fewer).
  void countCandidates() {
    bool seen_activation = false;
    layer_candidates_.assign(net_.numLayers(), 0);
    for (size_t k = 0; k < net_.numLayers(); ++k) {
      if (!net_.layers()[k].isDense()) {
        seen_activation = true;
        continue;
      }
      bool visited = false;
      const nn::Activation* next = nextOf(k, seen_activation, visited);
      if (!visited) continue;
      for (Eigen::Index j = 0; j < t_.lo[k].size(); ++j)
        if (isCandidate(k, j, next)) ++layer_candidates_[k];
    }
  }

  // LpTightenParams::probe_lps: true when the LPs left cannot be done in time.
  bool hopeless() const {
    if (p_.probe_lps <= 0 || st_.lps < 2) return false;
    const double spent = p_.time_limit_s - deadline_.remaining();
    if (st_.lps < p_.probe_lps && !(spent >= 0.1 * p_.time_limit_s)) return false;
    const double projected = 2.0 * static_cast<double>(candidates_left_) * spent /
                             static_cast<double>(st_.lps);
    return projected > p_.give_up_factor * deadline_.remaining();
  }

  // Minimises (sense kMinimize) or maximises x[var]; returns the accepted
  // bound or NaN. Sets stopped_ when the time is up.
  double optimise(int var, model::Sense sense) {
    if (deadline_.expired()) {
      stop();
      return std::nan("");
    }
    if (hopeless()) {
      stopped_ = true;
      st_.gave_up = true;
      return std::nan("");
    }
    lp_.setObjective({{var, 1.0}}, sense);
    // With the projection on, one LP gets at most a quarter of the time
    // limit: one that needs more leaves no room for the others (cifar10_large:
    // 2 LPs in 9 s).
    const bool probing = p_.probe_lps > 0;
    const double cap = probing ? std::min(deadline_.remaining(), 0.25 * p_.time_limit_s)
                               : deadline_.remaining();
    const LpSession::Result r = lp_.solve(cap);
    ++st_.lps;
    st_.iterations += r.iterations;
    if (r.status == SolveStatus::kOptimal && std::isfinite(r.bound))
      return sense == model::Sense::kMinimize ? r.bound - outward(r.bound)
                                              : r.bound + outward(r.bound);
    ++st_.lps_failed;
    if (deadline_.expired()) {
      stop();
    } else if (probing &&
               (r.status == SolveStatus::kFeasible || r.status == SolveStatus::kNoSolution)) {
      stopped_ = true;  // stopped by the cap
      st_.gave_up = true;
    }
    return std::nan("");
  }

  void stop() {
    stopped_ = true;
    st_.timed_out = true;
  }

  void tightenLayer(size_t k, const nn::Activation* next) {
    VectorXd& lo = t_.lo[k];
    VectorXd& hi = t_.hi[k];
    const bool pwl = next && isPiecewise(*next);
    // The LPs left: this layer's candidates now, later layers' at the start.
    candidates_left_ = 0;
    for (size_t j = 0; j < cur_.size(); ++j)
      if (isCandidate(k, static_cast<Eigen::Index>(j), next)) ++candidates_left_;
    for (size_t i = k + 1; i < layer_candidates_.size(); ++i)
      candidates_left_ += layer_candidates_[i];
    for (size_t j = 0; j < cur_.size() && !stopped_; ++j) {
      const bool unstable = lo[j] < 0 && hi[j] > 0;
      const bool candidate = isCandidate(k, static_cast<Eigen::Index>(j), next);
      if (!candidate) continue;
      --candidates_left_;
      if (cur_[j].var < 0) continue;
      ++st_.neurons;
      const int var = cur_[j].var;
      double v = optimise(var, model::Sense::kMinimize);
      if (v > lo[j]) lo[j] = v;
      // A neuron proven stably active is encoded exactly (y = t) from now on;
      // its upper bound would only sharpen the interval steps, not worth an LP.
      const bool skip_max = pwl && p_.only_unstable && lo[j] >= 0;
      if (!stopped_ && !skip_max) {
        v = optimise(var, model::Sense::kMaximize);
        if (v < hi[j]) hi[j] = v;
      }
      if (lo[j] > hi[j]) std::swap(lo[j], hi[j]);
      if (pwl && unstable && (lo[j] >= 0 || hi[j] <= 0)) ++st_.stabilised;
      // Implied by the LP already (the LP optimum lies inside), so the basis
      // stays primal feasible; kept so the variable bounds match the table.
      lp_.setVarBounds(var, lo[j], hi[j]);
      vlo_[var] = lo[j];
      vhi_[var] = hi[j];
    }
  }

  const nn::Network& net_;
  const LpTightenParams& p_;
  LpTightenStats& st_;
  Deadline deadline_;
  LpSession lp_;
  BoundTable t_;
  std::vector<Expr> cur_;          // the previous layer's outputs as LP expressions
  std::vector<double> vlo_, vhi_;  // the LP's variable bounds
  bool stopped_ = false;
  std::vector<long> layer_candidates_;  // per layer, under the start bounds
  long candidates_left_ = 0;            // neurons still to optimise (projection)
};

}  // namespace

BoundTable lpTightenBounds(const nn::Network& net, const spec::Box& box, const BoundTable& start,
                           const LpTightenParams& p, LpTightenStats* stats) {
  checkInputs(net, box, start);
  Timer timer;
  LpTightenStats st;
  BoundTable t = Tightener(net, box, start, p, st).run();
  st.time_s = timer.seconds();
  if (stats) *stats = st;
  return t;
}

const char* boundsLevelName(BoundsLevel l) {
  switch (l) {
    case BoundsLevel::kInterval:
      return "interval";
    case BoundsLevel::kCrown:
      return "crown";
    case BoundsLevel::kLp:
      return "lp";
  }
  return "?";
}

BoundsLevel parseBoundsLevel(const std::string& s) {
  if (s == "interval") return BoundsLevel::kInterval;
  if (s == "crown") return BoundsLevel::kCrown;
  if (s == "lp") return BoundsLevel::kLp;
  throw Error("unknown bounds method '" + s + "' (expected interval, crown or lp)");
}

BoundTable tightestBounds(const nn::Network& net, const spec::Box& box, BoundsLevel level,
                          double lp_time_limit_s) {
  switch (level) {
    case BoundsLevel::kInterval:
      return intervalBounds(net, box);
    case BoundsLevel::kCrown:
      return crownBounds(net, box);
    case BoundsLevel::kLp: {
      LpTightenParams p;
      p.time_limit_s = lp_time_limit_s;
      return lpTightenBounds(net, box, crownBounds(net, box), p);
    }
  }
  throw Error("tightestBounds: unknown level");
}

std::vector<MethodTable> boundsForMethods(const nn::Network& net, const spec::Box& box,
                                          const std::vector<std::string>& methods,
                                          double lp_time_limit_s,
                                          const std::atomic<bool>* cancel) {
  std::vector<MethodTable> out;
  std::optional<BoundTable> crown;
  double crown_s = 0;
  auto getCrown = [&] {
    if (!crown) {
      Timer t;
      crown = crownBounds(net, box);
      crown_s = t.seconds();
    }
    return *crown;
  };
  for (const auto& m : methods) {
    switch (parseBoundsLevel(m)) {
      case BoundsLevel::kInterval: {
        Timer t;
        BoundTable bt = intervalBounds(net, box);
        out.push_back({std::move(bt), t.seconds(), std::nullopt});
        break;
      }
      case BoundsLevel::kCrown:
        out.push_back({getCrown(), crown_s, std::nullopt});
        break;
      case BoundsLevel::kLp: {
        BoundTable start = getCrown();
        LpTightenParams p;
        p.time_limit_s = lp_time_limit_s;
        p.cancel = cancel;
        LpTightenStats st;
        Timer t;
        BoundTable bt = lpTightenBounds(net, box, start, p, &st);
        out.push_back({std::move(bt), crown_s + t.seconds(), st});
        break;
      }
    }
  }
  return out;
}

}  // namespace nnopt::bounds
