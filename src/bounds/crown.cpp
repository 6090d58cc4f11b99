#include "bounds/crown.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "bounds/crown_internal.h"
#include "core/error.h"

namespace nnopt::bounds {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using detail::LayerRelax;
using detail::SplitsByLayer;
using detail::checkBox;
using detail::groupSplits;
using detail::relaxAll;
using detail::activationRange;
using detail::backSubstitute;
using detail::relaxLayer;

// Below this width an S-shaped activation is relaxed by the constants
// f(l) <= f(t) <= f(u) (exact up to f' * width).
constexpr double kDegenerateWidth = 1e-9;
constexpr int kBisectIters = 50;

// --- S-shaped activations (tanh, sigmoid): convex on t <= 0, concave on t >= 0.

LinearRelaxation relaxSShaped(const nn::Activation& a, double l, double u) {
  LinearRelaxation r;
  const double fl = a.apply(l), fu = a.apply(u);
  if (!(u - l > kDegenerateWidth)) {
    r.lw = r.uw = 0.0;
    r.lb = std::min(fl, fu);
    r.ub = std::max(fl, fu);
    return r;
  }
  const double m = 0.5 * (l + u);
  const double chord = (fu - fl) / (u - l);
  if (l >= 0) {
    // Concave on [l, u]: chord below, tangent at the midpoint above.
    r.lw = chord;
    r.lb = fl - chord * l;
    r.uw = a.derivative(m);
    r.ub = a.apply(m) - r.uw * m;
    return r;
  }
  if (u <= 0) {
    // Convex on [l, u]: chord above, tangent at the midpoint below.
    r.uw = chord;
    r.ub = fu - chord * u;
    r.lw = a.derivative(m);
    r.lb = a.apply(m) - r.lw * m;
    return r;
  }
  // l < 0 < u. DeepPoly: slope lam = min(f'(l), f'(u)) through (l, f(l)) below
  // and through (u, f(u)) above. Sound because f' is unimodal with its maximum
  // at 0, so f' >= lam on [l, u].
  const double lam = std::min(a.derivative(l), a.derivative(u));
  r.lw = lam;
  r.lb = fl - lam * l;
  r.uw = lam;
  r.ub = fu - lam * u;

  // Tangent alternatives (CROWN-style), kept when tighter at the midpoint.
  // Upper: tangent at d in [0, u] with value >= f(l) at l. phi(d) = tangent(l) - f(l)
  // is increasing on d >= 0 and phi(0) <= 0. Any d >= 0 with phi(d) >= 0 gives a
  // sound upper line: above f on [0, inf) (concavity) and, being >= f at l and
  // at 0, above the chord of the convex part on [l, 0].
  auto phi = [&](double d) { return a.apply(d) + a.derivative(d) * (l - d) - fl; };
  if (phi(u) >= 0) {
    double lo = 0.0, hi = u;  // invariant: phi(hi) >= 0
    for (int it = 0; it < kBisectIters; ++it) {
      double mid = 0.5 * (lo + hi);
      if (phi(mid) >= 0)
        hi = mid;
      else
        lo = mid;
    }
    const double w = a.derivative(hi), b = a.apply(hi) - w * hi;
    if (phi(hi) >= 0 && w * m + b < r.uw * m + r.ub) {
      r.uw = w;
      r.ub = b;
    }
  }
  // Lower, symmetric: tangent at d in [l, 0] with value <= f(u) at u.
  auto psi = [&](double d) { return a.apply(d) + a.derivative(d) * (u - d) - fu; };
  if (psi(l) <= 0) {
    double lo = l, hi = 0.0;  // invariant: psi(lo) <= 0
    for (int it = 0; it < kBisectIters; ++it) {
      double mid = 0.5 * (lo + hi);
      if (psi(mid) <= 0)
        lo = mid;
      else
        hi = mid;
    }
    const double w = a.derivative(lo), b = a.apply(lo) - w * lo;
    if (psi(lo) <= 0 && w * m + b > r.lw * m + r.lb) {
      r.lw = w;
      r.lb = b;
    }
  }
  return r;
}

// --- ReLU / LeakyReLU: f(t) = t (t >= 0), s*t (t < 0).

LinearRelaxation relaxPiecewise(double s, double l, double u, ReluLowerSlope mode) {
  LinearRelaxation r;
  if (u <= 0) {
    r.lw = r.uw = r.slope_lo = r.slope_hi = s;
    return r;
  }
  if (l >= 0) {
    r.lw = r.uw = r.slope_lo = r.slope_hi = 1.0;
    return r;
  }
  const double chord = (u - s * l) / (u - l);
  const double chord_b = u * l * (s - 1.0) / (u - l);
  if (s <= 1.0) {
    // Convex: chord above, any line through the origin with slope in [s, 1] below.
    r.uw = chord;
    r.ub = chord_b;
    r.slope_lo = s;
    r.slope_hi = 1.0;
    double w = s;
    switch (mode) {
      case ReluLowerSlope::kAdaptive: w = u > -l ? 1.0 : s; break;
      case ReluLowerSlope::kCrown: w = chord; break;
      case ReluLowerSlope::kZero: w = s; break;
      case ReluLowerSlope::kOne: w = 1.0; break;
    }
    r.lw = std::clamp(w, s, 1.0);
    r.lb = 0.0;
  } else {
    // Concave (negative slope > 1): chord below, origin lines with slope in [1, s] above.
    r.lw = r.slope_lo = r.slope_hi = chord;
    r.lb = chord_b;
    r.uw = u > -l ? 1.0 : s;
    r.ub = 0.0;
  }
  return r;
}

LayerRelax relaxMaxPool(const nn::MaxPool& mp, const VectorXd& l, const VectorXd& u) {
  const size_t n = mp.windows.size();
  LayerRelax r;
  r.pool_lo.resize(n);
  r.pool_up.resize(n);
  r.pool_ub.resize(static_cast<Eigen::Index>(n));
  for (size_t j = 0; j < n; ++j) {
    const auto& w = mp.windows[j];
    int64_t best = w.front();
    double umax = -std::numeric_limits<double>::infinity();
    for (int64_t i : w) {
      if (l[i] > l[best]) best = i;
      umax = std::max(umax, u[i]);
    }
    double other_u = -std::numeric_limits<double>::infinity();
    for (int64_t i : w)
      if (i != best) other_u = std::max(other_u, u[i]);
    r.pool_lo[j] = best;
    r.pool_up[j] = l[best] >= other_u ? best : -1;
    r.pool_ub[static_cast<Eigen::Index>(j)] = umax;
  }
  return r;
}

// Back-substitutes the coefficient rows `a` (rows x out) of a max-pool output
// to its input (rows x in): positive coefficients take the upper relaxation
// when `upper`, the lower one otherwise; constants go to c.
MatrixXd poolBack(const LayerRelax& r, const MatrixXd& a, VectorXd& c, Eigen::Index n_in,
                  bool upper) {
  MatrixXd out = MatrixXd::Zero(a.rows(), n_in);
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    const VectorXd pos = a.col(j).cwiseMax(0.0), neg = a.col(j).cwiseMin(0.0);
    const VectorXd& to_up = upper ? pos : neg;  // coefficients bounded by y_j's upper line
    const VectorXd& to_lo = upper ? neg : pos;
    out.col(r.pool_lo[j]) += to_lo;
    if (r.pool_up[j] >= 0)
      out.col(r.pool_up[j]) += to_up;
    else
      c += to_up * r.pool_ub[j];
  }
  return out;
}

