#include "bab/branching.h"

#include <algorithm>
#include <cmath>

namespace nnopt::bab {

namespace {
constexpr int kReliable = 2;  // observations per direction
}

std::vector<Candidate> candidates(const nn::Network& net, const bounds::BoundTable& t,
                                  const std::vector<Eigen::VectorXd>& coef) {
  std::vector<Candidate> out;
  for (size_t i = 0; i < net.numLayers(); ++i) {
    if (!net.layers()[i].isActivation()) continue;
    for (Eigen::Index j = 0; j < t.preLo(i).size(); ++j) {
      const double l = t.preLo(i)[j], u = t.preHi(i)[j];
      if (!(l < 0 && u > 0)) continue;
      Candidate c;
      c.split = {i, j, true};
      // A negative coefficient takes the neuron's upper relaxation, whose
      // intercept a split removes; a positive one its lower line (no
      // intercept): BaBSR's max(0, -coef), with |coef| as a tie-break.
      const double a = i < coef.size() && coef[i].size() > j ? coef[i][j] : 0.0;
      c.coef = std::abs(a);
      c.babsr = (std::max(0.0, -a) + 1e-3 * c.coef + 1e-6) * (-l * u / (u - l));
      c.score = c.babsr;
      out.push_back(c);
    }
  }
  return out;
}

void addViolations(const nn::Network& net, std::vector<Candidate>& cands, const NodeLpResult& lp,
                   bool rescore) {
  if (lp.relus.empty()) return;
  std::vector<std::vector<double>> viol(net.numLayers());
  for (const auto& r : lp.relus) {
    auto& v = viol[r.layer];
    if (v.empty()) v.assign(net.layerInSize(r.layer), 0.0);
    const double alpha = net.layers()[r.layer].activation().kind == nn::ActKind::kLeakyRelu
                             ? net.layers()[r.layer].activation().alpha
                             : 0.0;
    v[r.neuron] = std::max(0.0, r.y - std::max(r.t, alpha * r.t));
  }
  std::vector<Candidate> kept;
  for (auto& c : cands) {
    const auto& v = viol[c.split.layer];
    c.viol = v.empty() ? 0.0 : v[c.split.neuron];
    if (!(c.viol > 1e-9)) continue;
    if (rescore) c.score = (c.coef + 1e-6) * c.viol + 1e-3 * c.babsr;
    kept.push_back(c);
  }
  cands = std::move(kept);
}

Pseudocosts::Pseudocosts(const nn::Network& net) : net_(net), pc_(net.numLayers()) {}

Pseudocosts::Cost& Pseudocosts::at(const bounds::ReluSplit& s) {
  auto& v = pc_[s.layer];
  if (v.empty()) v.resize(net_.layerInSize(s.layer));
  return v[s.neuron];
}

bool Pseudocosts::reliable(const bounds::ReluSplit& s) {
  const Cost& q = at(s);
  return std::min(q.n[0], q.n[1]) >= kReliable;
}

void Pseudocosts::record(const bounds::ReluSplit& s, bool active, double gain, double viol) {
  if (!(viol > 1e-9) || !std::isfinite(gain)) return;
  Cost& q = at(s);
  q.sum[active] += std::max(gain, 0.0) / viol;
  ++q.n[active];
}

double Pseudocosts::score(const Candidate& c) {
  const Cost& q = at(c.split);
  const double g0 = q.sum[0] / q.n[0] * c.viol, g1 = q.sum[1] / q.n[1] * c.viol;
  return std::max(g0, 1e-6) * std::max(g1, 1e-6);
}

}  // namespace nnopt::bab
