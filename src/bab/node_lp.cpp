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

// Nonzeros of the compact LP (embedCompact) and of the full one's Dense rows
// (drop_dead_rows: without the rows and columns of stably inactive neurons),
// to choose between them.
std::pair<double, double> lpSizes(const nn::Network& net, const bounds::BoundTable& t) {
  double compact = 0.0, full = 0.0;
  double basis = static_cast<double>(net.inputSize());
  double live_in = basis;  // inputs of the next Dense layer that carry a variable
  for (size_t li = 0; li < net.numLayers(); ++li) {
    const auto& layer = net.layers()[li];
    const bool feeds = li + 1 < net.numLayers() && net.layers()[li + 1].isActivation();
    if (layer.isDense()) {
      double rows = 0.0;
      for (Eigen::Index j = 0; j < t.lo[li].size(); ++j)
        if (!feeds || t.hi[li][j] > 0.0) rows += 1.0;
      const auto& W = layer.dense().W;
      const double density = static_cast<double>(W.storedEntries()) /
                             std::max(1.0, static_cast<double>(W.rows()) *
                                               static_cast<double>(W.cols()));
      full += rows * live_in * density;
      live_in = rows;
      continue;
    }
    if (!layer.isActivation()) continue;
    double unstable = 0.0;
    for (Eigen::Index j = 0; j < t.preLo(li).size(); ++j)
      if (t.preLo(li)[j] < 0.0 && t.preHi(li)[j] > 0.0) unstable += 1.0;
    compact += unstable * (basis + 8.0);
    basis += unstable;
  }
  compact += static_cast<double>(net.outputSize()) * basis;
  return {compact, full};
}

// The big-M relaxation in the variables that matter: the inputs x and, per
// ReLU/LeakyReLU neuron unstable in t, its pre-activation tv, output y and
// binary z (the rows of embedNetwork's big-M encoding). Every other neuron
// is substituted out: its value is an affine function of x and the y's of
// earlier unstable neurons (stable neurons are linear over the whole box),
// composed layer by layer; tv gets one row tv = that function. Same
// feasible set in (x, y, z) as the full embedding except that the bounds of
// stable neurons (implied at every real point) are not rows here, so it is
// still a relaxation, and exact when every binary is fixed. Fills e like
// embedNetwork, with -1 for the neurons without a variable (output_vars
// empty); *constant gets the objective's constant part.
model::MathModel embedCompact(const nn::Network& net, const bounds::BoundTable& t,
                              const std::vector<spec::OutputConstraint>& obj,
                              formulate::Embedding& e, double* constant) {
  requireObjective(net, obj);
  require(!net.hasMaxPool(), "bab: node LPs do not support MaxPool layers");
  require(t.lo.size() == net.numLayers() && t.in_lo.size() == net.inputSize(),
          "bab: the bound table does not match the network");
  model::MathModel m;
  e = formulate::Embedding{};
  const Eigen::Index n0 = net.inputSize();
  std::vector<int> basis;  // model variable of each column of R
  for (Eigen::Index i = 0; i < n0; ++i) {
    basis.push_back(m.addVar(t.in_lo[i], t.in_hi[i], false, "x" + std::to_string(i)));
    e.input_vars.push_back(basis.back());
  }
  // Current layer's values: R * vars(basis) + c.
  Eigen::MatrixXd R = Eigen::MatrixXd::Identity(n0, n0);
  Eigen::VectorXd c = Eigen::VectorXd::Zero(n0);
  for (size_t li = 0; li < net.numLayers(); ++li) {
    const auto& layer = net.layers()[li];
    const Eigen::Index n = layer.isDense() ? layer.dense().W.rows() : R.rows();
    e.layer_vars.emplace_back(static_cast<size_t>(n), -1);
    if (layer.isDense()) {
      R = layer.dense().W.mul(R);
      c = layer.dense().W.apply(c) + layer.dense().b;
      continue;
    }
    const auto& a = layer.activation();
    require(a.kind == nn::ActKind::kRelu || a.kind == nn::ActKind::kLeakyRelu,
            "bab: node LPs need ReLU/LeakyReLU activations");
    const double alpha = a.kind == nn::ActKind::kLeakyRelu ? a.alpha : 0.0;
    require(alpha >= 0.0 && alpha < 1.0, "bab: node LPs need LeakyReLU slopes in [0, 1)");
    const Eigen::VectorXd& l = t.preLo(li);
    const Eigen::VectorXd& u = t.preHi(li);
    std::vector<Eigen::Index> unstable;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (l[j] >= 0.0) continue;  // active: y = t
      if (u[j] <= 0.0) {          // inactive: y = alpha t
        R.row(j) *= alpha;
        c[j] *= alpha;
        continue;
      }
      require(std::isfinite(l[j]) && std::isfinite(u[j]),
              "bab: an unstable neuron has an unbounded pre-activation");
      unstable.push_back(j);
    }
    const Eigen::Index B = R.cols();
    R.conservativeResize(Eigen::NoChange, B + static_cast<Eigen::Index>(unstable.size()));
    R.rightCols(static_cast<Eigen::Index>(unstable.size())).setZero();
    for (size_t k = 0; k < unstable.size(); ++k) {
      const Eigen::Index j = unstable[k];
      int tv = -1;
      if (li == 0) {
        tv = e.input_vars[j];
      } else {
        tv = m.addVar(widenLo(l[j]), widenHi(u[j]), false, "t" + std::to_string(li) + "_" +
                                                              std::to_string(j));
        std::vector<model::LinTerm> terms{{tv, 1.0}};
        for (Eigen::Index b = 0; b < B; ++b)
          if (R(j, b) != 0.0) terms.push_back({basis[b], -R(j, b)});
        m.addRow(std::move(terms), c[j], c[j]);
        e.layer_vars[li - 1][j] = tv;
      }
      const int y = m.addVar(widenLo(alpha * l[j]), widenHi(u[j]), false);
      const int z = m.addVar(0.0, 1.0, true);
      const double cc = 1.0 - alpha;
      m.addRow({{y, 1.0}, {tv, -1.0}}, 0.0, model::kInf);
      if (alpha != 0.0) m.addRow({{y, 1.0}, {tv, -alpha}}, 0.0, model::kInf);
      m.addRow({{y, 1.0}, {tv, -1.0}, {z, -cc * l[j]}}, -model::kInf, -cc * l[j]);
      m.addRow({{y, 1.0}, {tv, -alpha}, {z, -cc * u[j]}}, -model::kInf, 0.0);
      e.layer_vars[li][j] = y;
      e.relu_aux.push_back({li, j, z, -1, -1});
      ++e.binaries;
      ++e.unstable_relus;
      R.row(j).setZero();
      R(j, B + static_cast<Eigen::Index>(k)) = 1.0;
      c[j] = 0.0;
      basis.push_back(y);
    }
    e.stable_relus += static_cast<int>(n) - static_cast<int>(unstable.size());
  }
  // The objective over the basis: c_k^T (R v + c) - d_k.
  auto form = [&](const spec::OutputConstraint& oc, double* k0) {
    const Eigen::VectorXd cv = coefVector(oc, net.outputSize());
    *k0 = cv.dot(c);
    const Eigen::VectorXd g = R.transpose() * cv;
    std::vector<model::LinTerm> terms;
    for (Eigen::Index b = 0; b < g.size(); ++b)
      if (g[b] != 0.0) terms.push_back({basis[b], g[b]});
    return terms;
  };
  if (obj.size() == 1) {
    m.objLinear() = form(obj[0], constant);
  } else {
    *constant = 0.0;
    auto [tlo, thi] = bounds::conjunctionRange(net, t, obj);
    tlo = std::isfinite(tlo) ? widenLo(tlo) : -model::kInf;
    thi = std::isfinite(thi) ? widenHi(thi) : model::kInf;
    const int tv = m.addVar(std::min(tlo, thi), std::max(tlo, thi), false, "t");
    for (const auto& oc : obj) {
      double k0 = 0.0;
      auto terms = form(oc, &k0);
      terms.push_back({tv, -1.0});
      m.addRow(std::move(terms), -model::kInf, oc.rhs - k0);
    }
    m.objLinear() = {{tv, 1.0}};
  }
  m.setSense(model::Sense::kMinimize);
  return m;
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