// Two sound enclosures of a nonempty domain can only cross by rounding.
// Beyond this (relative) amount a crossing proves the domain empty.
constexpr double kEmptyTol = 1e-9;

// Orders crossed pairs. Returns false when detect_empty is set and some pair
// crosses by more than rounding error (the domain is empty).
bool settle(VectorXd& lo, VectorXd& hi, bool detect_empty) {
  for (Eigen::Index j = 0; j < lo.size(); ++j) {
    if (!(lo[j] > hi[j])) continue;
    const double scale = 1.0 + std::max(std::abs(lo[j]), std::abs(hi[j]));
    if (detect_empty && lo[j] - hi[j] > kEmptyTol * scale) return false;
    std::swap(lo[j], hi[j]);
  }
  return true;
}

void intersect(VectorXd& lo, VectorXd& hi, const VectorXd& lo2, const VectorXd& hi2) {
  lo = lo.cwiseMax(lo2);
  hi = hi.cwiseMin(hi2);
}

}  // namespace

void detail::checkBox(const nn::Network& net, const spec::Box& box, const char* what) {
  require(box.lo.size() == net.inputSize() && box.hi.size() == net.inputSize(),
          std::string(what) + ": box has " + std::to_string(box.size()) +
              " dimensions, network input has " + std::to_string(net.inputSize()));
  require(box.lo.allFinite() && box.hi.allFinite(),
          std::string(what) + ": input box must be finite");
}

