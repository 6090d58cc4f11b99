#include "formulate/embed.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace nnopt::formulate {

namespace {

using model::kInf;
using model::LinTerm;
using model::MathModel;
using model::NlKind;
using model::Row;

// Variable bounds get a little slack over the computed bounds: the bounds are
// exact in real arithmetic, but the solver's rows are satisfied only to its
// tolerance, and a variable pinned at a rounded bound must not turn a feasible
// point infeasible.
double widenLo(double v) {
  return std::isfinite(v) ? v - 1e-7 * (1.0 + std::abs(v)) : -kInf;
}
double widenHi(double v) {
  return std::isfinite(v) ? v + 1e-7 * (1.0 + std::abs(v)) : kInf;
}

std::string neuronName(const char* kind, size_t layer, int64_t j) {
  return std::string(kind) + std::to_string(layer) + "_" + std::to_string(j);
}

class Embedder {
 public:
  Embedder(MathModel& m, const nn::Network& net, const bounds::BoundTable& bt,
           const EmbedOptions& opt)
      : m_(m), net_(net), bt_(bt), opt_(opt) {}

  Embedding run() {
    require(bt_.lo.size() == net_.numLayers() && bt_.hi.size() == net_.numLayers(),
            "embed: the bound table does not match the network (" + std::to_string(bt_.lo.size()) +
                " layers of bounds, " + std::to_string(net_.numLayers()) + " layers)");
    require(bt_.in_lo.size() == net_.inputSize(), "embed: input bounds have the wrong size");
    if (!opt_.input_vars.empty()) {
      require(static_cast<int64_t>(opt_.input_vars.size()) == net_.inputSize(),
              "embed: " + std::to_string(opt_.input_vars.size()) +
                  " input variables given, the network has " +
                  std::to_string(net_.inputSize()) + " inputs");
      for (int v : opt_.input_vars)
        require(v >= 0 && v < m_.numVars(),
                "embed: input variable " + std::to_string(v) + " is not in the model");
      e_.input_vars = opt_.input_vars;
    } else {
      for (int64_t i = 0; i < net_.inputSize(); ++i)
        e_.input_vars.push_back(
            m_.addVar(bt_.in_lo[i], bt_.in_hi[i], false, opt_.name_prefix + "x" + std::to_string(i)));
    }
    const std::vector<int>* in = &e_.input_vars;
    for (size_t li = 0; li < net_.numLayers(); ++li) {
      const auto& layer = net_.layers()[li];
      const bool last = li + 1 == net_.numLayers();
      std::vector<int> out = layer.isDense()     ? dense(li, layer.dense(), *in)
                             : layer.isMaxPool() ? maxPool(li, layer.maxPool(), *in)
                                                 : activation(li, layer.activation(), *in);
      if (last) materialiseConstants(li, out);
      e_.layer_vars.push_back(std::move(out));
      in = &e_.layer_vars.back();
    }
    e_.output_vars = net_.numLayers() ? e_.layer_vars.back() : e_.input_vars;
    return std::move(e_);
  }

 private:
  std::string name(const char* kind, size_t layer, int64_t j) const {
    return opt_.name_prefix + neuronName(kind, layer, j);
  }

