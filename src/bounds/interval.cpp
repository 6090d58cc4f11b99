#include "bounds/bound_table.h"
#include "core/error.h"

#include <algorithm>
#include <limits>

namespace nnopt::bounds {

std::pair<double, double> conjunctionRange(const nn::Network& net, const BoundTable& t,
                                           const std::vector<spec::OutputConstraint>& conj) {
  const Eigen::VectorXd& ylo = net.numLayers() ? t.lo.back() : t.in_lo;
  const Eigen::VectorXd& yhi = net.numLayers() ? t.hi.back() : t.in_hi;
  const double inf = std::numeric_limits<double>::infinity();
  double tlo = -inf, thi = -inf;
  for (const auto& c : conj) {
    double lo = -c.rhs, hi = -c.rhs;
    for (const auto& [j, a] : c.coefs) {
      lo += a > 0 ? a * ylo[j] : a * yhi[j];
      hi += a > 0 ? a * yhi[j] : a * ylo[j];
    }
    tlo = std::max(tlo, lo);
    thi = std::max(thi, hi);
  }
  return {tlo, thi};
}

ReluCounts countRelus(const nn::Network& net, const BoundTable& t) {
  ReluCounts c;
  for (size_t i = 0; i < net.numLayers(); ++i) {
    const auto& l = net.layers()[i];
    if (!l.isActivation()) continue;
    auto k = l.activation().kind;
    if (k != nn::ActKind::kRelu && k != nn::ActKind::kLeakyRelu) continue;
    const auto& lo = t.preLo(i);
    const auto& hi = t.preHi(i);
    for (Eigen::Index j = 0; j < lo.size(); ++j) {
      if (lo[j] >= 0)
        ++c.active;
      else if (hi[j] <= 0)
        ++c.inactive;
      else
        ++c.unstable;
    }
  }
  return c;
}

void maxPoolRange(const nn::MaxPool& mp, const Eigen::VectorXd& in_lo,
                  const Eigen::VectorXd& in_hi, Eigen::VectorXd& lo, Eigen::VectorXd& hi) {
  const Eigen::Index n = static_cast<Eigen::Index>(mp.windows.size());
  Eigen::VectorXd l(n), h(n);
  for (Eigen::Index j = 0; j < n; ++j) {
    l[j] = h[j] = -std::numeric_limits<double>::infinity();
    for (int64_t i : mp.windows[j]) {
      l[j] = std::max(l[j], in_lo[i]);
      h[j] = std::max(h[j], in_hi[i]);
    }
  }
  lo = std::move(l);
  hi = std::move(h);
}

BoundTable intervalBounds(const nn::Network& net, const spec::Box& box) {
  require(box.size() == net.inputSize(), "interval bounds: box has " +
                                             std::to_string(box.size()) +
                                             " dimensions, network input has " +
                                             std::to_string(net.inputSize()));
  BoundTable t;
  t.method = "interval";
  t.in_lo = box.lo;
  t.in_hi = box.hi;
  Eigen::VectorXd lo = box.lo, hi = box.hi;
  for (const auto& l : net.layers()) {
    if (l.isDense()) {
      const auto& d = l.dense();
      Eigen::VectorXd c = 0.5 * (lo + hi), r = 0.5 * (hi - lo);
      Eigen::VectorXd mid = d.W.apply(c) + d.b;
      Eigen::VectorXd rad = d.W.applyAbs(r);
      lo = mid - rad;
      hi = mid + rad;
    } else if (l.isMaxPool()) {
      maxPoolRange(l.maxPool(), lo, hi, lo, hi);
    } else {
      // All supported activations are monotone non-decreasing.
      const auto& a = l.activation();
      for (Eigen::Index j = 0; j < lo.size(); ++j) {
        lo[j] = a.apply(lo[j]);
        hi[j] = a.apply(hi[j]);
      }
    }
    t.lo.push_back(lo);
    t.hi.push_back(hi);
  }
  return t;
}

}  // namespace nnopt::bounds