namespace {

// Entries of one block of back-substituted forms (crownCore bounds a layer's
// rows in blocks): 2^19 doubles = 4 MB per matrix.
constexpr Eigen::Index kBackSubEntries = Eigen::Index{1} << 19;

// The widest input of layers 0..k (the widest form to carry down from layer k).
Eigen::Index widestBelow(const nn::Network& net, size_t k) {
  Eigen::Index w = 1;
  for (size_t i = 0; i <= k; ++i) w = std::max<Eigen::Index>(w, net.layerInSize(i));
  return w;
}

// A z + c -> A' x + c' through the activation z = act(x) relaxed by lines:
// a positive coefficient a_ij takes (pw_j x + pb_j), a negative one
// (nw_j x + nb_j). In place over the column-major A (no temporaries: the
// forms of a convolution layer are tens of MB).
void relaxInPlace(MatrixXd& a, VectorXd& c, const VectorXd& pw, const VectorXd& pb,
                  const VectorXd& nw, const VectorXd& nb) {
  const Eigen::Index k = a.rows();
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    double* col = a.col(j).data();
    const double pwj = pw[j], pbj = pb[j], nwj = nw[j], nbj = nb[j];
    for (Eigen::Index i = 0; i < k; ++i) {
      const double v = col[i];
      if (v > 0) {
        c[i] += v * pbj;
        col[i] = v * pwj;
      } else if (v < 0) {
        c[i] += v * nbj;
        col[i] = v * nwj;
      }
    }
  }
}

// Back-substitutes the linear forms A_U z + c_U (upper) and A_L z + c_L (lower),
// where z is the output of layer `top` (top < 0: the network input), down to
// the input, in place: on return they are linear forms of the input.
void backSubstituteForms(const nn::Network& net, const std::vector<LayerRelax>& relax, int top,
                         MatrixXd& au, VectorXd& cu, MatrixXd& al, VectorXd& cl) {
  for (int i = top; i >= 0; --i) {
    const auto& layer = net.layers()[i];
    if (layer.isDense()) {
      const auto& d = layer.dense();
      cu.noalias() += au * d.b;
      cl.noalias() += al * d.b;
      au = d.W.leftMul(au);
      al = d.W.leftMul(al);
    } else if (layer.isMaxPool()) {
      const Eigen::Index n_in = net.layerInSize(i);
      au = poolBack(relax[i], au, cu, n_in, true);
      al = poolBack(relax[i], al, cl, n_in, false);
    } else {
      const auto& r = relax[i];
      // Upper: positive coefficients take the upper line, negative the lower
      // (the lower form the other way round); in place, column by column.
      relaxInPlace(au, cu, r.uw, r.ub, r.lw, r.lb);
      relaxInPlace(al, cl, r.lw, r.lb, r.uw, r.ub);
    }
  }
}

using SpForms = nn::Linear::Sparse;

