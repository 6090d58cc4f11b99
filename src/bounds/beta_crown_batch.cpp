// betaCrownLowerBoundBatch (bounds/beta_crown.h): the optimiser of
// beta_crown.cpp / crown.cpp (detail::optimiseLowerBound) run on many
// sub-domains at once. Column q of every matrix below belongs to one node (so
// a node's vectors are contiguous); a layer's back-substitution is W^T A
// (A: outputs x nodes) and its forward sweep W G, one matrix-matrix product
// for the whole batch. Each column follows the single-node optimiser step for
// step (same start, Adam state, projections, best-iterate rule and stopping
// rule); a column that stops leaves the batch.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "bounds/beta_crown.h"
#include "bounds/beta_crown_internal.h"
#include "bounds/crown_internal.h"
#include "core/error.h"

namespace nnopt::bounds {

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using detail::BestIterate;
using detail::BetaNodeSetup;

// Per activation layer: the columns' relaxations, split terms and Adam state.
struct LayerCols {
  MatrixXd lw, lb, uw, ub, slo, shi, sign, beta;
  MatrixXd ma1, ma2, mb1, mb2;  // Adam moments of lw and beta
  bool has_split = false;       // some column has a split in the layer

  std::vector<MatrixXd*> all() {
    return {&lw, &lb, &uw, &ub, &slo, &shi, &sign, &beta, &ma1, &ma2, &mb1, &mb2};
  }
};

// The batch: columns of the nodes still optimising.
struct Batch {
  std::vector<int> node;       // column -> node index
  std::vector<LayerCols> act;  // per layer (activation layers only)
  MatrixXd mid, rad;           // input domain
  MatrixXd c;                  // objective, one column per node
  std::vector<MatrixXd> rec;   // coefficients at each activation output
  MatrixXd a_in;               // coefficients of the input

  // Keeps the columns `keep` (ascending) of every matrix.
  void keepCols(const std::vector<int>& keep) {
    auto sel = [&](MatrixXd& m) {
      if (m.cols() == 0) return;
      for (size_t q = 0; q < keep.size(); ++q)
        if (keep[q] != static_cast<int>(q)) m.col(static_cast<Eigen::Index>(q)) = m.col(keep[q]);
      m.conservativeResize(Eigen::NoChange, static_cast<Eigen::Index>(keep.size()));
    };
    std::vector<int> nn;
    for (int q : keep) nn.push_back(node[q]);
    node = std::move(nn);
    for (auto& l : act)
      for (MatrixXd* m : l.all()) sel(*m);
    sel(mid), sel(rad), sel(c), sel(a_in);
    for (auto& m : rec) sel(m);
  }
};

// W^T A for every column (back-substitution through a dense layer).
MatrixXd backwardCols(const nn::Linear& W, const MatrixXd& A) {
  if (W.isDense()) return W.denseMatrix().transpose() * A;
  if (W.isSparse()) return W.sparseMatrix().transpose() * A;
  MatrixXd out(W.cols(), A.cols());
  for (Eigen::Index q = 0; q < A.cols(); ++q) out.col(q) = W.applyT(A.col(q));
  return out;
}

// W G for every column (the forward sweep).
MatrixXd forwardCols(const nn::Linear& W, const MatrixXd& G) {
  if (W.isDense()) return W.denseMatrix() * G;
  return W.mul(G);
}

// The lower bound of each column's objective under the current relaxations
// (detail's lowerPass, column-wise): fills b.rec and b.a_in.
VectorXd lowerPassCols(const nn::Network& net, Batch& b) {
  MatrixXd a = b.c;
  VectorXd k = VectorXd::Zero(a.cols());
  for (int i = static_cast<int>(net.numLayers()) - 1; i >= 0; --i) {
    const auto& layer = net.layers()[i];
    if (layer.isDense()) {
      const auto& d = layer.dense();
      k.noalias() += a.transpose() * d.b;
      a = backwardCols(d.W, a);
      continue;
    }
    const LayerCols& r = b.act[i];
    b.rec[i] = a;
    const MatrixXd& ar = b.rec[i];
    k += (ar.cwiseMax(0.0).cwiseProduct(r.lb) + ar.cwiseMin(0.0).cwiseProduct(r.ub))
             .colwise()
             .sum()
             .transpose();
    if (r.has_split)
      a = ar.cwiseMax(0.0).cwiseProduct(r.lw) + ar.cwiseMin(0.0).cwiseProduct(r.uw) +
          r.beta.cwiseProduct(r.sign);
    else
      a = ar.cwiseMax(0.0).cwiseProduct(r.lw) + ar.cwiseMin(0.0).cwiseProduct(r.uw);
  }
  b.a_in = a;
  return k + (a.cwiseProduct(b.mid) - a.cwiseAbs().cwiseProduct(b.rad)).colwise().sum().transpose();
}

// One projected Adam ascent step on x (n x columns); project(v, q, j)
// stores the projected new value v of entry (j, q) where it applies. The
// moments move for every entry, as in the single-node Adam.
template <class Project>
void adamCols(MatrixXd& x, const MatrixXd& grad, MatrixXd& m1, MatrixXd& m2, int it, double lr,
              Project&& project) {
  constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-12;
  m1 = b1 * m1 + (1 - b1) * grad;
  m2 = b2 * m2 + (1 - b2) * grad.cwiseAbs2();
  const double c1 = 1 - std::pow(b1, it), c2 = 1 - std::pow(b2, it);
  const MatrixXd step = lr * (m1 / c1).cwiseQuotient(((m2 / c2).cwiseSqrt().array() + eps).matrix());
  for (Eigen::Index q = 0; q < x.cols(); ++q)
    for (Eigen::Index j = 0; j < x.rows(); ++j) project(x(j, q) + step(j, q), q, j);
}

// The best iterate of every node (column = node index, not batch column):
// what the batch's column q holds is copied in place when it improves.
struct BestCols {
  std::vector<MatrixXd> rec, lw, beta;  // per layer (activation layers only)
  MatrixXd a_in;

