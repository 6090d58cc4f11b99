#include "bab/node_lp.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "formulate/embed.h"
#include "formulate/ideal_cuts.h"
#include "model/math_model.h"
#include "solve/lp_session.h"

namespace nnopt::bab {

namespace {

// The same slack embedNetwork gives variable bounds (see formulate/embed.cpp):
// the solver's rows hold only to its tolerance.
double widenLo(double v) { return v - 1e-7 * (1.0 + std::abs(v)); }
double widenHi(double v) { return v + 1e-7 * (1.0 + std::abs(v)); }

// The dense objective vector of one constraint.
Eigen::VectorXd coefVector(const spec::OutputConstraint& c, int64_t n) {
  Eigen::VectorXd v = Eigen::VectorXd::Zero(n);
  for (const auto& [j, a] : c.coefs) v[j] += a;
  return v;
}

// See the file comment of node_lp.h (drop_dead_rows).
void dropDeadRows(model::MathModel& m) {
  std::vector<int> uses(m.numVars(), 0);
  for (const auto& r : m.rows())
    for (const auto& t : r.terms) ++uses[t.var];
  for (const auto& t : m.objLinear()) uses[t.var] += 2;
  std::vector<model::Row> kept;
  for (auto& r : m.rows()) {
    bool dead = false;
    for (const auto& t : r.terms) dead = dead || uses[t.var] == 1;
    if (!dead || r.nl.kind != model::NlKind::kNone) kept.push_back(std::move(r));
  }
  m.rows() = std::move(kept);
}

// The big-M relaxation with the objective v = max_k (c_k^T y - d_k): for one
// function c^T y (the offset -d is added to the bounds by the caller), else
// min t with c_k^T y - d_k <= t.
model::MathModel embedWithObjective(const nn::Network& net, const bounds::BoundTable& t,
                                    const std::vector<spec::OutputConstraint>& obj, bool drop,
                                    formulate::Embedding& e) {
  requireObjective(net, obj);
  require(!net.hasMaxPool(), "bab: node LPs do not support MaxPool layers");
  model::MathModel m;
  formulate::EmbedOptions opt;
  opt.relu = formulate::ReluEncoding::kBigM;
  e = formulate::embedNetwork(m, net, t, opt);
  if (obj.size() == 1) {
    const Eigen::VectorXd c = coefVector(obj[0], net.outputSize());
    for (Eigen::Index j = 0; j < c.size(); ++j)
      if (c[j] != 0.0) m.objLinear().push_back({e.output_vars[j], c[j]});
  } else {
    // t's range from the output bounds (every optimum lies in it): a free t
    // would leave the weak-duality bound at -inf whenever its reduced cost is
    // not exactly 0.
    auto [tlo, thi] = bounds::conjunctionRange(net, t, obj);
    tlo = std::isfinite(tlo) ? widenLo(tlo) : -model::kInf;
    thi = std::isfinite(thi) ? widenHi(thi) : model::kInf;
    const int tv = m.addVar(std::min(tlo, thi), std::max(tlo, thi), false, "t");
    for (size_t k = 0; k < obj.size(); ++k) {
      const Eigen::VectorXd c = coefVector(obj[k], net.outputSize());
      std::vector<model::LinTerm> terms;
      for (Eigen::Index j = 0; j < c.size(); ++j)
        if (c[j] != 0.0) terms.push_back({e.output_vars[j], c[j]});
      terms.push_back({tv, -1.0});
      m.addRow(std::move(terms), -model::kInf, obj[k].rhs, "obj" + std::to_string(k));
    }
    m.objLinear() = {{tv, 1.0}};
  }
  m.setSense(model::Sense::kMinimize);
  if (drop) dropDeadRows(m);
  return m;
}

// The constant of v the LP objective leaves out (one function: -d).
double objOffset(const std::vector<spec::OutputConstraint>& obj) {
  return obj.size() == 1 ? -obj[0].rhs : 0.0;
}

NodeLpResult readResult(const solve::LpSession::Result& r, const solve::LpSession& lp,
                        const formulate::Embedding& e, const spec::Box& box, double offset,
                        bool point = true) {
  NodeLpResult out;
  out.iterations = r.iterations;
  if (r.status == solve::SolveStatus::kInfeasible) {
    out.infeasible = true;
    return out;
  }
  if (r.status != solve::SolveStatus::kOptimal || !std::isfinite(r.bound)) return out;
  out.solved = true;
  out.bound = r.bound + offset;
  if (!point) return out;
  const auto x = lp.primal();
  out.x.resize(static_cast<Eigen::Index>(e.input_vars.size()));
  for (size_t i = 0; i < e.input_vars.size(); ++i)
    out.x[i] = std::clamp(x[e.input_vars[i]], box.lo[i], box.hi[i]);
  return out;
}

}  // namespace

void requireObjective(const nn::Network& net, const std::vector<spec::OutputConstraint>& obj) {
  require(!obj.empty(), "bab: the objective has no function");
  for (const auto& c : obj)
    for (const auto& [j, a] : c.coefs)
      require(j >= 0 && j < net.outputSize(),
              "bab: objective refers to output " + std::to_string(j) + ", network output has " +
                  std::to_string(net.outputSize()));
}

struct NodeLp::Impl {
  const nn::Network& net;
  const spec::Box& box;
  const bounds::BoundTable root;
  const double offset;
  formulate::Embedding e;
  const model::MathModel model;  // without cuts, for rebuilding the session
  solve::LpSession lp;
  std::vector<solve::LpSession::LinRow> pool;  // the cut rows in lp, in order
  int cuts = 0;  // ever added
  bool node_bounds = false;