// relaxInPlace on sparse forms: the same lines, over the stored entries only.
void relaxSparse(SpForms& a, VectorXd& c, const VectorXd& pw, const VectorXd& pb,
                 const VectorXd& nw, const VectorXd& nb) {
  for (Eigen::Index i = 0; i < a.outerSize(); ++i)
    for (SpForms::InnerIterator it(a, i); it; ++it) {
      const double v = it.value();
      const Eigen::Index j = it.col();
      if (v > 0) {
        c[i] += v * pb[j];
        it.valueRef() = v * pw[j];
      } else if (v < 0) {
        c[i] += v * nb[j];
        it.valueRef() = v * nw[j];
      }
    }
  a.prune(0.0, 0.0);  // inactive units (slope 0) drop out
}

// The bounds of rows r0 .. r0 + m - 1 of layer k, a Dense layer with sparse
// weights (a convolution): the forms start as those sparse rows and stay
// sparse through activations and sparse layers below while they are sparser
// than 1 in 8 (a neuron's receptive field), then go on dense from there
// (backSubstituteForms). Same bounds as the dense path, at a cost in
// proportion to the forms' non-zeros.
void backSubstituteSparseRows(const nn::Network& net, const std::vector<LayerRelax>& relax,
                              size_t k, Eigen::Index r0, Eigen::Index m, const VectorXd& mid,
                              const VectorXd& rad, VectorXd& lo, VectorXd& hi) {
  const auto& d = net.layers()[k].dense();
  SpForms su = d.W.sparseRows(r0, m), sl = su;
  VectorXd cu = d.b.segment(r0, m), cl = cu;
  int i = static_cast<int>(k) - 1;
  for (; i >= 0; --i) {
    const auto& layer = net.layers()[i];
    const double entries = static_cast<double>(su.rows()) * static_cast<double>(su.cols());
    if (8.0 * static_cast<double>(std::max(su.nonZeros(), sl.nonZeros())) > entries) break;
    if (layer.isDense()) {
      const auto& w = layer.dense();
      if (w.W.isDense()) break;
      cu += su * w.b;
      cl += sl * w.b;
      su = w.W.leftMulSparse(su);
      sl = w.W.leftMulSparse(sl);
    } else if (layer.isActivation()) {
      const auto& r = relax[i];
      relaxSparse(su, cu, r.uw, r.ub, r.lw, r.lb);
      relaxSparse(sl, cl, r.lw, r.lb, r.uw, r.ub);
    } else {
      break;  // max pooling: the dense path
    }
  }
  if (i < 0) {  // forms of the input: concretise sparse
    hi = cu + su * mid + SpForms(su.cwiseAbs()) * rad;
    lo = cl + sl * mid - SpForms(sl.cwiseAbs()) * rad;
    return;
  }
  MatrixXd au = MatrixXd(su), al = MatrixXd(sl);
  backSubstitute(net, relax, i, std::move(au), std::move(cu), std::move(al), std::move(cl), mid,
                 rad, lo, hi);
}

// The bounds of layer k (a Dense layer with weights d) concretised over the
// box intersected with the L1 ball of p, intersected into lo / hi.
void tightenByL1Budget(const nn::Network& net, const std::vector<LayerRelax>& relax, size_t k,
                       const nn::Dense& d, const spec::Box& box, const CrownParams& p,
                       VectorXd& lo, VectorXd& hi) {
  MatrixXd au = d.W.toDense(), al = au;
  VectorXd cu = d.b, cl = d.b;
  backSubstituteForms(net, relax, static_cast<int>(k) - 1, au, cu, al, cl);
  const VectorXd c = p.l1_center.cwiseMax(box.lo).cwiseMin(box.hi);
  for (Eigen::Index j = 0; j < lo.size(); ++j) {
    const VectorXd ru = au.row(j).transpose(), rl = al.row(j).transpose();
    hi[j] = std::min(hi[j], cu[j] - minOverBoxL1(-ru, box.lo, box.hi, c, p.l1_radius));
    lo[j] = std::max(lo[j], cl[j] + minOverBoxL1(rl, box.lo, box.hi, c, p.l1_radius));
  }
}

}  // namespace