  std::vector<int> dense(size_t li, const nn::Dense& d, const std::vector<int>& in) {
    const auto& lo = bt_.lo[li];
    const auto& hi = bt_.hi[li];
    const Eigen::Index chunk = opt_.input_chunk;
    const bool chunked = opt_.relu == ReluEncoding::kComplementarity && chunk > 0 && li == 0 &&
                         d.W.cols() > 2 * chunk;
    std::vector<int> out(d.W.rows());
    for (Eigen::Index j = 0; j < d.W.rows(); ++j) {
      int y = m_.addVar(widenLo(lo[j]), widenHi(hi[j]), false, name("a", li, j));
      std::vector<LinTerm> terms{{y, 1.0}};
      if (!chunked) {
        d.W.forEachInRow(j, [&](Eigen::Index k, double w) {
          if (w != 0.0 && in[k] >= 0) terms.push_back({in[k], -w});
        });
      } else {
        for (Eigen::Index k0 = 0; k0 < d.W.cols(); k0 += chunk) {
          const Eigen::Index k1 = std::min<Eigen::Index>(d.W.cols(), k0 + chunk);
          std::vector<LinTerm> part;
          double plo = 0.0, phi = 0.0;  // interval range of the partial sum
          d.W.forEachInRow(j, [&](Eigen::Index k, double w) {
            if (k < k0 || k >= k1 || w == 0.0 || in[k] < 0) return;
            part.push_back({in[k], -w});
            plo += std::min(w * bt_.in_lo[k], w * bt_.in_hi[k]);
            phi += std::max(w * bt_.in_lo[k], w * bt_.in_hi[k]);
          });
          if (part.empty()) continue;
          const int sv = m_.addVar(widenLo(plo), widenHi(phi), false, name("psum", li, j));
          part.push_back({sv, 1.0});
          m_.addRow(std::move(part), 0.0, 0.0, name("psum", li, j));
          terms.push_back({sv, -1.0});
          e_.partial_sums.push_back({j, k0, k1, sv});
        }
      }
      m_.addRow(std::move(terms), d.b[j], d.b[j], name("dense", li, j));
      out[j] = y;
    }
    return out;
  }

  std::vector<int> activation(size_t li, const nn::Activation& a, const std::vector<int>& in) {
    const auto& plo = bt_.preLo(li);
    const auto& phi = bt_.preHi(li);
    std::vector<int> out(in.size(), -1);
    const bool pwl = a.kind == nn::ActKind::kRelu || a.kind == nn::ActKind::kLeakyRelu;
    if (!pwl && opt_.relu == ReluEncoding::kBigM)
      throw Error(std::string("MIP cannot encode ") + nn::actName(a.kind) + " (layer '" +
                  net_.layers()[li].name + "'); use --method nlp");
    for (size_t j = 0; j < in.size(); ++j) {
      const double l = plo[j], u = phi[j];
      if (!pwl) {
        out[j] = smooth(li, j, a, in[j], l, u);
        continue;
      }
      const double alpha = a.kind == nn::ActKind::kLeakyRelu ? a.alpha : 0.0;
      if (l >= 0.0) {  // stably active: y = t
        out[j] = in[j];
        ++e_.stable_relus;
      } else if (u <= 0.0) {  // stably inactive: y = alpha * t
        ++e_.stable_relus;
        if (alpha != 0.0 && in[j] >= 0) {
          out[j] = m_.addVar(widenLo(alpha * l), widenHi(alpha * u), false, name("y", li, j));
          m_.addRow({{out[j], 1.0}, {in[j], -alpha}}, 0.0, 0.0, name("leaky", li, j));
        }
      } else {
        require(std::isfinite(l) && std::isfinite(u),
                "embed: neuron " + std::to_string(j) + " of layer '" + net_.layers()[li].name +
                    "' has an unbounded pre-activation; the input box must be bounded");
        require(in[j] >= 0, "embed: internal error (unstable neuron without a variable)");
        ++e_.unstable_relus;
        out[j] = opt_.relu == ReluEncoding::kBigM ? bigM(li, j, alpha, in[j], l, u)
                                                  : complementarity(li, j, alpha, in[j], l, u);
      }
    }
    return out;
  }