  Impl(const nn::Network& n, const spec::Box& b, const bounds::BoundTable& r,
       const std::vector<spec::OutputConstraint>& obj, bool nb, bool drop)
      : net(n), box(b), root(r), offset(objOffset(obj)),
        model(embedWithObjective(n, r, obj, drop, e)), lp(model), node_bounds(nb) {
    resetBounds();
  }

  // Rebuilds the session with only the cuts binding at the last solution.
  int purgeCuts(double tol) {
    const auto x = lp.primal();
    if (x.empty()) return static_cast<int>(pool.size());
    std::vector<solve::LpSession::LinRow> kept;
    for (auto& r : pool) {
      double act = 0.0;
      for (const auto& t : r.terms) act += t.coef * x[t.var];
      if (r.hi - act <= tol * (1.0 + std::abs(r.hi))) kept.push_back(std::move(r));
    }
    lp = solve::LpSession(model);
    resetBounds();
    lp.addRows(kept);
    pool = std::move(kept);
    return static_cast<int>(pool.size());
  }

  // Bounds currently in the session (the model's after a (re)build): only
  // changes are passed on. Moving many nonbasic variables to new bounds costs
  // the dual simplex a lot even when the optimum does not move. A node's
  // bounds are first collected in tgt_lo/tgt_hi, then the differences applied.
  std::vector<double> cur_lo, cur_hi, tgt_lo, tgt_hi;
  std::vector<std::vector<int>> aux_of;  // (activation layer, neuron) -> index in e.relu_aux

  void resetBounds() {
    cur_lo.clear();
    cur_hi.clear();
    for (const auto& v : model.vars()) {
      cur_lo.push_back(v.lb);
      cur_hi.push_back(v.ub);
    }
    if (aux_of.empty()) {
      aux_of.resize(net.numLayers());
      for (size_t k = 0; k < e.relu_aux.size(); ++k) {
        auto& v = aux_of[e.relu_aux[k].layer];
        if (v.empty()) v.assign(net.layerInSize(e.relu_aux[k].layer), -1);
        v[e.relu_aux[k].neuron] = static_cast<int>(k);
      }
    }
  }

  void setRaw(int var, double lo, double hi) {
    if (var < 0) return;
    tgt_lo[var] = lo;
    tgt_hi[var] = hi;
  }

  void setBounds(int var, double lo, double hi) { setRaw(var, widenLo(lo), widenHi(hi)); }

  void flush() {
    for (size_t v = 0; v < tgt_lo.size(); ++v) {
      if (cur_lo[v] == tgt_lo[v] && cur_hi[v] == tgt_hi[v]) continue;
      lp.setVarBounds(static_cast<int>(v), tgt_lo[v], tgt_hi[v]);
      cur_lo[v] = tgt_lo[v];
      cur_hi[v] = tgt_hi[v];
    }
  }

  // Bounds of the output of layer li, neuron j at the node: the node's own
  // (node_bounds) or the root's, clipped at 0 where the node made the neuron
  // feeding a ReLU stable (the root big-M rows then need the sign).
  std::pair<double, double> nodeBounds(const bounds::BoundTable& t, size_t li, size_t j) const {
    if (node_bounds) return {t.lo[li][j], t.hi[li][j]};
    const double rl = root.lo[li][j], rh = root.hi[li][j];
    const bool feeds = li + 1 < net.numLayers() && net.layers()[li + 1].isActivation();
    if (feeds && rl < 0 && t.lo[li][j] >= 0) return {0.0, rh};
    if (feeds && rh > 0 && t.hi[li][j] <= 0) return {rl, 0.0};
    return {rl, rh};
  }

  void applyNode(const bounds::BoundTable& t, const std::vector<bounds::ReluSplit>& splits) {
    tgt_lo = cur_lo;
    tgt_hi = cur_hi;
    for (size_t i = 0; i < e.input_vars.size(); ++i)
      setBounds(e.input_vars[i], t.in_lo[i], t.in_hi[i]);
    for (size_t li = 0; li < e.layer_vars.size(); ++li) {
      // An activation output shares the variable of its input when the root
      // proved the neuron active: the (equal up to rounding) pre-activation
      // bounds were already set by the previous layer.
      const bool act = net.layers()[li].isActivation();
      const auto& prev = li == 0 ? e.input_vars : e.layer_vars[li - 1];
      for (size_t j = 0; j < e.layer_vars[li].size(); ++j) {
        const int v = e.layer_vars[li][j];
        if (act && v == prev[j]) continue;
        const auto [lo, hi] = nodeBounds(t, li, j);
        setBounds(v, lo, hi);
      }
    }
    for (const auto& a : e.relu_aux) {
      const double l = t.preLo(a.layer)[a.neuron], u = t.preHi(a.layer)[a.neuron];
      const double zlo = l >= 0 ? 1.0 : 0.0, zhi = u <= 0 ? 0.0 : 1.0;
      setRaw(a.z, std::min(zlo, zhi), std::max(zlo, zhi));
    }
    for (const auto& s : splits) applySplit(t, s);
    flush();
  }