LayerRelax detail::relaxLayer(const nn::Activation& a, const VectorXd& l, const VectorXd& u,
                              ReluLowerSlope mode) {
  const Eigen::Index n = l.size();
  LayerRelax r;
  r.lw.resize(n), r.lb.resize(n), r.uw.resize(n), r.ub.resize(n);
  r.slope_lo.resize(n), r.slope_hi.resize(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    LinearRelaxation x = relaxActivation(a, l[j], u[j], mode);
    r.lw[j] = x.lw, r.lb[j] = x.lb, r.uw[j] = x.uw, r.ub[j] = x.ub;
    r.slope_lo[j] = x.slope_lo, r.slope_hi[j] = x.slope_hi;
    if (x.slope_lo < x.slope_hi) r.optimisable = true;
  }
  return r;
}

void detail::activationRange(const nn::Activation& a, const VectorXd& l, const VectorXd& u,
                             VectorXd& lo, VectorXd& hi) {
  const Eigen::Index n = l.size();
  lo.resize(n), hi.resize(n);
  const double f0 = a.apply(0.0);
  for (Eigen::Index j = 0; j < n; ++j) {
    double fl = a.apply(l[j]), fu = a.apply(u[j]);
    lo[j] = std::min(fl, fu);
    hi[j] = std::max(fl, fu);
    if (l[j] < 0 && u[j] > 0) {
      lo[j] = std::min(lo[j], f0);
      hi[j] = std::max(hi[j], f0);
    }
  }
}

void detail::backSubstitute(const nn::Network& net, const std::vector<LayerRelax>& relax, int top,
                            MatrixXd au, VectorXd cu, MatrixXd al, VectorXd cl, const VectorXd& mid,
                            const VectorXd& rad, VectorXd& lo, VectorXd& hi) {
  backSubstituteForms(net, relax, top, au, cu, al, cl);
  hi = cu + au * mid + au.cwiseAbs() * rad;
  lo = cl + al * mid - al.cwiseAbs() * rad;
}

std::vector<LayerRelax> detail::relaxAll(const nn::Network& net, const BoundTable& t,
                                         ReluLowerSlope mode) {
  std::vector<LayerRelax> relax(net.numLayers());
  for (size_t i = 0; i < net.numLayers(); ++i) {
    const auto& layer = net.layers()[i];
    if (layer.isActivation())
      relax[i] = relaxLayer(layer.activation(), t.preLo(i), t.preHi(i), mode);
    else if (layer.isMaxPool())
      relax[i] = relaxMaxPool(layer.maxPool(), t.preLo(i), t.preHi(i));
  }
  return relax;
}

LinearRelaxation relaxActivation(const nn::Activation& a, double l, double u, ReluLowerSlope mode) {
  switch (a.kind) {
    case nn::ActKind::kRelu: return relaxPiecewise(0.0, l, u, mode);
    case nn::ActKind::kLeakyRelu: return relaxPiecewise(a.alpha, l, u, mode);
    case nn::ActKind::kTanh:
    case nn::ActKind::kSigmoid: return relaxSShaped(a, l, u);
  }
  throw Error("crown: unsupported activation");
}

SplitsByLayer detail::groupSplits(const nn::Network& net, const std::vector<ReluSplit>& splits) {
  SplitsByLayer g(net.numLayers());
  for (const auto& s : splits) {
    require(s.layer < net.numLayers() && net.layers()[s.layer].isActivation(),
            "crown: split on layer " + std::to_string(s.layer) + ", which is not an activation");
    const auto kind = net.layers()[s.layer].activation().kind;
    require(kind == nn::ActKind::kRelu || kind == nn::ActKind::kLeakyRelu,
            "crown: split on a " + std::string(nn::actName(kind)) + " layer (ReLU/LeakyReLU only)");
    require(s.neuron >= 0 && s.neuron < net.layerInSize(s.layer),
            "crown: split neuron " + std::to_string(s.neuron) + " out of range");
    g[s.layer].push_back({s.neuron, s.active});
  }
  return g;
}