namespace {

bool useCompact(const nn::Network& net, const bounds::BoundTable& r, NodeLpForm form) {
  if (form != NodeLpForm::kAuto) return form == NodeLpForm::kCompact;
  const auto [compact, full] = lpSizes(net, r);
  return compact <= full;
}

}  // namespace

struct NodeLp::Impl {
  const nn::Network& net;
  const spec::Box& box;
  const bounds::BoundTable root;
  const bool compact;
  double constant = 0.0;  // the compact objective's constant part
  formulate::Embedding e;
  const model::MathModel model;  // without cuts, for rebuilding the session
  const double offset;
  solve::LpSession lp;
  std::vector<solve::LpSession::LinRow> pool;  // the cut rows in lp, in order
  int cuts = 0;  // ever added
  bool node_bounds = false;

  Impl(const nn::Network& n, const spec::Box& b, const bounds::BoundTable& r,
       const std::vector<spec::OutputConstraint>& obj, bool nb, bool drop, NodeLpForm form)
      : net(n), box(b), root(r), compact(useCompact(n, r, form)),
        model(compact ? embedCompact(n, r, obj, e, &constant)
                      : embedWithObjective(n, r, obj, drop, e)),
        offset(objOffset(obj) + constant), lp(model), node_bounds(nb) {
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
    if (x.empty() || compact) return 0;  // the separator needs every neuron's variable
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
               bool drop_dead_rows, NodeLpForm form)
    : impl_(std::make_unique<Impl>(net, box, root, obj, node_bounds, drop_dead_rows, form)) {}

bool NodeLp::compact() const { return impl_->compact; }

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
  if (impl_->compact) return;  // rows of the full embedding's variables
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