  // Variable of the pre-activation of neuron j of activation layer li.
  int preVar(size_t li, int64_t j) const {
    return li == 0 ? e.input_vars[j] : e.layer_vars[li - 1][j];
  }

  // The split as variable bounds: binary fixed, pre-activation clipped at 0.
  void applySplit(const bounds::BoundTable& t, const bounds::ReluSplit& s) {
    require(s.layer < aux_of.size(), "bab: split of a layer out of range");
    const double l = t.preLo(s.layer)[s.neuron], u = t.preHi(s.layer)[s.neuron];
    const auto& idx = aux_of[s.layer];
    const int k = idx.empty() ? -1 : idx[s.neuron];
    if (k >= 0) setRaw(e.relu_aux[k].z, s.active ? 1.0 : 0.0, s.active ? 1.0 : 0.0);
    if (s.active)
      setBounds(preVar(s.layer, s.neuron), std::max(l, 0.0), std::max(u, 0.0));
    else
      setBounds(preVar(s.layer, s.neuron), std::min(l, 0.0), std::min(u, 0.0));
  }

  int addCuts(double min_violation, int max_cuts) {
    const auto x = lp.primal();
    if (x.empty()) return 0;
    auto found = formulate::separateIdealCuts(net, e, root, x, min_violation, max_cuts);
    std::vector<solve::LpSession::LinRow> rows;
    for (auto& c : found) rows.push_back({std::move(c.row.terms), c.row.lo, c.row.hi});
    lp.addRows(rows);
    cuts += static_cast<int>(rows.size());
    pool.insert(pool.end(), rows.begin(), rows.end());
    return static_cast<int>(rows.size());
  }

  std::vector<LpRelu> reluValues() const {
    const auto x = lp.primal();
    std::vector<LpRelu> out;
    out.reserve(e.relu_aux.size());
    for (const auto& a : e.relu_aux) {
      const int y = e.layer_vars[a.layer][a.neuron];
      out.push_back({a.layer, a.neuron, x[preVar(a.layer, a.neuron)], y >= 0 ? x[y] : 0.0});
    }
    return out;
  }
};

NodeLp::NodeLp(const nn::Network& net, const spec::Box& box, const bounds::BoundTable& root,
               const std::vector<spec::OutputConstraint>& obj, bool node_bounds,
               bool drop_dead_rows)
    : impl_(std::make_unique<Impl>(net, box, root, obj, node_bounds, drop_dead_rows)) {}

NodeLp::~NodeLp() = default;

NodeLpResult NodeLp::solve(const bounds::BoundTable& node,
                           const std::vector<bounds::ReluSplit>& splits, double time_limit_s) {
  impl_->applyNode(node, splits);
  auto r = readResult(impl_->lp.solve(time_limit_s), impl_->lp, impl_->e, impl_->box,
                      impl_->offset);
  if (r.solved) r.relus = impl_->reluValues();
  return r;
}

int NodeLp::addCuts(double min_violation, int max_cuts) {
  return impl_->addCuts(min_violation, max_cuts);
}

int NodeLp::numCuts() const { return impl_->cuts; }

int NodeLp::purgeCuts(double tol) { return impl_->purgeCuts(tol); }

NodeLpResult NodeLp::solveChild(const bounds::BoundTable& node,
                                const std::vector<bounds::ReluSplit>& splits,
                                const bounds::ReluSplit& s, double time_limit_s) {
  std::vector<bounds::ReluSplit> all = splits;
  all.push_back(s);
  impl_->applyNode(node, all);
  return readResult(impl_->lp.solve(time_limit_s), impl_->lp, impl_->e, impl_->box,
                    impl_->offset, false);
}

std::vector<LpCutRow> NodeLp::cutRows() const {
  std::vector<LpCutRow> out;
  for (const auto& r : impl_->pool) out.push_back({r.terms, r.hi});
  return out;
}

void NodeLp::addCutRows(const std::vector<LpCutRow>& rows) {
  std::vector<solve::LpSession::LinRow> add;
  for (const auto& r : rows) add.push_back({r.terms, -model::kInf, r.hi});
  impl_->lp.addRows(add);
  impl_->pool.insert(impl_->pool.end(), add.begin(), add.end());
}

NodeLpResult solveFreshNodeLp(const nn::Network& net, const spec::Box& box,
                              const bounds::BoundTable& node,
                              const std::vector<spec::OutputConstraint>& obj, double time_limit_s) {
  formulate::Embedding e;
  solve::LpSession lp(embedWithObjective(net, node, obj, true, e));
  return readResult(lp.solve(time_limit_s), lp, e, box, objOffset(obj));
}

}  // namespace nnopt::bab
