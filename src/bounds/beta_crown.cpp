#include "bounds/beta_crown.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "bounds/beta_crown_internal.h"
#include "bounds/crown_internal.h"
#include "core/log.h"
#include "core/error.h"

namespace nnopt::bounds {

using Eigen::VectorXd;

namespace detail {

namespace {

// Lower bound of c^T (output of the last layer) for one objective, plus the
// split terms when given, recording the coefficient vector at each activation
// / max-pool output in rec and the input's in a_in.
double lowerPass(const nn::Network& net, const std::vector<LayerRelax>& relax, const VectorXd& c,
                 const VectorXd& mid, const VectorXd& rad, const SplitTerms* split,
                 std::vector<VectorXd>& rec, VectorXd& a_in) {
  VectorXd a = c;
  double k = 0.0;
  for (int i = static_cast<int>(net.numLayers()) - 1; i >= 0; --i) {
    const auto& layer = net.layers()[i];
    if (layer.isDense()) {
      const auto& d = layer.dense();
      k += a.dot(d.b);
      a = d.W.applyT(a);
    } else if (layer.isMaxPool()) {
      const auto& r = relax[i];
      rec[i] = a;
      VectorXd in = VectorXd::Zero(net.layerInSize(i));
      for (Eigen::Index j = 0; j < a.size(); ++j) {
        if (a[j] >= 0)
          in[r.pool_lo[j]] += a[j];
        else if (r.pool_up[j] >= 0)
          in[r.pool_up[j]] += a[j];
        else
          k += a[j] * r.pool_ub[j];
      }
      a = std::move(in);
    } else {
      const auto& r = relax[i];
      rec[i] = a;
      VectorXd pos = a.cwiseMax(0.0), neg = a.cwiseMin(0.0);
      k += pos.dot(r.lb) + neg.dot(r.ub);
      a = pos.cwiseProduct(r.lw) + neg.cwiseProduct(r.uw);
      if (split && split->sign[i].size() > 0) a += split->beta[i].cwiseProduct(split->sign[i]);
    }
  }
  a_in = a;
  return k + a.dot(mid) - a.cwiseAbs().dot(rad);
}

// One Adam ascent step from x: project(j, x_j + step_j) stores the projected
// new value (and may leave fixed entries alone).
struct Adam {
  VectorXd m1, m2;
  template <class Project>
  void step(const VectorXd& x, const VectorXd& grad, int it, double lr, Project&& project) {
    constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-12;
    if (m1.size() != grad.size()) m1 = m2 = VectorXd::Zero(grad.size());
    m1 = b1 * m1 + (1 - b1) * grad;
    m2 = b2 * m2 + (1 - b2) * grad.cwiseAbs2();
    const double c1 = 1 - std::pow(b1, it), c2 = 1 - std::pow(b2, it);
    for (Eigen::Index j = 0; j < x.size(); ++j)
      project(j, x[j] + lr * (m1[j] / c1) / (std::sqrt(m2[j] / c2) + eps));
  }
};

}  // namespace

double optimiseLowerBound(const nn::Network& net, std::vector<LayerRelax> relax, const VectorXd& c,
                          const VectorXd& mid, const VectorXd& rad, const OptimiseSettings& s,
                          const SplitTerms* split_in, BestIterate* best_out) {
  const size_t L = net.numLayers();
  SplitTerms split;
  if (split_in) split = *split_in;
  const SplitTerms* sp = split_in ? &split : nullptr;
  std::vector<VectorXd> rec(L);
  VectorXd a0;
  double best = lowerPass(net, relax, c, mid, rad, sp, rec, a0);
  int iters_run = 0;
  auto keep = [&] {
    if (!best_out) return;
    best_out->rec = rec;
    best_out->a_in = a0;
    best_out->slopes.assign(L, VectorXd());
    for (size_t i = 0; i < L; ++i)
      if (net.layers()[i].isActivation()) best_out->slopes[i] = relax[i].lw;
    best_out->beta = split.beta;
  };
  auto finish = [&] {
    if (best_out) best_out->iters_run = iters_run;
    return best;
  };
  keep();
  // Layers with something to optimise: unstable slopes (when lr_alpha > 0) or splits.
  std::vector<char> opt_alpha(L, 0), opt_beta(L, 0);
  size_t top = 0;
  bool any = false;
  for (size_t i = 0; i < L; ++i) {
    if (!net.layers()[i].isActivation()) continue;
    opt_alpha[i] = relax[i].optimisable && s.lr_alpha > 0;
    opt_beta[i] = sp && split.sign[i].size() > 0 && split.sign[i].any();
    if (opt_alpha[i] || opt_beta[i]) any = true, top = i;
  }
  if (!any || s.iters <= 0 || best > s.stop_above) return finish();

  std::vector<Adam> adam_a(L), adam_b(L);
  const auto start = std::chrono::steady_clock::now();
  for (int it = 1; it <= s.iters; ++it) {
    // Supergradient of the bound w.r.t. the coefficients of each layer's
    // output: that output's value under the relaxation at the bound's
    // minimising input, swept upwards.
    VectorXd g = mid - a0.cwiseSign().cwiseProduct(rad);
    for (size_t i = 0; i <= top; ++i) {
      const auto& layer = net.layers()[i];
      if (layer.isDense()) {
        const auto& d = layer.dense();
        g = d.W.apply(g) + d.b;
        continue;
      }
      const auto& r = relax[i];
      const VectorXd& ao = rec[i];
      if (layer.isMaxPool()) {  // the relaxation's value at the bound's input point
        VectorXd gout(ao.size());
        for (Eigen::Index j = 0; j < ao.size(); ++j)
          gout[j] = ao[j] >= 0 ? g[r.pool_lo[j]]
                               : (r.pool_up[j] >= 0 ? g[r.pool_up[j]] : r.pool_ub[j]);
        g = std::move(gout);
        continue;
      }
      VectorXd gout(g.size());
      for (Eigen::Index j = 0; j < g.size(); ++j)
        gout[j] = ao[j] > 0 ? r.lw[j] * g[j] + r.lb[j] : r.uw[j] * g[j] + r.ub[j];
      if (opt_beta[i]) {  // d bound / d beta_j = s_j z_j
        const VectorXd& sg = split.sign[i];
        adam_b[i].step(split.beta[i], sg.cwiseProduct(g), it, s.lr_beta, [&](Eigen::Index j, double v) {
          if (sg[j] != 0) split.beta[i][j] = std::max(v, 0.0);
        });
      }
      if (opt_alpha[i]) {  // d bound / d lw_j = max(ao_j, 0) z_j
        auto& rw = relax[i];
        adam_a[i].step(rw.lw, g.cwiseProduct(ao.cwiseMax(0.0)), it, s.lr_alpha,
                       [&](Eigen::Index j, double v) {
                         if (rw.slope_lo[j] < rw.slope_hi[j])
                           rw.lw[j] = std::clamp(v, rw.slope_lo[j], rw.slope_hi[j]);
                       });
      }
      g = std::move(gout);
    }
    const double v = lowerPass(net, relax, c, mid, rad, sp, rec, a0);
    iters_run = it;
    if (std::isfinite(v) && v > best) {
      best = v;
      keep();
    }
    std::chrono::duration<double> el = std::chrono::steady_clock::now() - start;
    if (el.count() > s.time_limit_s || best > s.stop_above) break;
  }
  return finish();
}

ObjectiveDomain objectiveDomain(const nn::Network& net, const spec::Box& box, const BoundTable& t,
                                const VectorXd& c, const char* what) {
  checkBox(net, box, what);
  const size_t L = net.numLayers();
  require(c.size() == net.outputSize(), std::string(what) + ": objective has " +
                                            std::to_string(c.size()) +
                                            " coefficients, network output has " +
                                            std::to_string(net.outputSize()));
  require(t.lo.size() == L && t.hi.size() == L,
          std::string(what) + ": bound table does not match the network");
  ObjectiveDomain d;
  d.lo = box.lo.cwiseMax(t.in_lo);
  d.hi = box.hi.cwiseMin(t.in_hi);
  d.mid = 0.5 * (d.lo + d.hi);
  d.rad = 0.5 * (d.hi - d.lo).cwiseMax(0.0);
  const VectorXd& ylo = L ? t.lo[L - 1] : d.lo;
  const VectorXd& yhi = L ? t.hi[L - 1] : d.hi;
  d.from_table = c.cwiseMax(0.0).dot(ylo) + c.cwiseMin(0.0).dot(yhi);
  d.upper_table = c.cwiseMax(0.0).dot(yhi) + c.cwiseMin(0.0).dot(ylo);
  return d;
}

void fillDetail(const nn::Network& net, const ObjectiveDomain& dom, double symbolic,
                const BestIterate& best, CrownLowerBoundDetail& d) {
  d.symbolic = symbolic;
  d.bound = std::isfinite(symbolic) ? std::max(dom.from_table, symbolic) : dom.from_table;
  // Clamped: mid -+ rad may round just outside [lo, hi].
  d.x = (dom.mid - best.a_in.cwiseSign().cwiseProduct(dom.rad)).cwiseMax(dom.lo).cwiseMin(dom.hi);
  d.act_coef = best.rec;
  for (size_t i = 0; i < net.numLayers(); ++i)
    if (!net.layers()[i].isActivation()) d.act_coef[i].resize(0);
}

}  // namespace detail

namespace {

// Two sound enclosures of a nonempty domain can only cross by rounding
// (as crown.cpp's emptiness test).
constexpr double kEmptyTol = 1e-9;

}  // namespace

detail::BetaNodeSetup detail::betaNodeSetup(const nn::Network& net, const spec::Box& box,
                                            const BoundTable& t,
                                            const std::vector<ReluSplit>& splits,
                                            const VectorXd& c, const BetaCrownParams& p,
                                            const BetaCrownState* warm) {
  BetaNodeSetup out;
  out.dom = objectiveDomain(net, box, t, c, "beta-crown");
  const SplitsByLayer g = groupSplits(net, splits);
  const size_t L = net.numLayers();
  out.relax = relaxAll(net, t, p.relu_lower);
  auto warmEntry = [&](const std::vector<VectorXd>* v, size_t i, Eigen::Index n) -> const VectorXd* {
    return v && i < v->size() && (*v)[i].size() == n ? &(*v)[i] : nullptr;
  };
  SplitTerms& st = out.split;
  st.sign.assign(L, VectorXd());
  st.beta.assign(L, VectorXd());
  for (size_t i = 0; i < L; ++i) {
    if (!net.layers()[i].isActivation()) continue;
    const Eigen::Index n = net.layerInSize(i);
    if (const VectorXd* a = warmEntry(warm ? &warm->alpha : nullptr, i, n)) {
      auto& r = out.relax[i];
      for (Eigen::Index j = 0; j < n; ++j)  // clamped into this node's valid range
        if (r.slope_lo[j] < r.slope_hi[j] && std::isfinite((*a)[j]))
          r.lw[j] = std::clamp((*a)[j], r.slope_lo[j], r.slope_hi[j]);
    }
    if (g[i].empty()) continue;
    st.sign[i] = VectorXd::Zero(n);
    st.beta[i] = VectorXd::Zero(n);
    const VectorXd* b = warmEntry(warm ? &warm->beta : nullptr, i, n);
    for (const auto& [j, active] : g[i]) {
      st.sign[i][j] = active ? -1.0 : 1.0;
      if (b && std::isfinite((*b)[j])) st.beta[i][j] = std::max((*b)[j], 0.0);
    }
  }
  // Beyond the table's upper bound of c^T y the sub-domain is proven empty:
  // no need to go further.
  out.empty_at = out.dom.upper_table + kEmptyTol * (1.0 + std::abs(out.dom.upper_table));
  out.stop_above = std::min(p.stop_above, out.empty_at);
  return out;
}

BetaCrownResult detail::betaResult(const nn::Network& net, const BetaNodeSetup& s, double v,
                                   BestIterate& best) {
  BetaCrownResult res;
  fillDetail(net, s.dom, v, best, res);
  res.iters = best.iters_run;
  res.state.alpha = std::move(best.slopes);
  res.state.beta = std::move(best.beta);
  if (res.bound > s.empty_at) {
    res.empty = true;
    res.bound = std::numeric_limits<double>::infinity();
  }
  return res;
}

BetaCrownResult betaCrownLowerBound(const nn::Network& net, const spec::Box& box,
                                    const BoundTable& t, const std::vector<ReluSplit>& splits,
                                    const VectorXd& c, const BetaCrownParams& p,
                                    const BetaCrownState* warm) {
  detail::BetaNodeSetup setup = detail::betaNodeSetup(net, box, t, splits, c, p, warm);
  const detail::OptimiseSettings s{p.iters, p.lr_alpha, p.lr_beta, p.time_limit_s,
                                   setup.stop_above};
  detail::BestIterate best;
  const double v = detail::optimiseLowerBound(net, std::move(setup.relax), c, setup.dom.mid,
                                              setup.dom.rad,
                                              s, &setup.split, &best);
  return detail::betaResult(net, setup, v, best);
}

bool betaCrownTightenTable(const nn::Network& net, const spec::Box& box, BoundTable& t,
                           const std::vector<ReluSplit>& splits, const BetaCrownParams& p,
                           int layers, double time_limit_s, const std::atomic<bool>* cancel) {
  detail::checkBox(net, box, "beta-crown");
  const Timer timer;
  auto out_of_time = [&] {
    return timer.seconds() >= time_limit_s || (cancel != nullptr && cancel->load());
  };
  const size_t L = net.numLayers();
  require(t.lo.size() == L && t.hi.size() == L, "beta-crown: bound table does not match the network");
  detail::groupSplits(net, splits);  // validates
  // The last `layers` ReLU/LeakyReLU layers fed by a Dense layer, lowest first.
  std::vector<size_t> acts;
  for (size_t k = L; k-- > 1 && static_cast<int>(acts.size()) < layers;) {
    const auto& l = net.layers()[k];
    if (l.isActivation() && net.layers()[k - 1].isDense() &&
        (l.activation().kind == nn::ActKind::kRelu || l.activation().kind == nn::ActKind::kLeakyRelu))
      acts.insert(acts.begin(), k);
  }
  for (size_t k : acts) {
    if (out_of_time()) break;
    // The sub-network below activation k, its table and its splits.
    const nn::Network sub(net.inputShape(),
                          std::vector<nn::Layer>(net.layers().begin(), net.layers().begin() + k));
    BoundTable ts;
    ts.in_lo = t.in_lo, ts.in_hi = t.in_hi, ts.method = t.method;
    ts.lo.assign(t.lo.begin(), t.lo.begin() + k);
    ts.hi.assign(t.hi.begin(), t.hi.begin() + k);
    std::vector<ReluSplit> below;
    for (const auto& s : splits)
      if (s.layer < k) below.push_back(s);
    VectorXd& lo = t.lo[k - 1];
    VectorXd& hi = t.hi[k - 1];
    // A bound past 0 makes the neuron stable: its relaxation is then exact
    // whatever the other bound, so the optimisation can stop there.
    BetaCrownParams pz = p;
    pz.stop_above = 0.0;
    VectorXd c = VectorXd::Zero(lo.size());
    for (Eigen::Index j = 0; j < lo.size(); ++j) {
      if (!(lo[j] < 0 && hi[j] > 0)) continue;
      if (out_of_time()) break;  // the rest keep their bounds
      c[j] = 1.0;
      lo[j] = std::max(lo[j], betaCrownLowerBound(sub, box, ts, below, c, pz).bound);
      c[j] = -1.0;
      if (lo[j] < 0) hi[j] = std::min(hi[j], -betaCrownLowerBound(sub, box, ts, below, c, pz).bound);
      c[j] = 0.0;
      if (lo[j] > hi[j]) {
        if (lo[j] - hi[j] > kEmptyTol * (1.0 + std::max(std::abs(lo[j]), std::abs(hi[j]))))
          return false;
        std::swap(lo[j], hi[j]);
      }
      ts.lo[k - 1][j] = lo[j], ts.hi[k - 1][j] = hi[j];
    }
    // The activation's output range over the tightened pre-activation bounds
    // (f monotone on each side of 0: spanned by f(lo), f(hi) and f(0) = 0).
    const auto& a = net.layers()[k].activation();
    for (Eigen::Index j = 0; j < lo.size(); ++j) {
      const double fl = a.apply(lo[j]), fu = a.apply(hi[j]);
      double ol = std::min(fl, fu), oh = std::max(fl, fu);
      if (lo[j] < 0 && hi[j] > 0) ol = std::min(ol, 0.0), oh = std::max(oh, 0.0);
      t.lo[k][j] = std::max(t.lo[k][j], ol);
      t.hi[k][j] = std::min(t.hi[k][j], oh);
    }
  }
  return true;
}

bool alphaTightenTable(const nn::Network& net, const spec::Box& box, BoundTable& t, int iters,
                       double time_limit_s, const std::atomic<bool>* cancel) {
  BetaCrownParams bp;
  bp.iters = iters;
  BoundTable tt = t;
  try {
    if (!betaCrownTightenTable(net, box, tt, {}, bp, 1 << 20, time_limit_s, cancel)) return false;
  } catch (const Error&) {
    return false;
  }
  t = std::move(tt);
  return true;
}

}  // namespace nnopt::bounds
