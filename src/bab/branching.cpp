#include "bab/branching.h"

#include <algorithm>
#include <cmath>
#include <memory>

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

namespace {

constexpr int kFreshRounds = 4;

// Is activation layer `layer` fed by a dense layer with an activation below
// it? (Else its pre-activations depend on no other neuron's split.)
bool activationBelow(const nn::Network& net, size_t layer) {
  if (layer < 2 || !net.layers()[layer - 1].isDense()) return false;
  for (size_t i = 0; i + 1 < layer; ++i)
    if (net.layers()[i].isActivation()) return true;
  return false;
}

}  // namespace

FreshOutcome refreshCandidates(const nn::Network& net, const spec::Box& box,
                               const bounds::BoundTable& t0, std::vector<Candidate>& cands,
                               size_t per_round, bool rescore) {
  FreshOutcome out;
  if (per_round == 0 || cands.empty()) return out;
  auto by_score = [](const Candidate& a, const Candidate& b) { return a.score > b.score; };
  std::sort(cands.begin(), cands.end(), by_score);
  std::shared_ptr<bounds::BoundTable> t;  // t0 once changed
  for (int round = 0; round < kFreshRounds && !cands.empty() && !cands.front().fresh; ++round) {
    std::vector<std::vector<size_t>> by_layer(net.numLayers());  // indices into cands
    size_t picked = 0;
    for (size_t i = 0; i < cands.size() && picked < per_round; ++i) {
      if (cands[i].fresh) continue;
      by_layer[cands[i].split.layer].push_back(i);
      ++picked;
    }
    std::vector<char> drop(cands.size(), 0);
    for (size_t layer = 0; layer < by_layer.size(); ++layer) {  // lowest first
      const auto& idx = by_layer[layer];
      if (idx.empty()) continue;
      if (!activationBelow(net, layer)) {  // the parent's bounds are as fresh as CROWN's
        for (size_t i : idx) cands[i].fresh = true;
        continue;
      }
      std::vector<int64_t> neurons;
      for (size_t i : idx) neurons.push_back(cands[i].split.neuron);
      out.computed += static_cast<long>(neurons.size());
      Eigen::VectorXd lo, hi;
      bounds::crownNeuronBounds(net, box, t ? *t : t0, layer, neurons, lo, hi);
      const auto& act = net.layers()[layer].activation();
      for (size_t q = 0; q < idx.size(); ++q) {
        Candidate& c = cands[idx[q]];
        c.fresh = true;
        const int64_t j = c.split.neuron;
        const double l0 = t0.preLo(layer)[j], u0 = t0.preHi(layer)[j];
        double l = std::max(l0, lo[static_cast<Eigen::Index>(q)]);
        double u = std::min(u0, hi[static_cast<Eigen::Index>(q)]);
        if (l > u) {  // beyond rounding: no input reaches the node
          if (l - u > 1e-9 * (1.0 + std::max(std::abs(l), std::abs(u)))) {
            out.empty = true;
            out.table.reset();
            return out;
          }
          l = u = 0.5 * (l + u);
        }
        if (l == l0 && u == u0) continue;
        if (!t) t = std::make_shared<bounds::BoundTable>(t0);
        t->lo[layer - 1][j] = l;
        t->hi[layer - 1][j] = u;
        t->lo[layer][j] = std::max(t->lo[layer][j], std::min(act.apply(l), act.apply(u)));
        t->hi[layer][j] = std::min(t->hi[layer][j], std::max(act.apply(l), act.apply(u)));
        if (!(l < 0 && u > 0)) {
          drop[idx[q]] = 1;
          ++out.fixed;
        } else if (rescore) {
          c.score *= (-l * u / (u - l)) / (-l0 * u0 / (u0 - l0));
        }
      }
    }
    std::vector<Candidate> kept;
    for (size_t i = 0; i < cands.size(); ++i)
      if (!drop[i]) kept.push_back(cands[i]);
    cands = std::move(kept);
    std::sort(cands.begin(), cands.end(), by_score);
  }
  out.table = std::move(t);
  return out;
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