  // y = max(t, alpha t), alpha in [0, 1), with one binary z (z = 1: t >= 0).
  int bigM(size_t li, int64_t j, double alpha, int t, double l, double u) {
    require(
        alpha >= 0.0 && alpha < 1.0,
        "MIP encodes LeakyRelu only with alpha in [0, 1) (layer '" + net_.layers()[li].name + "')");
    int y = m_.addVar(widenLo(alpha * l), widenHi(u), false, name("y", li, j));
    int z = m_.addVar(0.0, 1.0, true, name("z", li, j));
    const double c = 1.0 - alpha;
    m_.addRow({{y, 1.0}, {t, -1.0}}, 0.0, kInf, name("ge_t", li, j));
    if (alpha != 0.0) m_.addRow({{y, 1.0}, {t, -alpha}}, 0.0, kInf, name("ge_at", li, j));
    // z = 0 forces y <= alpha t; z = 1 forces y <= t.
    m_.addRow({{y, 1.0}, {t, -1.0}, {z, -c * l}}, -kInf, -c * l, name("le_t", li, j));
    m_.addRow({{y, 1.0}, {t, -alpha}, {z, -c * u}}, -kInf, 0.0, name("le_u", li, j));
    ++e_.binaries;
    e_.relu_aux.push_back({li, j, z, -1, -1});
    return y;
  }

  // y = max over the window (see PoolAux). A constant-0 input (an inactive
  // ReLU without a variable) gets a variable fixed at 0.
  std::vector<int> maxPool(size_t li, const nn::MaxPool& mp, const std::vector<int>& in) {
    const auto& plo = bt_.preLo(li);
    const auto& phi = bt_.preHi(li);
    std::vector<int> out(mp.windows.size(), -1);
    for (size_t j = 0; j < mp.windows.size(); ++j) {
      const auto& w = mp.windows[j];
      double lmax = -kInf;
      for (int64_t i : w) lmax = std::max(lmax, plo[i]);
      PoolAux aux;
      aux.layer = li;
      aux.neuron = static_cast<int64_t>(j);
      for (int64_t i : w)
        if (phi[i] >= lmax) aux.cands.push_back(i);
      // Largest lower bound first: the cascade then starts from the likely max.
      std::stable_sort(aux.cands.begin(), aux.cands.end(),
                       [&](int64_t a, int64_t b) { return plo[a] > plo[b]; });
      auto var = [&](int64_t i) {
        if (in[i] >= 0) return in[i];
        return m_.addVar(0.0, 0.0, false, name("zero", li, i));
      };
      if (aux.cands.size() == 1) {
        out[j] = var(aux.cands[0]);
        continue;
      }
      double umax = -kInf;
      for (int64_t i : aux.cands) umax = std::max(umax, phi[i]);
      require(std::isfinite(lmax) && std::isfinite(umax),
              "embed: max pool '" + net_.layers()[li].name + "' has unbounded inputs; the input "
              "box must be bounded");
      if (opt_.relu == ReluEncoding::kBigM) {
        const int y = m_.addVar(widenLo(lmax), widenHi(umax), false, name("pool", li, j));
        std::vector<LinTerm> sum;
        for (int64_t i : aux.cands) {
          const int x = var(i);
          const int z = m_.addVar(0.0, 1.0, true, name("pz", li, j));
          aux.z.push_back(z);
          sum.push_back({z, 1.0});
          ++e_.binaries;
          const double big = widenHi(umax) - widenLo(plo[i]);
          m_.addRow({{y, 1.0}, {x, -1.0}}, 0.0, kInf, name("pool_ge", li, j));
          // y - x + big z <= big
          m_.addRow({{y, 1.0}, {x, -1.0}, {z, big}}, -kInf, big, name("pool_le", li, j));
        }
        m_.addRow(std::move(sum), 1.0, 1.0, name("pool_one", li, j));
        out[j] = y;
      } else {
        const size_t K = aux.cands.size();
        aux.t.assign(K, -1), aux.p.assign(K, -1), aux.n.assign(K, -1), aux.m.assign(K, -1);
        int cur = var(aux.cands[0]);
        aux.m[0] = cur;
        double cl = plo[aux.cands[0]], cu = phi[aux.cands[0]];
        for (size_t k = 1; k < K; ++k) {
          const int64_t i = aux.cands[k];
          const double tl = plo[i] - cu, tu = phi[i] - cl;
          cl = std::max(cl, plo[i]);
          cu = std::max(cu, phi[i]);
          if (tu <= 0.0) {  // never above the running max
            aux.m[k] = cur;
            continue;
          }
          const int x = var(i);
          if (tl >= 0.0) {  // always above: the running max is x
            cur = aux.m[k] = x;
            continue;
          }
          const int t = m_.addVar(widenLo(tl), widenHi(tu), false, name("pt", li, j));
          m_.addRow({{t, 1.0}, {x, -1.0}, {cur, 1.0}}, 0.0, 0.0, name("pool_t", li, j));
          const int p = complementarity(li, static_cast<int64_t>(j), 0.0, t, tl, tu, false);
          const int mk = m_.addVar(widenLo(cl), widenHi(cu), false, name("pm", li, j));
          m_.addRow({{mk, 1.0}, {cur, -1.0}, {p, -1.0}}, 0.0, 0.0, name("pool_m", li, j));
          aux.t[k] = t;
          aux.p[k] = p;
          aux.n[k] = e_.compl_pairs.back().s;
          cur = aux.m[k] = mk;
        }
        out[j] = cur;
      }
      e_.pool_aux.push_back(std::move(aux));
    }
    return out;
  }