  BestCols(const nn::Network& net, const Batch& b)
      : rec(b.rec), lw(net.numLayers()), beta(net.numLayers()), a_in(b.a_in) {
    for (size_t i = 0; i < net.numLayers(); ++i) {
      if (!net.layers()[i].isActivation()) continue;
      lw[i] = b.act[i].lw;
      if (b.act[i].has_split) beta[i] = b.act[i].beta;
    }
  }
  void keep(const nn::Network& net, const Batch& b, Eigen::Index q, Eigen::Index node) {
    for (size_t i = 0; i < net.numLayers(); ++i) {
      if (!net.layers()[i].isActivation()) continue;
      rec[i].col(node) = b.rec[i].col(q);
      lw[i].col(node) = b.act[i].lw.col(q);
      if (b.act[i].has_split) beta[i].col(node) = b.act[i].beta.col(q);
    }
    a_in.col(node) = b.a_in.col(q);
  }
  // Node `node`'s best iterate as a single node's (beta only in the layers
  // where it has splits, as the single-node optimiser's SplitTerms).
  BestIterate get(const nn::Network& net, Eigen::Index node, const BetaNodeSetup& s,
                  int iters_run) const {
    BestIterate out;
    const size_t L = net.numLayers();
    out.rec.assign(L, VectorXd());
    out.slopes.assign(L, VectorXd());
    out.beta.assign(L, VectorXd());
    for (size_t i = 0; i < L; ++i) {
      if (!net.layers()[i].isActivation()) continue;
      out.rec[i] = rec[i].col(node);
      out.slopes[i] = lw[i].col(node);
      if (s.split.sign[i].size() > 0) out.beta[i] = beta[i].col(node);
    }
    out.a_in = a_in.col(node);
    out.iters_run = iters_run;
    return out;
  }
};

}  // namespace

