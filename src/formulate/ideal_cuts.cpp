#include "formulate/ideal_cuts.h"

#include <algorithm>
#include <cmath>
#include <memory>

namespace nnopt::formulate {

bool idealCutApplies(const nn::Network& net, const ReluAux& a) {
  return a.z >= 0 && a.layer > 0 && a.layer < net.numLayers() &&
         net.layers()[a.layer - 1].isDense() && net.layers()[a.layer].isActivation() &&
         net.layers()[a.layer].activation().kind == nn::ActKind::kRelu;
}

IdealCut separateIdealCut(const nn::Network& net, const Embedding& e,
                          const bounds::BoundTable& t, const ReluAux& a,
                          const std::vector<double>& x) {
  IdealCut cut;
  const size_t k = a.layer - 1;  // the Dense layer
  const auto& d = net.layers()[k].dense();
  const auto& in = k == 0 ? e.input_vars : e.layer_vars[k - 1];
  const Eigen::VectorXd& L = t.preLo(k);
  const Eigen::VectorXd& U = t.preHi(k);
  const int y = e.layer_vars[a.layer][a.neuron];
  const double zs = x[a.z];
  const double b = d.b[a.neuron];
  double val = b * zs, zcoef = b, rhs = 0.0, mag = std::abs(b);
  std::vector<model::LinTerm> in_i, out_i;  // -w_i v_i for i in I / w_i v_i for i not in I
  d.W.forEachInRow(a.neuron, [&](Eigen::Index i, double w) {
    if (w == 0.0 || in[i] < 0) return;  // in[i] < 0: the constant 0
    const double lw = w >= 0 ? L[i] : U[i], uw = w >= 0 ? U[i] : L[i];
    const double with = w * (x[in[i]] - lw * (1 - zs)), without = w * uw * zs;
    mag += std::abs(w) * std::max(std::abs(L[i]), std::abs(U[i]));
    if (with < without) {
      val += with;
      in_i.push_back({in[i], -w});
      zcoef += w * lw;
      rhs -= w * lw;
    } else {
      val += without;
      out_i.push_back({in[i], w});
      zcoef += w * uw;
    }
  });
  const double ys = y >= 0 ? x[y] : 0.0;
  cut.violation = (ys - val) / (1.0 + std::abs(ys));
  auto& terms = cut.row.terms;
  const int pre = e.layer_vars[k][a.neuron];
  if (out_i.size() + 1 < in_i.size() && pre >= 0) {
    // The sparser equal form: sum_I w_i v_i = pre - b - sum_{not I} w_i v_i.
    terms = std::move(out_i);
    terms.push_back({pre, -1.0});
    rhs -= b;
  } else {
    terms = std::move(in_i);
  }
  if (y >= 0) terms.push_back({y, 1.0});
  terms.push_back({a.z, -zcoef});
  // Covers the rounding of the coefficients and of the right-hand side.
  cut.row.hi = rhs + 1e-9 * (1.0 + mag);
  return cut;
}

std::vector<IdealCut> separateIdealCuts(const nn::Network& net, const Embedding& e,
                                        const bounds::BoundTable& t,
                                        const std::vector<double>& x, double min_violation,
                                        int max_cuts, int max_terms) {
  std::vector<IdealCut> found;
  for (const auto& a : e.relu_aux) {
    if (!idealCutApplies(net, a)) continue;
    IdealCut c = separateIdealCut(net, e, t, a, x);
    if (max_terms > 0 && static_cast<int>(c.row.terms.size()) > max_terms) continue;
    if (c.violation > min_violation) found.push_back(std::move(c));
  }
  std::sort(found.begin(), found.end(),
            [](const IdealCut& p, const IdealCut& q) { return p.violation > q.violation; });
  if (static_cast<int>(found.size()) > max_cuts) found.resize(std::max(0, max_cuts));
  return found;
}

std::function<std::vector<model::Row>(const std::vector<double>& x)> idealCutSeparator(
    const nn::Network& net, const Embedding& e, const bounds::BoundTable& t,
    double min_violation, int max_cuts, int max_terms) {
  auto ep = std::make_shared<const Embedding>(e);
  auto tp = std::make_shared<const bounds::BoundTable>(t);
  return [&net, ep, tp, min_violation, max_cuts, max_terms](const std::vector<double>& x) {
    std::vector<model::Row> rows;
    for (auto& c : separateIdealCuts(net, *ep, *tp, x, min_violation, max_cuts, max_terms))
      rows.push_back(std::move(c.row));
    return rows;
  };
}

}  // namespace nnopt::formulate