  // t = p - n with p, n >= 0 and p*n = 0 (written per ComplForm); y = p - alpha n.
  // record: list the pair in relu_aux (a ReLU neuron of layer li).
  int complementarity(size_t li, int64_t j, double alpha, int t, double l, double u,
                      bool record = true) {
    int p = m_.addVar(0.0, widenHi(u), false, name("p", li, j));
    int n = m_.addVar(0.0, widenHi(-l), false, name("n", li, j));
    m_.addRow({{p, 1.0}, {n, -1.0}, {t, -1.0}}, 0.0, 0.0, name("split", li, j));
    int row = -1;
    if (opt_.compl_form != ComplForm::kNone) {
      Row r;
      r.name = name("compl", li, j);
      r.nl.a = p;
      r.nl.b = n;
      r.nl.coef = 1.0;
      r.lo = 0.0;
      r.hi = 0.0;
      switch (opt_.compl_form) {
        case ComplForm::kProduct:
          r.nl.kind = NlKind::kProduct;
          break;
        case ComplForm::kInequality:
          r.nl.kind = NlKind::kProduct;
          r.lo = -kInf;
          break;
        case ComplForm::kRelaxed:
          r.nl.kind = NlKind::kProduct;
          r.lo = -kInf;
          r.hi = opt_.compl_param;
          break;
        case ComplForm::kFischerBurmeister:
          r.nl.kind = NlKind::kFischerBurmeister;
          r.nl.param = opt_.compl_param;
          break;
        case ComplForm::kChenMangasarian:
          r.nl.kind = NlKind::kChenMangasarian;
          r.nl.param = opt_.compl_param;
          break;
        case ComplForm::kNone:
          break;
      }
      row = m_.addRow(std::move(r));
    }
    e_.compl_pairs.push_back({p, n, row});
    if (record) e_.relu_aux.push_back({li, j, -1, p, n});
    if (alpha == 0.0) return p;
    int y = m_.addVar(widenLo(alpha * l), widenHi(u), false, name("y", li, j));
    m_.addRow({{y, 1.0}, {p, -1.0}, {n, alpha}}, 0.0, 0.0, name("leaky", li, j));
    return y;
  }

  // Tanh / Sigmoid: y - f(t) = 0 (NLP only).
  int smooth(size_t li, int64_t j, const nn::Activation& a, int t, double l, double u) {
    const NlKind kind = a.kind == nn::ActKind::kTanh ? NlKind::kTanh : NlKind::kSigmoid;
    if (t < 0) {  // constant input 0
      double v = a.apply(0.0);
      return m_.addVar(v, v, false, name("y", li, j));
    }
    int y = m_.addVar(widenLo(a.apply(l)), widenHi(a.apply(u)), false, name("y", li, j));
    Row r;
    r.terms = {{y, 1.0}};
    r.nl.kind = kind;
    r.nl.a = t;
    r.nl.coef = -1.0;
    r.lo = r.hi = 0.0;
    r.name = name("act", li, j);
    m_.addRow(std::move(r));
    return y;
  }