std::vector<BetaCrownResult> betaCrownLowerBoundBatch(const nn::Network& net,
                                                      const spec::Box& box,
                                                      const std::vector<BetaCrownNode>& nodes,
                                                      const VectorXd& c,
                                                      const BetaCrownParams& p) {
  std::vector<BetaCrownResult> out;
  out.reserve(nodes.size());
  for (const auto& n : nodes)
    require(n.table != nullptr && n.splits != nullptr, "beta-crown: a batch node without a table");
  if (net.hasMaxPool() || nodes.size() < 2) {
    for (const auto& n : nodes)
      out.push_back(betaCrownLowerBound(net, box, *n.table, *n.splits, c, p, n.warm));
    return out;
  }
  const size_t L = net.numLayers();
  const int B = static_cast<int>(nodes.size());
  std::vector<BetaNodeSetup> setup;
  setup.reserve(B);
  for (const auto& n : nodes)
    setup.push_back(detail::betaNodeSetup(net, box, *n.table, *n.splits, c, p, n.warm));

  // Which nodes have something to optimise up to which layer (the
  // single-node optimiser's opt_alpha / opt_beta / top / any).
  std::vector<char> any(B, 0);
  std::vector<size_t> top(B, 0);
  std::vector<char> has_split(L, 0);
  for (int q = 0; q < B; ++q)
    for (size_t i = 0; i < L; ++i) {
      if (!net.layers()[i].isActivation()) continue;
      const auto& sg = setup[q].split.sign[i];
      has_split[i] = has_split[i] || sg.size() > 0;
      const bool opt =
          (setup[q].relax[i].optimisable && p.lr_alpha > 0) || (sg.size() > 0 && sg.any());
      if (opt) any[q] = 1, top[q] = i;
    }

  Batch b;
  b.node.resize(B);
  for (int q = 0; q < B; ++q) b.node[q] = q;
  b.act.resize(L);
  b.rec.resize(L);
  const Eigen::Index n0 = net.inputSize();
  b.mid.resize(n0, B);
  b.rad.resize(n0, B);
  b.c = c.replicate(1, B);
  for (int q = 0; q < B; ++q) {
    b.mid.col(q) = setup[q].dom.mid;
    b.rad.col(q) = setup[q].dom.rad;
  }
  for (size_t i = 0; i < L; ++i) {
    if (!net.layers()[i].isActivation()) continue;
    const Eigen::Index n = net.layerInSize(i);
    LayerCols& l = b.act[i];
    l.has_split = has_split[i];
    for (MatrixXd* m : {&l.lw, &l.lb, &l.uw, &l.ub, &l.slo, &l.shi}) m->resize(n, B);
    for (MatrixXd* m : {&l.ma1, &l.ma2}) m->setZero(n, B);
    if (l.has_split)
      for (MatrixXd* m : {&l.sign, &l.beta, &l.mb1, &l.mb2}) m->setZero(n, B);
    for (int q = 0; q < B; ++q) {
      const auto& x = setup[q].relax[i];
      l.lw.col(q) = x.lw;
      l.lb.col(q) = x.lb;
      l.uw.col(q) = x.uw;
      l.ub.col(q) = x.ub;
      l.slo.col(q) = x.slope_lo;
      l.shi.col(q) = x.slope_hi;
      if (setup[q].split.sign[i].size() > 0) {
        l.sign.col(q) = setup[q].split.sign[i];
        l.beta.col(q) = setup[q].split.beta[i];
      }
    }
  }
  std::vector<double> best(B);
  std::vector<int> iters_run(B, 0);
  VectorXd v = lowerPassCols(net, b);
  for (int q = 0; q < B; ++q) best[q] = v[q];
  BestCols kept(net, b);
  auto finished = [&](int node) {
    return !any[node] || p.iters <= 0 || best[node] > setup[node].stop_above;
  };
  auto compact = [&] {
    std::vector<int> keep;
    for (int q = 0; q < static_cast<int>(b.node.size()); ++q)
      if (!finished(b.node[q])) keep.push_back(q);
    if (keep.size() != b.node.size()) b.keepCols(keep);
  };
  compact();

  const auto start = std::chrono::steady_clock::now();
  for (int it = 1; it <= p.iters && !b.node.empty(); ++it) {
    size_t top_all = 0;
    for (int node : b.node) top_all = std::max(top_all, top[node]);
    // Supergradients swept upwards (detail::optimiseLowerBound, column-wise):
    // the input corner mid - sign(a_in) rad.
    MatrixXd g = (b.a_in.array() > 0)
                     .select(b.mid - b.rad, (b.a_in.array() < 0).select(b.mid + b.rad, b.mid));
    for (size_t i = 0; i <= top_all; ++i) {
      const auto& layer = net.layers()[i];
      if (layer.isDense()) {
        const auto& d = layer.dense();
        g = forwardCols(d.W, g);
        g.colwise() += d.b;
        continue;
      }
      LayerCols& l = b.act[i];
      const MatrixXd& ao = b.rec[i];
      MatrixXd gout =
          (ao.array() > 0).select(l.lw.cwiseProduct(g) + l.lb, l.uw.cwiseProduct(g) + l.ub);
      if (l.has_split) {  // d bound / d beta_j = s_j z_j
        adamCols(l.beta, l.sign.cwiseProduct(g), l.mb1, l.mb2, it, p.lr_beta,
                 [&](double x, Eigen::Index q, Eigen::Index j) {
                   if (l.sign(j, q) != 0) l.beta(j, q) = std::max(x, 0.0);
                 });
      }
      if (p.lr_alpha > 0) {  // d bound / d lw_j = max(ao_j, 0) z_j
        adamCols(l.lw, g.cwiseProduct(ao.cwiseMax(0.0)), l.ma1, l.ma2, it, p.lr_alpha,
                 [&](double x, Eigen::Index q, Eigen::Index j) {
                   if (l.slo(j, q) < l.shi(j, q)) l.lw(j, q) = std::clamp(x, l.slo(j, q), l.shi(j, q));
                 });
      }
      g = std::move(gout);
    }
    v = lowerPassCols(net, b);
    for (int q = 0; q < static_cast<int>(b.node.size()); ++q) {
      const int node = b.node[q];
      iters_run[node] = it;
      if (std::isfinite(v[q]) && v[q] > best[node]) {
        best[node] = v[q];
        kept.keep(net, b, q, node);
      }
    }
    std::chrono::duration<double> el = std::chrono::steady_clock::now() - start;
    if (el.count() > p.time_limit_s) break;
    compact();
  }
  for (int q = 0; q < B; ++q) {
    BestIterate bi = kept.get(net, q, setup[q], iters_run[q]);
    out.push_back(detail::betaResult(net, setup[q], best[q], bi));
  }
  return out;
}

}  // namespace nnopt::bounds