namespace {

// Clips the pre-activation bounds [lo, hi] of activation layer `layer` by its splits.
void clipSplits(const SplitsByLayer* splits, size_t layer, VectorXd& lo, VectorXd& hi) {
  if (!splits || layer >= splits->size()) return;
  for (const auto& [j, active] : (*splits)[layer]) {
    if (active)
      lo[j] = std::max(lo[j], 0.0);
    else
      hi[j] = std::min(hi[j], 0.0);
  }
}

bool monotoneActivations(const nn::Network& net) {
  // intervalBounds assumes monotone activations (LeakyReLU with alpha >= 0);
  // only then is it a sound enclosure to intersect with.
  for (const auto& l : net.layers())
    if (l.isActivation() && l.activation().kind == nn::ActKind::kLeakyRelu &&
        !(l.activation().alpha >= 0))
      return false;
  return true;
}

detail::OptimiseSettings alphaSettings(const CrownParams& p) {
  return {p.alpha_iters, p.alpha_lr, 0.0, p.alpha_time_limit_s};
}

// alpha-CROWN on the final outputs (intermediate bounds fixed). False when
// detect_empty and an output pair crosses beyond rounding.
bool refineOutputs(const nn::Network& net, const std::vector<LayerRelax>& relax,
                   const VectorXd& mid, const VectorXd& rad, const CrownParams& p,
                   bool detect_empty, BoundTable& t) {
  const size_t L = net.numLayers();
  const Eigen::Index n = net.outputSize();
  VectorXd& lo = t.lo[L - 1];
  VectorXd& hi = t.hi[L - 1];
  for (Eigen::Index j = 0; j < n; ++j) {
    VectorXd e = VectorXd::Zero(n);
    e[j] = 1.0;
    lo[j] = std::max(lo[j], detail::optimiseLowerBound(net, relax, e, mid, rad, alphaSettings(p)));
    hi[j] = std::min(hi[j], -detail::optimiseLowerBound(net, relax, -e, mid, rad, alphaSettings(p)));
  }
  return settle(lo, hi, detect_empty);
}

// crownBounds over the sub-domain of `box` given by the splits, intersected
// layer by layer with `base`. Returns false (detect_empty) when the sub-domain
// is empty; t is then incomplete.
bool crownCore(const nn::Network& net, const spec::Box& box0, const SplitsByLayer* splits,
               const BoundTable* base, const CrownParams& p, bool detect_empty, BoundTable& t) {
  const size_t L = net.numLayers();
  spec::Box box = box0;
  clipSplits(splits, 0, box.lo, box.hi);  // splits on an activation applied to the input
  if (base) intersect(box.lo, box.hi, base->in_lo, base->in_hi);
  if (!settle(box.lo, box.hi, detect_empty)) return false;
  const BoundTable ib = intervalBounds(net, box);
  const bool monotone = monotoneActivations(net);
  t.method = "crown";
  t.in_lo = box.lo;
  t.in_hi = box.hi;
  t.lo.assign(L, VectorXd());
  t.hi.assign(L, VectorXd());
  const VectorXd mid = 0.5 * (box.lo + box.hi), rad = 0.5 * (box.hi - box.lo);
  std::vector<LayerRelax> relax(L);
  const bool l1 = p.l1_center.size() > 0 && std::isfinite(p.l1_radius);
  if (l1)
    require(p.l1_center.size() == net.inputSize() && p.l1_radius >= 0,
            "crown bounds: the L1 budget's centre has the wrong size or its radius is < 0");

  for (size_t k = 0; k < L; ++k) {
    const auto& layer = net.layers()[k];
    VectorXd lo, hi;
    if (layer.isDense()) {
      const auto& d = layer.dense();
      // Interval step from the (tightened) previous bounds.
      VectorXd c = 0.5 * (t.preLo(k) + t.preHi(k)), r = 0.5 * (t.preHi(k) - t.preLo(k));
      VectorXd m = d.W.apply(c) + d.b, w = d.W.applyAbs(r);
      lo = m - w;
      hi = m + w;
      if (monotone) intersect(lo, hi, ib.lo[k], ib.hi[k]);
      const bool needed = k + 1 == L || !net.layers()[k + 1].isDense();
      if (needed && k > 0) {
        // In blocks of rows, so the back-substituted forms (rows x the widest
        // layer below) stay within kBackSubEntries whatever the network's size.
        const Eigen::Index n = d.W.rows();
        const Eigen::Index block = std::max<Eigen::Index>(
            1, kBackSubEntries / std::max<Eigen::Index>(1, widestBelow(net, k)));
        VectorXd slo(n), shi(n);
        for (Eigen::Index r0 = 0; r0 < n; r0 += block) {
          const Eigen::Index m = std::min(block, n - r0);
          VectorXd blo, bhi;
          if (!d.W.isDense()) {
            backSubstituteSparseRows(net, relax, k, r0, m, mid, rad, blo, bhi);
          } else {
            MatrixXd au = d.W.rowBlock(r0, m);
            MatrixXd al = au;
            const VectorXd b = d.b.segment(r0, m);
            backSubstitute(net, relax, static_cast<int>(k) - 1, std::move(au), b, std::move(al),
                           b, mid, rad, blo, bhi);
          }
          slo.segment(r0, m) = blo;
          shi.segment(r0, m) = bhi;
        }
        intersect(lo, hi, slo, shi);
      }
      if (l1 && (needed || k == 0)) tightenByL1Budget(net, relax, k, d, box, p, lo, hi);
    } else if (layer.isMaxPool()) {
      relax[k] = relaxMaxPool(layer.maxPool(), t.preLo(k), t.preHi(k));
      maxPoolRange(layer.maxPool(), t.preLo(k), t.preHi(k), lo, hi);
      if (monotone) intersect(lo, hi, ib.lo[k], ib.hi[k]);
    } else {
      const auto& a = layer.activation();
      relax[k] = relaxLayer(a, t.preLo(k), t.preHi(k), p.relu_lower);
      activationRange(a, t.preLo(k), t.preHi(k), lo, hi);
      if (monotone) intersect(lo, hi, ib.lo[k], ib.hi[k]);
    }
    if (base) intersect(lo, hi, base->lo[k], base->hi[k]);
    clipSplits(splits, k + 1, lo, hi);
    if (!settle(lo, hi, detect_empty)) return false;
    t.lo[k] = std::move(lo);
    t.hi[k] = std::move(hi);
  }
  if (p.alpha_iters > 0 && L > 0) return refineOutputs(net, relax, mid, rad, p, detect_empty, t);
  return true;
}

}  // namespace