  // Output neurons need variables (the objective refers to them): a neuron
  // eliminated as the constant 0 gets a variable fixed at 0.
  void materialiseConstants(size_t li, std::vector<int>& out) {
    for (size_t j = 0; j < out.size(); ++j)
      if (out[j] < 0) out[j] = m_.addVar(0.0, 0.0, false, name("zero", li, j));
  }

  MathModel& m_;
  const nn::Network& net_;
  const bounds::BoundTable& bt_;
  const EmbedOptions& opt_;
  Embedding e_;
};

}  // namespace

Embedding embedNetwork(MathModel& m, const nn::Network& net, const bounds::BoundTable& bounds,
                       const EmbedOptions& opt) {
  return Embedder(m, net, bounds, opt).run();
}

void setComplementarityParam(MathModel& m, const Embedding& e, ComplForm form, double param) {
  for (const auto& pr : e.compl_pairs) {
    if (pr.row < 0) continue;
    auto& r = m.rows()[pr.row];
    if (form == ComplForm::kRelaxed)
      r.hi = param;
    else
      r.nl.param = param;
  }
}

double complementarityViolation(const Embedding& e, const std::vector<double>& x) {
  double v = 0.0;
  for (const auto& pr : e.compl_pairs) v = std::max(v, std::abs(x[pr.y] * x[pr.s]));
  return v;
}

void setStartFromInput(MathModel& m, const nn::Network& net, const Embedding& e,
                       const Eigen::VectorXd& x0) {
  auto set = [&](int var, double v) {
    if (var < 0) return;
    auto& mv = m.vars()[var];
    mv.start = std::clamp(v, mv.lb, mv.ub);
  };
  const auto vals = net.forwardAll(x0);
  for (size_t i = 0; i < e.input_vars.size(); ++i) set(e.input_vars[i], x0[i]);
  for (size_t li = 0; li < e.layer_vars.size(); ++li)
    for (size_t j = 0; j < e.layer_vars[li].size(); ++j) set(e.layer_vars[li][j], vals[li][j]);
  for (const auto& a : e.relu_aux) {
    const double t = a.layer == 0 ? x0[a.neuron] : vals[a.layer - 1][a.neuron];
    set(a.z, t > 0.0 ? 1.0 : 0.0);
    set(a.p, std::max(t, 0.0));
    set(a.n, std::max(-t, 0.0));
  }
  for (const auto& ps : e.partial_sums) {
    const auto& d = net.layers()[0].dense();
    double v = 0.0;
    d.W.forEachInRow(ps.row, [&](Eigen::Index k, double w) {
      if (k >= ps.k0 && k < ps.k1) v += w * x0[k];
    });
    set(ps.var, v);
  }
  for (const auto& a : e.pool_aux) {
    const Eigen::VectorXd& xin = a.layer == 0 ? x0 : vals[a.layer - 1];
    size_t best = 0;
    for (size_t k = 1; k < a.cands.size(); ++k)
      if (xin[a.cands[k]] > xin[a.cands[best]]) best = k;
    for (size_t k = 0; k < a.z.size(); ++k) set(a.z[k], k == best ? 1.0 : 0.0);
    double cur = a.cands.empty() ? 0.0 : xin[a.cands[0]];
    for (size_t k = 1; k < a.m.size(); ++k) {
      const double t = xin[a.cands[k]] - cur;
      set(a.t[k], t);
      set(a.p[k], std::max(t, 0.0));
      set(a.n[k], std::max(-t, 0.0));
      cur = std::max(cur, xin[a.cands[k]]);
      set(a.m[k], cur);
    }
  }
}

}  // namespace nnopt::formulate
