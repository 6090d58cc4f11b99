#include "bounds/refine.h"

#include <algorithm>
#include <string>
#include <vector>

#include "bounds/crown_internal.h"
#include "core/error.h"

namespace nnopt::bounds {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using detail::activationRange;
using detail::backSubstitute;
using detail::LayerRelax;
using detail::relaxLayer;

bool piecewiseLinear(const nn::Activation& a) {
  return a.kind == nn::ActKind::kRelu || a.kind == nn::ActKind::kLeakyRelu;
}

void intersect(VectorXd& lo, VectorXd& hi, const VectorXd& lo2, const VectorXd& hi2) {
  lo = lo.cwiseMax(lo2);
  hi = hi.cwiseMin(hi2);
  for (Eigen::Index j = 0; j < lo.size(); ++j)
    if (lo[j] > hi[j]) std::swap(lo[j], hi[j]);  // only by rounding
}

}  // namespace

BoundTable refineCrownBounds(const nn::Network& net, const spec::Box& box,
                                     const BoundTable& parent,
                                     ReluLowerSlope mode) {
  const size_t L = net.numLayers();
  require(box.size() == net.inputSize(), "refine bounds: box has " + std::to_string(box.size()) +
                                             " dimensions, network input has " +
                                             std::to_string(net.inputSize()));
  require(parent.lo.size() == L && parent.hi.size() == L,
          "refine bounds: the parent table does not match the network");
  BoundTable t;
  t.method = "crown";
  t.in_lo = box.lo.cwiseMax(parent.in_lo);
  t.in_hi = box.hi.cwiseMin(parent.in_hi);
  t.lo.resize(L);
  t.hi.resize(L);
  const VectorXd mid = 0.5 * (box.lo + box.hi), rad = 0.5 * (box.hi - box.lo);
  std::vector<LayerRelax> relax(L);
  for (size_t k = 0; k < L; ++k) {
    const auto& layer = net.layers()[k];
    VectorXd lo, hi;
    if (layer.isDense()) {
      const auto& d = layer.dense();
      const VectorXd c = 0.5 * (t.preLo(k) + t.preHi(k)), r = 0.5 * (t.preHi(k) - t.preLo(k));
      const VectorXd m = d.W.apply(c) + d.b, w = d.W.applyAbs(r);
      lo = m - w;  // interval bounds from the refined previous layer
      hi = m + w;
      VectorXd plo = lo, phi = hi;  // and with the parent's
      intersect(plo, phi, parent.lo[k], parent.hi[k]);
      const bool feeds = k + 1 < L && net.layers()[k + 1].isActivation();
      std::vector<Eigen::Index> rows;
      if (feeds && k > 0) {
        const auto& act = net.layers()[k + 1].activation();
        for (Eigen::Index j = 0; j < lo.size(); ++j)
          if (!piecewiseLinear(act) || (plo[j] < 0 && phi[j] > 0)) rows.push_back(j);
      }
      VectorXd slo, shi;
      if (!rows.empty()) {
        MatrixXd a(rows.size(), d.W.cols());
        VectorXd b(rows.size());
        for (size_t r2 = 0; r2 < rows.size(); ++r2) {
          a.row(r2) = d.W.row(rows[r2]).transpose();
          b[r2] = d.b[rows[r2]];
        }
        backSubstitute(net, relax, static_cast<int>(k) - 1, a, b, a, b, mid, rad, slo, shi);
      }
      // Every row: interval ∩ parent, refined rows also ∩ symbolic.
      VectorXd nlo = plo, nhi = phi;
      for (size_t r2 = 0; r2 < rows.size(); ++r2) {
        const Eigen::Index j = rows[r2];
        nlo[j] = std::max(nlo[j], slo[r2]);
        nhi[j] = std::min(nhi[j], shi[r2]);
        if (nlo[j] > nhi[j]) std::swap(nlo[j], nhi[j]);
      }
      lo = std::move(nlo);
      hi = std::move(nhi);
    } else {
      const auto& a = layer.activation();
      relax[k] = relaxLayer(a, t.preLo(k), t.preHi(k), mode);
      activationRange(a, t.preLo(k), t.preHi(k), lo, hi);
      intersect(lo, hi, parent.lo[k], parent.hi[k]);
    }
    t.lo[k] = std::move(lo);
    t.hi[k] = std::move(hi);
  }
  return t;
}

}  // namespace nnopt::bounds
