// beta-CROWN benchmark (issue 13, item 2): on an MNIST-FC network and one
// VNN-LIB property, for a fixed list of random ReLU split sets, the lower
// bound of one unsafe constraint's margin (c^T y - rhs; > 0 refutes it) over
// each sub-domain by
//   crown  CROWN with the splits (crownBoundsSplit's table, crownLowerBound),
//   alpha  alpha-CROWN on that table (lower slopes optimised, splits clipped only),
//   beta   alpha + beta-CROWN (betaCrownLowerBound, split multipliers too),
//   warm   beta with `--warm-iters` steps warm-started from the parent set
//          (the same splits but the last) and its beta state,
//   b+int  beta after betaCrownTightenTable (the last activation layer's
//          unstable neurons bounded by beta-CROWN first; --no-int skips it),
// with their times; then the warm-started nodes once more, one at a time
// and in batches of --batch (betaCrownLowerBoundBatch): time per node and
// the largest difference between the two bounds. Splits are drawn among the root's unstable neurons
// (first two activation layers), random signs, seed fixed.
//
//   nnopt_bench_beta [--onnx FILE] [--vnnlib FILE] [--sets N] [--splits K]
//                    [--iters I] [--warm-iters W] [--seed S] [--disjunct D] [--no-int]
//                    [--batch B] [--repeat R]
//
// Defaults: ../shared/bench/mnistfc/mnist-net_256x2.onnx and prop_0_0.05.vnnlib,
// 20 sets of 6 splits, 20 iterations (alpha and beta), warm 5, seed 1, the
// disjunct with the lowest CROWN bound at the root.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/core.h>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bounds/beta_crown.h"
#include "bounds/crown.h"
#include "core/error.h"
#include "io/onnx.h"
#include "io/vnnlib.h"

using namespace nnopt;
using Eigen::VectorXd;

namespace {

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <class F>
double timed(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return secondsSince(t0);
}

struct Args {
  std::string onnx = "../shared/bench/mnistfc/mnist-net_256x2.onnx";
  std::string vnnlib = "../shared/bench/mnistfc/prop_0_0.05.vnnlib";
  int sets = 20, splits = 6, iters = 20, warm_iters = 5;
  unsigned seed = 1;
  int disjunct = -1;
  bool intermediate = true;
  int batch = 32;
  int repeat = 1;  // timing passes over the warm nodes
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      require(i + 1 < argc, "missing value after " + k);
      return argv[++i];
    };
    if (k == "--onnx") a.onnx = next();
    else if (k == "--vnnlib") a.vnnlib = next();
    else if (k == "--sets") a.sets = std::stoi(next());
    else if (k == "--splits") a.splits = std::stoi(next());
    else if (k == "--iters") a.iters = std::stoi(next());
    else if (k == "--warm-iters") a.warm_iters = std::stoi(next());
    else if (k == "--seed") a.seed = static_cast<unsigned>(std::stoul(next()));
    else if (k == "--disjunct") a.disjunct = std::stoi(next());
    else if (k == "--no-int") a.intermediate = false;
    else if (k == "--batch") a.batch = std::max(1, std::stoi(next()));
    else if (k == "--repeat") a.repeat = std::max(1, std::stoi(next()));
    else throw Error("unknown option " + k);
  }
  return a;
}