double minOverBoxL1(const Eigen::VectorXd& a, const Eigen::VectorXd& lo, const Eigen::VectorXd& hi,
                    const Eigen::VectorXd& c0, double r) {
  require(a.size() == lo.size() && a.size() == hi.size() && a.size() == c0.size(),
          "minOverBoxL1: size mismatch");
  if (!(r < std::numeric_limits<double>::infinity()))
    return a.cwiseMax(0.0).dot(lo) + a.cwiseMin(0.0).dot(hi);
  const VectorXd c = c0.cwiseMax(lo).cwiseMin(hi);
  double v = a.dot(c);
  // Each coordinate lowers a^T x at rate |a_i| for up to cap_i (towards lo_i
  // when a_i > 0, towards hi_i when a_i < 0): spend the budget on the
  // steepest first.
  std::vector<std::pair<double, double>> moves;  // (rate, capacity)
  moves.reserve(static_cast<size_t>(a.size()));
  for (Eigen::Index i = 0; i < a.size(); ++i) {
    const double cap = a[i] > 0 ? c[i] - lo[i] : hi[i] - c[i];
    if (a[i] != 0.0 && cap > 0.0) moves.emplace_back(std::abs(a[i]), cap);
  }
  std::sort(moves.begin(), moves.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  double budget = std::max(r, 0.0);
  for (const auto& [rate, cap] : moves) {
    if (budget <= 0.0) break;
    const double step = std::min(cap, budget);
    v -= rate * step;
    budget -= step;
  }
  return v;
}

BoundTable crownBounds(const nn::Network& net, const spec::Box& box, const CrownParams& p) {
  checkBox(net, box, "crown bounds");
  BoundTable t;
  crownCore(net, box, nullptr, nullptr, p, false, t);
  return t;
}

std::optional<BoundTable> crownBoundsSplit(const nn::Network& net, const spec::Box& box,
                                           const std::vector<ReluSplit>& splits,
                                           const BoundTable* base, const CrownParams& p) {
  checkBox(net, box, "crown bounds");
  const size_t L = net.numLayers();
  if (base)
    require(base->lo.size() == L && base->hi.size() == L &&
                base->in_lo.size() == net.inputSize() && base->in_hi.size() == net.inputSize(),
            "crown bounds: the base table does not match the network");
  const SplitsByLayer g = groupSplits(net, splits);
  BoundTable t;
  if (!crownCore(net, box, &g, base, p, true, t)) return std::nullopt;
  return t;
}

void crownNeuronBounds(const nn::Network& net, const spec::Box& box, const BoundTable& t,
                       size_t layer, const std::vector<int64_t>& neurons, VectorXd& lo,
                       VectorXd& hi, ReluLowerSlope mode) {
  checkBox(net, box, "crown neuron bounds");
  const size_t L = net.numLayers();
  require(t.lo.size() == L && t.hi.size() == L && t.in_lo.size() == net.inputSize() &&
              t.in_hi.size() == net.inputSize(),
          "crown neuron bounds: the table does not match the network");
  require(layer >= 1 && layer < L && net.layers()[layer].isActivation() &&
              net.layers()[layer - 1].isDense(),
          "crown neuron bounds: layer " + std::to_string(layer) +
              " is not an activation fed by a dense layer");
  const auto& d = net.layers()[layer - 1].dense();
  const auto m = static_cast<Eigen::Index>(neurons.size());
  MatrixXd a(m, d.W.cols());
  VectorXd b(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    const int64_t j = neurons[static_cast<size_t>(i)];
    require(j >= 0 && j < d.W.rows(), "crown neuron bounds: neuron out of range");
    a.row(i) = d.W.row(j).transpose();
    b[i] = d.b[j];
  }
  const std::vector<LayerRelax> relax = relaxAll(net, t, mode);
  const VectorXd dlo = box.lo.cwiseMax(t.in_lo), dhi = box.hi.cwiseMin(t.in_hi).cwiseMax(dlo);
  const VectorXd mid = 0.5 * (dlo + dhi), rad = 0.5 * (dhi - dlo);
  MatrixXd al = a;
  backSubstitute(net, relax, static_cast<int>(layer) - 2, std::move(a), b, std::move(al), b, mid,
                 rad, lo, hi);
}

CrownLowerBoundDetail crownLowerBoundDetail(const nn::Network& net, const spec::Box& box,
                                            const BoundTable& t, const Eigen::VectorXd& c,
                                            const CrownParams& p) {
  const detail::ObjectiveDomain dom = detail::objectiveDomain(net, box, t, c, "crown lower bound");
  detail::BestIterate best;
  const double v = detail::optimiseLowerBound(net, relaxAll(net, t, p.relu_lower), c, dom.mid,
                                              dom.rad, alphaSettings(p), nullptr, &best);
  CrownLowerBoundDetail d;
  detail::fillDetail(net, dom, v, best, d);
  return d;
}

double crownLowerBound(const nn::Network& net, const spec::Box& box, const BoundTable& t,
                       const Eigen::VectorXd& c, const CrownParams& p) {
  return crownLowerBoundDetail(net, box, t, c, p).bound;
}

}  // namespace nnopt::bounds