std::string fmtBound(double v) {
  return std::isinf(v) ? (v > 0 ? "empty" : "-inf") : fmt::format("{:+.4f}", v);
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  const nn::Network net = io::loadOnnx(a.onnx);
  const spec::Property prop = io::loadVnnlib(a.vnnlib, net.inputSize(), net.outputSize());
  const spec::Box box = prop.input_boxes.front();
  const auto& disj = prop.unsafe.disjuncts;
  require(!disj.empty(), "the property has no unsafe disjunct");
  fmt::print("network {} ({}), property {}\n", a.onnx, net.summary(), a.vnnlib);

  bounds::BoundTable root;
  const double t_root = timed([&] { root = bounds::crownBounds(net, box); });
  // Objectives: the first constraint of each disjunct.
  auto objective = [&](size_t d) {
    VectorXd c = VectorXd::Zero(net.outputSize());
    for (const auto& [j, w] : disj[d].front().coefs) c[j] += w;
    return std::pair{c, disj[d].front().rhs};
  };
  size_t di = 0;
  if (a.disjunct >= 0) {
    di = static_cast<size_t>(a.disjunct);
    require(di < disj.size(), "--disjunct out of range");
  } else {
    double worst = INFINITY;
    for (size_t d = 0; d < disj.size(); ++d) {
      const auto [c, rhs] = objective(d);
      const double v = bounds::crownLowerBound(net, box, root, c) - rhs;
      if (v < worst) worst = v, di = d;
    }
  }
  const auto [c, rhs] = objective(di);
  std::vector<std::pair<size_t, int64_t>> cand;
  int act_layers = 0;
  for (size_t i = 0; i < net.numLayers() && act_layers < 2; ++i) {
    if (!net.layers()[i].isActivation()) continue;
    ++act_layers;
    for (int64_t j = 0; j < root.preLo(i).size(); ++j)
      if (root.preLo(i)[j] < 0 && root.preHi(i)[j] > 0) cand.push_back({i, j});
  }
  bounds::CrownParams alpha_p;
  alpha_p.alpha_iters = a.iters;
  alpha_p.alpha_time_limit_s = 10;
  bounds::BetaCrownParams beta_p;
  beta_p.iters = a.iters;
  beta_p.time_limit_s = 10;
  fmt::print("disjunct {} (margin c^T y - {}), root CROWN {:.4f} ({:.3f} s), alpha {:.4f}; "
             "{} unstable neurons in the first two activation layers\n",
             di, rhs, bounds::crownLowerBound(net, box, root, c) - rhs, t_root,
             bounds::crownLowerBound(net, box, root, c, alpha_p) - rhs, cand.size());
  fmt::print("{} sets of {} splits, {} iterations (warm: {})\n\n", a.sets, a.splits, a.iters,
             a.warm_iters);
  fmt::print("{:>4} {:>10} {:>10} {:>10} {:>10} {:>10} | {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
             "set", "crown", "alpha", "beta", "warm", "b+int", "t_table", "t_crown", "t_alpha",
             "t_beta", "t_warm", "t_b+int");

  std::mt19937 rng(a.seed);
  std::bernoulli_distribution coin(0.5);
  struct Sum {
    int n = 0, empty_crown = 0, empty_beta = 0, beta_gt_alpha = 0, proved[5] = {0, 0, 0, 0, 0};
    double gain_alpha = 0, gain_beta = 0, gain_warm = 0, gain_int = 0, t[6] = {0, 0, 0, 0, 0, 0};
  } s;
  // The warm-started nodes, for the batch timing.
  std::vector<bounds::BoundTable> w_tables;
  std::vector<std::vector<bounds::ReluSplit>> w_splits;
  std::vector<bounds::BetaCrownState> w_states;
  for (int k = 0; k < a.sets; ++k) {
    auto pick = cand;
    std::shuffle(pick.begin(), pick.end(), rng);
    std::vector<bounds::ReluSplit> splits;
    for (int i = 0; i < a.splits && i < static_cast<int>(pick.size()); ++i)
      splits.push_back({pick[i].first, pick[i].second, coin(rng)});
    const std::vector<bounds::ReluSplit> parent(splits.begin(), splits.end() - 1);
    std::optional<bounds::BoundTable> t, tp;
    double tt = timed([&] { t = bounds::crownBoundsSplit(net, box, splits, &root); });
    if (!t) {
      ++s.empty_crown;
      fmt::print("{:>4} {:>10}\n", k, "empty");
      continue;
    }
    double v[5];
    double tm[6] = {tt, 0, 0, 0, 0, 0};
    tm[1] = timed([&] { v[0] = bounds::crownLowerBound(net, box, *t, c) - rhs; });
    tm[2] = timed([&] { v[1] = bounds::crownLowerBound(net, box, *t, c, alpha_p) - rhs; });
    bounds::BetaCrownResult rb;
    tm[3] = timed([&] { rb = bounds::betaCrownLowerBound(net, box, *t, splits, c, beta_p); });
    v[2] = rb.bound - rhs;
    // Warm start: the parent's (splits but the last) state, as a B&B would have it.
    v[3] = NAN;
    tp = bounds::crownBoundsSplit(net, box, parent, &root);
    if (tp) {
      const auto rp = bounds::betaCrownLowerBound(net, box, *tp, parent, c, beta_p);
      bounds::BetaCrownParams wp = beta_p;
      wp.iters = a.warm_iters;
      bounds::BetaCrownResult rw;
      tm[4] = timed([&] { rw = bounds::betaCrownLowerBound(net, box, *t, splits, c, wp, &rp.state); });
      v[3] = rw.bound - rhs;
      w_tables.push_back(*t);
      w_splits.push_back(splits);
      w_states.push_back(rp.state);
    }
    v[4] = NAN;
    if (a.intermediate) {
      bounds::BoundTable ti = *t;
      bounds::BetaCrownResult ri;
      tm[5] = timed([&] {
        ri.bound = INFINITY;
        if (bounds::betaCrownTightenTable(net, box, ti, splits, beta_p, 1))
          ri = bounds::betaCrownLowerBound(net, box, ti, splits, c, beta_p);
      });
      v[4] = ri.bound - rhs;
    }
    fmt::print(
        "{:>4} {:>10} {:>10} {:>10} {:>10} {:>10} | {:>8.4f} {:>8.4f} {:>8.4f} {:>8.4f} {:>8.4f} "
        "{:>8.4f}\n",
        k, fmtBound(v[0]), fmtBound(v[1]), fmtBound(v[2]), fmtBound(v[3]), fmtBound(v[4]), tm[0],
        tm[1], tm[2], tm[3], tm[4], tm[5]);
    ++s.n;
    if (rb.empty) ++s.empty_beta;
    if (v[2] > v[1] + 1e-9) ++s.beta_gt_alpha;
    for (int i = 0; i < 5; ++i)
      if (v[i] > 0) ++s.proved[i];
    for (int i = 0; i < 6; ++i) s.t[i] += tm[i];
    if (!rb.empty) {  // mean gains over sets not proven empty
      s.gain_alpha += v[1] - v[0];
      s.gain_beta += v[2] - v[0];
      if (std::isfinite(v[3])) s.gain_warm += v[3] - v[0];
      if (std::isfinite(v[4])) s.gain_int += v[4] - v[0];
    }
  }
  const int m = std::max(1, s.n - s.empty_beta);
  const int n = std::max(1, s.n);
  fmt::print("\n{} sets bounded ({} empty by CROWN with splits, {} more proven empty by beta)\n",
             s.n, s.empty_crown, s.empty_beta);
  fmt::print("margin > 0 (refuted or empty): crown {}, alpha {}, beta {}, warm {}, b+int {} of {}\n",
             s.proved[0], s.proved[1], s.proved[2], s.proved[3], s.proved[4], s.n);
  fmt::print("beta tighter than alpha on {} of {}; mean gain over crown (sets beta did not prove "
             "empty): alpha {:+.4f}, beta {:+.4f}, warm {:+.4f}, b+int {:+.4f}\n",
             s.beta_gt_alpha, s.n, s.gain_alpha / m, s.gain_beta / m, s.gain_warm / m,
             s.gain_int / m);
  fmt::print("mean time (s): table {:.4f}, crown {:.4f}, alpha {:.4f}, beta {:.4f}, warm {:.4f}, "
             "b+int {:.4f}\n",
             s.t[0] / n, s.t[1] / n, s.t[2] / n, s.t[3] / n, s.t[4] / n, s.t[5] / n);
  // The warm-started nodes one at a time and in batches.
  bounds::BetaCrownParams wp = beta_p;
  wp.iters = a.warm_iters;
  const size_t nw = w_tables.size();
  std::vector<double> one(nw), batched(nw);
  const double t_one = timed([&] {
    for (int rep = 0; rep < a.repeat; ++rep)
    for (size_t i = 0; i < nw; ++i)
      one[i] = bounds::betaCrownLowerBound(net, box, w_tables[i], w_splits[i], c, wp, &w_states[i])
                   .bound;
  });
  const double t_batch = timed([&] {
    for (int rep = 0; rep < a.repeat; ++rep)
    for (size_t i0 = 0; i0 < nw; i0 += static_cast<size_t>(a.batch)) {
      std::vector<bounds::BetaCrownNode> nodes;
      for (size_t i = i0; i < std::min(nw, i0 + static_cast<size_t>(a.batch)); ++i)
        nodes.push_back({&w_tables[i], &w_splits[i], &w_states[i]});
      const auto r = bounds::betaCrownLowerBoundBatch(net, box, nodes, c, wp);
      for (size_t i = 0; i < r.size(); ++i) batched[i0 + i] = r[i].bound;
    }
  });
  double diff = 0;
  for (size_t i = 0; i < nw; ++i)
    if (std::isfinite(one[i]) || std::isfinite(batched[i]))
      diff = std::max(diff, std::abs(one[i] - batched[i]));
  fmt::print("warm nodes ({}, {} steps): one at a time {:.3f} ms a node, batches of {} {:.3f} ms a "
             "node ({:.2f}x); largest bound difference {:.2e}\n",
             nw, a.warm_iters, 1e3 * t_one / a.repeat / std::max<size_t>(1, nw), a.batch,
             1e3 * t_batch / a.repeat / std::max<size_t>(1, nw), t_one / std::max(t_batch, 1e-12), diff);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "error: {}\n", e.what());
  return 2;
}
